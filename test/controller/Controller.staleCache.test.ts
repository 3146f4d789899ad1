/**
 * The controller acts on its cached pods, but an exec cannot carry a UID precondition: a SIGTERM
 * that is tried again (here: its exec upgrade was refused with 429) reads the live pod first, so a
 * pod re-created under the same name meanwhile is found replaced, even while the cache still holds
 * the old one (its watch silent), and the new pod's running containers are never signalled.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Logger } from "effect"
import { defaultEngineSettings } from "../../src/engine/EngineSettings.ts"
import { Outcomes } from "../../src/engine/Outcomes.ts"
import { Controller } from "../../src/controller/Controller.ts"
import { LeaderElection } from "../../src/controller/LeaderElection.ts"
import { controllerLayer } from "../../src/controller/PodCleanup.ts"
import { clientLayer, realSleep, useSim, waitFor } from "../support/sim.ts"
import { workflowPod } from "../support/workflowPods.ts"

const sim = useSim()

describe("acting on the cached pod", () => {
  it.live("a retried SIGTERM never reaches a pod re-created under the same name while the cache is stale", () =>
    Effect.gen(function*() {
      sim.addWorkflow({ namespace: "stale", name: "wf-1", phase: "Succeeded", podGC: { strategy: "" } })
      // The first exec upgrade is refused with Retry-After: 2 s; the SIGTERM is tried again then.
      sim.faults.api({ verb: "exec", namespace: "stale" }, { kind: "status", code: 429, retryAfterSeconds: 2 }, { times: 1 })
      const services = yield* Layer.build(
        controllerLayer(
          { namespaces: ["stale"], labelSelector: "workflows.argoproj.io/workflow", shutdownGrace: Duration.seconds(1) },
          { ...defaultEngineSettings, execRetryBackoff: Duration.millis(100) }
        ).pipe(
          Layer.provideMerge(LeaderElection.layerNoop),
          Layer.provide(clientLayer(sim)),
          Layer.provide(Logger.layer([Logger.map(Logger.formatLogFmt, () => undefined)]))
        )
      )
      const controller = Context.get(services, Controller)
      yield* waitFor(sim, () => controller.status().synced)
      sim.addPod(workflowPod("victim", { namespace: "stale", workflow: "wf-1", graceSeconds: 30 }))
      yield* waitFor(sim, () => sim.requestLog.some((r) => r.verb === "exec" && r.name === "victim" && r.status === 429), 5_000)
      // The cache stops seeing changes; the pod is deleted and re-created with main still running.
      sim.faults.watch("silent", { resource: "pods", namespace: "stale" })
      sim.deletePod("stale", "victim", { gracePeriodSeconds: 0 })
      const replacement = sim.addPod({
        ...workflowPod("victim", { namespace: "stale", workflow: "wf-1", graceSeconds: 30 }),
        containers: [{ name: "wait" }, { name: "main" }]
      })
      const before = sim.requestLog.length
      const outcomes = Context.get(services, Outcomes)
      yield* waitFor(sim, () => outcomes.forPod("stale", "victim").some((o) => o.action === "terminateContainers"), 8_000)
      yield* realSleep(200)
      const execs = sim.requestLog.slice(before).filter((r) => r.verb === "exec" && r.name === "victim")
      assert.deepStrictEqual(execs, [], "no exec reached the re-created pod")
      const sigterm = outcomes.forPod("stale", "victim").find((o) => o.action === "terminateContainers")!
      assert.strictEqual(sigterm.kind, "skipped")
      assert.match(sigterm.reason, /pod replaced/)
      const live = sim.getPod("stale", "victim")!
      assert.strictEqual(live.metadata?.uid, replacement.metadata?.uid)
      assert.isTrue(live.status?.containerStatuses?.every((s) => s.state?.running !== undefined), "its containers still run")
    }))
})
