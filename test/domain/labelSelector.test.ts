import { Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  compileLabelSelector,
  isDns1123Label,
  isDns1123Subdomain,
  type LabelSelector,
  labelSelectorProblem,
  matchesLabelSelector,
  parseLabelSelector
} from "../../src/domain/labelSelector.ts"
import { acceptedSelectors, refusedSelectors } from "../support/labelSelectors.ts"

/** One requirement of each kind; the string form of it is tested against it too. */
const everyOperator: LabelSelector = {
  matchLabels: { app: "a" },
  matchExpressions: [
    { key: "tier", operator: "In", values: ["x", "y"] },
    { key: "gone", operator: "DoesNotExist" },
    { key: "has", operator: "Exists" },
    { key: "env", operator: "NotIn", values: ["prod"] }
  ]
}

const match = (selector: LabelSelector | undefined | null, labels: Record<string, string> | undefined) => {
  const r = matchesLabelSelector(selector, labels)
  return Result.isSuccess(r) ? r.success : `error: ${r.failure.message}`
}

describe("matchesLabelSelector", () => {
  it.each<[string, LabelSelector | undefined | null, Record<string, string> | undefined, boolean]>([
    ["empty selector, no labels", {}, {}, true],
    ["empty selector, some labels", {}, { a: "b" }, true],
    ["absent selector (Argo: every pod)", undefined, { a: "b" }, true],
    ["null selector", null, undefined, true],
    ["null fields", { matchLabels: null, matchExpressions: null }, { a: "b" }, true],
    ["matchLabels hit", { matchLabels: { app: "a" } }, { app: "a", x: "y" }, true],
    ["matchLabels wrong value", { matchLabels: { app: "a" } }, { app: "b" }, false],
    ["matchLabels missing key", { matchLabels: { app: "a" } }, {}, false],
    ["matchLabels, labels undefined", { matchLabels: { app: "a" } }, undefined, false],
    ["matchLabels all required", { matchLabels: { app: "a", tier: "t" } }, { app: "a" }, false],
    ["In hit", { matchExpressions: [{ key: "tier", operator: "In", values: ["x", "y"] }] }, { tier: "y" }, true],
    ["In miss", { matchExpressions: [{ key: "tier", operator: "In", values: ["x", "y"] }] }, { tier: "z" }, false],
    ["In absent key", { matchExpressions: [{ key: "tier", operator: "In", values: ["x"] }] }, {}, false],
    ["NotIn absent key", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["x"] }] }, {}, true],
    ["NotIn other value", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["x"] }] }, { tier: "z" }, true],
    ["NotIn listed value", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["x"] }] }, { tier: "x" }, false],
    ["Exists hit (empty value)", { matchExpressions: [{ key: "k", operator: "Exists" }] }, { k: "" }, true],
    ["Exists miss", { matchExpressions: [{ key: "k", operator: "Exists" }] }, { j: "1" }, false],
    ["DoesNotExist hit", { matchExpressions: [{ key: "k", operator: "DoesNotExist", values: [] }] }, {}, true],
    ["DoesNotExist miss", { matchExpressions: [{ key: "k", operator: "DoesNotExist" }] }, { k: "v" }, false],
    [
      "labels and expressions are ANDed",
      { matchLabels: { app: "a" }, matchExpressions: [{ key: "k", operator: "DoesNotExist" }] },
      { app: "a", k: "v" },
      false
    ],
    [
      "prefixed keys",
      { matchLabels: { "workflows.argoproj.io/workflow": "wf-1" } },
      { "workflows.argoproj.io/workflow": "wf-1" },
      true
    ],
    ["inherited properties are not labels", { matchExpressions: [{ key: "constructor", operator: "Exists" }] }, {}, false]
  ])("%s", (_name, selector, labels, expected) => {
    expect(match(selector, labels)).toBe(expected)
  })

  it.each<[string, LabelSelector, string]>([
    [
      "unknown operator",
      { matchExpressions: [{ key: "k", operator: "Equals", values: ["v"] }] },
      'invalid label selector: matchExpressions[0]: "Equals" is not a valid label selector operator'
    ],
    [
      "In without values",
      { matchExpressions: [{ key: "k", operator: "In" }] },
      "invalid label selector: matchExpressions[0]: for 'in', 'notin' operators, values set can't be empty"
    ],
    [
      "NotIn with empty values",
      { matchExpressions: [{ key: "k", operator: "NotIn", values: [] }] },
      "invalid label selector: matchExpressions[0]: for 'in', 'notin' operators, values set can't be empty"
    ],
    [
      "Exists with values",
      { matchExpressions: [{ key: "k", operator: "Exists", values: ["v"] }] },
      "invalid label selector: matchExpressions[0]: values set must be empty for exists and does not exist"
    ],
    [
      "key with a space",
      { matchLabels: { "a b": "c" } },
      'invalid label selector: matchLabels key "a b": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character'
    ],
    [
      "upper-case prefix",
      { matchLabels: { "Example.com/x": "c" } },
      'invalid label selector: matchLabels key "Example.com/x": prefix part must be a lowercase RFC 1123 subdomain of at most 253 characters'
    ],
    [
      "two slashes",
      { matchExpressions: [{ key: "a/b/c", operator: "Exists" }] },
      'invalid label selector: matchExpressions[0] key "a/b/c": a qualified name must consist of an optional DNS subdomain prefix and a name, separated by one \'/\''
    ],
    [
      "empty name",
      { matchLabels: { "example.com/": "c" } },
      'invalid label selector: matchLabels key "example.com/": name part must be non-empty'
    ],
    [
      "name over 63 characters",
      { matchLabels: { ["n".repeat(64)]: "c" } },
      `invalid label selector: matchLabels key "${"n".repeat(64)}": name part must be no more than 63 characters`
    ],
    [
      "bad value",
      { matchLabels: { app: "-x" } },
      'invalid label selector: matchLabels["app"] value "-x": a valid label value must be empty or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character'
    ],
    [
      "value over 63 characters",
      { matchExpressions: [{ key: "k", operator: "In", values: ["v".repeat(64)] }] },
      `invalid label selector: matchExpressions[0] value "${"v".repeat(64)}": must be no more than 63 characters`
    ]
  ])("rejects %s", (_name, selector, message) => {
    const r = compileLabelSelector(selector)
    expect(Result.isFailure(r)).toBe(true)
    if (Result.isFailure(r)) {
      expect(r.failure._tag).toBe("InvalidLabelSelectorError")
      expect(r.failure.message).toBe(message)
    }
  })

  it("accepts an empty label value and a 63-character name", () => {
    expect(match({ matchLabels: { ["n".repeat(63)]: "" } }, { ["n".repeat(63)]: "" })).toBe(true)
  })

  it("compiles once, matches many times, and prints a readable form", () => {
    const r = compileLabelSelector(everyOperator)
    expect(Result.isSuccess(r)).toBe(true)
    if (Result.isSuccess(r)) {
      expect(r.success.text).toBe("app=a,tier in (x,y),!gone,has,env notin (prod)")
      expect(r.success.matches({ app: "a", tier: "x", has: "1" })).toBe(true)
      expect(r.success.matches({ app: "a", tier: "x", has: "1", env: "prod" })).toBe(false)
      expect(r.success.matches({ app: "a", tier: "x", has: "1", gone: "" })).toBe(false)
    }
  })
})

describe("the string form (labels.Parse)", () => {
  it.each(acceptedSelectors)("accepts %j", (selector) => {
    expect(labelSelectorProblem(selector)).toBe(undefined)
    expect(Result.isSuccess(parseLabelSelector(selector))).toBe(true)
  })

  it.each(refusedSelectors)("refuses %j", (selector, problem) => {
    expect(labelSelectorProblem(selector)).toBe(problem)
    const r = parseLabelSelector(selector)
    expect(Result.isFailure(r) && r.failure._tag === "InvalidLabelSelectorError" && r.failure.message).toBe(
      `invalid label selector: ${problem}`
    )
  })

  const matches = (selector: string, labels: Record<string, string> | undefined) =>
    Result.getOrThrow(parseLabelSelector(selector)).matches(labels)

  it.each<[string, Record<string, string> | undefined, boolean]>([
    ["", undefined, true],
    ["app=web", { app: "web" }, true],
    ["app==web", { app: "db" }, false],
    ["app!=web", {}, true],
    ["app!=web", { app: "web" }, false],
    ["app=", { app: "" }, true],
    ["app=", {}, false],
    ["tier in (a,b)", { tier: "b" }, true],
    ["tier in (a,)", { tier: "" }, true],
    ["tier notin (a, b)", { tier: "a" }, false],
    ["tier notin (a, b)", {}, true],
    ["app", { app: "" }, true],
    ["!app", { app: "x" }, false],
    ["workflows.argoproj.io/workflow,workflows.argoproj.io/completed!=true", { "workflows.argoproj.io/workflow": "wf" }, true],
    ["workflows.argoproj.io/workflow,workflows.argoproj.io/completed!=true", {
      "workflows.argoproj.io/workflow": "wf",
      "workflows.argoproj.io/completed": "true"
    }, false]
  ])("%j matches %j: %s", (selector, labels, expected) => {
    expect(matches(selector, labels)).toBe(expected)
  })

  it("means the same as the structured form", () => {
    const text = Result.getOrThrow(parseLabelSelector("app=a, tier in (x,y), !gone, has, env!=prod"))
    const structured = Result.getOrThrow(compileLabelSelector(everyOperator))
    expect(text.text).toBe(structured.text)
    const samples: ReadonlyArray<Record<string, string>> = [
      { app: "a", tier: "x", has: "1" },
      { app: "a", tier: "x", has: "1", env: "prod" },
      { app: "a", has: "" }
    ]
    for (const labels of samples) {
      expect(text.matches(labels)).toBe(structured.matches(labels))
    }
  })
})

describe("names", () => {
  it.each<[string, boolean, boolean]>([
    ["argo", true, true],
    ["a-1", true, true],
    ["0", true, true],
    ["cleanup.argo", false, true],
    ["Argo", false, false],
    ["-argo", false, false],
    ["argo-", false, false],
    ["kube_system", false, false],
    ["x".repeat(63), true, true],
    ["x".repeat(64), false, true],
    [`${"x".repeat(63)}.${"y".repeat(63)}.${"z".repeat(63)}.${"w".repeat(61)}`, false, true],
    [`${"x".repeat(63)}.${"y".repeat(63)}.${"z".repeat(63)}.${"w".repeat(62)}`, false, false]
  ])("%j: DNS-1123 label %s, subdomain %s", (name, label, subdomain) => {
    expect([isDns1123Label(name), isDns1123Subdomain(name)]).toStrictEqual([label, subdomain])
  })
})
