import { assert, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"

it.effect("TestClock drives a 30 s timeout in virtual time", () =>
  Effect.gen(function*() {
    const fiber = yield* Effect.never.pipe(Effect.timeout("30 seconds"), Effect.forkChild)
    yield* TestClock.adjust("30 seconds")
    const err = yield* Effect.flip(Fiber.join(fiber))
    assert.strictEqual(err._tag, "TimeoutError")
  }))
