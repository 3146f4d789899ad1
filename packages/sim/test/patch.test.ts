import { describe, expect, it } from "vitest"
import { applyPatch, jsonPatch, mergePatch, strategicMergePatch } from "../src/patch.ts"
import { StatusError } from "../src/status.ts"

describe("JSON merge patch (RFC 7386 examples)", () => {
  it.each([
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }]
  ])("%j + %j = %j", (target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected)
  })

  it("does not mutate its inputs", () => {
    const target = { a: { b: 1 } }
    mergePatch(target, { a: { b: 2 } })
    expect(target).toEqual({ a: { b: 1 } })
  })
})

const pod = {
  metadata: { name: "p", finalizers: ["a", "b"], labels: { x: "1" } },
  spec: {
    containers: [
      { name: "wait", image: "argoexec:1", env: [{ name: "A", value: "1" }] },
      { name: "main", image: "busybox:1" }
    ]
  },
  status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] }
}

describe("strategic merge patch (pods)", () => {
  it.each([
    ["finalizers merge as a set", { metadata: { finalizers: ["b", "c"] } }, (p: any) => expect(p.metadata.finalizers).toEqual(["a", "b", "c"])],
    [
      "$deleteFromPrimitiveList removes finalizers",
      { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } },
      (p: any) => expect(p.metadata.finalizers).toEqual(["b"])
    ],
    [
      "delete and add in one patch",
      { metadata: { "$deleteFromPrimitiveList/finalizers": ["a", "b"], finalizers: ["z"] } },
      (p: any) => expect(p.metadata.finalizers).toEqual(["z"])
    ],
    ["null removes the list", { metadata: { finalizers: null } }, (p: any) => expect(p.metadata.finalizers).toBeUndefined()],
    [
      "containers merge by name",
      { spec: { containers: [{ name: "main", image: "busybox:2" }] } },
      (p: any) => {
        expect(p.spec.containers.map((c: any) => [c.name, c.image])).toEqual([["wait", "argoexec:1"], ["main", "busybox:2"]])
      }
    ],
    [
      "a new container is appended",
      { spec: { containers: [{ name: "sidecar", image: "envoy" }] } },
      (p: any) => expect(p.spec.containers.map((c: any) => c.name)).toEqual(["wait", "main", "sidecar"])
    ],
    [
      "$patch: delete removes a container",
      { spec: { containers: [{ name: "wait", $patch: "delete" }] } },
      (p: any) => expect(p.spec.containers.map((c: any) => c.name)).toEqual(["main"])
    ],
    [
      "nested env merges by name",
      { spec: { containers: [{ name: "wait", env: [{ name: "B", value: "2" }] }] } },
      (p: any) => expect(p.spec.containers[0].env).toEqual([{ name: "A", value: "1" }, { name: "B", value: "2" }])
    ],
    [
      "conditions merge by type",
      { status: { conditions: [{ type: "Ready", status: "False" }, { type: "DisruptionTarget", status: "True" }] } },
      (p: any) => expect(p.status.conditions).toEqual([{ type: "Ready", status: "False" }, { type: "DisruptionTarget", status: "True" }])
    ],
    ["labels merge like merge-patch", { metadata: { labels: { x: null, y: "2" } } }, (p: any) => expect(p.metadata.labels).toEqual({ y: "2" })],
    [
      "$patch: replace on a map",
      { metadata: { labels: { $patch: "replace", z: "3" } } },
      (p: any) => expect(p.metadata.labels).toEqual({ z: "3" })
    ],
    [
      "$setElementOrder is accepted and ignored",
      { metadata: { "$setElementOrder/finalizers": ["b", "a"], labels: { q: "1" } } },
      (p: any) => expect(p.metadata.finalizers).toEqual(["a", "b"])
    ]
  ])("%s", (_name, patch, check) => {
    check(strategicMergePatch(pod, patch))
  })

  it("a list item without its merge key is a 400", () => {
    expect(() => strategicMergePatch(pod, { spec: { containers: [{ image: "x" }] } })).toThrow(StatusError)
  })
})

describe("JSON patch (RFC 6902)", () => {
  const doc = { metadata: { name: "p", labels: { a: "1" }, finalizers: ["f1", "f2"] }, n: [1, 2, 3] }
  it.each([
    ["add a key", [{ op: "add", path: "/metadata/labels/b", value: "2" }], (d: any) => expect(d.metadata.labels).toEqual({ a: "1", b: "2" })],
    ["add to array end", [{ op: "add", path: "/n/-", value: 4 }], (d: any) => expect(d.n).toEqual([1, 2, 3, 4])],
    ["insert into array", [{ op: "add", path: "/n/0", value: 0 }], (d: any) => expect(d.n).toEqual([0, 1, 2, 3])],
    ["remove array item", [{ op: "remove", path: "/metadata/finalizers/0" }], (d: any) => expect(d.metadata.finalizers).toEqual(["f2"])],
    ["replace", [{ op: "replace", path: "/metadata/labels/a", value: "x" }], (d: any) => expect(d.metadata.labels.a).toBe("x")],
    ["test then replace", [{ op: "test", path: "/n/1", value: 2 }, { op: "replace", path: "/n/1", value: 20 }], (d: any) => expect(d.n).toEqual([1, 20, 3])],
    ["move", [{ op: "move", from: "/metadata/labels/a", path: "/metadata/labels/c" }], (d: any) => expect(d.metadata.labels).toEqual({ c: "1" })],
    ["copy", [{ op: "copy", from: "/n", path: "/m" }], (d: any) => expect(d.m).toEqual([1, 2, 3])],
    ["escaped pointer", [{ op: "add", path: "/metadata/labels/x~1y~0z", value: "v" }], (d: any) => expect(d.metadata.labels["x/y~z"]).toBe("v")]
  ])("%s", (_name, ops, check) => {
    check(jsonPatch(doc, ops))
  })

  it.each([
    ["failed test", [{ op: "test", path: "/metadata/name", value: "other" }], 422],
    ["test of a missing path", [{ op: "test", path: "/nope", value: 1 }], 422],
    ["remove missing", [{ op: "remove", path: "/metadata/nope" }], 422],
    ["replace missing", [{ op: "replace", path: "/nope", value: 1 }], 422],
    ["add under missing parent", [{ op: "add", path: "/a/b/c", value: 1 }], 422],
    ["index out of range", [{ op: "add", path: "/n/9", value: 1 }], 422],
    ["unknown op", [{ op: "frobnicate", path: "/n" }], 422],
    ["not an array", { op: "add" }, 400]
  ])("%s → %i", (_name, ops, code) => {
    try {
      jsonPatch(doc, ops)
      expect.fail("expected an error")
    } catch (e) {
      expect(e).toBeInstanceOf(StatusError)
      expect((e as StatusError).code).toBe(code)
    }
  })

  it("a failed op leaves the input untouched", () => {
    const before = structuredClone(doc)
    expect(() => jsonPatch(doc, [{ op: "remove", path: "/n/0" }, { op: "test", path: "/n/0", value: 1 }])).toThrow()
    expect(doc).toEqual(before)
  })
})

describe("applyPatch", () => {
  it("a merge body that is not an object is a 400", () => {
    expect(() => applyPatch("merge", {}, [1])).toThrow(StatusError)
  })
})
