/**
 * The boundary between pod-cleanup and its test world: the simulator (packages/sim, the
 * @pod-cleanup/sim workspace package) imports nothing of the product, and the product's code
 * (src, test, bench, examples) reaches the simulator only by its package name, never by a path into
 * packages/. The product's own sources use the simulator's entry point only (the build ships that
 * one, in dist/sim), never its test helpers. Checked on every import and export specifier.
 *
 * And every Kubernetes call has one home, `src/kube`: no other module of the product imports
 * `@kubernetes/client-node`, so its model objects and API clients stay inside.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "..")
const sim = path.join(root, "packages/sim")

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /\.(ts|mts|mjs|js)$/.test(f) && !f.split(path.sep).includes("node_modules"))
    .map((f) => path.join(dir, f))

/** `from "x"`, `import "x"`, `import("x")`: every module specifier in the text. */
const specifiers = (text: string): Array<string> =>
  [...text.matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']/g)]
    .map((m) => m[1] ?? m[2] ?? m[3])

const inside = (dir: string, file: string): boolean => {
  const rel = path.relative(dir, file)
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel)
}

/** What is wrong with `file`'s imports (paths relative to the repository). */
const violations = (file: string, text: string): Array<string> => {
  const inSim = inside(sim, file)
  const inProductSource = inside(path.join(root, "src"), file)
  return specifiers(text).flatMap((spec) => {
    const where = `${path.relative(root, file)}: "${spec}"`
    if (spec.startsWith(".")) {
      const target = path.resolve(path.dirname(file), spec)
      if (inSim && !inside(sim, target)) return [`${where} leaves the simulator package`]
      if (!inSim && inside(path.join(root, "packages"), target)) return [`${where} reaches into packages/ by path; import @pod-cleanup/sim`]
      return []
    }
    if (inSim && /^pod-cleanup(\/|$)/.test(spec)) return [`${where}: the simulator imports the product`]
    if (inProductSource && spec.startsWith("@pod-cleanup/sim/")) return [`${where}: the product ships only @pod-cleanup/sim itself`]
    return []
  })
}

const check = (files: ReadonlyArray<string>): Array<string> =>
  files.flatMap((file) => violations(file, fs.readFileSync(file, "utf8")))

describe("the simulator package boundary", () => {
  it("the simulator imports nothing outside packages/sim", () => {
    const files = [...sourceFiles(path.join(sim, "src")), ...sourceFiles(path.join(sim, "test"))]
    expect(files.length).toBeGreaterThan(30)
    expect(check(files)).toEqual([])
  })

  it("src, test, bench and examples reach the simulator only as @pod-cleanup/sim", () => {
    const files = ["src", "test", "bench", "examples"].flatMap((dir) => sourceFiles(path.join(root, dir)))
    expect(files.filter((f) => specifiers(fs.readFileSync(f, "utf8")).some((s) => s.startsWith("@pod-cleanup/sim"))).length)
      .toBeGreaterThan(20)
    expect(check(files)).toEqual([])
  })

  it("flags each kind of crossing", () => {
    const at = (file: string) => path.join(root, file)
    expect(violations(at("packages/sim/src/rest.ts"), `import { KubeClient } from "../../../src/kube/KubeClient.ts"`)).toHaveLength(1)
    expect(violations(at("packages/sim/test/x.test.ts"), `const m = await import("../../../test/support/sim.ts")`)).toHaveLength(1)
    expect(violations(at("packages/sim/src/seed.ts"), `import type { Pod } from "pod-cleanup"`)).toHaveLength(1)
    expect(violations(at("src/cli/demo.ts"), `import {\n  SimCluster\n} from "../../packages/sim/src/index.ts"`)).toHaveLength(1)
    expect(violations(at("test/kube/x.test.ts"), `export { http } from "../../packages/sim/test/helpers.ts"`)).toHaveLength(1)
    expect(violations(at("src/cli/demo.ts"), `import { http } from "@pod-cleanup/sim/testing"`)).toHaveLength(1)
    // Allowed: inside the package, and by name from outside.
    expect(violations(at("packages/sim/test/x.test.ts"), `import { SimCluster } from "../src/index.ts"\nimport "node:fs"`)).toEqual([])
    expect(violations(at("src/cli/demo.ts"), `import { SimCluster } from "@pod-cleanup/sim"`)).toEqual([])
    expect(violations(at("test/chaos.test.ts"), `import { http } from "@pod-cleanup/sim/testing"`)).toEqual([])
  })
})

describe("the kube boundary", () => {
  it("only src/kube imports @kubernetes/client-node", () => {
    const src = path.join(root, "src")
    const clientNode = (file: string) =>
      specifiers(fs.readFileSync(file, "utf8")).some((spec) => /^@kubernetes\/client-node(\/|$)/.test(spec))
    const files = sourceFiles(src)
    const kube = files.filter((f) => inside(path.join(src, "kube"), f))
    // The check sees an import where there is one.
    expect(kube.some(clientNode)).toBe(true)
    expect(files.filter((f) => !kube.includes(f) && clientNode(f)).map((f) => path.relative(root, f))).toStrictEqual([])
  })
})
