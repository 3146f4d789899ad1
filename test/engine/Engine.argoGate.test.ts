/**
 * The engine holds labels and deletes until Argo has recorded the pod's node, against the simulated
 * API server over real sockets, under TestClock. The workflow records come from a source the test
 * controls (a mutable map), so Argo "recording" a node is one assignment; the engine is told again
 * by `reconcile`, as the service's workflow watch would. Waiting pods are not polled: no request
 * reaches the API server while they wait.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { brotliCompressSync, gzipSync, zstdCompressSync } from "node:zlib"
import type { WorkflowContext } from "../../src/domain/policy.ts"
import { type WorkflowRecord, workflowRecord } from "../../src/domain/workflow.ts"
import { Engine } from "../../src/engine/Engine.ts"
import type { EngineSettings } from "../../src/engine/EngineSettings.ts"
import { Outcomes } from "../../src/engine/Outcomes.ts"
import { WorkflowSource } from "../../src/engine/WorkflowSource.ts"
import type { SimPodInit } from "@pod-cleanup/sim"
import { advance, clientLayer, waitFor, useSim } from "../support/sim.ts"
import { workflowPod, type WorkflowPodOptions } from "../support/workflowPods.ts"

const sim = useSim()

const NODE_ID = "workflows.argoproj.io/node-id"
const COMPLETED = "workflows.argoproj.io/completed"

// ---- The workflow source the test controls ------------------------------------------------------

/** `argo/<workflow>` → what the source answers; absent = Unseen. */
const contexts = new Map<string, WorkflowContext>()
const lookups: Array<string> = []

const controlledSource = Layer.succeed(
  WorkflowSource,
  WorkflowSource.of({
    lookup: (namespace, name) =>
      Effect.sync(() => {
        lookups.push(`${namespace}/${name}`)
        return contexts.get(`${namespace}/${name}`) ?? { _tag: "Unseen" }
      })
  })
)

const engineFor = (settings: Partial<EngineSettings> = {}) =>
  Engine.layerStandalone(settings, { reconcileAfterKill: true }, controlledSource).pipe(Layer.provide(clientLayer(sim)))

interface Wf {
  readonly phase?: string
  readonly strategy?: string
  readonly delay?: string
  /** Pod nodes by ID (plain `status.nodes`). */
  readonly nodes?: Record<string, { readonly phase: string; readonly taskResultSynced?: boolean }>
  /** Other status fields (compressedNodes, offloadNodeStatusVersion). */
  readonly status?: Record<string, unknown>
}

const podNodes = (nodes: NonNullable<Wf["nodes"]>) =>
  Object.fromEntries(Object.entries(nodes).map(([id, n]) => [id, { id, name: id, type: "Pod", ...n }]))

const recordOf = (name: string, w: Wf): WorkflowRecord =>
  workflowRecord({
    metadata: { namespace: "argo", name, uid: `uid-${name}`, resourceVersion: "1" },
    spec: w.strategy === undefined ? {} : { podGC: { strategy: w.strategy, ...(w.delay === undefined ? {} : { deleteDelayDuration: w.delay }) } },
    status: { phase: w.phase ?? "Running", ...(w.nodes === undefined ? {} : { nodes: podNodes(w.nodes) }), ...w.status }
  })

/** Argo writes the workflow: the source answers with its new record from now on. */
const setWorkflow = (name: string, w: Wf) => {
  const workflow = recordOf(name, w)
  contexts.set(`argo/${name}`, { _tag: "Known", workflow })
  return workflow
}

/** A finished Argo pod (main and wait exited) of `workflow`, annotated with its node ID. */
const finishedPod = (name: string, workflow: string, nodeId: string, o: WorkflowPodOptions = {}): SimPodInit => {
  const base = workflowPod(name, { workflow, waitRunning: false, ...o })
  return { ...base, annotations: { ...base.annotations, [NODE_ID]: nodeId } }
}

// ---- Observations -------------------------------------------------------------------------------

const requestsFor = (pod: string) => sim.requestLog.filter((r) => r.name === pod)
const writesFor = (pod: string) => requestsFor(pod).filter((r) => r.verb === "patch" || r.verb === "delete" || r.verb === "exec")
const labelOf = (pod: string) => sim.getPod("argo", pod)?.metadata?.labels?.[COMPLETED]
const outcomesOf = (pod: string) => Outcomes.useSync((o) => o.forPod("argo", pod))
const live = (pod: string) => sim.getPod("argo", pod)!

/** Reconciles the pod as it is now; asserts it waits, and that nothing was written. */
const expectWaits = (pod: string, reason: RegExp) =>
  Effect.gen(function*() {
    const before = writesFor(pod).length
    const engine = yield* Engine
    const plan = yield* engine.reconcile(live(pod))
    assert.strictEqual(plan.decision._tag, "Wait", JSON.stringify(plan.decision))
    assert.match(engine.waiting().get(`argo/${pod}`) ?? "", reason)
    yield* advance(500)
    yield* engine.awaitIdle
    assert.deepStrictEqual(writesFor(pod).slice(before), [], "nothing reaches the API server while the pod waits")
  })

/** Ten virtual seconds pass: the waiting pod is not polled (no request at all). */
const expectNotPolled = (pod: string) =>
  Effect.gen(function*() {
    const before = requestsFor(pod).length
    const lookupsBefore = lookups.length
    yield* advance(10_000, 500)
    assert.strictEqual(requestsFor(pod).length, before, "no request for the waiting pod")
    assert.strictEqual(lookups.length, lookupsBefore, "no workflow lookup either")
    assert.strictEqual(labelOf(pod), "false")
  })

const reconcileNow = (pod: string) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const plan = yield* engine.reconcile(live(pod))
    assert.strictEqual(plan.decision._tag, "Act", JSON.stringify(plan.decision))
    assert.isFalse(engine.waiting().has(`argo/${pod}`), "no longer waiting")
    return plan
  })

const expectLabelled = (pod: string) =>
  Effect.gen(function*() {
    yield* waitFor(sim, () => labelOf(pod) === "true")
    yield* Effect.flatMap(Engine, (e) => e.awaitIdle)
    const outcome = (yield* outcomesOf(pod)).find((o) => o.action === "labelPodCompleted")
    assert.strictEqual(outcome?.kind, "done")
  })

const expectDeleted = (pod: string) =>
  Effect.gen(function*() {
    yield* waitFor(sim, () => sim.getPod("argo", pod) === undefined)
    yield* Effect.flatMap(Engine, (e) => e.awaitIdle)
    const outcome = (yield* outcomesOf(pod)).find((o) => o.action === "deletePod")
    assert.strictEqual(outcome?.kind, "done")
  })

// ---- Cases --------------------------------------------------------------------------------------

describe("the engine waits for Argo's recorded node (TestClock, simulated API server)", () => {
  it.effect("(a) node recorded late: the finished pod waits, unpolled, and is labelled once the node is Succeeded", () =>
    Effect.gen(function*() {
      setWorkflow("wf-late", { nodes: { "wf-late-1": { phase: "Running" } } })
      sim.addPod(finishedPod("late-1", "wf-late", "wf-late-1"))
      yield* expectWaits("late-1", /labelPodCompleted due, but Argo has not recorded node wf-late-1 yet \(phase Running\)/)
      yield* expectNotPolled("late-1")

      setWorkflow("wf-late", { nodes: { "wf-late-1": { phase: "Succeeded" } } })
      yield* reconcileNow("late-1")
      yield* expectLabelled("late-1")
      assert.deepStrictEqual(writesFor("late-1").map((r) => `${r.verb} ${r.status}`), ["patch 200"])
    }).pipe(Effect.provide(engineFor())))

  it.effect("(a') node recorded late, OnPodCompletion: the delete waits, then runs after the workflow's delay", () =>
    Effect.gen(function*() {
      setWorkflow("wf-late-del", { strategy: "OnPodCompletion", delay: "3s", nodes: { "wf-late-del-1": { phase: "Running" } } })
      sim.addPod(finishedPod("late-del-1", "wf-late-del", "wf-late-del-1"))
      yield* expectWaits("late-del-1", /deletePod due, but Argo has not recorded node wf-late-del-1/)
      yield* expectNotPolled("late-del-1")

      setWorkflow("wf-late-del", { strategy: "OnPodCompletion", delay: "3s", nodes: { "wf-late-del-1": { phase: "Succeeded" } } })
      yield* reconcileNow("late-del-1")
      yield* advance(2_500)
      assert.isDefined(sim.getPod("argo", "late-del-1"), "not before the 3 s delay")
      yield* advance(1_000)
      yield* expectDeleted("late-del-1")
    }).pipe(Effect.provide(engineFor())))

  it.effect("(b) taskResultSynced false waits; true deletes", () =>
    Effect.gen(function*() {
      const wf = { strategy: "OnPodCompletion", delay: "0s" }
      setWorkflow("wf-sync", { ...wf, nodes: { "wf-sync-1": { phase: "Succeeded", taskResultSynced: false } } })
      sim.addPod(finishedPod("sync-1", "wf-sync", "wf-sync-1"))
      yield* expectWaits("sync-1", /taskResultSynced false/)
      yield* expectNotPolled("sync-1")

      setWorkflow("wf-sync", { ...wf, nodes: { "wf-sync-1": { phase: "Succeeded", taskResultSynced: true } } })
      yield* reconcileNow("sync-1")
      yield* expectDeleted("sync-1")
    }).pipe(Effect.provide(engineFor())))

  const formats = [
    ["gzip", gzipSync],
    ["zstd", zstdCompressSync],
    ["brotli", brotliCompressSync]
  ] as const
  for (const [format, compress] of formats) {
    it.effect(`(c) compressedNodes in ${format}: waits while the node runs, labelled once it is recorded`, () =>
      Effect.gen(function*() {
        const name = `wf-${format}`
        const nodeId = `${name}-1`
        const compressed = (phase: string) => ({
          compressedNodes: compress(Buffer.from(JSON.stringify(podNodes({ [nodeId]: { phase } })))).toString("base64")
        })
        const running = setWorkflow(name, { status: compressed("Running") })
        assert.strictEqual(running.nodes._tag === "Nodes" && running.nodes.source, "compressedNodes")
        sim.addPod(finishedPod(`${format}-1`, name, nodeId))
        yield* expectWaits(`${format}-1`, new RegExp(`Argo has not recorded node ${nodeId} yet \\(phase Running\\)`))

        setWorkflow(name, { status: compressed("Succeeded") })
        yield* reconcileNow(`${format}-1`)
        yield* expectLabelled(`${format}-1`)
      }).pipe(Effect.provide(engineFor())))
  }

  it.effect("(c') unreadable compressedNodes: the pod waits (with the reason) until the workflow completes", () =>
    Effect.gen(function*() {
      setWorkflow("wf-corrupt", { status: { compressedNodes: Buffer.from("no known format").toString("base64") } })
      sim.addPod(finishedPod("corrupt-1", "wf-corrupt", "wf-corrupt-1"))
      yield* expectWaits("corrupt-1", /node status of workflow wf-corrupt cannot be read/)
      setWorkflow("wf-corrupt", { phase: "Succeeded", status: { compressedNodes: Buffer.from("no known format").toString("base64") } })
      yield* reconcileNow("corrupt-1")
      yield* expectLabelled("corrupt-1")
    }).pipe(Effect.provide(engineFor())))

  it.effect("(d) offloaded node status: waits while the workflow runs, deleted once it has Succeeded", () =>
    Effect.gen(function*() {
      const wf = { strategy: "OnPodCompletion", delay: "0s", status: { offloadNodeStatusVersion: "fnv:1234" } }
      setWorkflow("wf-offload", wf)
      sim.addPod(finishedPod("offload-1", "wf-offload", "wf-offload-1"))
      yield* expectWaits("offload-1", /offloaded/)
      yield* expectNotPolled("offload-1")

      setWorkflow("wf-offload", { ...wf, phase: "Succeeded" })
      yield* reconcileNow("offload-1")
      yield* expectDeleted("offload-1")
    }).pipe(Effect.provide(engineFor())))

  it.effect("(e) workflow gone: the orphan is cleaned by its pod-gc-strategy annotation, no gate", () =>
    Effect.gen(function*() {
      contexts.set("argo/wf-gone", { _tag: "Gone", reason: "workflow argo/wf-gone not found (404)" })
      sim.addPod(finishedPod("orphan-1", "wf-gone", "wf-gone-1", { strategy: "OnPodCompletion" }))
      const plan = yield* reconcileNow("orphan-1")
      assert.match(JSON.stringify(plan.decision), /policy from workflows\.argoproj\.io\/pod-gc-strategy=OnPodCompletion\/0s/)
      yield* expectDeleted("orphan-1")
    }).pipe(Effect.provide(engineFor())))

  it.effect("(e') workflow unseen: signalling goes on, the label waits for the workflow", () =>
    Effect.gen(function*() {
      const base = workflowPod("unseen-1", { workflow: "wf-unseen", graceSeconds: 0 })
      sim.addPod({ ...base, annotations: { [NODE_ID]: "wf-unseen-1" } })
      const engine = yield* Engine
      const plan = yield* engine.reconcile(live("unseen-1"))
      assert.strictEqual(plan.decision._tag, "Act")
      yield* waitFor(sim, () => requestsFor("unseen-1").some((r) => r.verb === "exec" && r.status === 101))
      yield* advance(500)
      yield* engine.awaitIdle
      // wait has stopped: the pod is done, and its label waits for the workflow.
      yield* expectWaits("unseen-1", /workflow wf-unseen not seen yet/)
      assert.isFalse(requestsFor("unseen-1").some((r) => r.verb === "patch" || r.verb === "delete"))
    }).pipe(Effect.provide(engineFor())))

  it.effect("(f) a running native sidecar is never exec'd into, nor holds the pod 'still running'", () =>
    Effect.gen(function*() {
      setWorkflow("wf-sidecar", { nodes: { "wf-sidecar-1": { phase: "Running" } } })
      const base = workflowPod("sidecar-1", { workflow: "wf-sidecar", graceSeconds: 0 })
      sim.addPod({ ...base, annotations: { [NODE_ID]: "wf-sidecar-1" } })
      // The sim does not model init containers: add a native sidecar (restartPolicy Always) by hand.
      const addSidecar = () =>
        sim.updatePod("argo", "sidecar-1", (p) => {
          p.spec!.initContainers = [{ name: "istio-proxy", image: "istio/proxyv2:1.27.0", restartPolicy: "Always" }]
          p.status!.initContainerStatuses = [{
            name: "istio-proxy",
            image: "istio/proxyv2:1.27.0",
            imageID: "istio/proxyv2@sha256:0",
            ready: true,
            restartCount: 0,
            started: true,
            state: { running: { startedAt: new Date() } }
          }]
          p.status!.phase = "Running"
        })
      addSidecar()
      assert.strictEqual(live("sidecar-1").status?.initContainerStatuses?.[0]?.name, "istio-proxy", "the sim keeps the init status")

      const engine = yield* Engine
      const plan = yield* engine.reconcile(live("sidecar-1"))
      assert.strictEqual(plan.decision._tag, "Act")
      assert.notInclude(JSON.stringify(plan.decision), "istio-proxy")
      yield* waitFor(sim, () => requestsFor("sidecar-1").some((r) => r.verb === "exec" && r.status !== 0))
      yield* advance(500)
      yield* engine.awaitIdle
      const execs = requestsFor("sidecar-1").filter((r) => r.verb === "exec")
      assert.deepStrictEqual(execs.map((r) => `${r.container}: ${r.command?.join(" ")}`), ["wait: argoexec kill 15 1"])

      // wait stopped; the kubelet has not stopped the sidecar yet: phase Running, sidecar running.
      if (live("sidecar-1").status?.phase !== "Running" || live("sidecar-1").status?.initContainerStatuses === undefined) addSidecar()
      assert.strictEqual(live("sidecar-1").status?.phase, "Running")
      // Node still running: waits (for the node, not for the sidecar).
      yield* expectWaitsNoExec("sidecar-1", /labelPodCompleted due, but Argo has not recorded node wf-sidecar-1/)
      setWorkflow("wf-sidecar", { nodes: { "wf-sidecar-1": { phase: "Succeeded" } } })
      yield* reconcileNow("sidecar-1")
      yield* expectLabelled("sidecar-1")
      assert.isFalse(requestsFor("sidecar-1").some((r) => r.verb === "exec" && r.container === "istio-proxy"))
    }).pipe(Effect.provide(engineFor())))

  it.effect("(g) the re-check: a delayed delete whose node is set back to not recorded is skipped, the pod untouched", () =>
    Effect.gen(function*() {
      const wf = { strategy: "OnPodCompletion", delay: "10s" }
      setWorkflow("wf-recheck", { ...wf, nodes: { "wf-recheck-1": { phase: "Succeeded" } } })
      sim.addPod(finishedPod("recheck-1", "wf-recheck", "wf-recheck-1"))
      const plan = yield* reconcileNow("recheck-1")
      assert.match(JSON.stringify(plan.decision), /after 10s/)
      yield* advance(5_000)
      assert.deepStrictEqual(requestsFor("recheck-1"), [], "the delete is still delayed")

      // The workflow record is replaced: the node is no longer fulfilled (e.g. a newer record whose
      // task result is not synced yet).
      setWorkflow("wf-recheck", { ...wf, nodes: { "wf-recheck-1": { phase: "Succeeded", taskResultSynced: false } } })
      yield* advance(5_500)
      yield* waitFor(sim, () => requestsFor("recheck-1").some((r) => r.verb === "get" && r.status === 200))
      const engine = yield* Engine
      yield* engine.awaitIdle
      const outcome = (yield* outcomesOf("recheck-1")).find((o) => o.action === "deletePod")
      assert.strictEqual(outcome?.kind, "skipped")
      assert.match(outcome!.reason, /policy no longer deletes the pod: .*taskResultSynced false/)
      assert.isDefined(sim.getPod("argo", "recheck-1"), "the pod is untouched")
      assert.strictEqual(labelOf("recheck-1"), "false")
      assert.deepStrictEqual(requestsFor("recheck-1").map((r) => r.verb), ["get"], "read, re-checked, nothing written")
    }).pipe(Effect.provide(engineFor())))

  it.effect("(g') the re-check before a label: the workflow record replaced by one without the node skips it", () =>
    Effect.gen(function*() {
      setWorkflow("wf-recheck-l", { nodes: { "wf-recheck-l-1": { phase: "Succeeded" } } })
      sim.addPod(finishedPod("recheck-l-1", "wf-recheck-l", "wf-recheck-l-1"))
      // Decided while the node was recorded; by the time the worker runs, the record says otherwise.
      const engine = yield* Engine
      const plan = yield* engine.plan(live("recheck-l-1"))
      assert.strictEqual(plan.decision._tag, "Act")
      setWorkflow("wf-recheck-l", { nodes: {} })
      yield* engine.submit({ action: "labelPodCompleted", namespace: "argo", pod: "recheck-l-1", reason: "decided earlier" })
      yield* waitFor(sim, () => requestsFor("recheck-l-1").some((r) => r.verb === "get" && r.status === 200))
      yield* advance(250)
      yield* engine.awaitIdle
      const outcome = (yield* outcomesOf("recheck-l-1")).find((o) => o.action === "labelPodCompleted")
      assert.strictEqual(outcome?.kind, "skipped")
      assert.match(outcome!.reason, /node wf-recheck-l-1 is not in the status/)
      assert.strictEqual(labelOf("recheck-l-1"), "false")
    }).pipe(Effect.provide(engineFor())))
})

/** Like expectWaits, for a pod whose earlier execs are already in the log: no new write. */
const expectWaitsNoExec = (pod: string, reason: RegExp) =>
  Effect.gen(function*() {
    const before = writesFor(pod).length
    const engine = yield* Engine
    const plan = yield* engine.reconcile(live(pod))
    assert.strictEqual(plan.decision._tag, "Wait", JSON.stringify(plan.decision))
    assert.match(engine.waiting().get(`argo/${pod}`) ?? "", reason)
    yield* advance(10_000, 500)
    yield* engine.awaitIdle
    assert.strictEqual(writesFor(pod).length, before, "nothing written while the pod waits")
  })
