/**
 * Which pod a signal acts on, with a pod cache: one metadata-only read when the cached record is
 * the live pod (same UID and resourceVersion), the whole live pod when it changed since, and
 * nothing signalled when the name now stands for another pod or for none.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import type { WorkflowView } from "../../src/domain/policy.ts"
import { compactPod, decodePod, type Pod } from "../../src/domain/Pod.ts"
import { ActionRunner } from "../../src/engine/ActionRunner.ts"
import { Engine } from "../../src/engine/Engine.ts"
import { defaultEngineSettings } from "../../src/engine/EngineSettings.ts"
import { PodCache } from "../../src/engine/PodCache.ts"
import { WorkflowSource } from "../../src/engine/WorkflowSource.ts"
import { clientLayer, useSim } from "../support/sim.ts"
import { workflowPod } from "../support/workflowPods.ts"

const sim = useSim()

const workflows = new Map<string, WorkflowView>([["argo/wf-1", { phase: "Running", podGC: { strategy: "" } }]])

/** The engine's services with `cached` as the pod cache (what the informer would hold). */
const cached = new Map<string, Pod>()
const layer = () =>
  Engine.layerServices({ ...defaultEngineSettings, actionRetries: 0, retryAttempts: 1 }).pipe(
    Layer.provideMerge(Layer.mergeAll(
      WorkflowSource.layerStatic(workflows),
      Layer.succeed(PodCache, PodCache.of({ get: (namespace, name) => cached.get(`${namespace}/${name}`) }))
    )),
    Layer.provide(clientLayer(sim))
  )

/** Adds the pod to the simulator and its compact record to the cache; returns its UID. */
const addCached = (name: string): string => {
  const added = sim.addPod(workflowPod(name, { graceSeconds: 0 }))
  cached.set(`argo/${name}`, compactPod(Result.getOrThrow(decodePod(JSON.parse(JSON.stringify(added))))))
  return added.metadata!.uid!
}

const terminate = (pod: string, uid: string) =>
  ActionRunner.use((r) => r.run({ request: { action: "terminateContainers", namespace: "argo", pod, uid, reason: "test" }, attempt: 1 }))

const requestsFor = (pod: string) => sim.requestLog.filter((r) => r.name === pod && r.resource === "pods").map((r) => r.verb)

describe("the pod a signal acts on", () => {
  it.live("the cached record is the live pod: one metadata read, then the exec", () =>
    Effect.gen(function*() {
      const uid = addCached("st-same")
      const result = yield* terminate("st-same", uid)
      assert.strictEqual(result._tag === "Finished" && result.kind, "done")
      assert.deepStrictEqual(requestsFor("st-same"), ["get", "exec"])
    }).pipe(Effect.provide(layer())))

  it.live("the pod changed since it was cached: the whole live pod is read, and decides", () =>
    Effect.gen(function*() {
      const uid = addCached("st-changed")
      // The live pod moved on (the cache has not seen it): `wait` has stopped too.
      sim.setContainerState("argo", "st-changed", "wait", "terminated", 0)
      const result = yield* terminate("st-changed", uid)
      assert.deepStrictEqual(result._tag === "Finished" && [result.kind, result.reason], ["done", "no container is running"])
      assert.deepStrictEqual(requestsFor("st-changed"), ["get", "get"], "metadata, then the whole pod; no exec")
    }).pipe(Effect.provide(layer())))

  it.live("the name stands for a re-created pod the cache has not seen: left untouched", () =>
    Effect.gen(function*() {
      const uid = addCached("st-replaced")
      sim.deletePod("argo", "st-replaced", { gracePeriodSeconds: 0 })
      sim.addPod(workflowPod("st-replaced"))
      const result = yield* terminate("st-replaced", uid)
      assert.strictEqual(result._tag === "Finished" && result.kind, "skipped")
      assert.match(result._tag === "Finished" ? result.reason : "", /^pod replaced: /)
      assert.notInclude(requestsFor("st-replaced"), "exec")
    }).pipe(Effect.provide(layer())))

  it.live("the pod is gone: done, nothing signalled", () =>
    Effect.gen(function*() {
      const uid = addCached("st-gone")
      sim.deletePod("argo", "st-gone", { gracePeriodSeconds: 0 })
      const result = yield* terminate("st-gone", uid)
      assert.deepStrictEqual(result._tag === "Finished" && [result.kind, result.reason], ["done", "pod already gone"])
      assert.notInclude(requestsFor("st-gone"), "exec")
    }).pipe(Effect.provide(layer())))
})
