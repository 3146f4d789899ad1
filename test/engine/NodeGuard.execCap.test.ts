/**
 * The cluster-wide exec cap (`--exec-cap`) under TestClock: 500 concurrent execs on many nodes
 * never have more than the cap open at once and all complete; a wait longer than the exec
 * deadline gives up with "exec-cap" and gives its node slot back; an interrupted waiter never
 * swallows a slot.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { makeNodeGuard, type NodeGuardSettings } from "../../src/engine/NodeGuard.ts"

const settings: NodeGuardSettings = {
  perNodeExecCap: 2,
  breakerThreshold: 3,
  breakerCooldown: Duration.seconds(60),
  globalExecCap: 32,
  globalExecWait: Duration.seconds(30)
}

describe("the cluster-wide exec cap", () => {
  it.effect("500 concurrent execs on 250 nodes: never more than 32 open at once, and every one completes", () =>
    Effect.gen(function*() {
      const guard = yield* makeNodeGuard(settings)
      let open = 0
      let maxOpen = 0
      let completed = 0
      const exec = Effect.gen(function*() {
        open++
        maxOpen = Math.max(maxOpen, open)
        yield* Effect.sleep("1 second")
        open--
        completed++
      })
      const fibers = yield* Effect.forEach(
        Array.from({ length: 500 }, (_, i) => i),
        (i) => Effect.forkChild(guard.exec(`node-${i % 250}`, exec))
      )
      for (let i = 0; i < 1000 && guard.execsInFlight() < 32; i++) yield* Effect.yieldNow
      assert.strictEqual(guard.execsInFlight(), 32)
      // 500 / 32 = 16 rounds of 1 s, well inside the 30 s wait.
      for (let s = 0; s < 16; s++) yield* TestClock.adjust("1 second")
      const exits = yield* Effect.forEach(fibers, Fiber.await)
      assert.isTrue(exits.every(Exit.isSuccess), "no exec gave up")
      assert.strictEqual(completed, 500)
      assert.strictEqual(maxOpen, 32)
      assert.strictEqual(guard.execsInFlight(), 0)
    }))

  it.effect("0 means no cap: all 500 run at once", () =>
    Effect.gen(function*() {
      const guard = yield* makeNodeGuard({ ...settings, globalExecCap: 0 })
      let open = 0
      let maxOpen = 0
      const fibers = yield* Effect.forEach(
        Array.from({ length: 500 }, (_, i) => i),
        (i) =>
          Effect.forkChild(guard.exec(`node-${i % 250}`, Effect.gen(function*() {
            maxOpen = Math.max(maxOpen, ++open)
            yield* Effect.sleep("1 second")
            open--
          })))
      )
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 second")
      yield* Fiber.joinAll(fibers)
      assert.strictEqual(maxOpen, 500)
    }))

  it.effect("a wait past the exec deadline gives up with exec-cap and gives its node slot back", () =>
    Effect.gen(function*() {
      const guard = yield* makeNodeGuard({ ...settings, perNodeExecCap: 1, globalExecCap: 1 })
      const long = yield* Effect.forkChild(guard.exec("a", Effect.sleep("60 seconds")))
      yield* Effect.yieldNow
      const waiting = yield* Effect.forkChild(Effect.flip(guard.exec("b", Effect.void)))
      yield* Effect.yieldNow
      assert.isTrue(guard.isBusy("b"), "the waiter holds node b's only slot while it waits")
      yield* TestClock.adjust("30 seconds")
      const error = yield* Fiber.join(waiting)
      assert.strictEqual(error._tag === "NodeUnavailableError" && error.reason, "exec-cap")
      assert.isFalse(guard.isBusy("b"), "node b's slot went back")
      assert.strictEqual(guard.breakerStates().get("b")?._tag, "Closed", "no verdict on the node")
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(long)
      // The cap's slot is free again.
      yield* guard.exec("b", Effect.void)
      assert.strictEqual(guard.execsInFlight(), 0)
    }))

  it.effect("an interrupted waiter leaves the line and never swallows a slot; the line is first come first served", () =>
    Effect.gen(function*() {
      const guard = yield* makeNodeGuard({ ...settings, globalExecCap: 1 })
      const order: Array<string> = []
      const job = (name: string) => Effect.andThen(Effect.sync(() => order.push(name)), Effect.sleep("1 second"))
      const first = yield* Effect.forkChild(guard.exec("n1", job("first")))
      yield* Effect.yieldNow
      const stale = yield* Effect.forkChild(guard.exec("n2", job("stale")))
      const second = yield* Effect.forkChild(guard.exec("n3", job("second")))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(stale)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(first)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(second)
      assert.deepStrictEqual(order, ["first", "second"])
      assert.strictEqual(guard.execsInFlight(), 0)
      assert.isFalse(guard.isBusy("n2"))
    }))
})
