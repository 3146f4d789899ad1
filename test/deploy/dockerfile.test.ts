// Static checks of the Dockerfile and .dockerignore (no Docker engine needed): a multi-stage build
// on node:24, dependencies from the lockfile, the compiled output and its bundle built in their own
// stage (`npm run build`), only package.json and dist-image/ in the image (no node_modules: the
// bundle carries what it runs), a numeric non-root user that matches the Deployment, and an
// exec-form entrypoint that runs dist-image/main.js with the heap sized from the container's memory
// limit, so SIGTERM reaches Node. test/deploy/incluster.test.ts runs that layout.

import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../", import.meta.url))

interface Instruction {
  readonly keyword: string
  readonly args: string
  readonly line: number
}

/** Dockerfile instructions: comment lines dropped, `\` continuations joined. */
const parseDockerfile = (text: string): Array<Instruction> => {
  const out: Array<Instruction> = []
  let pending: { text: string; line: number } | undefined
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "")
    if (/^\s*#/.test(line)) return
    if (pending === undefined && line.trim() === "") return
    const continued = /\\\s*$/.test(line)
    const body = continued ? line.replace(/\\\s*$/, "") : line
    pending = pending === undefined ? { text: body, line: i + 1 } : { text: `${pending.text} ${body.trim()}`, line: pending.line }
    if (!continued) {
      const m = /^\s*(\S+)\s*(.*)$/.exec(pending.text)
      if (m !== null) out.push({ keyword: m[1].toUpperCase(), args: m[2].trim(), line: pending.line })
      pending = undefined
    }
  })
  return out
}

interface Stage {
  readonly image: string
  readonly name: string | undefined
  readonly instructions: Array<Instruction>
}

const stagesOf = (instructions: ReadonlyArray<Instruction>): Array<Stage> => {
  const stages: Array<Stage> = []
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith("--"))
      const as = words.findIndex((w) => w.toUpperCase() === "AS")
      stages.push({ image: words[0], name: as >= 0 ? words[as + 1] : undefined, instructions: [] })
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(ins)
    }
  }
  return stages
}

/** `--flag=value` options and the remaining words of a COPY/ADD. */
const copyParts = (args: string) => {
  const words = args.split(/\s+/)
  const flags = Object.fromEntries(words.filter((w) => w.startsWith("--")).map((w) => {
    const [k, v] = w.slice(2).split("=", 2)
    return [k, v ?? ""]
  }))
  const paths = words.filter((w) => !w.startsWith("--"))
  return { flags, sources: paths.slice(0, -1), dest: paths[paths.length - 1] }
}

const execForm = (ins: Instruction | undefined): Array<string> | undefined => {
  if (ins === undefined) return undefined
  try {
    const parsed: unknown = JSON.parse(ins.args)
    return Array.isArray(parsed) && parsed.every((x) => typeof x === "string") ? parsed : undefined
  } catch {
    return undefined
  }
}

const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8")
const instructions = parseDockerfile(dockerfile)
const stages = stagesOf(instructions)
const final = stages[stages.length - 1]
const last = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).at(-1)

describe("Dockerfile", () => {
  it("is a multi-stage build on node:24, the final stage on node:24-slim (a digest pin is allowed)", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    for (const s of stages) expect(s.image).toMatch(/^node:24(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?$/)
    expect(final.image).toMatch(/^node:24-slim(@sha256:[0-9a-f]{64})?$/)
    expect(instructions.some((i) => i.keyword === "ARG" && /NODE/i.test(i.args)), "the base image is not swapped by a build arg").toBe(false)
  })

  it("installs dependencies with npm ci from the lockfile, never npm install", () => {
    const runs = instructions.filter((i) => i.keyword === "RUN")
    expect(runs.filter((i) => /\bnpm\s+ci\b/.test(i.args)).length).toBeGreaterThanOrEqual(1)
    expect(runs.filter((i) => /\bnpm\s+(install|i|add)\b/.test(i.args))).toEqual([])
    // Every npm ci has the lockfile in place before it runs, in the same stage.
    for (const ci of runs.filter((i) => /\bnpm\s+ci\b/.test(i.args))) {
      const stage = stages.find((s) => s.instructions.includes(ci))!
      const before = stage.instructions.slice(0, stage.instructions.indexOf(ci))
      const copied = before.filter((i) => i.keyword === "COPY").flatMap((i) => copyParts(i.args).sources)
      expect(copied).toEqual(expect.arrayContaining(["package.json", "package-lock.json"]))
    }
  })

  it("compiles in a build stage of its own (npm run build), with no install scripts", () => {
    const build = stages.find((s) => s.instructions.some((i) => i.keyword === "RUN" && /\bnpm\s+run\s+build\b/.test(i.args)))
    expect(build, "a stage runs npm run build").toBeDefined()
    expect(build).not.toBe(final)
    const ci = build!.instructions.filter((i) => i.keyword === "RUN" && /\bnpm\s+ci\b/.test(i.args))
    expect(ci).toHaveLength(1)
    // The compiler is a devDependency; the `node` devDependency's install script (a second Node
    // binary) is not run.
    expect(ci[0].args).not.toMatch(/--omit=dev\b/)
    expect(ci[0].args).toMatch(/--ignore-scripts\b/)
    // The sources and the tsconfig files reach the build stage.
    const copied = build!.instructions.filter((i) => i.keyword === "COPY").flatMap((i) => copyParts(i.args).sources)
    expect(copied.some((s) => s === "." || s === "./" || s === "src" || s === "src/")).toBe(true)
  })

  it("the final stage holds only dist-image/ (the bundle, from the stage that built it) and package.json", () => {
    expect(final.instructions.filter((i) => i.keyword === "ADD")).toEqual([])
    expect(final.instructions.filter((i) => i.keyword === "RUN"), "nothing runs in the final stage").toEqual([])
    const copies = final.instructions.filter((i) => i.keyword === "COPY").map((i) => copyParts(i.args))
    const fromStage = copies.filter((c) => c.flags.from !== undefined)
    const strip = (p: string) => p.replace(/^\/app\//, "").replace(/^\.\//, "").replace(/\/$/, "")
    // No node_modules, and so none of dist/sim/tls (the simulator's public TLS key, in the npm package).
    expect(fromStage.flatMap((c) => c.sources.map(strip))).toEqual(["dist-image"])
    const build = stages.find((s) => s.name === fromStage[0]!.flags.from)
    expect(build).toBeDefined()
    expect(build!.instructions.some((i) => i.keyword === "RUN" && /\bnpm\s+run\s+build\b/.test(i.args))).toBe(true)
    const local = copies.filter((c) => c.flags.from === undefined).flatMap((c) => c.sources.map(strip))
    expect(local).toEqual(["package.json"])
  })

  it("runs as the numeric non-root user 1000, the Deployment's runAsUser", () => {
    const user = last(final, "USER")
    expect(user?.args).toMatch(/^\d+(:\d+)?$/)
    const uid = Number(user!.args.split(":")[0])
    expect(uid).not.toBe(0)
    expect(uid).toBe(1000)
    const deployment = readFileSync(join(root, "deploy", "base", "deployment.yaml"), "utf8")
    expect(deployment).toMatch(new RegExp(`\\brunAsUser: ${uid}\\b`))
    // Nothing after USER switches back.
    const index = final.instructions.indexOf(user!)
    expect(final.instructions.slice(index + 1).filter((i) => i.keyword === "USER" || i.keyword === "RUN")).toEqual([])
  })

  it("sets NODE_ENV=production and exposes 8080", () => {
    const env = final.instructions.filter((i) => i.keyword === "ENV").map((i) => i.args)
    expect(env.some((e) => /(^|\s)NODE_ENV=("?)production\2(\s|$)/.test(e) || /^NODE_ENV\s+production$/.test(e))).toBe(true)
    const exposed = final.instructions.filter((i) => i.keyword === "EXPOSE").flatMap((i) => i.args.split(/\s+/))
    expect(exposed.map((p) => p.replace(/\/tcp$/, ""))).toEqual(["8080"])
  })

  it("starts with exec-form ENTRYPOINT [node, ...flags, dist-image/main.js] and CMD [run]: no shell, no npm", () => {
    expect(final.instructions.filter((i) => i.keyword === "ENTRYPOINT")).toHaveLength(1)
    expect(final.instructions.filter((i) => i.keyword === "CMD")).toHaveLength(1)
    const entrypoint = execForm(last(final, "ENTRYPOINT"))
    const cmd = execForm(last(final, "CMD"))
    expect(entrypoint, "ENTRYPOINT is a JSON array (exec form)").toBeDefined()
    expect(entrypoint![0]).toBe("node")
    expect(entrypoint!.at(-1)).toBe("dist-image/main.js")
    expect(cmd, "CMD is a JSON array (exec form)").toEqual(["run"])
    for (const word of [...entrypoint!, ...cmd!]) {
      expect(["npm", "npx", "sh", "/bin/sh", "bash", "/bin/bash", "-c", "start"]).not.toContain(word)
    }
    // The compiled entry point, the bundle's input, exists where the build writes it (rootDir src →
    // outDir dist); scripts/build.mjs bundles dist/main.js into dist-image/.
    // tsconfig files are JSON with comments.
    const jsonc = readFileSync(join(root, "tsconfig.build.json"), "utf8").replace(/^\s*\/\/.*$/gm, "")
    const build = JSON.parse(jsonc) as { compilerOptions: { outDir: string; rootDir: string } }
    expect(build.compilerOptions.outDir.replace(/^\.\//, "")).toBe("dist")
    expect(build.compilerOptions.rootDir.replace(/^\.\//, "")).toBe("src")
    expect(existsSync(join(root, "src", "main.ts"))).toBe(true)
    expect(instructions.some((i) => i.keyword === "SHELL")).toBe(false)
  })

  it("sizes V8 for a controller: a bounded young generation, the old one from the container's memory limit", () => {
    const flags = execForm(last(final, "ENTRYPOINT"))!.slice(1, -1)
    expect(flags.every((f) => f.startsWith("--")), "only Node flags between node and the script").toBe(true)
    const semi = flags.map((f) => /^--max-semi-space-size=(\d+)$/.exec(f)).find((m) => m !== null)
    expect(semi, "--max-semi-space-size").toBeDefined()
    expect(Number(semi![1])).toBeGreaterThanOrEqual(1)
    expect(Number(semi![1])).toBeLessThanOrEqual(16)
    // A percentage of the cgroup limit, so the heap follows the Deployment's limits.memory; no
    // fixed size that would contradict it.
    const percent = flags.map((f) => /^--max-old-space-size-percentage=(\d+)$/.exec(f)).find((m) => m !== null)
    expect(percent, "--max-old-space-size-percentage").toBeDefined()
    expect(Number(percent![1])).toBeGreaterThanOrEqual(50)
    expect(Number(percent![1])).toBeLessThanOrEqual(80)
    expect(flags.some((f) => f.startsWith("--max-old-space-size="))).toBe(false)
    // The Deployment sets a memory limit for the percentage to apply to.
    const deployment = readFileSync(join(root, "deploy", "base", "deployment.yaml"), "utf8")
    expect(deployment).toMatch(/limits:\s*\n\s+memory:\s*\d+Mi/)
  })
})

describe(".dockerignore", () => {
  const patterns = readFileSync(join(root, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))

  it("keeps dependencies, history, tests, benchmarks, builds, tarballs and docs out of the context", () => {
    for (const p of ["node_modules", ".git", "test", "bench", "dist", "dist-image", "*.tgz", "docs"]) expect(patterns).toContain(p)
  })

  it("does not exclude what the build needs: sources, tsconfig files, package.json, the lockfile", () => {
    const needed = ["src", "src/main.ts", "package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json"]
    for (const p of patterns.filter((p) => !p.startsWith("!"))) {
      const body = p.replace(/^\//, "").replace(/\/$/, "")
      expect(["*", "**", "**/*", "*.json", "tsconfig*", "tsconfig*.json", ...needed]).not.toContain(body)
      expect(body === "src/*" || body === "src/**", p).toBe(false)
    }
  })
})
