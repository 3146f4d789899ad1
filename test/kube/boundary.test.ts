/**
 * Every Kubernetes call has one home, `src/kube`: no other module of the product (the simulator
 * aside) imports `@kubernetes/client-node`, so its model objects and API clients stay inside.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { describe, expect, it } from "vitest"

const src = join(import.meta.dirname, "../../src")

const sources = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  )

const importsClientNode = /\b(?:from|import)\s*\(?\s*["']@kubernetes\/client-node(?:\/[^"']*)?["']/

describe("the kube boundary", () => {
  it("only src/kube and src/sim import @kubernetes/client-node", () => {
    const files = sources(src).map((f) => relative(src, f).split("\\").join("/"))
    expect(files.filter((f) => f.startsWith("kube/")).length).toBeGreaterThan(0)
    const offenders = files.filter((f) =>
      !f.startsWith("kube/") && !f.startsWith("sim/") && importsClientNode.test(readFileSync(join(src, f), "utf8"))
    )
    expect(offenders).toStrictEqual([])
    // The check itself sees an import where there is one.
    expect(files.some((f) => f.startsWith("kube/") && importsClientNode.test(readFileSync(join(src, f), "utf8")))).toBe(true)
  })
})
