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

// ---- the image's bundle: dist-image/ ----------------------------------------------------------
// The compiled entry point with every dependency it imports (Effect, client-node, undici, ws, ...)
// in a few files, only the code that is reachable from it: client-node's index alone loads every
// generated API class and model (about 85 MiB of RSS at start); the bundle leaves out what the
// service never calls. The image runs it with no node_modules. dist-image/ sits one folder under
// the root, as src/ and dist/ do, so `../package.json` is the package's (src/version.ts). The
// licenses of what it carries go with it.
const { rolldown } = await import("rolldown")
const imageDist = path.join(root, "dist-image")
fs.rmSync(imageDist, { recursive: true, force: true })
const bundle = await rolldown({ input: path.join(dist, "main.js"), platform: "node", logLevel: "warn" })
const { output } = await bundle.write({ dir: imageDist, format: "esm" })
await bundle.close()

/** The package folder (its package.json has a name) of a bundled file under node_modules. */
const packageOf = (file) => {
  for (let dir = path.dirname(file); dir.includes(`${path.sep}node_modules${path.sep}`); dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json")
    if (!fs.existsSync(manifest)) continue
    const json = JSON.parse(fs.readFileSync(manifest, "utf8"))
    if (typeof json.name === "string") return { dir, name: json.name, version: json.version, license: json.license }
  }
  return undefined
}
const packages = new Map()
for (const chunk of output) {
  for (const id of chunk.type === "chunk" ? chunk.moduleIds : []) {
    const found = packageOf(id.replace(/^\0/, "").split("?")[0])
    if (found !== undefined) packages.set(`${found.name}@${found.version}`, found)
  }
}
if (![...packages.values()].some((p) => p.name === "@kubernetes/client-node")) {
  throw new Error("the image's bundle carries no @kubernetes/client-node: is the bundle's input right?")
}
const notices = [...packages.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, p]) => {
  const file = fs.readdirSync(p.dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f))
  const text = file === undefined ? `(no license file; package.json says ${p.license ?? "nothing"})` : fs.readFileSync(path.join(p.dir, file), "utf8").trim()
  return `${id} (${p.license ?? "unknown"})\n\n${text}\n`
})
fs.writeFileSync(
  path.join(imageDist, "THIRD-PARTY-LICENSES.txt"),
  `pod-cleanup's image bundle (dist-image/) carries code of these packages:\n\n${notices.join(`\n${"-".repeat(72)}\n\n`)}`
)
