import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { ApiRateLimiter } from "../../src/engine/ApiRateLimiter.ts"

describe("ApiRateLimiter (TestClock)", () => {
  it.effect("lets a burst through at once, then one request every 1/qps seconds, first come first served", () =>
    Effect.gen(function*() {
      const limiter = yield* ApiRateLimiter
      const times: Array<number> = []
      const fiber = yield* Effect.forkChild(Effect.forEach(Array.from({ length: 7 }), () =>
        Effect.andThen(limiter.take, Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => times.push(t)))), { concurrency: "unbounded" }))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(times.sort((a, b) => a - b), [0, 0, 0, 500, 1000, 1500, 2000])
    }).pipe(Effect.provide(ApiRateLimiter.layer(2, 3))))

  it.effect("qps 0 means no limit", () =>
    Effect.gen(function*() {
      const limiter = yield* ApiRateLimiter
      for (let i = 0; i < 1000; i++) yield* limiter.take
      assert.strictEqual(yield* Clock.currentTimeMillis, 0)
    }).pipe(Effect.provide(ApiRateLimiter.unlimited)))
})
