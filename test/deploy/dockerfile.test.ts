// Static checks of the Dockerfile and .dockerignore (no Docker engine needed): a multi-stage build
// on node:24, production dependencies from the lockfile, only package.json, package-lock.json and
// src/ in the image, a numeric non-root user that matches the Deployment, and an exec-form
// entrypoint so SIGTERM reaches Node.

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

  it("installs production dependencies with npm ci --omit=dev from the lockfile, never npm install", () => {
    const runs = instructions.filter((i) => i.keyword === "RUN")
    const ci = runs.filter((i) => /\bnpm\s+ci\b/.test(i.args))
    expect(ci).toHaveLength(1)
    expect(ci[0].args).toMatch(/--omit=dev\b/)
    expect(runs.filter((i) => /\bnpm\s+(install|i|add)\b/.test(i.args))).toEqual([])
    // The lockfile is in place before npm ci runs, in the same stage.
    const stage = stages.find((s) => s.instructions.includes(ci[0]))!
    const before = stage.instructions.slice(0, stage.instructions.indexOf(ci[0]))
    const copied = before.filter((i) => i.keyword === "COPY").flatMap((i) => copyParts(i.args).sources)
    expect(copied).toEqual(expect.arrayContaining(["package.json", "package-lock.json"]))
  })

  it("the final stage holds only node_modules (from the build stage), package.json, package-lock.json and src/", () => {
    expect(final.instructions.filter((i) => i.keyword === "ADD")).toEqual([])
    expect(final.instructions.filter((i) => i.keyword === "RUN"), "nothing runs in the final stage").toEqual([])
    const copies = final.instructions.filter((i) => i.keyword === "COPY").map((i) => copyParts(i.args))
    const fromStage = copies.filter((c) => c.flags.from !== undefined)
    expect(fromStage).toHaveLength(1)
    expect(stages.slice(0, -1).map((s) => s.name)).toContain(fromStage[0].flags.from)
    expect(fromStage[0].sources.map((s) => s.replace(/\/$/, "").split("/").at(-1))).toEqual(["node_modules"])
    const local = copies.filter((c) => c.flags.from === undefined).flatMap((c) => c.sources.map((s) => s.replace(/^\.\//, "").replace(/\/$/, "")))
    expect([...local].sort()).toEqual(["package-lock.json", "package.json", "src"])
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

  it("starts with exec-form ENTRYPOINT [node, src/main.ts] and CMD [run]: no shell, no npm", () => {
    expect(final.instructions.filter((i) => i.keyword === "ENTRYPOINT")).toHaveLength(1)
    expect(final.instructions.filter((i) => i.keyword === "CMD")).toHaveLength(1)
    const entrypoint = execForm(last(final, "ENTRYPOINT"))
    const cmd = execForm(last(final, "CMD"))
    expect(entrypoint, "ENTRYPOINT is a JSON array (exec form)").toEqual(["node", "src/main.ts"])
    expect(cmd, "CMD is a JSON array (exec form)").toEqual(["run"])
    for (const word of [...entrypoint!, ...cmd!]) {
      expect(["npm", "npx", "sh", "/bin/sh", "bash", "/bin/bash", "-c", "start"]).not.toContain(word)
    }
    expect(existsSync(join(root, "src", "main.ts"))).toBe(true)
    expect(instructions.some((i) => i.keyword === "SHELL")).toBe(false)
  })
})

describe(".dockerignore", () => {
  const patterns = readFileSync(join(root, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))

  it("keeps dependencies, history, tests, benchmarks, builds, tarballs and docs out of the context", () => {
    for (const p of ["node_modules", ".git", "test", "bench", "dist", "*.tgz", "docs"]) expect(patterns).toContain(p)
  })

  it("does not exclude what the image needs", () => {
    const needed = ["src", "src/main.ts", "package.json", "package-lock.json"]
    for (const p of patterns.filter((p) => !p.startsWith("!"))) {
      const body = p.replace(/^\//, "").replace(/\/$/, "")
      expect(["*", "**", "**/*", ...needed]).not.toContain(body)
      expect(body === "src/*" || body === "src/**", p).toBe(false)
    }
  })
})
