import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { KubeConflictError, KubeForbiddenError, KubeTransientError } from "../../src/kube/ApiError.ts"
import { retryApi } from "../../src/engine/retryPolicy.ts"

const settings = { retryBase: Duration.millis(100), retryMax: Duration.seconds(1), retryAttempts: 6 }
const req = { verb: "patch", resource: "pods", namespace: "argo", name: "p" }
const transient = (retryAfter?: Duration.Duration) =>
  new KubeTransientError({ ...req, code: 503, reason: "ServiceUnavailable", message: "503", retryAfter })

/** Fails with `errors` in turn (then succeeds), recording the virtual time of every attempt. */
const flaky = (errors: ReadonlyArray<{ readonly _tag: string }>, times: Array<number>) => {
  let i = 0
  return Effect.flatMap(Clock.currentTimeMillis, (now) => {
    times.push(now)
    const e = errors[i++]
    return e === undefined ? Effect.succeed("ok") : Effect.fail(e as KubeTransientError)
  })
}

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - times[i]!)

describe("API retry policy (TestClock)", () => {
  it.effect("exponential from 100 ms, jittered ±20 %, capped at retryMax", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const fiber = yield* Effect.forkChild(retryApi(settings, "t")(flaky(Array(6).fill(transient()), times)))
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Fiber.join(fiber), "ok")
      const nominal = [100, 200, 400, 800, 1000, 1000]
      gaps(times).forEach((gap, i) => {
        assert.isAtLeast(gap, nominal[i]! * 0.8, `retry ${i + 1}`)
        assert.isAtMost(gap, nominal[i]! * 1.2, `retry ${i + 1}`)
      })
    }))

  it.effect("never sooner than Retry-After; a 409 is retried too", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const conflict = new KubeConflictError({ ...req, code: 409, reason: "Conflict", message: "409" })
      const fiber = yield* Effect.forkChild(retryApi(settings, "t")(flaky([transient(Duration.seconds(7)), conflict], times)))
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Fiber.join(fiber), "ok")
      const [first, second] = gaps(times)
      assert.isAtLeast(first!, 7000)
      assert.isAtMost(first!, 7000)
      assert.isAtMost(second!, 240)
    }))

  it.effect("gives up after retryAttempts retries; forbidden is not retried at all", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const fiber = yield* Effect.forkChild(Effect.flip(retryApi(settings, "t")(flaky(Array(20).fill(transient()), times))))
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* Fiber.join(fiber))._tag, "KubeTransientError")
      assert.strictEqual(times.length, 7)

      const once: Array<number> = []
      const forbidden = new KubeForbiddenError({ ...req, code: 403, reason: "Forbidden", message: "403" })
      const error = yield* Effect.flip(retryApi(settings, "t")(flaky([forbidden], once)))
      assert.strictEqual(error._tag, "KubeForbiddenError")
      assert.strictEqual(once.length, 1)
    }))
})
