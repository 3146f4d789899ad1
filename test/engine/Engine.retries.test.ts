/**
 * Failures that pass converge: refused exec upgrades (429 under API priority and fairness) are
 * retried after their Retry-After; an action that ends in a retryable failure (transient API
 * errors past the API retries, an exec timed out on a partitioned node, an open breaker) is tried
 * again by the engine with backoff; what is given up on is logged at warning level, with its
 * reason. Real sockets to the simulated cluster, virtual time.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Logger, Metric } from "effect"
import type { WorkflowView } from "../../src/domain/policy.ts"
import { Engine } from "../../src/engine/Engine.ts"
import type { EngineSettings } from "../../src/engine/EngineSettings.ts"
import { retriesTotal } from "../../src/metrics.ts"
import { Outcomes } from "../../src/engine/Outcomes.ts"
import { advanceUntil, containerRunning } from "../support/converge.ts"
import { engineAgainst, waitFor, useSim } from "../support/sim.ts"
import { workflowPod } from "../support/workflowPods.ts"

const sim = useSim()

const workflows = new Map<string, WorkflowView>([
  ["argo/wf-delete", { phase: "Succeeded", podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "0s" } }],
  ["argo/wf-label", { phase: "Succeeded", podGC: { strategy: "" } }]
])

/** The engine against the shared sim, with a metric registry of its own (counts start at 0). */
const isolated = (settings: Partial<EngineSettings> = {}) => <A, E>(test: Effect.Effect<A, E, Engine | Outcomes>) =>
  test.pipe(Effect.provide(engineAgainst(sim, workflows, settings)), Effect.provideService(Metric.MetricRegistry, new Map()))

const retries = (action: string, reason: string) =>
  Effect.map(Metric.value(Metric.withAttributes(retriesTotal, { action, reason })), (s) => s.count)

const outcomeOf = (outcomes: Outcomes["Service"], pod: string, action: string) =>
  outcomes.forPod("argo", pod).find((o) => o.action === action)

const gone = (names: ReadonlyArray<string>) => () => names.every((n) => sim.getPod("argo", n) === undefined)
const missing = (names: ReadonlyArray<string>) => () => `still there: ${names.filter((n) => sim.getPod("argo", n) !== undefined).join(", ")}`

/** Log lines as structured records (level, message, annotations). */
const captureLogs = () => {
  const lines: Array<{ level: string; message: string; annotations: Record<string, unknown> }> = []
  const layer = Logger.layer([
    Logger.map(Logger.formatStructured, (s) => {
      const message = Array.isArray(s.message) ? s.message.map(String).join(" ") : String(s.message)
      lines.push({ level: s.level, message, annotations: s.annotations })
    })
  ])
  return { lines, layer }
}

describe("exec upgrades refused with 429 are transient", () => {
  it.effect("3 refusals (429, Retry-After 2 s): SIGTERM is still delivered after the Retry-After, the pod is cleaned, retries_total{reason=\"exec 429\"} counts 3", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      sim.faults.api({ verb: "exec", name: "refused-1" }, { kind: "status", code: 429, retryAfterSeconds: 2 }, { times: 3 })
      const pod = sim.addPod(workflowPod("refused-1", { workflow: "wf-delete", graceSeconds: 30 }))
      yield* engine.reconcile(pod)
      yield* advanceUntil(() => outcomeOf(outcomes, "refused-1", "terminateContainers") !== undefined, { maxMs: 20_000, stepMs: 100 })

      const term = outcomeOf(outcomes, "refused-1", "terminateContainers")!
      assert.strictEqual(term.kind, "done", term.reason)
      assert.strictEqual(term.attempts, 4, "three refused, the fourth delivered")
      assert.isAtLeast(term.at, 6_000, "each retry waits for Retry-After (2 s), longer than execRetryBackoff (1 s)")
      assert.isBelow(term.at, 7_000)
      const execs = sim.requestLog.filter((r) => r.verb === "exec" && r.name === "refused-1")
      assert.deepStrictEqual(execs.map((e) => e.status), [429, 429, 429, 101])
      assert.isFalse(containerRunning(sim, "argo", "refused-1", "wait"))
      assert.strictEqual(yield* retries("terminateContainers", "exec 429"), 3)

      // The SIGKILL step after the grace period finds nothing running; the pod is then deleted.
      yield* advanceUntil(() => outcomeOf(outcomes, "refused-1", "deletePod") !== undefined, { maxMs: 40_000 })
      assert.strictEqual(outcomeOf(outcomes, "refused-1", "deletePod")?.kind, "done")
      assert.isUndefined(sim.getPod("argo", "refused-1"))
    }).pipe(isolated({ execRetryBackoff: Duration.seconds(1) })))

  it.effect("20 refusals over 10 pods: every pod is still signalled and cleaned, and every refusal is counted (nothing lost silently)", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      const names = Array.from({ length: 10 }, (_, i) => `refused-many-${i}`)
      const rule = sim.faults.api({ verb: "exec", namespace: "argo" }, { kind: "status", code: 429, retryAfterSeconds: 2 }, { times: 20 })
      const before = sim.requestLog.length
      for (const [i, name] of names.entries()) {
        yield* engine.reconcile(sim.addPod(workflowPod(name, { workflow: "wf-delete", graceSeconds: 30, node: `node-r${i % 3}` })))
      }
      const deleted = () => gone(names)() && names.every((n) => outcomeOf(outcomes, n, "deletePod") !== undefined)
      yield* advanceUntil(deleted, { maxMs: 180_000, stepMs: 500, what: missing(names) })
      sim.faults.clear(rule)

      const refusals = sim.requestLog.slice(before).filter((r) => r.verb === "exec" && r.status === 429).length
      assert.strictEqual(refusals, 20)
      const counted = (yield* retries("terminateContainers", "exec 429")) + (yield* retries("killContainers", "exec 429"))
      assert.strictEqual(counted, 20, "every refusal shows in retries_total")
      for (const name of names) {
        const term = outcomeOf(outcomes, name, "terminateContainers")
        assert.strictEqual(term?.kind, "done", `${name}: ${term?.reason}`)
        assert.strictEqual(outcomeOf(outcomes, name, "deletePod")?.kind, "done", name)
      }
      yield* engine.awaitIdle
    }).pipe(isolated({ execRetryBackoff: Duration.seconds(1) })))
})

describe("the engine's own retries: a retryable failure is tried again with backoff", () => {
  it.effect("a 20 s burst of 503 on pod deletes: all 40 OnPodCompletion pods end deleted (default actionRetries)", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      const names = Array.from({ length: 40 }, (_, i) => `burst-${i}`)
      const burst = sim.faults.api({ verb: "delete", resource: "pods" }, { kind: "status", code: 503, retryAfterSeconds: 1 })
      for (const name of names) yield* engine.reconcile(sim.addPod(workflowPod(name, { workflow: "wf-delete", waitRunning: false })))
      yield* advanceUntil(() => false, { maxMs: 20_000, stepMs: 250 }).pipe(Effect.catchDefect(() => Effect.void))
      assert.isAbove(sim.requestLog.filter((r) => r.verb === "delete" && r.status === 503).length, 0, "the burst was hit")
      sim.faults.clear(burst)

      const deleted = () => gone(names)() && names.every((n) => outcomeOf(outcomes, n, "deletePod")?.kind === "done")
      yield* advanceUntil(deleted, { maxMs: 20 * 60_000, stepMs: 1_000, what: missing(names) })
      for (const name of names) {
        const del = outcomeOf(outcomes, name, "deletePod")
        assert.strictEqual(del?.kind, "done", `${name}: ${del?.reason}`)
      }
      assert.isAbove(yield* retries("deletePod", "failed"), 0, "some deletes needed the engine's retries")
      yield* engine.awaitIdle
    }).pipe(isolated()))

  it.effect("a partition of 3 minutes (breaker cooldown 60 s): after heal, every pod on that node is signalled and deleted", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      const names = ["part-1", "part-2", "part-3"]
      sim.partition("node-long")
      for (const name of names) {
        yield* engine.reconcile(sim.addPod(workflowPod(name, { workflow: "wf-delete", node: "node-long", graceSeconds: 30 })))
      }
      yield* waitFor(sim, () => sim.stats().execOpen >= 2)
      yield* advanceUntil(() => false, { maxMs: 180_000, stepMs: 1_000 }).pipe(Effect.catchDefect(() => Effect.void))
      for (const name of names) assert.isTrue(containerRunning(sim, "argo", name, "wait"), `${name} still runs during the partition`)
      sim.heal("node-long")

      const deleted = () => gone(names)() && names.every((n) => outcomeOf(outcomes, n, "deletePod")?.kind === "done")
      yield* advanceUntil(deleted, { maxMs: 20 * 60_000, stepMs: 1_000, what: missing(names) })
      const engineRetries = (yield* retries("terminateContainers", "failed")) + (yield* retries("terminateContainers", "skipped")) +
        (yield* retries("killContainers", "failed")) + (yield* retries("killContainers", "skipped"))
      assert.isAbove(engineRetries, 0, "the signals failed during the partition and were tried again")
      const signalled = sim.requestLog.filter((r) => r.verb === "exec" && names.includes(r.name ?? "") && r.status === 101 && !r.aborted)
      for (const name of names) {
        assert.strictEqual(outcomeOf(outcomes, name, "deletePod")?.kind, "done", name)
        assert.isTrue(signalled.some((r) => r.name === name), `${name} was signalled after heal`)
      }
      // A SIGTERM retry still waiting when the pod went ends "pod already gone": nothing is left open.
      const idle = () => {
        const d = engine.depth()
        return d.ready + d.delayed + d.processing === 0
      }
      yield* advanceUntil(idle, { maxMs: 10 * 60_000, stepMs: 1_000 })
      for (const name of names) {
        for (const action of ["terminateContainers", "killContainers"]) {
          const o = outcomeOf(outcomes, name, action)
          assert.strictEqual(o?.kind, "done", `${name} ${action}: ${o?.reason}`)
        }
      }
    }).pipe(isolated({ breakerCooldown: Duration.seconds(60) })))
})

describe("what is given up on, or skipped, is logged with its reason", () => {
  it.effect("an action given up after its retries is logged at warning level with the reason; a skipped one with its reason", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      // Every delete of this pod is refused (503): the API retries, then 2 engine retries, then given up.
      sim.faults.api({ verb: "delete", name: "give-up" }, { kind: "status", code: 503, retryAfterSeconds: 1 })
      yield* engine.reconcile(sim.addPod(workflowPod("give-up", { workflow: "wf-delete", waitRunning: false })))
      yield* advanceUntil(
        () => logs.lines.some((l) => l.message.includes("giving up")),
        { maxMs: 10 * 60_000, stepMs: 500 }
      )
      const del = outcomeOf(outcomes, "give-up", "deletePod")!
      assert.strictEqual(del.kind, "failed")
      const given = logs.lines.filter((l) => l.message.includes("giving up"))
      assert.lengthOf(given, 1)
      assert.strictEqual(given[0]!.level, "WARN")
      assert.match(given[0]!.message, /deletePod failed: giving up after 2 retries: .*KubeTransientError/)
      assert.strictEqual(given[0]!.annotations["pod"], "give-up")
      sim.faults.clear()

      // A skipped action: the pod was re-created before its label ran.
      sim.faults.api({ verb: "get", resource: "pods", name: "skip-logged" }, { kind: "status", code: 503, retryAfterSeconds: 1 }, { times: 1 })
      yield* engine.reconcile(sim.addPod(workflowPod("skip-logged", { workflow: "wf-label", waitRunning: false })))
      yield* waitFor(sim, () => sim.requestLog.some((r) => r.name === "skip-logged" && r.status === 503))
      sim.deletePod("argo", "skip-logged", { gracePeriodSeconds: 0 })
      sim.addPod(workflowPod("skip-logged", { workflow: "wf-label", waitRunning: false }))
      yield* advanceUntil(() => outcomeOf(outcomes, "skip-logged", "labelPodCompleted") !== undefined, { maxMs: 5_000, stepMs: 100 })
      assert.strictEqual(outcomeOf(outcomes, "skip-logged", "labelPodCompleted")?.kind, "skipped")
      const skipped = logs.lines.filter((l) => l.annotations["pod"] === "skip-logged" && l.message.includes("skipped"))
      assert.lengthOf(skipped, 1)
      assert.match(skipped[0]!.message, /labelPodCompleted skipped: pod replaced: argo\/skip-logged now has uid/)
    }).pipe(isolated({ actionRetries: 2 }), Effect.provide(logs.layer))
  })
})
