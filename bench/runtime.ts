/**
 * How the benchmarks start pod-cleanup: `src`, the TypeScript sources with type stripping and no
 * Node flags (what `npm start` runs), or `dist`, the built output as the image runs it (the
 * bundle in dist-image/, with the image's Node flags and environment). The `dist` flags are read from the Dockerfile's
 * ENTRYPOINT and the environment from its final stage's ENV lines, so the bench measures exactly
 * what ships; a heap sized as a percentage of the container's memory limit is turned into the
 * megabytes Node would compute under the Deployment's limit (deploy/base/deployment.yaml), since
 * the bench runs outside a container.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

export type RuntimeName = "src" | "dist"
export const runtimeNames: ReadonlyArray<RuntimeName> = ["src", "dist"]

export interface ServiceRuntime {
  readonly name: RuntimeName
  /** Node flags before the entry script. */
  readonly nodeArgs: ReadonlyArray<string>
  /** The entry script, absolute. */
  readonly entry: string
  /** Environment variables set for it (the image's ENV). */
  readonly env: Readonly<Record<string, string>>
  /** For the report: the command line, relative to the repository. */
  readonly describe: string
}

/** The final stage's exec-form ENTRYPOINT of a Dockerfile (the last one), as its words. */
export const entrypointOf = (dockerfile: string): ReadonlyArray<string> => {
  const lines = dockerfile.split("\n").filter((l) => !/^\s*#/.test(l))
  const entry = lines.filter((l) => /^\s*ENTRYPOINT\s/i.test(l)).at(-1)
  if (entry === undefined) throw new Error("Dockerfile: no ENTRYPOINT")
  const words: unknown = JSON.parse(entry.replace(/^\s*ENTRYPOINT\s+/i, ""))
  if (!Array.isArray(words) || !words.every((w) => typeof w === "string")) throw new Error("Dockerfile: ENTRYPOINT is not in exec form")
  return words
}

/** The variables the final stage's `ENV KEY=VALUE ...` lines set (the form this Dockerfile uses). */
export const finalStageEnvOf = (dockerfile: string): Record<string, string> => {
  const lines = dockerfile.split("\n").filter((l) => !/^\s*#/.test(l))
  const lastFrom = lines.findLastIndex((l) => /^\s*FROM\s/i.test(l))
  const env: Record<string, string> = {}
  for (const line of lines.slice(lastFrom + 1)) {
    const m = /^\s*ENV\s+(.*)$/i.exec(line)
    if (m === null) continue
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf("=")
      if (eq <= 0) throw new Error(`Dockerfile: ENV ${m[1]} is not in the KEY=VALUE form`)
      env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, "$1")
    }
  }
  return env
}

/** The Node flags of an ENTRYPOINT `["node", ...flags, script]`. */
export const nodeFlagsOf = (entrypoint: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (entrypoint[0] !== "node" || entrypoint.length < 2) throw new Error(`Dockerfile: ENTRYPOINT ${JSON.stringify(entrypoint)} does not run node`)
  return entrypoint.slice(1, -1)
}

/** `limits.memory` of a Deployment manifest, in MiB (Mi and Gi suffixes). */
export const memoryLimitMiBOf = (manifest: string): number => {
  const m = /limits:\s*\n(?:\s+\S+:.*\n)*?\s+memory:\s*"?(\d+)(Mi|Gi)"?/.exec(manifest)
  if (m === null) throw new Error("deployment.yaml: no resources.limits.memory")
  return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1)
}

/**
 * The flags with `--max-old-space-size-percentage=P` replaced by the `--max-old-space-size` Node
 * derives from it under a memory limit of `limitMiB` (floor(limit × P / 100), as node_options.cc does).
 */
export const underMemoryLimit = (flags: ReadonlyArray<string>, limitMiB: number): ReadonlyArray<string> =>
  flags.map((flag) => {
    const m = /^--max-old-space-size-percentage=(\d+(?:\.\d+)?)%?$/.exec(flag)
    return m === null ? flag : `--max-old-space-size=${Math.floor((limitMiB * Number(m[1])) / 100)}`
  })

const newestMtime = (dir: string): number => {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/** Builds dist/ and dist-image/ (`npm run build`) when `entry` is missing or older than a file of src/. */
const ensureBuilt = (root: string, entry: string, log: (line: string) => void) => {
  const main = path.join(root, entry)
  if (fs.existsSync(main) && fs.statSync(main).mtimeMs >= newestMtime(path.join(root, "src"))) return
  log(`${entry} is missing or older than src/: npm run build`)
  execFileSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
}

/** The runtime `name`, built if it is `dist`. */
export const serviceRuntime = (root: string, name: RuntimeName, log: (line: string) => void = () => {}): ServiceRuntime => {
  if (name === "src") return { name, nodeArgs: [], entry: path.join(root, "src", "main.ts"), env: {}, describe: "node src/main.ts" }
  const limitMiB = memoryLimitMiBOf(fs.readFileSync(path.join(root, "deploy", "base", "deployment.yaml"), "utf8"))
  const dockerfile = fs.readFileSync(path.join(root, "Dockerfile"), "utf8")
  const entrypoint = entrypointOf(dockerfile)
  const nodeArgs = underMemoryLimit(nodeFlagsOf(entrypoint), limitMiB)
  const env = finalStageEnvOf(dockerfile)
  const script = entrypoint.at(-1)!
  ensureBuilt(root, script, log)
  const envText = Object.entries(env).map(([k, v]) => `${k}=${v} `).join("")
  return { name, nodeArgs, entry: path.join(root, script), env, describe: `${envText}node ${[...nodeArgs, script].join(" ")} (limit ${limitMiB}Mi)` }
}
