/**
 * The Controller's resync: while leading, every cached pod is decided again every `resyncPeriod`,
 * so what the engine gave up on (here: at once, `actionRetries: 0`) converges once the fault is
 * gone, although nothing about the pod changed (no watch event). Real time, short settings.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Logger } from "effect"
import { defaultEngineSettings, type EngineSettings } from "../../src/engine/EngineSettings.ts"
import { Outcomes } from "../../src/engine/Outcomes.ts"
import { Controller } from "../../src/controller/Controller.ts"
import { LeaderElection } from "../../src/controller/LeaderElection.ts"
import { controllerLayer } from "../../src/controller/PodCleanup.ts"
import { clientLayer, realSleep, useSim, waitFor } from "../support/sim.ts"
import { workflowPod } from "../support/workflowPods.ts"

const sim = useSim()

const settings: EngineSettings = {
  ...defaultEngineSettings,
  execTimeout: Duration.millis(400),
  execRetries: 0,
  breakerThreshold: 1,
  breakerCooldown: Duration.millis(500),
  actionRetries: 0
}

/** The controller (always leading) against the sim, watching `namespace`; its logs are kept, not printed. */
const startController = (namespace: string, resyncPeriod: Duration.Duration) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const services = yield* Layer.build(
      controllerLayer({
        namespaces: [namespace],
        labelSelector: "workflows.argoproj.io/workflow",
        shutdownGrace: Duration.seconds(1),
        resyncPeriod
      }, settings).pipe(
        Layer.provideMerge(LeaderElection.layerNoop),
        Layer.provide(clientLayer(sim)),
        Layer.provide(Logger.layer([Logger.map(Logger.formatLogFmt, (line) => void lines.push(line))]))
      )
    )
    const controller = Context.get(services, Controller)
    yield* waitFor(sim, () => controller.status().synced)
    return { controller, outcomes: Context.get(services, Outcomes), lines }
  })

/** Pods on `node` (partitioned from the start) whose main has finished; their workflow deletes them. */
const partitionedPods = (namespace: string, node: string, n: number) => {
  sim.addWorkflow({ namespace, name: "wf-conv", phase: "Succeeded", podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "0s" } })
  sim.partition(node)
  return Array.from({ length: n }, (_, i) => {
    const name = `${namespace}-${i}`
    sim.addPod(workflowPod(name, { namespace, workflow: "wf-conv", node, graceSeconds: 0 }))
    return name
  })
}

/** The partition outlasts two breaker cooldowns; every pod's SIGTERM has been given up on by then. */
const outlastPartition = (namespace: string, node: string, names: ReadonlyArray<string>, outcomes: Outcomes["Service"]) =>
  Effect.gen(function*() {
    const givenUp = () =>
      names.every((n) => {
        const o = outcomes.forPod(namespace, n).find((x) => x.action === "terminateContainers")
        return o !== undefined && o.kind !== "done"
      })
    yield* waitFor(sim, givenUp, 5_000)
    yield* realSleep(1_200)
    sim.heal(node)
  })

describe("resync: what was given up on converges once the fault is gone", () => {
  it.live("without resync (resyncPeriod 0), SIGTERMs given up on during a partition are not tried again after heal (the control)", () =>
    Effect.gen(function*() {
      const { outcomes } = yield* startController("conv-off", Duration.zero)
      const names = partitionedPods("conv-off", "node-conv-off", 2)
      yield* outlastPartition("conv-off", "node-conv-off", names, outcomes)
      yield* realSleep(2_500)
      for (const name of names) assert.isDefined(sim.getPod("conv-off", name), `${name} is left as it was`)
    }))

  it.live("with a resync (1 s), every pod on a node partitioned for longer than two breaker cooldowns ends signalled and deleted after heal", () =>
    Effect.gen(function*() {
      const { controller, outcomes } = yield* startController("conv-on", Duration.seconds(1))
      const names = partitionedPods("conv-on", "node-conv-on", 3)
      yield* outlastPartition("conv-on", "node-conv-on", names, outcomes)
      yield* waitFor(sim, () => names.every((n) => sim.getPod("conv-on", n) === undefined), 10_000)
      for (const name of names) {
        assert.strictEqual(outcomes.forPod("conv-on", name).find((o) => o.action === "terminateContainers")?.kind, "done", name)
      }
      yield* waitFor(sim, () => (controller.engine()?.depth().processing ?? 1) === 0, 5_000)
    }))
})
