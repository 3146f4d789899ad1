import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { PodExec } from "../../src/kube/PodExec.ts"
import { kubeLayer, runningPod, useSim, waitFor } from "../support/sim.ts"

const sim = useSim()

const target = (pod: string, node = "node-0") => ({ namespace: "default", pod, container: "main", node })
const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))
const noSocketsLeft = Effect.suspend(() => waitFor(sim, () => sim.stats().execOpen === 0))

describe("exec deadline under TestClock", () => {
  it.effect("a half-open exec fails with ExecTimeoutError exactly at the default 30 s deadline", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("half-open-1", { node: "node-p" }))
      sim.partition("node-p")
      const realStart = Date.now()
      const exec = yield* PodExec
      const fiber = yield* exec.run({ ...target("half-open-1", "node-p"), command: ["kill", "-15", "1"] }).pipe(
        Effect.flip,
        Effect.forkChild
      )
      // The upgrade completes on loopback; then the peer is silent and answers no ping.
      yield* waitFor(sim, () => sim.stats().execOpen === 1)
      yield* realSleep(50)
      yield* TestClock.adjust("29999 millis")
      assert.isUndefined(fiber.pollUnsafe(), "still waiting one millisecond before the deadline")
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "ExecTimeoutError")
      if (error._tag !== "ExecTimeoutError") return
      assert.strictEqual(error.phase, "stream")
      assert.strictEqual(error.timeoutMs, 30_000)
      assert.strictEqual(error.elapsedMs, 30_000)
      assert.strictEqual(error.node, "node-p")
      yield* noSocketsLeft
      expect(Date.now() - realStart).toBeLessThan(1000)
      sim.heal("node-p")
    }).pipe(Effect.provide(kubeLayer(sim))))

  it.effect("a per-call deadline overrides the default", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("half-open-2", { node: "node-q" }))
      sim.partition("node-q")
      const exec = yield* PodExec
      const fiber = yield* exec.run({ ...target("half-open-2", "node-q"), command: ["true"], timeout: "7 seconds" }).pipe(
        Effect.flip,
        Effect.forkChild
      )
      yield* waitFor(sim, () => sim.stats().execOpen === 1)
      yield* realSleep(50)
      yield* TestClock.adjust("7 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "ExecTimeoutError")
      assert.strictEqual(error.elapsedMs, 7000)
      yield* noSocketsLeft
      sim.heal("node-q")
    }).pipe(Effect.provide(kubeLayer(sim))))

  it.effect("an unanswered upgrade fails at the handshake timeout with phase handshake", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("no-upgrade"))
      const rule = sim.faults.exec({ pod: "no-upgrade" }, { kind: "noUpgrade" })
      const exec = yield* PodExec
      const fiber = yield* exec.run({ ...target("no-upgrade"), command: ["true"] }).pipe(Effect.flip, Effect.forkChild)
      yield* waitFor(sim, () => sim.requestLog.some((r) => r.verb === "exec" && r.name === "no-upgrade"))
      yield* TestClock.adjust("9999 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "ExecTimeoutError")
      if (error._tag !== "ExecTimeoutError") return
      assert.strictEqual(error.phase, "handshake")
      assert.strictEqual(error.elapsedMs, 10_000)
      yield* noSocketsLeft
      sim.faults.clear(rule)
    }).pipe(Effect.provide(kubeLayer(sim))))

  it.effect("the heartbeat ends a half-open exec when the deadline is longer than the pong limit", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("half-open-3", { node: "node-r" }))
      sim.partition("node-r")
      const exec = yield* PodExec
      const fiber = yield* exec.run({ ...target("half-open-3", "node-r"), command: ["true"], timeout: "2 minutes" }).pipe(
        Effect.flip,
        Effect.forkChild
      )
      yield* waitFor(sim, () => sim.stats().execOpen === 1)
      yield* realSleep(50)
      // Step like a clock so every ping is really sent; none is answered.
      for (let s = 0; s < 65; s++) yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "ExecConnectionLostError")
      if (error._tag !== "ExecConnectionLostError") return
      assert.match(error.reason, /no pong/)
      assert.isAtMost(error.elapsedMs, 65_000)
      assert.isAbove(error.elapsedMs, 61_000)
      yield* noSocketsLeft
      sim.heal("node-r")
    }).pipe(Effect.provide(kubeLayer(sim))))
})

describe("exec outcomes on loopback", () => {
  const live = kubeLayer

  it.live("success: the command runs, its output is returned, the container reacts", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("ok-1"))
      const exec = yield* PodExec
      const result = yield* exec.run({ ...target("ok-1"), command: ["echo", "hello"] })
      assert.strictEqual(result.stdout.trim(), "hello")
      yield* exec.run({ ...target("ok-1"), command: ["/bin/sh", "-c", "kill -9 1"] })
      yield* waitFor(sim, () => sim.getPod("default", "ok-1")?.status?.phase !== "Running")
      yield* noSocketsLeft
    }).pipe(Effect.provide(live(sim))))

  it.live("non-zero exit is ExecNonZeroExitError with the code", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("exit-3"))
      const exec = yield* PodExec
      const error = yield* Effect.flip(exec.run({ ...target("exit-3"), command: ["sh", "-c", "exit 3"] }))
      assert.strictEqual(error._tag, "ExecNonZeroExitError")
      if (error._tag === "ExecNonZeroExitError") assert.strictEqual(error.exitCode, 3)
      const rule = sim.faults.exec({ pod: "exit-3" }, { kind: "exitCode", code: 1 })
      const injected = yield* Effect.flip(exec.run({ ...target("exit-3"), command: ["true"] }))
      assert.strictEqual(injected._tag, "ExecNonZeroExitError")
      if (injected._tag === "ExecNonZeroExitError") assert.strictEqual(injected.exitCode, 1)
      sim.faults.clear(rule)
      yield* noSocketsLeft
    }).pipe(Effect.provide(live(sim))))

  it.live("rejections before the upgrade are ExecRejectedError with the HTTP code and the server's message", () =>
    Effect.gen(function*() {
      const exec = yield* PodExec
      const missing = yield* Effect.flip(exec.run({ ...target("no-such-pod"), command: ["true"] }))
      assert.strictEqual(missing._tag, "ExecRejectedError")
      if (missing._tag === "ExecRejectedError") assert.strictEqual(missing.code, 404)

      sim.addPod({ namespace: "default", name: "stopped", containers: [{ name: "main", state: "terminated", exitCode: 0 }] })
      const stopped = yield* Effect.flip(exec.run({ ...target("stopped"), command: ["true"] }))
      assert.strictEqual(stopped._tag, "ExecRejectedError")
      if (stopped._tag === "ExecRejectedError") assert.strictEqual(stopped.code, 400)

      sim.addPod(runningPod("forbidden"))
      const rule = sim.faults.exec({ pod: "forbidden" }, { kind: "reject", code: 403, message: "pods/exec is forbidden" })
      const forbidden = yield* Effect.flip(exec.run({ ...target("forbidden"), command: ["true"] }))
      assert.strictEqual(forbidden._tag, "ExecRejectedError")
      if (forbidden._tag === "ExecRejectedError") {
        assert.strictEqual(forbidden.code, 403)
        assert.match(forbidden.message, /forbidden/)
      }
      sim.faults.clear(rule)
      yield* noSocketsLeft
    }).pipe(Effect.provide(live(sim))))

  it.live("a connection reset mid-stream is ExecConnectionLostError", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("reset-1"))
      const rule = sim.faults.exec({ pod: "reset-1" }, { kind: "reset" })
      const exec = yield* PodExec
      const error = yield* Effect.flip(exec.run({ ...target("reset-1"), command: ["true"] }))
      assert.strictEqual(error._tag, "ExecConnectionLostError")
      if (error._tag === "ExecConnectionLostError") assert.strictEqual(error.phase, "stream")
      sim.faults.clear(rule)
      yield* noSocketsLeft
    }).pipe(Effect.provide(live(sim))))

  it.live("slow: within the deadline it succeeds, past it it times out", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("slow-1"))
      const rule = sim.faults.exec({ pod: "slow-1" }, { kind: "slow", delayMs: 300 })
      const exec = yield* PodExec
      const ok = yield* exec.run({ ...target("slow-1"), command: ["true"], timeout: "5 seconds" })
      assert.isAtLeast(ok.elapsedMs, 250)
      const late = yield* Effect.flip(exec.run({ ...target("slow-1"), command: ["true"], timeout: "100 millis" }))
      assert.strictEqual(late._tag, "ExecTimeoutError")
      sim.faults.clear(rule)
      yield* noSocketsLeft
    }).pipe(Effect.provide(live(sim))))

  it.live("half-open and no-upgrade on loopback end at their deadlines", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("half-open-live", { node: "node-h" }))
      sim.addPod(runningPod("no-upgrade-live"))
      sim.partition("node-h")
      const rule = sim.faults.exec({ pod: "no-upgrade-live" }, { kind: "noUpgrade" })
      const exec = yield* PodExec
      const [halfOpen, noUpgrade] = yield* Effect.all([
        Effect.flip(exec.run({ ...target("half-open-live", "node-h"), command: ["true"], timeout: "300 millis" })),
        Effect.flip(exec.run({ ...target("no-upgrade-live"), command: ["true"], timeout: "300 millis" }))
      ], { concurrency: 2 })
      assert.strictEqual(halfOpen._tag, "ExecTimeoutError")
      if (halfOpen._tag === "ExecTimeoutError") assert.strictEqual(halfOpen.phase, "stream")
      assert.strictEqual(noUpgrade._tag, "ExecTimeoutError")
      if (noUpgrade._tag === "ExecTimeoutError") assert.strictEqual(noUpgrade.phase, "handshake")
      sim.heal("node-h")
      sim.faults.clear(rule)
      yield* noSocketsLeft
    }).pipe(Effect.provide(live(sim))))

  it.live("interrupting a fiber mid-exec closes its socket", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("interrupt-1", { node: "node-i" }))
      sim.partition("node-i")
      const exec = yield* PodExec
      const fiber = yield* exec.run({ ...target("interrupt-1", "node-i"), command: ["true"] }).pipe(Effect.forkChild)
      yield* waitFor(sim, () => sim.stats().execOpen === 1)
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.hasInterrupts(exit))
      yield* noSocketsLeft
      sim.heal("node-i")
    }).pipe(Effect.provide(live(sim))))

  it.live("500 concurrent execs succeed and leave no socket open", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 50; i++) sim.addPod(runningPod(`many-${i}`, { node: `node-${i % 5}` }))
      const before = sim.stats().execTotal
      const exec = yield* PodExec
      const results = yield* Effect.forEach(
        Array.from({ length: 500 }, (_, i) => i),
        (i) => exec.run({ ...target(`many-${i % 50}`, `node-${i % 5}`), command: ["echo", String(i)] }),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(results.map((r) => r.stdout.trim()), Array.from({ length: 500 }, (_, i) => String(i)))
      assert.strictEqual(sim.stats().execTotal - before, 500)
      yield* noSocketsLeft
    }).pipe(Effect.provide(live(sim))))
})
