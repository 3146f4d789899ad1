/**
 * The engine's timing under TestClock: exec deadlines, the SIGTERM → SIGKILL grace period, API
 * backoff with Retry-After, and the per-node breaker. Real sockets to the simulated cluster;
 * virtual time for every deadline and delay.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import type { WorkflowView } from "../../src/domain/policy.ts"
import { Engine } from "../../src/engine/Engine.ts"
import type { EngineSettings } from "../../src/engine/EngineSettings.ts"
import { NodeGuard } from "../../src/engine/NodeGuard.ts"
import { Outcomes } from "../../src/engine/Outcomes.ts"
import { advance, engineAgainst, waitFor, useSim } from "../support/sim.ts"
import { workflowPod } from "../support/workflowPods.ts"

const sim = useSim()

const workflows = new Map<string, WorkflowView>([
  ["argo/wf-delete", { phase: "Succeeded", podGC: { strategy: "OnPodCompletion" } }],
  ["argo/wf-label", { phase: "Succeeded", podGC: { strategy: "" } }]
])

const engineFor = (settings: Partial<EngineSettings> = {}) => engineAgainst(sim, workflows, settings)

const execs = (pod: string) => sim.requestLog.filter((r) => r.verb === "exec" && r.name === pod)
const signalOf = (command: ReadonlyArray<string> | undefined) => command?.join(" ").match(/kill -?(\d+) 1/)?.[1]
const containerState = (pod: string, container: string) => {
  const status = sim.getPod("argo", pod)?.status?.containerStatuses?.find((c) => c.name === container)
  return status?.state?.running ? "running" : status?.state?.terminated ? "terminated" : "unknown"
}
const outcomesOf = (pod: string) =>
  Outcomes.useSync((o) => Object.fromEntries(o.forPod("argo", pod).map((x) => [x.action, x])))

describe("engine timing (TestClock)", () => {
  it.effect("SIGTERM first; a container that ignores it is SIGKILLed exactly after the grace period; then the pod is deleted", () =>
    Effect.gen(function*() {
      const pod = sim.addPod(workflowPod("ignore-term", { workflow: "wf-delete", ignoreSigterm: true, graceSeconds: 30 }))
      const engine = yield* Engine
      const plan = yield* engine.reconcile(pod)
      assert.strictEqual(plan.decision._tag, "Act")
      yield* waitFor(sim, () => execs("ignore-term").some((e) => e.status === 101 && e.aborted === false))
      yield* advance(100)
      assert.deepStrictEqual(execs("ignore-term").map((e) => signalOf(e.command)), ["15"])
      assert.strictEqual(containerState("ignore-term", "wait"), "running", "the container ignores SIGTERM")

      yield* advance(29_800)
      assert.deepStrictEqual(execs("ignore-term").map((e) => signalOf(e.command)), ["15"], "no SIGKILL before the grace period")
      yield* advance(200)
      yield* waitFor(sim, () => containerState("ignore-term", "wait") === "terminated")
      assert.deepStrictEqual(execs("ignore-term").map((e) => signalOf(e.command)), ["15", "9"])

      // Killed, the pod is decided again: OnPodCompletion deletes it after the 5 s default delay.
      yield* advance(5_500)
      yield* waitFor(sim, () => sim.getPod("argo", "ignore-term") === undefined)
      // The simulator removes the pod before its answer reaches the engine: wait for the outcome too.
      const ledger = yield* Outcomes
      yield* waitFor(sim, () => ledger.forPod("argo", "ignore-term").some((o) => o.action === "deletePod"))
      const outcomes = yield* outcomesOf("ignore-term")
      assert.strictEqual(outcomes.terminateContainers?.kind, "done")
      assert.strictEqual(outcomes.killContainers?.kind, "done")
      assert.isAtLeast(outcomes.killContainers!.at, 30_000)
      assert.strictEqual(outcomes.deletePod?.kind, "done")
      assert.strictEqual(sim.stats().execOpen, 0)
    }).pipe(Effect.provide(engineFor())))

  it.effect("an exec timeout fails the action exactly at the deadline and does not block the next action", () =>
    Effect.gen(function*() {
      sim.partition("node-part")
      const stuck = sim.addPod(workflowPod("on-partition", { node: "node-part", graceSeconds: 0 }))
      const healthy = sim.addPod(workflowPod("healthy-after", { graceSeconds: 0 }))
      const engine = yield* Engine
      yield* engine.reconcile(stuck)
      yield* waitFor(sim, () => sim.stats().execOpen === 1)
      yield* engine.reconcile(healthy)
      yield* advance(29_750)
      let outcomes = yield* outcomesOf("on-partition")
      assert.isUndefined(outcomes.terminateContainers, "still waiting just before the deadline")
      yield* advance(250)
      yield* waitFor(sim, () => sim.stats().execOpen === 0)
      outcomes = yield* outcomesOf("on-partition")
      assert.strictEqual(outcomes.terminateContainers?.kind, "failed")
      assert.strictEqual(outcomes.terminateContainers?.at, 30_000)
      assert.match(outcomes.terminateContainers!.reason, /timed out on node node-part/)
      // One worker was held by the timeout; the healthy pod was still signalled by another at once.
      const next = yield* outcomesOf("healthy-after")
      assert.strictEqual(next.terminateContainers?.kind, "done")
      assert.isBelow(next.terminateContainers!.at, 1_000)
      sim.heal("node-part")
    }).pipe(Effect.provide(engineFor({ execRetries: 0 }))))

  it.effect("a timed-out exec is retried once after the backoff, then reported with both attempts", () =>
    Effect.gen(function*() {
      sim.partition("node-retry")
      const stuck = sim.addPod(workflowPod("retry-once", { node: "node-retry", graceSeconds: 0 }))
      const engine = yield* Engine
      yield* engine.reconcile(stuck)
      yield* waitFor(sim, () => sim.stats().execOpen === 1)
      yield* advance(30_000)
      yield* waitFor(sim, () => sim.stats().execOpen === 0)
      assert.isUndefined((yield* outcomesOf("retry-once")).terminateContainers, "requeued, not finished")
      yield* advance(4_750)
      assert.strictEqual(execs("retry-once").length, 1, "not retried before the backoff")
      yield* advance(250)
      yield* waitFor(sim, () => sim.stats().execOpen === 1)
      yield* advance(30_000)
      yield* waitFor(sim, () => sim.stats().execOpen === 0)
      const outcome = (yield* outcomesOf("retry-once")).terminateContainers!
      assert.strictEqual(outcome.kind, "failed")
      assert.strictEqual(outcome.attempts, 2)
      assert.strictEqual(outcome.at, 65_000)
      sim.heal("node-retry")
    }).pipe(Effect.provide(engineFor({ execRetries: 1, execRetryBackoff: Duration.seconds(5) }))))

  it.effect("API retries back off exponentially and honour Retry-After", () =>
    Effect.gen(function*() {
      const a = sim.addPod(workflowPod("label-503", { workflow: "wf-label", waitRunning: false }))
      const b = sim.addPod(workflowPod("label-429", { workflow: "wf-label", waitRunning: false }))
      sim.faults.api({ verb: "patch", name: "label-503" }, { kind: "status", code: 503 }, { times: 2 })
      sim.faults.api({ verb: "patch", name: "label-429" }, { kind: "status", code: 429, retryAfterSeconds: 7 }, { times: 1 })
      const engine = yield* Engine
      yield* engine.reconcile(a)
      yield* engine.reconcile(b)
      yield* advance(8_000, 20, 2)
      const o503 = (yield* outcomesOf("label-503")).labelPodCompleted!
      const o429 = (yield* outcomesOf("label-429")).labelPodCompleted!
      // Lower bounds are exact (virtual time only moves on); the upper ones allow for the steps
      // the clock takes while real requests travel. The exact delays: retryPolicy.test.ts.
      assert.strictEqual(o503.kind, "done")
      assert.isAtLeast(o503.at, 240, "100 ms then 200 ms, each jittered by ±20 %")
      assert.isBelow(o503.at, 7_000)
      assert.strictEqual(o429.kind, "done")
      assert.isAtLeast(o429.at, 7_000, "never before Retry-After")
      assert.isBelow(o429.at, 8_000)
      assert.strictEqual(sim.getPod("argo", "label-429")?.metadata?.labels?.["workflows.argoproj.io/completed"], "true")
    }).pipe(Effect.provide(engineFor())))

  it.effect("the breaker opens after 3 timeouts, fails fast while open, and a successful probe closes it", () =>
    Effect.gen(function*() {
      sim.partition("node-b")
      const engine = yield* Engine
      const guard = yield* NodeGuard
      for (const name of ["b-1", "b-2", "b-3"]) yield* engine.reconcile(sim.addPod(workflowPod(name, { node: "node-b", graceSeconds: 0 })))
      yield* waitFor(sim, () => sim.stats().execOpen === 3)
      yield* advance(30_000)
      yield* waitFor(sim, () => sim.stats().execOpen === 0)
      assert.strictEqual(guard.breakerStates().get("node-b")?._tag, "Open")

      yield* engine.reconcile(sim.addPod(workflowPod("b-4", { node: "node-b", graceSeconds: 0 })))
      yield* advance(250)
      yield* engine.awaitIdle
      const fast = (yield* outcomesOf("b-4")).terminateContainers!
      assert.strictEqual(fast.kind, "skipped")
      assert.match(fast.reason, /breaker open/)
      assert.isBelow(fast.at - 30_000, 1_000, "failed fast, not after another deadline")
      assert.strictEqual(execs("b-4").length, 0)

      sim.heal("node-b")
      yield* advance(60_000, 1_000)
      yield* engine.reconcile(sim.addPod(workflowPod("b-5", { node: "node-b", graceSeconds: 0 })))
      yield* waitFor(sim, () => execs("b-5").length === 1)
      yield* advance(250)
      yield* engine.awaitIdle
      assert.strictEqual((yield* outcomesOf("b-5")).terminateContainers?.kind, "done")
      assert.strictEqual(guard.breakerStates().get("node-b")?._tag, "Closed")
    }).pipe(Effect.provide(engineFor({ execRetries: 0, perNodeExecCap: 4, actionRetries: 0 }))))

  it.effect("a node whose exec slots are all taken never holds a worker: its actions wait for a slot, others go on", () =>
    Effect.gen(function*() {
      sim.partition("node-full")
      const engine = yield* Engine
      const first = sim.addPod(workflowPod("full-1", { node: "node-full", graceSeconds: 0 }))
      const second = sim.addPod(workflowPod("full-2", { node: "node-full", graceSeconds: 0 }))
      const other = sim.addPod(workflowPod("elsewhere", { node: "node-fine", graceSeconds: 0 }))
      yield* engine.reconcile(first)
      yield* waitFor(sim, () => execs("full-1").length === 1)
      yield* engine.reconcile(second)
      yield* engine.reconcile(other)
      yield* waitFor(sim, () => execs("elsewhere").length === 1)
      yield* advance(500)
      // Two workers, one slot on node-full (held by full-1): the second worker served the healthy pod
      // at once, and full-2 waits parked
      // without a single API call.
      assert.strictEqual((yield* outcomesOf("elsewhere")).terminateContainers?.kind, "done")
      assert.strictEqual(sim.requestLog.filter((r) => r.name === "full-2").length, 0)
      yield* advance(29_000)
      assert.strictEqual(sim.requestLog.filter((r) => r.name === "full-2").length, 0, "still parked at 29.5 s")
      yield* advance(500)
      // full-1 timed out at 30 s and freed the slot: full-2 goes now.
      yield* waitFor(sim, () => execs("full-2").length === 1)
      const firstOutcome = (yield* outcomesOf("full-1")).terminateContainers!
      assert.strictEqual(firstOutcome.kind, "failed")
      sim.heal("node-full")
    }).pipe(Effect.provide(engineFor({ workers: 2, perNodeExecCap: 1, execRetries: 0 }))))

  it.effect("a busy node's waiting actions run in order, each the moment a slot frees: no timer, no lost wake-up", () =>
    Effect.gen(function*() {
      sim.partition("node-line")
      const engine = yield* Engine
      const names = ["line-1", "line-2", "line-3", "line-4"]
      for (const name of names) yield* engine.reconcile(sim.addPod(workflowPod(name, { node: "node-line", graceSeconds: 0 })))
      yield* waitFor(sim, () => execs("line-1").length === 1)
      // One slot: each exec hangs half-open until its 30 s deadline, then the next one starts.
      for (let i = 1; i < names.length; i++) {
        yield* advance(30_000, 1_000)
        yield* waitFor(sim, () => execs(names[i]!).length === 1)
      }
      yield* advance(30_000, 1_000)
      yield* engine.awaitIdle
      const ended: Array<number> = []
      for (const name of names) ended.push((yield* outcomesOf(name)).terminateContainers!.at)
      assert.deepStrictEqual(ended.map((at) => Math.round((at - ended[0]!) / 1000)), [0, 30, 60, 90])
      sim.heal("node-line")
    }).pipe(Effect.provide(engineFor({ workers: 2, perNodeExecCap: 1, execRetries: 0, actionRetries: 0, breakerThreshold: 0 }))))
})
