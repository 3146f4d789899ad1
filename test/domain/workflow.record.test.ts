/**
 * The compact workflow record: what survives of a Workflow object (Pod-type nodes only, interned
 * states), every form its node map can take (plain, gzip / zstd / brotli compressed, offloaded,
 * unreadable), Argo's node IDs (FNV-32a), `NodePhase.Fulfilled`, and change detection.
 */
import { brotliCompressSync, constants as zlibConstants, gzipSync, zstdCompressSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import {
  argoNodeId,
  changedNodeIds,
  fnv32a,
  isNodeFulfilled,
  type NodeState,
  type NodeStatus,
  nodeStatusOf,
  type WorkflowRecord,
  workflowInputsEqual,
  workflowRecord
} from "../../src/domain/workflow.ts"

// ---- Fixtures -----------------------------------------------------------------------------------

/** A node map as Argo writes it: a DAG root, a retry node, pods, a skipped pod, a suspend node. */
const rawNodes: Record<string, unknown> = {
  "wf-1": { id: "wf-1", name: "wf-1", type: "DAG", phase: "Running" },
  "wf-1-1111": { id: "wf-1-1111", name: "wf-1.retry", type: "Retry", phase: "Running" },
  "wf-1-2222": { id: "wf-1-2222", name: "wf-1.a", type: "Pod", phase: "Succeeded", taskResultSynced: true },
  "wf-1-3333": { id: "wf-1-3333", name: "wf-1.b", type: "Pod", phase: "Running" },
  "wf-1-4444": { id: "wf-1-4444", name: "wf-1.c", type: "Pod", phase: "Failed", taskResultSynced: false },
  "wf-1-5555": { id: "wf-1-5555", name: "wf-1.d", type: "Skipped", phase: "Skipped" },
  "wf-1-6666": { id: "wf-1-6666", name: "wf-1.e", type: "Suspend", phase: "Running" }
}

const expectedPods: ReadonlyArray<readonly [string, Omit<NodeState, "fulfilled"> & { fulfilled: boolean }]> = [
  ["wf-1-2222", { phase: "Succeeded", taskResultSynced: true, fulfilled: true }],
  ["wf-1-3333", { phase: "Running", taskResultSynced: undefined, fulfilled: false }],
  ["wf-1-4444", { phase: "Failed", taskResultSynced: false, fulfilled: false }]
]

const podsOf = (status: NodeStatus) => {
  if (status._tag !== "Nodes") throw new Error(`expected Nodes, got ${JSON.stringify(status)}`)
  return [...status.pods.entries()].map(([id, s]) => [id, { ...s }] as const).sort(([a], [b]) => a.localeCompare(b))
}

const b64 = (buf: Buffer) => buf.toString("base64")
const json = Buffer.from(JSON.stringify(rawNodes), "utf8")

const wfRaw = (status: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Workflow",
  metadata: { namespace: "argo", name: "wf-1", uid: "wf-uid", resourceVersion: "7" },
  spec,
  status
})

// ---- nodeStatusOf -------------------------------------------------------------------------------

describe("nodeStatusOf: where the node map is", () => {
  it("plain status.nodes: only Pod-type nodes are kept, by their id field", () => {
    const status = nodeStatusOf({ nodes: rawNodes })
    expect(status).toMatchObject({ _tag: "Nodes", source: "nodes" })
    expect(podsOf(status)).toEqual(expectedPods)
  })

  it("the id field wins over the map key; a node without id falls back to its key", () => {
    const status = nodeStatusOf({
      nodes: {
        "some-key": { id: "real-id", type: "Pod", phase: "Succeeded" },
        "key-only": { type: "Pod", phase: "Error" },
        "not-an-object": "Pod",
        "wrong-type": { id: "x", type: 7, phase: "Succeeded" }
      }
    })
    expect(podsOf(status)).toEqual([
      ["key-only", { phase: "Error", taskResultSynced: undefined, fulfilled: true }],
      ["real-id", { phase: "Succeeded", taskResultSynced: undefined, fulfilled: true }]
    ])
  })

  it("wrong-typed phase and taskResultSynced read as absent", () => {
    const status = nodeStatusOf({ nodes: { n: { id: "n", type: "Pod", phase: 3, taskResultSynced: "false" } } })
    expect(podsOf(status)).toEqual([["n", { phase: "", taskResultSynced: undefined, fulfilled: false }]])
  })

  const formats = [
    ["gzip", gzipSync],
    ["zstd", zstdCompressSync],
    ["brotli", brotliCompressSync]
  ] as const

  it.each(formats)("status.compressedNodes in %s decodes to the same pods as status.nodes", (_format, compress) => {
    const status = nodeStatusOf({ compressedNodes: b64(compress(json)) })
    expect(status).toMatchObject({ _tag: "Nodes", source: "compressedNodes" })
    expect(podsOf(status)).toEqual(podsOf(nodeStatusOf({ nodes: rawNodes })))
  })

  it("gzip, zstd and brotli are told apart by their magic bytes", () => {
    expect([...gzipSync(json).subarray(0, 2)]).toEqual([0x1f, 0x8b])
    expect([...zstdCompressSync(json).subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd])
  })

  it("base64 with line breaks (as some encoders wrap it) still decodes", () => {
    const wrapped = b64(gzipSync(json)).replace(/(.{76})/g, "$1\n")
    expect(wrapped).toContain("\n")
    expect(podsOf(nodeStatusOf({ compressedNodes: wrapped }))).toEqual(expectedPods)
  })

  it("an empty status.nodes falls through to compressedNodes (Argo empties one when it fills the other)", () => {
    const status = nodeStatusOf({ nodes: {}, compressedNodes: b64(gzipSync(json)) })
    expect(status).toMatchObject({ _tag: "Nodes", source: "compressedNodes" })
  })

  const unreadable: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["not base64", "this is *not* base64!", /not valid base64/],
    ["base64 of the wrong length", "abcde", /not valid base64/],
    ["garbage bytes (no format)", b64(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03, 0xff, 0xfe])), /cannot be decompressed|not a JSON node map/],
    ["gzip magic, corrupt body", b64(Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from("corrupt body bytes")])), /cannot be decompressed/],
    ["zstd magic, corrupt body", b64(Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.from("corrupt")])), /cannot be decompressed/],
    ["valid brotli of text that is not JSON", b64(brotliCompressSync(Buffer.from("hello, not json"))), /\(brotli\) is not a JSON node map/],
    ["valid gzip of a JSON array", b64(gzipSync(Buffer.from("[1,2,3]"))), /\(gzip\) is not a JSON node map/],
    ["valid zstd of JSON null", b64(zstdCompressSync(Buffer.from("null"))), /\(zstd\) is not a JSON node map/]
  ]

  it.each(unreadable)("%s → Unreadable, with the reason", (_name, compressedNodes, reason) => {
    const status = nodeStatusOf({ compressedNodes })
    expect(status._tag).toBe("Unreadable")
    if (status._tag === "Unreadable") {
      expect(status.reason).toMatch(reason)
      expect(status.reason).toMatch(/status\.compressedNodes/)
    }
  })

  it.each([
    ["gzip", (b: Buffer) => gzipSync(b, { level: 1 })],
    ["zstd", (b: Buffer) => zstdCompressSync(b)],
    ["brotli", (b: Buffer) => brotliCompressSync(b, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1 } })]
  ] as const)("a %s bomb (under 1 MB, expanding past 64 MiB, valid JSON) is Unreadable, never decoded in full", (_format, compress) => {
    // Whoever can update a Workflow can write its status: a tiny compressedNodes that expands to
    // gigabytes must not take the controller's memory.
    const bomb = Buffer.from(`{"n":{"id":"n","type":"Pod","phase":"Succeeded","pad":"${"x".repeat(80 * 1024 * 1024)}"}}`)
    const compressedNodes = b64(compress(bomb))
    expect(compressedNodes.length).toBeLessThan(1024 * 1024)
    const status = nodeStatusOf({ compressedNodes })
    expect(status._tag).toBe("Unreadable")
    if (status._tag === "Unreadable") expect(status.reason).toMatch(/larger than 64 MiB/)
  })

  it("offloaded: status.offloadNodeStatusVersion with no nodes", () => {
    expect(nodeStatusOf({ offloadNodeStatusVersion: "fnv:123456" })).toEqual({ _tag: "Offloaded", version: "fnv:123456" })
    expect(nodeStatusOf({ nodes: {}, compressedNodes: "", offloadNodeStatusVersion: "fnv:1" })._tag).toBe("Offloaded")
  })

  it("an empty status (or no status at all) is an empty node map", () => {
    for (const status of [{}, { nodes: {} }, { compressedNodes: "" }, { offloadNodeStatusVersion: "" }, { nodes: null }]) {
      expect(nodeStatusOf(status)).toEqual({ _tag: "Nodes", pods: new Map(), source: "nodes" })
    }
    expect(workflowRecord(wfRaw({})).nodes).toEqual({ _tag: "Nodes", pods: new Map(), source: "nodes" })
    expect(workflowRecord({ metadata: { name: "x" } }).nodes).toEqual({ _tag: "Nodes", pods: new Map(), source: "nodes" })
  })

  it("node states are interned: equal states are the same object, and frozen", () => {
    const a = nodeStatusOf({ nodes: { x: { type: "Pod", phase: "Succeeded" } } })
    const b = nodeStatusOf({ compressedNodes: b64(gzipSync(Buffer.from(JSON.stringify({ y: { type: "Pod", phase: "Succeeded" } })))) })
    if (a._tag !== "Nodes" || b._tag !== "Nodes") throw new Error("expected nodes")
    expect(a.pods.get("x")).toBe(b.pods.get("y"))
    expect(Object.isFrozen(a.pods.get("x"))).toBe(true)
  })
})

// ---- Node IDs -----------------------------------------------------------------------------------

describe("node IDs", () => {
  // Go: fnv.New32a(); h.Write([]byte(s)); h.Sum32(). Checked against the FNV reference vectors and
  // an independent implementation (offset 2166136261, prime 16777619, xor then multiply).
  it.each([
    ["", 2166136261],
    ["a", 3826002220],
    ["hello", 1335831723],
    ["foobar", 3214735720],
    ["wf-1[0].step", 4267915052]
  ])("fnv32a(%j) = %d", (text, hash) => {
    expect(fnv32a(text)).toBe(hash)
  })

  it("fnv32a hashes UTF-8 bytes, not UTF-16 code units", () => {
    // "é" is 0xC3 0xA9 in UTF-8.
    const manual = [0xc3, 0xa9].reduce((h, b) => Math.imul(h ^ b, 0x01000193) >>> 0, 0x811c9dc5)
    expect(fnv32a("é")).toBe(manual)
    expect(fnv32a("é")).not.toBe(Math.imul(0x811c9dc5 ^ 0xe9, 0x01000193) >>> 0)
  })

  it("argoNodeId: the workflow's name for its root, else <workflow>-<fnv32a(node name)>", () => {
    expect(argoNodeId("wf-1", "wf-1")).toBe("wf-1")
    expect(argoNodeId("wf-1", "wf-1[0].step")).toBe("wf-1-4267915052")
    expect(argoNodeId("hello", "a")).toBe("hello-3826002220")
    expect(argoNodeId("wf", "")).toBe("wf-2166136261")
  })
})

// ---- Fulfilled ----------------------------------------------------------------------------------

describe("isNodeFulfilled (NodePhase.Fulfilled(taskResultSynced))", () => {
  const phases = ["Succeeded", "Failed", "Error", "Skipped", "Omitted", "Pending", "Running", ""] as const
  const synced = [true, false, undefined] as const
  const expected = (phase: string, s: boolean | undefined): boolean => {
    switch (phase) {
      case "Succeeded":
      case "Failed":
      case "Error":
        return s !== false
      case "Skipped":
      case "Omitted":
        return true
      default:
        return false
    }
  }
  const table = phases.flatMap((phase) => synced.map((s) => [phase, s, expected(phase, s)] as const))
  it.each(table)("phase %j, taskResultSynced %s → %s", (phase, s, fulfilled) => {
    expect(isNodeFulfilled(phase, s)).toBe(fulfilled)
    // The interned state computes the same.
    const status = nodeStatusOf({ nodes: { n: { type: "Pod", phase, ...(s === undefined ? {} : { taskResultSynced: s }) } } })
    if (status._tag !== "Nodes") throw new Error("expected nodes")
    expect(status.pods.get("n")?.fulfilled).toBe(fulfilled)
  })

  it("a daemoned Running node is not fulfilled (the phase rule, the safe one)", () => {
    const status = nodeStatusOf({ nodes: { n: { type: "Pod", phase: "Running", daemoned: true } } })
    if (status._tag !== "Nodes") throw new Error("expected nodes")
    expect(status.pods.get("n")?.fulfilled).toBe(false)
  })
})

// ---- The record ---------------------------------------------------------------------------------

describe("workflowRecord", () => {
  it("keeps phase, podGC, shutdown, deadline and the pod nodes", () => {
    const record = workflowRecord(wfRaw(
      { phase: "Running", startedAt: "2026-01-01T00:00:00Z", nodes: rawNodes },
      { podGC: { strategy: "OnPodSuccess", deleteDelayDuration: "30s" }, shutdown: "Stop", activeDeadlineSeconds: 60 }
    ))
    expect(record.metadata).toEqual({ namespace: "argo", name: "wf-1", uid: "wf-uid", resourceVersion: "7" })
    expect(record.phase).toBe("Running")
    expect(record.podGC).toEqual({ strategy: "OnPodSuccess", labelSelector: undefined, deleteDelayDuration: "30s" })
    expect(record.shutdown).toBe("Stop")
    expect(record.deadlineAt).toBe(Date.parse("2026-01-01T00:01:00Z"))
    expect(podsOf(record.nodes)).toEqual(expectedPods)
  })

  it("a workflow of 5 000 nodes and 1 MB of stored templates becomes a small record: no template, only Pod nodes", () => {
    const nodes: Record<string, unknown> = {}
    for (let i = 0; i < 5000; i++) {
      const type = i % 5 === 0 ? "DAG" : i % 5 === 1 ? "Retry" : "Pod"
      const id = `big-${i}`
      nodes[id] = {
        id,
        name: `big.step-${i}`,
        displayName: `step-${i}`,
        type,
        templateName: "work",
        phase: i % 3 === 0 ? "Running" : "Succeeded",
        taskResultSynced: i % 3 !== 0,
        startedAt: "2026-01-01T00:00:00Z",
        finishedAt: "2026-01-01T00:01:00Z",
        inputs: { parameters: [{ name: "p", value: "x".repeat(100) }] },
        outputs: { parameters: [{ name: "o", value: "y".repeat(100) }] },
        children: [`big-${i + 1}`],
        hostNodeName: "node-0"
      }
    }
    const template = "t".repeat(1024 * 1024)
    const raw = {
      metadata: { namespace: "argo", name: "big", uid: "u", resourceVersion: "1" },
      spec: { templates: [{ name: "work", script: { source: template } }] },
      status: { phase: "Running", nodes, storedTemplates: { "namespaced/big/work": { name: "work", script: { source: template } } } }
    }
    const rawSize = JSON.stringify(raw).length
    expect(rawSize).toBeGreaterThan(4 * 1024 * 1024)

    const record = workflowRecord(raw)
    expect(record.nodes._tag).toBe("Nodes")
    if (record.nodes._tag !== "Nodes") return
    // Only Pod nodes: 3 of every 5.
    expect(record.nodes.pods.size).toBe(3000)
    expect(record.nodes.pods.has("big-0")).toBe(false)
    expect(record.nodes.pods.has("big-1")).toBe(false)
    // Nothing but the record's own fields, and no template text anywhere in it.
    expect(Object.keys(record).sort()).toEqual(["deadlineAt", "metadata", "nodes", "phase", "podGC", "shutdown"])
    const serialised = JSON.stringify({ ...record, nodes: [...record.nodes.pods.entries()] })
    expect(serialised).not.toContain("tttt")
    expect(serialised).not.toContain("xxxx")
    expect(serialised.length).toBeLessThan(rawSize / 20)
    // The 3 000 states are a handful of shared objects.
    expect(new Set(record.nodes.pods.values()).size).toBe(2)
  })
})

// ---- Change detection ---------------------------------------------------------------------------

describe("workflowInputsEqual / changedNodeIds", () => {
  const base = (status: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): WorkflowRecord =>
    workflowRecord(wfRaw({ phase: "Running", nodes: rawNodes, ...status }, { podGC: { strategy: "OnPodCompletion" }, ...spec }))

  it("the same workflow decoded twice (or plain vs compressed) is equal; metadata is not an input", () => {
    expect(workflowInputsEqual(base(), base())).toBe(true)
    const compressed = base({ nodes: undefined, compressedNodes: b64(zstdCompressSync(json)) })
    expect(workflowInputsEqual(base(), compressed)).toBe(true)
    const other = { ...base(), metadata: { namespace: "argo", name: "wf-1", uid: "wf-uid", resourceVersion: "99" } }
    expect(workflowInputsEqual(base(), other)).toBe(true)
    expect(changedNodeIds(base(), compressed)).toEqual(new Set())
  })

  it.each([
    ["phase", base({ phase: "Succeeded" })],
    ["podGC", base({}, { podGC: { strategy: "OnPodSuccess" } })],
    ["podGC delay", base({}, { podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "1m" } })],
    ["shutdown", base({}, { shutdown: "Terminate" })],
    ["deadline", base({ startedAt: "2026-01-01T00:00:00Z" }, { activeDeadlineSeconds: 5 })],
    ["a node's phase", base({ nodes: { ...rawNodes, "wf-1-3333": { id: "wf-1-3333", type: "Pod", phase: "Succeeded" } } })],
    ["a node's taskResultSynced", base({ nodes: { ...rawNodes, "wf-1-4444": { id: "wf-1-4444", type: "Pod", phase: "Failed", taskResultSynced: true } } })],
    ["a new node", base({ nodes: { ...rawNodes, n: { id: "n", type: "Pod", phase: "Pending" } } })],
    ["offloaded", base({ nodes: undefined, offloadNodeStatusVersion: "v1" })],
    ["unreadable", base({ nodes: undefined, compressedNodes: "!!" })]
  ])("a change of %s is seen", (_what, changed) => {
    expect(workflowInputsEqual(base(), changed)).toBe(false)
  })

  it("a non-Pod node changing is not an input", () => {
    const changed = base({ nodes: { ...rawNodes, "wf-1-6666": { id: "wf-1-6666", type: "Suspend", phase: "Succeeded" } } })
    expect(workflowInputsEqual(base(), changed)).toBe(true)
    expect(changedNodeIds(base(), changed)).toEqual(new Set())
  })

  it("changedNodeIds names the nodes that changed, appeared or vanished", () => {
    const { "wf-1-2222": _gone, ...rest } = rawNodes
    const next = base({
      nodes: {
        ...rest,
        "wf-1-3333": { id: "wf-1-3333", type: "Pod", phase: "Succeeded" },
        "wf-1-9999": { id: "wf-1-9999", type: "Pod", phase: "Pending" }
      }
    })
    expect(changedNodeIds(base(), next)).toEqual(new Set(["wf-1-2222", "wf-1-3333", "wf-1-9999"]))
  })

  it("changedNodeIds is \"all\" when either side has no readable node map", () => {
    expect(changedNodeIds(base(), base({ nodes: undefined, offloadNodeStatusVersion: "v1" }))).toBe("all")
    expect(changedNodeIds(base({ nodes: undefined, compressedNodes: "!!" }), base())).toBe("all")
  })

  it("two unreadable records are equal only with the same reason; offloaded versions compare equal", () => {
    const a = base({ nodes: undefined, compressedNodes: "!!" })
    const b = base({ nodes: undefined, compressedNodes: "??" })
    expect(workflowInputsEqual(a, b)).toBe(true)
    const c = base({ nodes: undefined, compressedNodes: b64(brotliCompressSync(Buffer.from("nope"))) })
    expect(workflowInputsEqual(a, c)).toBe(false)
    expect(workflowInputsEqual(base({ nodes: undefined, offloadNodeStatusVersion: "v1" }), base({ nodes: undefined, offloadNodeStatusVersion: "v2" }))).toBe(true)
  })
})
