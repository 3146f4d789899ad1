/**
 * The engine's two lanes: labels and deletes run on API workers of their own, so they never wait
 * behind execs, however long those hang; with `apiWorkers` 0 (Argo's one pool) they do wait.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Scope } from "effect"
import type { WorkflowView } from "../../src/domain/policy.ts"
import { Engine } from "../../src/engine/Engine.ts"
import type { EngineSettings } from "../../src/engine/EngineSettings.ts"
import { Outcomes } from "../../src/engine/Outcomes.ts"
import { engineAgainst, realSleep, useSim, waitFor } from "../support/sim.ts"
import { workflowPod } from "../support/workflowPods.ts"

const sim = useSim()

const workflows = new Map<string, WorkflowView>([
  ["argo/wf-delete", { phase: "Succeeded", podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "0s" } }],
  ["argo/wf-label", { phase: "Succeeded", podGC: { strategy: "" } }]
])

/** Two signal workers, no per-node or cluster-wide exec cap: two hung execs hold every signal worker. */
const settings = {
  workers: 2,
  perNodeExecCap: 0,
  execCap: 0,
  execTimeout: Duration.seconds(60),
  execRetries: 0,
  breakerThreshold: 0,
  actionRetries: 0
} satisfies Partial<EngineSettings>

/**
 * Runs the engine with `apiWorkers`: two pods on a partitioned node hold the signal workers in
 * execs that hang; then two finished pods on a healthy node need a label and a delete. Returns
 * the outcomes of those two after `windowMs`, with the execs still hanging then.
 */
const labelsBehindHungExecs = (apiWorkers: number, windowMs: number) => {
  const p = `w${apiWorkers}-`
  return Effect.gen(function*() {
    sim.partition("node-x")
    const scope = yield* Scope.make()
    try {
      const context = yield* Layer.buildWithScope(engineAgainst(sim, workflows, { ...settings, apiWorkers }), scope)
      const engine = Context.get(context, Engine)
      for (const name of [`${p}hung-0`, `${p}hung-1`]) {
        yield* engine.reconcile(sim.addPod(workflowPod(name, { node: "node-x", workflow: "wf-label" })))
      }
      yield* waitFor(sim, () => sim.stats().execOpen === 2)
      yield* engine.reconcile(sim.addPod(workflowPod(`${p}done-label`, { workflow: "wf-label", waitRunning: false })))
      yield* engine.reconcile(sim.addPod(workflowPod(`${p}done-delete`, { workflow: "wf-delete", waitRunning: false })))
      const outcomes = Context.get(context, Outcomes)
      const finished = () => outcomes.all().filter((o) => o.pod.startsWith(`${p}done-`))
      const deadline = Date.now() + windowMs
      while (finished().length < 2 && Date.now() < deadline) yield* realSleep(20)
      return { finished: finished().map((o) => ({ ...o, pod: o.pod.slice(p.length) })), execOpen: sim.stats().execOpen }
    } finally {
      yield* Scope.close(scope, Exit.void)
      sim.heal("node-x")
    }
  })
}

describe("engine lanes", () => {
  it.live("a label and a delete are done while every signal worker hangs in an exec", () =>
    Effect.gen(function*() {
      const { finished, execOpen } = yield* labelsBehindHungExecs(2, 5_000)
      assert.strictEqual(execOpen, 2, "both execs still hang")
      assert.deepStrictEqual(
        finished.map((o) => [o.pod, o.action, o.kind]).sort(),
        [["done-delete", "deletePod", "done"], ["done-label", "labelPodCompleted", "done"]]
      )
      assert.isUndefined(sim.getPod("argo", "w2-done-delete"), "deleted")
      assert.strictEqual(sim.getPod("argo", "w2-done-label")?.metadata?.labels?.["workflows.argoproj.io/completed"], "true")
    }))

  it.live("with apiWorkers 0 (one pool, as Argo) they wait behind the hung execs", () =>
    Effect.gen(function*() {
      const { finished, execOpen } = yield* labelsBehindHungExecs(0, 1_000)
      assert.strictEqual(execOpen, 2)
      assert.deepStrictEqual(finished, [], "nothing is done while both workers hang")
      assert.strictEqual(sim.getPod("argo", "w0-done-label")?.metadata?.labels?.["workflows.argoproj.io/completed"], "false")
    }))
})
