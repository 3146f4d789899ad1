/**
 * `watchStream` against the simulated API server through client-node: the server-side timeout a
 * watch asks for ends it cleanly before the client's inactivity limit, the inactivity limit still
 * catches a silent connection, and malformed events are dropped with one warning per kind.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Logger, Stream } from "effect"
import { PodApi } from "../../src/kube/PodApi.ts"
import { WatchTimeouts } from "../../src/kube/watchStream.ts"
import { kubeLayer, runningPod, useSim, waitFor } from "../support/sim.ts"

const sim = useSim({ bookmarkIntervalMs: 60_000 })

describe("watchStream timeouts", () => {
  it.live("a quiet watch is ended cleanly by the server (timeoutSeconds) before the client's inactivity limit", () =>
    Effect.gen(function*() {
      const pods = yield* PodApi
      const started = Date.now()
      const events = yield* Stream.runCollect(pods.watch({ namespace: "ws-quiet", allowWatchBookmarks: true })).pipe(
        Effect.provideService(WatchTimeouts, { inactivityMs: 1500, serverTimeoutSeconds: 1 })
      )
      const took = Date.now() - started
      assert.deepStrictEqual(events, [])
      assert.isAtLeast(took, 900)
      assert.isBelow(took, 1500)
      const entry = sim.requestLog.findLast((r) => r.verb === "watch" && r.namespace === "ws-quiet")!
      assert.isFalse(entry.aborted, "the server ended it, the client did not abort it")
    }).pipe(Effect.provide(kubeLayer(sim))))

  it.live("without a server-side timeout, the client's inactivity limit fails a silent watch", () =>
    Effect.gen(function*() {
      const pods = yield* PodApi
      const exit = yield* Effect.exit(
        Stream.runCollect(pods.watch({ namespace: "ws-silent", timeoutSeconds: 0 })).pipe(
          Effect.provideService(WatchTimeouts, { inactivityMs: 400, serverTimeoutSeconds: 1 })
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      assert.strictEqual(error?._tag === "Fail" ? (error.error as { reason?: string }).reason : undefined, "Timeout")
    }).pipe(Effect.provide(kubeLayer(sim))))
})

describe("watchStream malformed events", () => {
  it.live("drops events whose object is null, not an object, or has no metadata, warning once per kind", () =>
    Effect.gen(function*() {
      const ns = "ws-malformed"
      const logs: Array<string> = []
      const pods = yield* PodApi
      const collected = yield* Effect.forkChild(
        Stream.runCollect(pods.watch({ namespace: ns }).pipe(Stream.take(2))).pipe(
          Effect.provide(Logger.layer([Logger.map(Logger.formatLogFmt, (line) => void logs.push(line))]))
        )
      )
      yield* waitFor(sim, () => sim.requestLog.some((r) => r.verb === "watch" && r.namespace === ns && r.endedAt === undefined))
      for (
        const line of [
          `{"type":"ADDED","object":null}`,
          `{"type":"ADDED","object":null}`,
          `{"type":"MODIFIED","object":"a string"}`,
          `{"type":"ADDED","object":{"kind":"Pod"}}`,
          `{"type":"DELETED","object":{"metadata":"nope"}}`,
          `not json at all`
        ]
      ) sim.faults.watch({ kind: "raw", line }, { resource: "pods", namespace: ns })
      sim.addPod(runningPod("good-a", { namespace: ns }))
      sim.addPod(runningPod("good-b", { namespace: ns }))
      const events = yield* Fiber.await(collected)
      assert.isTrue(Exit.isSuccess(events))
      const names = Exit.isSuccess(events)
        ? events.value.map((e) => (e.type === "BOOKMARK" ? "bookmark" : `${e.type} ${e.object.metadata?.name}`))
        : []
      assert.deepStrictEqual(names, ["ADDED good-a", "ADDED good-b"])
      const warnings = logs.filter((l) => l.includes("malformed"))
      assert.strictEqual(warnings.length, 3, warnings.join("\n"))
      assert.isTrue(warnings.some((l) => l.includes("null object")))
      assert.isTrue(warnings.some((l) => l.includes("object is not an object")))
      assert.isTrue(warnings.some((l) => l.includes("object without metadata")))
    }).pipe(Effect.provide(kubeLayer(sim))))
})
