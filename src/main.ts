#!/usr/bin/env node
/**
 * The `pod-cleanup` command's entry point (`src/main.ts` in the repository, `dist/main.js` in the
 * package, and the image's bundle `dist-image/main.js` made from it). It only checks the Node.js version, then loads the command line
 * (`cli/main.ts`) with a dynamic import: static imports are evaluated before any code of the
 * importing module, so a check next to them would come after undici and client-node had already
 * failed on an old Node with a stack trace. Keep this file free of imports.
 * (`scripts/require-node.mjs` does the same check for the npm scripts, in plain JavaScript, so it
 * also runs on a Node that cannot load `.ts` files.)
 */
const requiredMajor = 24
const major = Number(process.versions.node.split(".")[0])
if (!(major >= requiredMajor)) {
  process.stderr.write(
    `pod-cleanup: needs Node.js ${requiredMajor} or newer, but this is Node.js ${process.versions.node} (${process.execPath}).\n` +
      `Install Node.js ${requiredMajor} (https://nodejs.org/, or \`nvm install ${requiredMajor}\`). In a clone of the repository, ` +
      `\`npm ci\` installs it as the \`node\` devDependency, and the npm scripts (npm start, npm run once, npm run demo) use it.\n`
  )
  process.exit(1)
}
const { main } = await import("./cli/main.ts")
main(process.argv.slice(2))
