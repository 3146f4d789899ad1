/**
 * The controller's WorkflowSource, backed by its informers (`ClusterCache.layerWorkflowSource`):
 * a workflow in the cache is Known without asking the API; one not in it (the cache lags behind
 * its watch) is read from the API; only the API server's 404 makes it Gone; a 5xx or a timeout
 * stays a failure, never Gone (a flaky API server must not turn "wait for the workflow" into "go
 * ahead"); lookups of one workflow at once share one read; without the Workflow CRD every workflow is
 * Gone. Against the simulator, over real HTTP.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Logger, Result } from "effect"
import { WorkflowSource } from "../../src/engine/WorkflowSource.ts"
import { ClusterCache } from "../../src/controller/ClusterCache.ts"
import type { SimCluster } from "@pod-cleanup/sim"
import { PodApi } from "../../src/kube/PodApi.ts"
import { WorkflowApi } from "../../src/kube/WorkflowApi.ts"
import { clientLayer, realSleep, useSim } from "../support/sim.ts"

const sim = useSim()
const noCrd = useSim({ workflowsCrd: false })

/** The informer-backed source watching `namespace` of `cluster`, once its caches have synced. */
const sourceAgainst = (cluster: SimCluster, namespace: string) =>
  Effect.gen(function*() {
    const services = yield* Layer.build(
      ClusterCache.layerWorkflowSource.pipe(
        Layer.provideMerge(ClusterCache.layer({ namespaces: [namespace], labelSelector: "workflows.argoproj.io/workflow" })),
        Layer.provide(Layer.merge(PodApi.layer, WorkflowApi.layer)),
        Layer.provide(clientLayer(cluster, { requestTimeout: Duration.millis(500) })),
        Layer.provide(Logger.layer([Logger.map(Logger.formatLogFmt, () => undefined)]))
      )
    )
    const cache = Context.get(services, ClusterCache)
    yield* cache.awaitSynced.pipe(Effect.timeout("5 seconds"))
    return { source: Context.get(services, WorkflowSource), cache }
  })

/** The GETs of one workflow the API server answered (or has yet to answer). */
const workflowGets = (cluster: SimCluster, namespace: string, name: string) =>
  cluster.requestLog.filter((r) => r.verb === "get" && r.resource === "workflows" && r.namespace === namespace && r.name === name)

describe("the informer-backed WorkflowSource", () => {
  it.live("a workflow in the cache is Known, and the API server is not asked", () =>
    Effect.gen(function*() {
      const namespace = "wfs-hit"
      sim.addWorkflow({ namespace, name: "wf-hit", phase: "Succeeded", podGC: { strategy: "OnPodCompletion" } })
      const { source } = yield* sourceAgainst(sim, namespace)
      // Were the API asked, it would fail: the answer can only come from the cache.
      const fault = sim.faults.api({ verb: "get", resource: "workflows", namespace }, { kind: "status", code: 500 })
      const context = yield* source.lookup(namespace, "wf-hit").pipe(Effect.ensuring(Effect.sync(() => sim.faults.clear(fault))))
      assert.strictEqual(context._tag, "Known")
      if (context._tag === "Known") {
        assert.strictEqual(context.workflow.metadata.name, "wf-hit")
        assert.strictEqual(context.workflow.phase, "Succeeded")
      }
      assert.deepStrictEqual(workflowGets(sim, namespace, "wf-hit"), [])
    }))

  it.live("a workflow the cache has not seen yet (its watch silent) is read from the API and Known", () =>
    Effect.gen(function*() {
      const namespace = "wfs-miss"
      const { source, cache } = yield* sourceAgainst(sim, namespace)
      // The watch open now, or the one about to open once the list is applied, says nothing more.
      sim.faults.watch("silent", { resource: "workflows", namespace, next: 1 })
      sim.addWorkflow({ namespace, name: "wf-late", phase: "Running" })
      yield* realSleep(200)
      assert.isUndefined(cache.workflow(namespace, "wf-late"), "the cache has not seen it")
      const context = yield* source.lookup(namespace, "wf-late")
      assert.strictEqual(context._tag, "Known")
      if (context._tag === "Known") assert.strictEqual(context.workflow.phase, "Running")
      assert.deepStrictEqual(workflowGets(sim, namespace, "wf-late").map((r) => r.status), [200])
    }))

  it.live("a workflow neither cached nor known to the API server (404) is Gone", () =>
    Effect.gen(function*() {
      const namespace = "wfs-gone"
      const { source } = yield* sourceAgainst(sim, namespace)
      const context = yield* source.lookup(namespace, "wf-never")
      assert.strictEqual(context._tag, "Gone")
      if (context._tag === "Gone") assert.match(context.reason, /wfs-gone\/wf-never not found \(404\)/)
      assert.deepStrictEqual(workflowGets(sim, namespace, "wf-never").map((r) => r.status), [404])
    }))

  for (const code of [500, 503] as const) {
    it.live(`an API server answering ${code} is a failure, never Gone; the 404 after it is`, () =>
      Effect.gen(function*() {
        const namespace = `wfs-${code}`
        const { source } = yield* sourceAgainst(sim, namespace)
        sim.faults.api({ verb: "get", resource: "workflows", namespace, name: "wf-absent" }, { kind: "status", code }, { times: 1 })
        const failed = yield* Effect.result(source.lookup(namespace, "wf-absent"))
        assert.isTrue(Result.isFailure(failed), `a ${code} is not an answer`)
        if (Result.isFailure(failed)) assert.strictEqual(failed.failure._tag, "KubeTransientError")
        // Once the API server answers, the same workflow is Gone: the failure was not remembered.
        const answered = yield* source.lookup(namespace, "wf-absent")
        assert.strictEqual(answered._tag, "Gone")
        assert.deepStrictEqual(workflowGets(sim, namespace, "wf-absent").map((r) => r.status), [code, 404])
      }))
  }

  it.live("lookups of one workflow at once share one read; one that stops waiting does not cut it short", () =>
    Effect.gen(function*() {
      const namespace = "wfs-shared"
      const { source } = yield* sourceAgainst(sim, namespace)
      sim.faults.api({ verb: "get", resource: "workflows", namespace, name: "wf-absent" }, { kind: "latency", ms: 300 }, { times: 1 })
      const [impatient, ...patient] = yield* Effect.all([
        Effect.result(Effect.timeout(source.lookup(namespace, "wf-absent"), "50 millis")),
        ...Array.from({ length: 5 }, () => source.lookup(namespace, "wf-absent"))
      ], { concurrency: "unbounded" })
      assert.isTrue(Result.isFailure(impatient!), "the impatient caller timed out")
      assert.deepStrictEqual(patient.map((c) => c._tag), ["Gone", "Gone", "Gone", "Gone", "Gone"])
      assert.deepStrictEqual(workflowGets(sim, namespace, "wf-absent").map((r) => r.status), [404])
    }))

  it.live("an API server that does not answer within the request timeout is a failure, never Gone", () =>
    Effect.gen(function*() {
      const namespace = "wfs-slow"
      const { source } = yield* sourceAgainst(sim, namespace)
      sim.faults.api({ verb: "get", resource: "workflows", namespace, name: "wf-absent" }, { kind: "latency", ms: 3_000 }, { times: 1 })
      const failed = yield* Effect.result(source.lookup(namespace, "wf-absent"))
      assert.isTrue(Result.isFailure(failed), "a timeout is not an answer")
      if (Result.isFailure(failed)) {
        assert.strictEqual(failed.failure._tag, "KubeTransientError")
        assert.match(failed.failure.message, /no answer within/)
      }
    }))

  it.live("without the Workflow CRD every workflow is Gone, and none is looked up", () =>
    Effect.gen(function*() {
      const namespace = "wfs-nocrd"
      const { source, cache } = yield* sourceAgainst(noCrd, namespace)
      assert.isFalse(cache.workflowCrd)
      const context = yield* source.lookup(namespace, "wf-any")
      assert.strictEqual(context._tag, "Gone")
      if (context._tag === "Gone") assert.match(context.reason, /CRD is not installed/)
      assert.deepStrictEqual(workflowGets(noCrd, namespace, "wf-any"), [])
    }))
})
