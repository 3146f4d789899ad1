/**
 * The cap on destructive work (`maxDestructivePerMinute`) under TestClock, against the simulated
 * cluster: at most N deletes per minute; the rest wait for the next minute (requeued, not lost);
 * an error is logged once per capped minute and the metrics say so; labelling is never held back.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, Metric } from "effect"
import type { WorkflowView } from "../../src/domain/policy.ts"
import { Engine } from "../../src/engine/Engine.ts"
import { destructiveCapReached, destructiveDeferred, destructivePaused } from "../../src/metrics.ts"
import { Outcomes } from "../../src/engine/Outcomes.ts"
import { advance, engineAgainst, realSleep, waitFor, useSim } from "../support/sim.ts"
import { workflowPod } from "../support/workflowPods.ts"

const sim = useSim()

const workflows = new Map<string, WorkflowView>([
  ["argo/wf-delete", { phase: "Succeeded", podGC: { strategy: "OnPodCompletion" } }],
  ["argo/wf-label", { phase: "Succeeded", podGC: { strategy: "" } }]
])

describe("the destructive cap", () => {
  it.effect("3 deletes per minute: 10 pods go in 4 minutes, none lost; labels are not held back; one error per capped minute", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const toDelete = Array.from({ length: 10 }, (_, i) =>
        sim.addPod(workflowPod(`cap-del-${i}`, { workflow: "wf-delete", strategy: "OnPodCompletion", waitRunning: false, node: `node-${i % 3}` })))
      const toLabel = Array.from({ length: 5 }, (_, i) =>
        sim.addPod(workflowPod(`cap-label-${i}`, { workflow: "wf-label", waitRunning: false, finalizers: ["workflows.argoproj.io/status"] })))
      const reachedBefore = (yield* Metric.value(destructiveCapReached)).count
      const deferredBefore = (yield* Metric.value(Metric.withAttributes(destructiveDeferred, { action: "deletePod" }))).count
      const engine = yield* Engine
      for (const pod of [...toDelete, ...toLabel]) yield* engine.reconcile(pod)

      const deleted = () => toDelete.filter((p) => sim.getPod("argo", p.metadata!.name!) === undefined).length
      const labelled = () => toLabel.filter((p) => sim.getPod("argo", p.metadata!.name!)?.metadata?.labels?.["workflows.argoproj.io/completed"] === "true").length

      // The default delete delay (5 s) passes; still the first minute.
      yield* advance(6_000)
      yield* waitFor(sim, () => deleted() === 3 && labelled() === 5)
      yield* realSleep(200)
      assert.strictEqual(deleted(), 3, "no more than the cap in the first minute")
      assert.strictEqual(labelled(), 5, "labelling (and its finalizer removal) is not held back")
      assert.strictEqual((yield* Metric.value(destructivePaused)).value, 1)

      for (const expected of [6, 9, 10]) {
        yield* advance(60_000, 1000)
        yield* waitFor(sim, () => deleted() === expected)
        yield* realSleep(100)
        assert.strictEqual(deleted(), expected)
      }
      yield* engine.awaitIdle
      const outcomes = yield* Outcomes.useSync((o) => toDelete.map((p) => o.forPod("argo", p.metadata!.name!).find((x) => x.action === "deletePod")))
      assert.isTrue(outcomes.every((o) => o?.kind === "done"), "every capped delete ran in a later minute")
      // Three capped minutes (0, 1, 2): one error line each; the fourth had room.
      const errors = lines.filter((l) => l.includes("level=ERROR") && l.includes("destructive cap reached"))
      assert.strictEqual(errors.length, 3)
      assert.strictEqual((yield* Metric.value(destructiveCapReached)).count - reachedBefore, 3)
      assert.isAtLeast((yield* Metric.value(Metric.withAttributes(destructiveDeferred, { action: "deletePod" }))).count - deferredBefore, 7)
      assert.strictEqual((yield* Metric.value(destructivePaused)).value, 0, "the pause is lifted in a minute with room")
      // A capped delete spends no API call while it waits: one read and one delete per pod.
      const deletes = sim.requestLog.filter((r) => r.verb === "delete" && r.name?.startsWith("cap-del-"))
      assert.strictEqual(deletes.length, 10)
    }).pipe(
      Effect.provide(engineAgainst(sim, workflows, { maxDestructivePerMinute: 3 })),
      Effect.provide(Logger.layer([Logger.map(Logger.formatLogFmt, (line) => void lines.push(line))]))
    )
  })
})
