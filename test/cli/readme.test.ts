/**
 * The README's commands work as written on a fresh machine: each `npm start` / `npm run X` it shows
 * is a script of package.json, none is `node src/...` (a system Node before 22.18 cannot load .ts
 * files), every script that runs TypeScript preloads the Node version check, and the embedding
 * snippet is `examples/embed.mjs` verbatim (which test/package.test.ts runs from the tarball), and
 * its configuration table is the one rendered from the settings table.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { settingsMarkdown } from "../../src/cli/help.ts"

const root = path.resolve(import.meta.dirname, "../..")
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))

describe("the README's commands", () => {
  it("every npm script it shows exists", () => {
    const shown = [...readme.matchAll(/npm run ([a-z][-a-z:]*)/g)].map((m) => m[1]!)
    expect(shown.length).toBeGreaterThan(10)
    for (const name of new Set(shown)) expect(Object.keys(pkg.scripts), `npm run ${name}`).toContain(name)
    expect(pkg.scripts.start).toBeDefined()
  })

  it("none runs a .ts file with a bare node; every script that does preloads the version check", () => {
    const bare = readme.split("\n").filter((line) => /node (src|bench|examples)\//.test(line) && !line.includes("not as `node src/main.ts`"))
    expect(bare).toEqual([])
    for (const [name, script] of Object.entries<string>(pkg.scripts)) {
      if (/^node .*\.ts\b/.test(script)) expect(script, name).toMatch(/^node --import \.\/scripts\/require-node\.mjs /)
    }
  })

  it("the embedding snippet is examples/embed.mjs", () => {
    const example = fs.readFileSync(path.join(root, "examples/embed.mjs"), "utf8")
    const section = readme.slice(readme.indexOf("## Embedding"), readme.indexOf("## How it is built"))
    const snippet = /```js\n([\s\S]*?)```/.exec(section)?.[1]
    expect(snippet).toBe(example)
  })

  it("the version check requires the Node of package.json's engines", () => {
    expect(pkg.engines.node).toBe(">=24")
    for (const file of ["src/main.ts", "scripts/require-node.mjs"]) {
      expect(fs.readFileSync(path.join(root, file), "utf8"), file).toContain("const requiredMajor = 24\n")
    }
  })

  it("the configuration table is settingsMarkdown(), the table rendered from the settings", () => {
    const section = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## Metrics"))
    const table = section.split("\n").filter((line) => line.startsWith("|")).join("\n")
    expect(table).toBe(settingsMarkdown())
  })
})
