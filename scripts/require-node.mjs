// Preloaded by the npm scripts (`node --import ./scripts/require-node.mjs src/main.ts ...`): the
// same Node.js version check as src/main.ts, in plain JavaScript, so that a Node that cannot load
// `.ts` files at all (before 22.18) also gets a clear message instead of ERR_UNKNOWN_FILE_EXTENSION.
// The npm scripts normally run the Node 24 of the `node` devDependency; this fires when it is not
// installed (npm ci --omit=dev, --ignore-scripts) and an older system Node is used instead.
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
