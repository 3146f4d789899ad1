/**
 * The ledger keeps what is read and no more: the service's default keeps the latest
 * `Outcomes.defaultCapacity` outcomes (the counts cover everything), callers that read more ask for
 * it with `Outcomes.layer(n)` or `Outcomes.Capacity`, and a retained outcome costs well under a
 * KiB of heap.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import type { ActionName } from "../../src/domain/Action.ts"
import { type Outcome, type OutcomeKind, Outcomes } from "../../src/engine/Outcomes.ts"

const actions: ReadonlyArray<ActionName> = ["terminateContainers", "killContainers", "labelPodCompleted", "deletePod"]
const kinds: ReadonlyArray<OutcomeKind> = ["done", "done", "done", "skipped", "failed"]

/** Outcome `i`: pod i/4 (4 actions a pod), real-looking names and reasons, every string its own. */
const outcome = (i: number): Outcome => {
  const pod = `wf-${(i >> 6).toString(36)}-main-${String(1_000_000_000 + (i >> 2) * 7919).padStart(10, "0")}`
  const action = actions[i % 4]!
  const kind = kinds[i % kinds.length]!
  const node = `ip-10-0-${(i >> 8) % 256}-${i % 251}.eu-west-1.compute.internal`
  return {
    key: `argo-workflows/${pod}/${action}`,
    action,
    namespace: "argo-workflows",
    pod,
    node,
    kind,
    reason: kind === "done"
      ? `signalled wait (SIGTERM) on node ${node}`
      : kind === "skipped"
      ? `pod ${pod} is gone (deleted at ${1_700_000_000 + i})`
      : `exec timed out for wait, main on node ${node} after 30s; retrying after 1s (retry 1 of 1)`,
    attempts: 1 + (i % 3),
    at: 1_700_000_000_000 + i
  }
}

const gc = () => (globalThis as { gc?: () => void }).gc?.()

/** Builds the ledger, records `n` outcomes, returns it and the heap growth per recorded outcome. */
const recordMany = (layer: Layer.Layer<Outcomes>, n: number) =>
  Effect.gen(function*() {
    const ledger = yield* Outcomes
    gc()
    const before = process.memoryUsage().heapUsed
    for (let i = 0; i < n; i++) yield* ledger.record(outcome(i))
    gc()
    const after = process.memoryUsage().heapUsed
    return { ledger, bytesPerOutcome: (after - before) / n }
  }).pipe(Effect.provide(layer), Effect.provideService(Metric.MetricRegistry, new Map()))

describe("Outcomes: bounded by what is read", () => {
  it.effect("the default keeps the latest Outcomes.defaultCapacity outcomes of 100 000; counts cover all of them", () =>
    Effect.gen(function*() {
      const { ledger } = yield* recordMany(Outcomes.layer(), 100_000)
      const all = ledger.all()
      assert.strictEqual(all.length, Outcomes.defaultCapacity)
      assert.isAtMost(Outcomes.defaultCapacity, 10_000, "a few thousand, not hundreds of thousands")
      assert.deepStrictEqual(all[0], outcome(100_000 - Outcomes.defaultCapacity), "oldest first")
      assert.deepStrictEqual(all.at(-1), outcome(99_999))
      const c = ledger.counts()
      assert.strictEqual(c.done + c.skipped + c.failed, 100_000)
      assert.deepStrictEqual(c, { done: 60_000, skipped: 20_000, failed: 20_000 })
      // A recent pod has its 4 outcomes; an evicted pod has none (and no index entry left behind).
      const recent = outcome(99_996)
      assert.deepStrictEqual(ledger.forPod(recent.namespace, recent.pod).map((o) => o.action), [...actions])
      const old = outcome(0)
      assert.deepStrictEqual(ledger.forPod(old.namespace, old.pod), [])
    }))

  it.effect("callers that read more ask for it: Outcomes.layer(n), or Outcomes.Capacity provided to Outcomes.layer()", () =>
    Effect.gen(function*() {
      const explicit = yield* recordMany(Outcomes.layer(20_000), 30_000)
      assert.strictEqual(explicit.ledger.all().length, 20_000)
      // As `once` would: around a composite that holds Outcomes.layer() (like Engine.layerServices).
      const composite = Layer.mergeAll(Outcomes.layer(), Layer.succeed(Metric.MetricRegistry, new Map()))
      const provided = yield* recordMany(composite.pipe(Layer.provide(Layer.succeed(Outcomes.Capacity, 12_345))), 30_000)
      assert.strictEqual(provided.ledger.all().length, 12_345)
      const first = outcome(0)
      const roomy = yield* recordMany(Outcomes.layer(40_000), 30_000)
      assert.strictEqual(roomy.ledger.forPod(first.namespace, first.pod).length, 4, "nothing evicted below the capacity")
    }))

  it.effect("a key recorded again keeps one entry (its latest), moved to the newest end, in its pod's outcomes once", () =>
    Effect.gen(function*() {
      const ledger = yield* Outcomes
      const a = outcome(0)
      const b = outcome(1)
      yield* ledger.record(a)
      yield* ledger.record(b)
      const again = { ...a, kind: "done" as const, reason: "signalled again", attempts: 2, at: a.at + 10 }
      yield* ledger.record(again)
      assert.deepStrictEqual(ledger.all(), [b, again])
      assert.deepStrictEqual(ledger.forPod(a.namespace, a.pod), [again, b], "same pod: outcomes 0, 1 and 2 are its first three actions")
      assert.strictEqual(ledger.counts().done + ledger.counts().skipped + ledger.counts().failed, 3)
      // Capacity 2: a third key evicts the oldest (b), the pod keeps the other.
      const c = outcome(2)
      yield* ledger.record(c)
      assert.deepStrictEqual(ledger.all(), [again, c])
      assert.deepStrictEqual(ledger.forPod(a.namespace, a.pod), [again, c])
    }).pipe(Effect.provide(Outcomes.layer(2)), Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("a retained outcome costs under 1 KiB of heap; the default ledger holds a few MiB at most", () =>
    Effect.gen(function*() {
      // 100 000 retained (the old default capacity was 200 000, ~100 MiB in the service).
      const full = yield* recordMany(Outcomes.layer(100_000), 100_000)
      assert.strictEqual(full.ledger.all().length, 100_000)
      // Without --expose-gc the figure includes garbage not yet collected: the bound is generous.
      assert.isBelow(full.bytesPerOutcome, 1024, `${Math.round(full.bytesPerOutcome)} bytes per retained outcome`)
      const bounded = yield* recordMany(Outcomes.layer(), 100_000)
      const retainedBytes = full.bytesPerOutcome * Outcomes.defaultCapacity
      assert.isBelow(retainedBytes, 5 * 1024 * 1024, "the default's worth of outcomes")
      assert.strictEqual(bounded.ledger.all().length, Outcomes.defaultCapacity)
    }))
})
