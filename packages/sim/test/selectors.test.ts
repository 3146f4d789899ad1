import { describe, expect, it } from "vitest"
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from "../src/selectors.ts"
import { StatusError } from "../src/status.ts"

const labels = { app: "web", tier: "front", "workflows.argoproj.io/completed": "false", n: "5" }

describe("label selectors", () => {
  it.each([
    ["", true],
    ["app=web", true],
    ["app==web", true],
    ["app = web", true],
    ["app=db", false],
    ["app!=db", true],
    ["app!=web", false],
    ["missing!=x", true],
    ["app in (web,db)", true],
    ["app in (db, cache)", false],
    ["app notin (db,cache)", true],
    ["app notin (web)", false],
    ["missing notin (a)", true],
    ["missing in (a)", false],
    ["app", true],
    ["missing", false],
    ["!missing", true],
    ["!app", false],
    ["app=web,tier=front", true],
    ["app=web,tier=back", false],
    ["workflows.argoproj.io/completed=false", true],
    ["workflows.argoproj.io/completed!=true", true],
    ["app=web, !missing, tier in (front)", true],
    ["n>3", true],
    ["n<3", false],
    ["app>3", false],
    ["empty=", false]
  ])("%j matches: %s", (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected)
  })

  it("an empty value matches an empty label", () => {
    expect(matchesLabels(parseLabelSelector("e="), { e: "" })).toBe(true)
  })

  it.each(["app=", "a b", "app in web", "app in (web", "=web", "app=web,", "!", "app notin ()", "bad key!=x=y", "n>x", "a=(b)", "app=we b"])(
    "%j: parse error is a 400 or parses",
    (selector) => {
      // "app=" is valid (empty value); every other one is a parse error with code 400.
      if (selector === "app=") {
        expect(parseLabelSelector(selector)).toEqual([{ key: "app", operator: "=", values: [""] }])
        return
      }
      try {
        parseLabelSelector(selector)
        expect.fail(`expected a parse error for ${selector}`)
      } catch (e) {
        expect(e).toBeInstanceOf(StatusError)
        expect((e as StatusError).code).toBe(400)
        expect((e as StatusError).reason).toBe("BadRequest")
      }
    }
  )
})

describe("field selectors", () => {
  const fields: Record<string, string> = {
    "metadata.name": "p1",
    "metadata.namespace": "ns",
    "spec.nodeName": "node-1",
    "status.phase": "Running"
  }
  const supported = Object.keys(fields)
  it.each([
    ["", true],
    ["metadata.name=p1", true],
    ["metadata.name==p1", true],
    ["metadata.name!=p1", false],
    ["spec.nodeName=node-1,status.phase=Running", true],
    ["spec.nodeName=node-1,status.phase!=Running", false],
    ["metadata.namespace=other", false],
    ["status.phase!=Succeeded", true]
  ])("%j matches: %s", (selector, expected) => {
    expect(matchesFields(parseFieldSelector(selector, supported), (f) => fields[f])).toBe(expected)
  })

  it("an unknown field is a 400 naming the supported ones", () => {
    try {
      parseFieldSelector("spec.foo=bar", supported)
      expect.fail("expected an error")
    } catch (e) {
      expect((e as StatusError).code).toBe(400)
      expect((e as StatusError).message).toContain("is not a known field selector")
    }
  })

  it("a term without an operator is a 400", () => {
    expect(() => parseFieldSelector("metadata.name", supported)).toThrow(StatusError)
  })

  it("escaped commas stay in the value", () => {
    expect(parseFieldSelector("metadata.name=a\\,b", supported)).toEqual([{ field: "metadata.name", operator: "=", value: "a,b" }])
  })
})
