// `npm run build` (and `npm pack` through prepack): what the pod-cleanup package ships, in dist/.
// The simulator (the @pod-cleanup/sim workspace package, which is never published on its own) is
// compiled into dist/sim with its TLS fixture: `pod-cleanup/sim` exports it and the demo runs on it.
// Then the product is compiled against those declarations, and its imports of "@pod-cleanup/sim"
// are rewritten to relative paths into dist/sim, so the tarball needs no second package.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const dist = path.join(root, "dist")
const simDist = path.join(dist, "sim")
const tsc = path.join(root, "node_modules/.bin/tsc")
const specifier = /(["'])@pod-cleanup\/sim(\/[^"']*)?\1/g

fs.rmSync(dist, { recursive: true, force: true })
execFileSync(tsc, ["-p", "tsconfig.build-sim.json"], { cwd: root, stdio: "inherit" })
fs.cpSync(path.join(root, "packages/sim/src/tls"), path.join(simDist, "tls"), { recursive: true })
execFileSync(tsc, ["-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" })

const emitted = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name)
    if (e.isDirectory()) return file === simDist ? [] : emitted(file)
    return /\.(js|d\.ts)$/.test(e.name) ? [file] : []
  })

let rewritten = 0
for (const file of emitted(dist)) {
  const text = fs.readFileSync(file, "utf8")
  const next = text.replace(specifier, (_, quote, subpath) => {
    // The product uses the simulator's public entry point only; anything else would not ship.
    if (subpath !== undefined) throw new Error(`${path.relative(root, file)}: imports @pod-cleanup/sim${subpath}, which dist/ does not carry`)
    const target = path.relative(path.dirname(file), path.join(simDist, "index.js")).split(path.sep).join("/")
    return `${quote}${target.startsWith(".") ? target : `./${target}`}${quote}`
  })
  if (next !== text) {
    fs.writeFileSync(file, next)
    rewritten += 1
  }
}
if (rewritten === 0) throw new Error("no emitted file imports @pod-cleanup/sim: the demo should; is the rewrite stale?")
