/**
 * The node guard's busy-node line under TestClock: freed slots are handed to waiters in order,
 * at once (no timer), a waiter that left the line never swallows a slot, newcomers do not jump
 * the line, and an opening breaker fails the whole line fast.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { ExecTimeoutError } from "../../src/kube/ExecError.ts"
import { makeNodeGuard, type NodeGuardSettings } from "../../src/engine/NodeGuard.ts"

const settings: NodeGuardSettings = { perNodeExecCap: 1, breakerThreshold: 1, breakerCooldown: Duration.seconds(60) }

const guardWith = (overrides: Partial<NodeGuardSettings> = {}) =>
  makeNodeGuard({ ...settings, ...overrides })

const timeout = new ExecTimeoutError({ namespace: "ns", pod: "p", container: "c", node: "n", phase: "stream", timeoutMs: 1, elapsedMs: 1, message: "timed out" })

describe("NodeGuard slots", () => {
  it.effect("a freed slot goes to the first waiter at once; each waiter runs as the one before it ends", () =>
    Effect.gen(function*() {
      const guard = yield* guardWith({ breakerThreshold: 0 })
      const started: Array<[string, number]> = []
      const job = (name: string) =>
        Effect.gen(function*() {
          started.push([name, yield* Clock.currentTimeMillis])
          yield* Effect.sleep("10 seconds")
        })
      const first = yield* Effect.forkChild(guard.exec("n", job("first")))
      yield* Effect.yieldNow
      assert.isTrue(guard.isBusy("n"))
      const waiters = yield* Effect.forEach(["a", "b", "c"], (name) =>
        Effect.forkChild(Effect.flatMap(guard.acquireSlot("n"), (slot) => guard.exec("n", job(name), slot))))
      yield* Effect.yieldNow
      // A newcomer does not jump the line.
      const newcomer = yield* Effect.flip(guard.exec("n", job("newcomer")))
      assert.strictEqual(newcomer._tag === "NodeUnavailableError" && newcomer.reason, "busy")
      yield* TestClock.adjust("40 seconds")
      yield* Fiber.join(first)
      for (const w of waiters) yield* Fiber.join(w)
      assert.deepStrictEqual(started, [["first", 0], ["a", 10_000], ["b", 20_000], ["c", 30_000]])
      assert.isFalse(guard.isBusy("n"))
    }))

  it.effect("a waiter that left the line (interrupted) never swallows a slot", () =>
    Effect.gen(function*() {
      const guard = yield* guardWith({ breakerThreshold: 0 })
      const first = yield* Effect.forkChild(guard.exec("n", Effect.sleep("10 seconds")))
      yield* Effect.yieldNow
      const stale = yield* Effect.forkChild(guard.acquireSlot("n"))
      const live = yield* Effect.forkChild(guard.acquireSlot("n"))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(stale)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(first)
      const slot = yield* Fiber.join(live)
      assert.strictEqual(slot.node, "n")
      yield* slot.release
      assert.isFalse(guard.isBusy("n"), "the released slot is free again")
    }))

  it.effect("a slot handed to a waiter that no exec used is released once, and passed on", () =>
    Effect.gen(function*() {
      const guard = yield* guardWith({ breakerThreshold: 0 })
      const held = yield* guard.acquireSlot("n")
      const next = yield* Effect.forkChild(guard.acquireSlot("n"))
      yield* Effect.yieldNow
      yield* held.release
      yield* held.release
      const handed = yield* Fiber.join(next)
      assert.isTrue(guard.isBusy("n"))
      yield* handed.release
      assert.isFalse(guard.isBusy("n"))
    }))

  it.effect("when the breaker opens, the whole line fails fast", () =>
    Effect.gen(function*() {
      const guard = yield* guardWith({ breakerThreshold: 1 })
      const first = yield* Effect.forkChild(Effect.exit(guard.exec("n", Effect.andThen(Effect.sleep("30 seconds"), Effect.fail(timeout)))))
      yield* Effect.yieldNow
      const line = yield* Effect.forEach([1, 2, 3], () => Effect.forkChild(Effect.exit(guard.acquireSlot("n"))))
      yield* Effect.yieldNow
      yield* TestClock.adjust("30 seconds")
      assert.isTrue(Exit.isFailure(yield* Fiber.join(first)))
      for (const w of line) {
        const exit = yield* Fiber.join(w)
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
          assert.strictEqual(reason?._tag === "Fail" && reason.error.reason, "breaker-open")
        }
      }
      assert.strictEqual(guard.breakerStates().get("n")?._tag, "Open")
    }))
})
