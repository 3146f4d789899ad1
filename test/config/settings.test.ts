/**
 * The table's own rules: every row lands somewhere real, a command never reads two rows through
 * one flag or variable, and engine defaults are `defaultEngineSettings`' own.
 */
import { Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { parseCommandConfig } from "../../src/config/Config.ts"
import { type Command, getPath, hasPath, readsSetting, setPath, settingAt, settings } from "../../src/config/settings.ts"
import { defaultEngineSettings } from "../../src/engine/EngineSettings.ts"

const commands: ReadonlyArray<Command> = ["run", "once", "demo"]

describe("the settings table", () => {
  it.each(commands)("%s: each flag and each variable belongs to one row", (command) => {
    const rows = settings.filter((s) => readsSetting(command, s))
    const flags = rows.map((s) => s.flag)
    const envs = rows.flatMap((s) => s.env === undefined ? [] : [s.env])
    expect(new Set(flags).size).toBe(flags.length)
    expect(new Set(envs).size).toBe(envs.length)
    expect(flags.every((flag) => /^--[a-z][-a-z]*$/.test(flag))).toBe(true)
  })

  it("each path is one row's", () => {
    expect(new Set(settings.map((s) => s.path)).size).toBe(settings.length)
  })

  it("engine rows default to defaultEngineSettings at their path", () => {
    for (const s of settings.filter((row) => row.path.startsWith("engine."))) {
      expect(s.default, s.path).toStrictEqual(getPath({ engine: defaultEngineSettings }, s.path))
    }
  })

  it.each(commands)("%s: every row's path is in the parsed configuration, at its default", (command) => {
    const tree = Result.getOrThrow(parseCommandConfig(command, [], {}))
    for (const s of settings) {
      expect(hasPath(tree, s.path), s.path).toBe(true)
      expect(getPath(tree, s.path), s.path).toStrictEqual(s.default)
    }
  })

  it("each default encodes to text that decodes back to it", () => {
    for (const s of settings) {
      const codec = s.codec as Schema.Codec<unknown, string>
      expect(Schema.decodeUnknownSync(codec)(Schema.encodeSync(codec)(s.default)), s.path).toStrictEqual(s.default)
    }
  })

  it("settingAt finds a row by its path and refuses an unknown one", () => {
    expect(settingAt("engine.workers").flag).toBe("--workers")
    expect(() => settingAt("nope" as "httpPort")).toThrow("no setting at nope")
  })
})

describe("paths", () => {
  it("setPath copies along the path and leaves the rest shared", () => {
    const inner = { b: 1, c: { d: 2 } }
    const tree = { a: inner, e: { f: 3 } }
    const next = setPath(tree, "a.c.d", 4)
    expect(next).toStrictEqual({ a: { b: 1, c: { d: 4 } }, e: { f: 3 } })
    expect(tree.a.c.d).toBe(2)
    expect(next.e).toBe(tree.e)
    expect(setPath({}, "x.y", undefined)).toStrictEqual({ x: { y: undefined } })
  })

  it("hasPath sees a property set to undefined, getPath reads through missing steps", () => {
    expect([hasPath({ a: { b: undefined } }, "a.b"), hasPath({ a: {} }, "a.b"), hasPath({}, "a.b")]).toStrictEqual([true, false, false])
    expect([getPath({ a: { b: 1 } }, "a.b"), getPath({}, "a.b")]).toStrictEqual([1, undefined])
  })
})
