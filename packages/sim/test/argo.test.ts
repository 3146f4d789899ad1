// The model of Argo's workflow-controller (src/argo.ts): node records after a lag, completion,
// the "pod deleted" harm rule, shutdown and deadlines, and the node-status storage formats, seen
// over real HTTP through client-node.

import { brotliDecompressSync, gunzipSync, zstdDecompressSync } from "node:zlib"
import { afterEach, describe, expect, it } from "vitest"
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node"
import { argoNodeId, fnv32a, nodeFulfilled, SimCluster } from "../src/index.ts"
import type { ArgoModelOptions, NodeStatusFormat, SimClusterOptions } from "../src/index.ts"
import { kubeConfig, rawWatch } from "./helpers.ts"

const wfApi = { group: "argoproj.io", version: "v1alpha1", plural: "workflows" }
const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let sims: Array<SimCluster> = []
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()))
  sims = []
})

const start = async (argo: ArgoModelOptions | false, options: SimClusterOptions = {}) => {
  const sim = await SimCluster.start({ ...options, argo })
  sims.push(sim)
  const kc = kubeConfig(sim)
  return { sim, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) }
}

/** A step pod of `workflow`: main done, wait still running (so the pod is Running). */
const stepPod = (sim: SimCluster, ns: string, workflow: string, step: string, extra: { labels?: Record<string, string>; pending?: boolean } = {}) =>
  sim.addPod({
    namespace: ns,
    name: `${workflow}-${step}`,
    labels: { "workflows.argoproj.io/workflow": workflow, "workflows.argoproj.io/completed": "false", ...extra.labels },
    annotations: { "workflows.argoproj.io/node-name": `${workflow}.${step}` },
    containers: extra.pending === true
      ? [{ name: "wait", state: "waiting" }, { name: "main", state: "waiting" }]
      : [{ name: "wait", state: "running" }, { name: "main", state: "terminated", exitCode: 0 }]
  })

const finish = (sim: SimCluster, ns: string, pod: string, exitCode = 0) => sim.setContainerState(ns, pod, "wait", "terminated", exitCode)

const getWf = async (custom: CustomObjectsApi, namespace: string, name: string): Promise<any> =>
  custom.getNamespacedCustomObject({ ...wfApi, namespace, name })

const nodeOf = (workflow: string, step: string) => argoNodeId(workflow, `${workflow}.${step}`)

/** An independent FNV-1a 32 over BigInt, to check the product one. */
const fnvRef = (s: string): number => {
  let h = 2166136261n
  for (const b of Buffer.from(s)) h = ((h ^ BigInt(b)) * 16777619n) & 0xffffffffn
  return Number(h)
}

describe("node ids", () => {
  it("FNV-32a as Go's hash/fnv, and Workflow.NodeID", () => {
    expect(fnv32a("hello")).toBe(1335831723)
    expect(fnv32a("")).toBe(2166136261)
    for (const s of ["wf-abc[0].main", "my-wf.step-1", "ünïcode[3]"]) expect(fnv32a(s)).toBe(fnvRef(s))
    expect(argoNodeId("wf-abc", "wf-abc")).toBe("wf-abc")
    expect(argoNodeId("wf-abc", "wf-abc[0].main")).toBe(`wf-abc-${fnvRef("wf-abc[0].main")}`)
  })

  it("fulfilled as NodePhase.Fulfilled", () => {
    expect(nodeFulfilled({ phase: "Succeeded" })).toBe(true)
    expect(nodeFulfilled({ phase: "Failed", taskResultSynced: false })).toBe(false)
    expect(nodeFulfilled({ phase: "Error", taskResultSynced: true })).toBe(true)
    expect(nodeFulfilled({ phase: "Skipped" })).toBe(true)
    expect(nodeFulfilled({ phase: "Running" })).toBe(false)
  })
})

describe("ArgoModel", () => {
  it("adds a node for a new pod, records it after the lag, then completes the workflow", async () => {
    const { sim, custom } = await start({ recordLag: 200 })
    sim.addWorkflow({ namespace: "a", name: "w" })
    stepPod(sim, "a", "w", "s1")
    await sim.waitFor(() => sim.workflowNodes("a", "w")?.[nodeOf("w", "s1")] !== undefined)
    let wf = await getWf(custom, "a", "w")
    expect(wf.status.nodes[nodeOf("w", "s1")]).toMatchObject({
      id: nodeOf("w", "s1"),
      name: "w.s1",
      displayName: "s1",
      type: "Pod",
      templateName: "main",
      phase: "Running",
      boundaryID: "w"
    })
    expect(wf.status.nodes[nodeOf("w", "s1")].startedAt).toBeTruthy()

    const ended = Date.now()
    finish(sim, "a", "w-s1")
    await sleep(100)
    expect(sim.workflowNodes("a", "w")?.[nodeOf("w", "s1")]?.phase).toBe("Running")
    await sim.waitFor(() => sim.argo?.fulfilledAt("a", "w-s1") !== undefined, 2000)
    expect(sim.argo!.fulfilledAt("a", "w-s1")! - ended).toBeGreaterThanOrEqual(190)
    wf = await getWf(custom, "a", "w")
    expect(wf.status.nodes[nodeOf("w", "s1")]).toMatchObject({ phase: "Succeeded" })
    expect(wf.status.nodes[nodeOf("w", "s1")].taskResultSynced).toBeUndefined()
    expect(wf.status.phase).toBe("Succeeded")
    expect(wf.status.finishedAt).toBeTruthy()
    expect(wf.metadata.labels).toMatchObject({ "workflows.argoproj.io/phase": "Succeeded", "workflows.argoproj.io/completed": "true" })
    expect(sim.argo!.podDeleted).toEqual([])
  })

  it("waits for every pod node, and a failed pod fails the workflow", async () => {
    const { sim } = await start({ recordLag: 50 })
    sim.addWorkflow({ namespace: "b", name: "w" })
    stepPod(sim, "b", "w", "s1")
    stepPod(sim, "b", "w", "s2")
    finish(sim, "b", "w-s1")
    await sim.waitFor(() => sim.workflowNodes("b", "w")?.[nodeOf("w", "s1")]?.phase === "Succeeded")
    await sleep(50)
    expect(sim.getWorkflow("b", "w")?.status.phase).toBe("Running")
    finish(sim, "b", "w-s2", 1)
    await sim.waitFor(() => sim.getWorkflow("b", "w")?.status.phase !== "Running")
    expect(sim.getWorkflow("b", "w")?.status.phase).toBe("Failed")
    expect(sim.workflowNodes("b", "w")?.[nodeOf("w", "s2")]?.phase).toBe("Failed")
  })

  it("taskResultSynced is false, then true after taskResultLagMs", async () => {
    const { sim, custom } = await start({ recordLag: 50, taskResultLagMs: 200 })
    sim.addWorkflow({ namespace: "c", name: "w" })
    stepPod(sim, "c", "w", "s1")
    finish(sim, "c", "w-s1")
    await sim.waitFor(() => sim.workflowNodes("c", "w")?.[nodeOf("w", "s1")]?.phase === "Succeeded")
    let wf = await getWf(custom, "c", "w")
    expect(wf.status.nodes[nodeOf("w", "s1")].taskResultSynced).toBe(false)
    expect(wf.status.phase).toBe("Running")
    expect(sim.argo!.fulfilledAt("c", "w-s1")).toBeUndefined()
    await sim.waitFor(() => sim.argo?.fulfilledAt("c", "w-s1") !== undefined, 2000)
    wf = await getWf(custom, "c", "w")
    expect(wf.status.nodes[nodeOf("w", "s1")].taskResultSynced).toBe(true)
    expect(wf.status.phase).toBe("Succeeded")
  })

  it("labelling a pod completed=true before its node is recorded marks the node Error \"pod deleted\"", async () => {
    const { sim, core, custom } = await start({ recordLag: 300 })
    sim.addWorkflow({ namespace: "d", name: "w" })
    stepPod(sim, "d", "w", "s1")
    finish(sim, "d", "w-s1")
    await core.patchNamespacedPod({ namespace: "d", name: "w-s1", body: { metadata: { labels: { "workflows.argoproj.io/completed": "true" } } } }, merge)
    await sim.waitFor(() => sim.argo!.podDeleted.length === 1)
    expect(sim.argo!.podDeleted[0]).toMatchObject({ namespace: "d", workflow: "w", nodeId: nodeOf("w", "s1"), pod: "w-s1" })
    const wf = await getWf(custom, "d", "w")
    expect(wf.status.nodes[nodeOf("w", "s1")]).toMatchObject({ phase: "Error", message: "pod deleted" })
    expect(wf.status.phase).toBe("Failed")
    await sleep(350)
    expect(sim.workflowNodes("d", "w")?.[nodeOf("w", "s1")]?.phase).toBe("Error")
    expect(sim.argo!.fulfilledAt("d", "w-s1")).toBeUndefined()
  })

  it("deleting a pod before its node is recorded does too (also while outputs are unsynced)", async () => {
    const { sim, core } = await start({ recordLag: 50, taskResultLagMs: 300 })
    sim.addWorkflow({ namespace: "e", name: "w" })
    stepPod(sim, "e", "w", "s1")
    stepPod(sim, "e", "w", "s2")
    await core.deleteNamespacedPod({ namespace: "e", name: "w-s1" })
    await sim.waitFor(() => sim.argo!.podDeleted.length === 1)
    expect(sim.workflowNodes("e", "w")?.[nodeOf("w", "s1")]).toMatchObject({ phase: "Error", message: "pod deleted" })
    // Recorded but taskResultSynced false: not fulfilled yet, so deleting still harms.
    finish(sim, "e", "w-s2")
    await sim.waitFor(() => sim.workflowNodes("e", "w")?.[nodeOf("w", "s2")]?.taskResultSynced === false)
    await core.deleteNamespacedPod({ namespace: "e", name: "w-s2" })
    await sim.waitFor(() => sim.argo!.podDeleted.length === 2)
    expect(sim.argo!.podDeleted.map((r) => r.pod)).toEqual(["w-s1", "w-s2"])
  })

  it("labelling or deleting after the node is recorded does no harm", async () => {
    const { sim, core, custom } = await start({ recordLag: 50 })
    sim.addWorkflow({ namespace: "f", name: "w" })
    stepPod(sim, "f", "w", "s1")
    stepPod(sim, "f", "w", "s2")
    finish(sim, "f", "w-s1")
    finish(sim, "f", "w-s2")
    await sim.waitFor(() => sim.getWorkflow("f", "w")?.status.phase === "Succeeded")
    await core.patchNamespacedPod({ namespace: "f", name: "w-s1", body: { metadata: { labels: { "workflows.argoproj.io/completed": "true" } } } }, merge)
    await core.deleteNamespacedPod({ namespace: "f", name: "w-s2" })
    await sleep(100)
    expect(sim.argo!.podDeleted).toEqual([])
    const wf = await getWf(custom, "f", "w")
    expect(Object.values(wf.status.nodes).map((n: any) => n.phase)).toEqual(["Succeeded", "Succeeded"])
  })

  it("a Pending pod that goes away is no harm (its node is Pending)", async () => {
    const { sim } = await start({ recordLag: 50 })
    sim.addWorkflow({ namespace: "g", name: "w" })
    stepPod(sim, "g", "w", "s1", { pending: true })
    await sim.waitFor(() => sim.workflowNodes("g", "w")?.[nodeOf("w", "s1")]?.phase === "Pending")
    sim.deletePod("g", "w-s1", { gracePeriodSeconds: 0 })
    await sleep(50)
    expect(sim.argo!.podDeleted).toEqual([])
  })

  it("shutdown Stop fails running pod nodes except onExit ones; Terminate fails those too", async () => {
    const { sim, custom } = await start({ recordLag: 50 })
    sim.addWorkflow({ namespace: "h", name: "w" })
    stepPod(sim, "h", "w", "s1")
    stepPod(sim, "h", "w", "exit", { labels: { "workflows.argoproj.io/on-exit": "true" } })
    await sim.waitFor(() => Object.keys(sim.workflowNodes("h", "w") ?? {}).length === 2)
    await custom.patchNamespacedCustomObject({ ...wfApi, namespace: "h", name: "w", body: { spec: { shutdown: "Stop" } } }, merge)
    await sim.waitFor(() => sim.workflowNodes("h", "w")?.[nodeOf("w", "s1")]?.phase === "Failed")
    expect(sim.workflowNodes("h", "w")?.[nodeOf("w", "s1")]?.message).toBe("workflow shutdown with strategy:  Stop")
    expect(sim.workflowNodes("h", "w")?.[nodeOf("w", "exit")]?.phase).toBe("Running")
    expect(sim.argo!.fulfilledAt("h", "w-s1")).toBeDefined()
    expect(sim.getWorkflow("h", "w")?.status.phase).toBe("Running")

    await custom.patchNamespacedCustomObject({ ...wfApi, namespace: "h", name: "w", body: { spec: { shutdown: "Terminate" } } }, merge)
    await sim.waitFor(() => sim.getWorkflow("h", "w")?.status.phase === "Failed")
    expect(sim.workflowNodes("h", "w")?.[nodeOf("w", "exit")]).toMatchObject({ phase: "Failed", message: "workflow shutdown with strategy:  Terminate" })
    expect(sim.getWorkflow("h", "w")?.status.message).toBe("Stopped with strategy 'Terminate'")
    // A Failed node is fulfilled: the pod may go now.
    sim.deletePod("h", "w-s1", { gracePeriodSeconds: 0 })
    await sleep(30)
    expect(sim.argo!.podDeleted).toEqual([])
  })

  it("activeDeadlineSeconds fails unfulfilled pod nodes once passed", async () => {
    const { sim } = await start({ recordLag: 50 })
    sim.addWorkflow({ namespace: "i", name: "w", spec: { activeDeadlineSeconds: 1 } })
    stepPod(sim, "i", "w", "s1")
    await sim.waitFor(() => sim.workflowNodes("i", "w")?.[nodeOf("w", "s1")]?.phase === "Running")
    await sim.waitFor(() => sim.getWorkflow("i", "w")?.status.phase === "Failed", 3000)
    expect(sim.workflowNodes("i", "w")?.[nodeOf("w", "s1")]).toMatchObject({ phase: "Failed", message: "Step exceeded its deadline" })
  })

  it("workflows in a completed phase are left alone", async () => {
    const { sim } = await start({ recordLag: 0 })
    sim.addWorkflow({ namespace: "j", name: "w", phase: "Succeeded" })
    const before = sim.getWorkflow("j", "w")?.metadata.resourceVersion
    stepPod(sim, "j", "w", "s1")
    sim.deletePod("j", "w-s1", { gracePeriodSeconds: 0 })
    await sleep(50)
    expect(sim.getWorkflow("j", "w")?.metadata.resourceVersion).toBe(before)
    expect(sim.argo!.podDeleted).toEqual([])
  })

  it("random lags are drawn within { minMs, maxMs }", async () => {
    const { sim } = await start({ recordLag: { minMs: 50, maxMs: 150 }, seed: 7 })
    sim.addWorkflow({ namespace: "k", name: "w" })
    const ended: Record<string, number> = {}
    for (const s of ["a", "b", "c", "d", "e"]) stepPod(sim, "k", "w", s)
    for (const s of ["a", "b", "c", "d", "e"]) {
      finish(sim, "k", `w-${s}`)
      ended[s] = Date.now()
    }
    await sim.waitFor(() => sim.getWorkflow("k", "w")?.status.phase === "Succeeded", 2000)
    const lags = Object.entries(ended).map(([s, at]) => sim.argo!.fulfilledAt("k", `w-${s}`)! - at)
    for (const lag of lags) {
      expect(lag).toBeGreaterThanOrEqual(45)
      expect(lag).toBeLessThan(400)
    }
    expect(new Set(lags.map((l) => Math.round(l / 10))).size).toBeGreaterThan(1)
  })

  it("startArgo attaches a model to a running simulator and picks up existing pods", async () => {
    const { sim } = await start(false)
    expect(sim.argo).toBeUndefined()
    sim.addWorkflow({ namespace: "l", name: "w" })
    stepPod(sim, "l", "w", "s1")
    expect(sim.workflowNodes("l", "w")).toEqual({})
    const model = sim.startArgo({ recordLag: 20 })
    expect(sim.argo).toBe(model)
    await sim.waitFor(() => sim.workflowNodes("l", "w")?.[nodeOf("w", "s1")]?.phase === "Running")
    finish(sim, "l", "w-s1")
    await sim.waitFor(() => sim.getWorkflow("l", "w")?.status.phase === "Succeeded")
    model.stop()
    sim.addWorkflow({ namespace: "l", name: "w2" })
    stepPod(sim, "l", "w2", "s1")
    await sleep(30)
    expect(sim.workflowNodes("l", "w2")).toEqual({})
  })
})

describe("ArgoModel over the wire", () => {
  it("its workflow writes reach watchers as MODIFIED; a POSTed pod gets its node, also when its workflow comes later", async () => {
    const { sim, core } = await start({ recordLag: 30 })
    const w = await rawWatch(sim, "/apis/argoproj.io/v1alpha1/namespaces/p/workflows?watch=1")
    await core.createNamespacedPod({
      namespace: "p",
      body: {
        metadata: {
          name: "late-s1",
          labels: { "workflows.argoproj.io/workflow": "late", "workflows.argoproj.io/completed": "false" },
          annotations: { "workflows.argoproj.io/node-name": "late.s1" }
        },
        spec: { containers: [{ name: "wait", image: "quay.io/argoproj/argoexec:v3.6.5" }, { name: "main", image: "busybox" }] }
      }
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    sim.addWorkflow({ namespace: "p", name: "late" })
    await sim.waitFor(() => sim.workflowNodes("p", "late")?.[nodeOf("late", "s1")]?.phase === "Running")
    sim.setContainerState("p", "late-s1", "main", "terminated", 0)
    finish(sim, "p", "late-s1")
    await sim.waitFor(() => sim.getWorkflow("p", "late")?.status.phase === "Succeeded")
    await sim.waitFor(() => w.lines.some((l) => l.object.status?.phase === "Succeeded"))
    expect(w.lines[0].type).toBe("ADDED")
    expect(w.lines.slice(1).every((l) => l.type === "MODIFIED")).toBe(true)
    const rvs = w.lines.map((l) => Number(l.object.metadata.resourceVersion))
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs)
    expect(w.lines.some((l) => l.object.status.nodes?.[nodeOf("late", "s1")]?.phase === "Running")).toBe(true)
    w.close()
  })
})

describe("ArgoModel batchMs", () => {
  it("coalesces node records of one workflow into few writes", async () => {
    const { sim } = await start({ recordLag: { minMs: 0, maxMs: 60 }, batchMs: 150 })
    sim.addWorkflow({ namespace: "q", name: "w" })
    const steps = Array.from({ length: 20 }, (_, i) => `s${i}`)
    for (const s of steps) stepPod(sim, "q", "w", s)
    await sim.waitFor(() => Object.keys(sim.workflowNodes("q", "w") ?? {}).length === 20)
    const w = await rawWatch(sim, `/apis/argoproj.io/v1alpha1/namespaces/q/workflows?watch=1&resourceVersion=${sim.getWorkflow("q", "w")?.metadata.resourceVersion}`)
    for (const s of steps) finish(sim, "q", `w-${s}`)
    await sim.waitFor(() => sim.getWorkflow("q", "w")?.status.phase === "Succeeded", 2000)
    await sleep(20)
    expect(w.lines.length).toBeGreaterThanOrEqual(1)
    expect(w.lines.length).toBeLessThanOrEqual(2)
    w.close()
  })
})

describe("ArgoModel requeueMs (Argo's DEFAULT_REQUEUE_TIME)", () => {
  it("operates a workflow once per interval after its first pod change: later pods join the pending write", async () => {
    const { sim } = await start({ recordLag: 0, requeueMs: 400 })
    sim.addWorkflow({ namespace: "rq", name: "w" })
    const steps = Array.from({ length: 8 }, (_, i) => `s${i}`)
    for (const s of steps) stepPod(sim, "rq", "w", s)
    await sim.waitFor(() => Object.keys(sim.workflowNodes("rq", "w") ?? {}).length === 8)
    const w = await rawWatch(sim, `/apis/argoproj.io/v1alpha1/namespaces/rq/workflows?watch=1&resourceVersion=${sim.getWorkflow("rq", "w")?.metadata.resourceVersion}`)
    const firstEnded = Date.now()
    for (const s of steps.slice(0, 4)) {
      finish(sim, "rq", `w-${s}`)
      await sleep(30)
    }
    // Nothing is recorded before the interval has passed since the first change ...
    await sleep(150)
    expect(w.lines.length).toBe(0)
    await sim.waitFor(() => w.lines.length >= 1, 2000)
    expect(Date.now() - firstEnded).toBeGreaterThanOrEqual(390)
    // ... and then all four in one write.
    await sleep(50)
    expect(w.lines.length).toBe(1)
    const recorded = (line: (typeof w.lines)[number]) =>
      steps.filter((s) => ["Succeeded", "Failed"].includes(line.object.status.nodes?.[nodeOf("w", s)]?.phase ?? ""))
    expect(recorded(w.lines[0]!)).toEqual(steps.slice(0, 4))
    // A pod ending after that write waits for another interval, with the rest that join it.
    const secondEnded = Date.now()
    for (const s of steps.slice(4)) finish(sim, "rq", `w-${s}`)
    await sim.waitFor(() => sim.getWorkflow("rq", "w")?.status.phase === "Succeeded", 3000)
    expect(Date.now() - secondEnded).toBeGreaterThanOrEqual(390)
    await sleep(20)
    expect(w.lines.length).toBeLessThanOrEqual(3)
    w.close()
  })
})

describe("ArgoModel requeueMs and pods that leave the view", () => {
  it("a pod labelled completed=true before its workflow's next operation is marked \"pod deleted\" at that operation", async () => {
    const { sim, core } = await start({ recordLag: 0, requeueMs: 300 })
    sim.addWorkflow({ namespace: "rqd", name: "w" })
    stepPod(sim, "rqd", "w", "s1")
    await sim.waitFor(() => sim.workflowNodes("rqd", "w")?.[nodeOf("w", "s1")] !== undefined, 2000)
    await sleep(350)
    const ended = Date.now()
    finish(sim, "rqd", "w-s1")
    await core.patchNamespacedPod({ namespace: "rqd", name: "w-s1", body: { metadata: { labels: { "workflows.argoproj.io/completed": "true" } } } }, merge)
    await sleep(100)
    expect(sim.argo!.podDeleted).toEqual([])
    // The harm is done but not judged yet: the operation that judges it is pending.
    expect(sim.argo!.pending).toBeGreaterThan(0)
    await sim.waitFor(() => sim.argo!.pending === 0, 2000)
    expect(sim.argo!.podDeleted).toHaveLength(1)
    expect(Date.now() - ended).toBeGreaterThanOrEqual(290)
    expect(sim.workflowNodes("rqd", "w")?.[nodeOf("w", "s1")]).toMatchObject({ phase: "Error", message: "pod deleted" })
  })
})

describe("node status storage", () => {
  const decoders: Record<string, (b: Buffer) => Buffer> = {
    "compressed-gzip": gunzipSync,
    "compressed-zstd": zstdDecompressSync,
    "compressed-brotli": brotliDecompressSync
  }

  for (const format of ["compressed-gzip", "compressed-zstd", "compressed-brotli"] as const) {
    it(`${format}: compressedNodes decodes back to the node map; no status.nodes`, async () => {
      const { sim, custom } = await start({ recordLag: 20 })
      sim.addWorkflow({ namespace: "z", name: "w", nodeStatus: format })
      stepPod(sim, "z", "w", "s1")
      finish(sim, "z", "w-s1")
      await sim.waitFor(() => sim.getWorkflow("z", "w")?.status.phase === "Succeeded")
      const wf = await getWf(custom, "z", "w")
      expect(wf.status.nodes).toBeUndefined()
      const raw = Buffer.from(wf.status.compressedNodes, "base64")
      if (format === "compressed-gzip") expect([...raw.subarray(0, 2)]).toEqual([0x1f, 0x8b])
      if (format === "compressed-zstd") expect([...raw.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd])
      const nodes = JSON.parse(decoders[format](raw).toString("utf8"))
      expect(nodes).toEqual(sim.workflowNodes("z", "w"))
      expect(nodes[nodeOf("w", "s1")]).toMatchObject({ type: "Pod", phase: "Succeeded" })
    })
  }

  it("offloaded: neither nodes nor compressedNodes, an fnv: version, and the phase still completes", async () => {
    const { sim, custom } = await start({ recordLag: 20 })
    sim.addWorkflow({ namespace: "o", name: "w", nodeStatus: "offloaded" })
    stepPod(sim, "o", "w", "s1")
    await sim.waitFor(() => sim.workflowNodes("o", "w")?.[nodeOf("w", "s1")] !== undefined)
    const v1 = (await getWf(custom, "o", "w")).status.offloadNodeStatusVersion
    finish(sim, "o", "w-s1")
    await sim.waitFor(() => sim.getWorkflow("o", "w")?.status.phase === "Succeeded")
    const wf = await getWf(custom, "o", "w")
    expect(wf.status.nodes).toBeUndefined()
    expect(wf.status.compressedNodes).toBeUndefined()
    expect(wf.status.offloadNodeStatusVersion).toMatch(/^fnv:\d+$/)
    expect(wf.status.offloadNodeStatusVersion).not.toBe(v1)
    expect(sim.nodeStatusFormat("o", "w")).toBe("offloaded")
    expect(sim.workflowNodes("o", "w")?.[nodeOf("w", "s1")]?.phase).toBe("Succeeded")
  })

  it("a corrupt compressedNodes (via updateWorkflow) is kept as written and the model leaves the workflow alone", async () => {
    const { sim, custom } = await start({ recordLag: 20 })
    sim.addWorkflow({ namespace: "x", name: "w", nodeStatus: "compressed-gzip" })
    sim.updateWorkflow("x", "w", (wf) => {
      wf.status["compressedNodes"] = Buffer.from([0x1f, 0x8b, 1, 2, 3]).toString("base64")
    })
    stepPod(sim, "x", "w", "s1")
    finish(sim, "x", "w-s1")
    await sleep(80)
    const wf = await getWf(custom, "x", "w")
    expect(wf.status.compressedNodes).toBe(Buffer.from([0x1f, 0x8b, 1, 2, 3]).toString("base64"))
    expect(wf.status.phase).toBe("Running")
    expect(sim.workflowNodes("x", "w")).toBeUndefined()
  })

  it("addWorkflow stores given nodes in each format", async () => {
    const { sim } = await start(false)
    const nodes = { "w-1": { id: "w-1", name: "w.a", displayName: "a", type: "Pod", phase: "Succeeded" } }
    const formats: Array<NodeStatusFormat> = ["nodes", "compressed-gzip", "compressed-zstd", "compressed-brotli", "offloaded"]
    for (const [i, nodeStatus] of formats.entries()) {
      sim.addWorkflow({ namespace: "n", name: `w${i}`, nodes, nodeStatus })
      expect(sim.workflowNodes("n", `w${i}`)).toEqual(nodes)
      expect(sim.nodeStatusFormat("n", `w${i}`)).toBe(nodeStatus)
    }
    expect(sim.getWorkflow("n", "w0")?.status["nodes"]).toEqual(nodes)
    expect(sim.getWorkflow("n", "w4")?.status["offloadNodeStatusVersion"]).toMatch(/^fnv:/)
  })
})
