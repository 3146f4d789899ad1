import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { makeWorkQueue } from "../../src/engine/WorkQueue.ts"

describe("WorkQueue", () => {
  it.effect("deduplicates a key that is already queued", () =>
    Effect.gen(function*() {
      const q = yield* makeWorkQueue<string>()
      assert.isTrue(yield* q.add("ns/p/labelPodCompleted", "a"))
      assert.isFalse(yield* q.add("ns/p/labelPodCompleted", "b"))
      assert.isTrue(yield* q.add("ns/p/deletePod", "c"))
      assert.deepStrictEqual(q.depth(), { ready: 2, delayed: 0, processing: 0 })
      assert.strictEqual((yield* q.take).key, "ns/p/labelPodCompleted")
      assert.strictEqual((yield* q.take).key, "ns/p/deletePod")
    }))

  it.effect("awaitRoom waits until fewer than `limit` items are ready: woken by takes and removals, released at shutdown", () =>
    Effect.gen(function*() {
      const q = yield* makeWorkQueue<string>()
      yield* Effect.forEach(["a", "b", "c", "d"], (k) => q.add(k, k))
      yield* q.add("later", "later", 60_000)
      // Room already: returns at once.
      yield* q.awaitRoom(5)
      const producer = yield* Effect.forkChild(q.awaitRoom(3))
      yield* Effect.yieldNow
      assert.isUndefined(producer.pollUnsafe(), "4 ready: no room below 3")
      yield* q.take
      yield* Effect.yieldNow
      assert.isUndefined(producer.pollUnsafe(), "3 ready: still none")
      // A delayed item does not count; a removed ready one frees room like a take.
      q.remove("c")
      yield* Fiber.join(producer)
      assert.deepStrictEqual(q.depth(), { ready: 2, delayed: 1, processing: 1 })
      const blocked = yield* Effect.forkChild(q.awaitRoom(1))
      yield* Effect.yieldNow
      assert.isUndefined(blocked.pollUnsafe())
      yield* q.shutdown
      yield* Fiber.join(blocked)
      // Nothing waits on a queue that is shut down.
      yield* q.awaitRoom(0)
    }))

  it.effect("a producer paced by awaitRoom never has more than `limit` items ready, while consumers take and finish them", () =>
    Effect.gen(function*() {
      const q = yield* makeWorkQueue<number>()
      const limit = 8
      let most = 0
      // A woken producer runs at once and waits again: it must not be woken on the same take.
      const producer = yield* Effect.forkChild(Effect.gen(function*() {
        for (let i = 0; i < 200; i++) {
          yield* q.awaitRoom(limit)
          yield* q.add(`k${i}`, i)
          most = Math.max(most, q.depth().ready)
        }
      }))
      let taken = 0
      const consumer = Effect.forever(Effect.gen(function*() {
        const { key } = yield* q.take
        taken++
        yield* Effect.yieldNow
        yield* q.done(key)
      }))
      yield* Effect.forEach([0, 1], () => Effect.forkChild(consumer))
      yield* Fiber.join(producer)
      assert.isAtMost(most, limit, "ready items while the producer ran")
      for (let i = 0; i < 1000 && taken < 200; i++) yield* Effect.yieldNow
      assert.strictEqual(taken, 200, "every item is taken in the end")
    }))

  it.effect("runs delayed items at their due time from Clock, earliest first", () =>
    Effect.gen(function*() {
      const q = yield* makeWorkQueue<number>()
      yield* q.add("late", 2, 30_000)
      yield* q.add("early", 1, 5_000)
      const first = yield* Effect.forkChild(q.take)
      yield* TestClock.adjust("4999 millis")
      assert.isUndefined(first.pollUnsafe())
      assert.deepStrictEqual(q.depth(), { ready: 0, delayed: 2, processing: 0 })
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* Fiber.join(first)).key, "early")
      const second = yield* Effect.forkChild(q.take)
      yield* TestClock.adjust("24999 millis")
      assert.isUndefined(second.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* Fiber.join(second)).key, "late")
    }))

  it.effect("adding a delayed key earlier moves it earlier; later is ignored", () =>
    Effect.gen(function*() {
      const q = yield* makeWorkQueue<string>()
      yield* q.add("k", "first", 10_000)
      assert.isFalse(yield* q.add("k", "later", 20_000))
      assert.isTrue(yield* q.add("k", "sooner", 3_000))
      const taken = yield* Effect.forkChild(q.take)
      yield* TestClock.adjust("3 seconds")
      assert.deepStrictEqual(yield* Fiber.join(taken), { key: "k", item: "sooner" })
      yield* TestClock.adjust("20 seconds")
      assert.deepStrictEqual(q.depth(), { ready: 0, delayed: 0, processing: 1 }, "the stale heap entry does not run twice")
    }))

  it.effect("a key re-added while processing runs again after done, never concurrently", () =>
    Effect.gen(function*() {
      const q = yield* makeWorkQueue<string>()
      yield* q.add("k", "v1")
      const first = yield* q.take
      assert.strictEqual(first.item, "v1")
      assert.isTrue(yield* q.add("k", "v2"))
      assert.deepStrictEqual(q.depth(), { ready: 0, delayed: 0, processing: 1 })
      const second = yield* Effect.forkChild(q.take)
      yield* TestClock.adjust("1 second")
      assert.isUndefined(second.pollUnsafe(), "not handed out while the first is processing")
      yield* q.done("k")
      assert.deepStrictEqual(yield* Fiber.join(second), { key: "k", item: "v2" })
      yield* q.done("k")
      assert.deepStrictEqual(q.depth(), { ready: 0, delayed: 0, processing: 0 })
    }))

  it.effect("take fails with Done after shutdown, and pending lists what never ran", () =>
    Effect.gen(function*() {
      const q = yield* makeWorkQueue<string>()
      yield* q.add("a", "x", 60_000)
      const waiting = yield* Effect.forkChild(Effect.flip(q.take))
      yield* q.shutdown
      const error = yield* Fiber.join(waiting)
      assert.strictEqual(error._tag, "Done")
      assert.deepStrictEqual(q.pending().map((p) => p.key), ["a"])
    }))

  it.effect("10 000 delayed keys with random due times come out in due order", () =>
    Effect.gen(function*() {
      const q = yield* makeWorkQueue<number>()
      let seed = 42
      const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
      const dues = Array.from({ length: 10_000 }, (_, i) => ({ key: `k${i}`, at: 1 + Math.floor(rand() * 100_000) }))
      for (const d of dues) yield* q.add(d.key, d.at, d.at)
      yield* TestClock.adjust("100 seconds")
      const out: Array<number> = []
      for (let i = 0; i < dues.length; i++) out.push((yield* q.take).item)
      const sorted = [...out].sort((a, b) => a - b)
      assert.deepStrictEqual(out, sorted)
    }))
})
