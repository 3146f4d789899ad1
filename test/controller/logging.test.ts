/**
 * The JSON log line, exactly: flat keys as Kubernetes controllers write them (ts, level, msg, then
 * the annotations), lower-case levels, the cause as a string `error`, spans only when present, no
 * fiber id. Lines are captured with a sink logger; the TestClock pins `ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Effect, Logger, References } from "effect"
import { TestClock, TestConsole } from "effect/testing"
import { formatJsonLine, loggingLayer } from "../../src/controller/logging.ts"

class PodGoneError extends Data.TaggedError("PodGoneError")<{ readonly pod: string; readonly message: string }> {}

const capture = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    yield* effect.pipe(
      Effect.provide(Logger.layer([Logger.map(formatJsonLine, (line) => void lines.push(line))])),
      Effect.provideService(References.MinimumLogLevel, "Debug")
    )
    return lines
  })

describe("JSON log lines", () => {
  it.effect("flat keys: ts (RFC 3339), lower-case level, msg, then the annotations; no fiber id, no empty spans", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust(1_500)
      const lines = yield* capture(
        Effect.logWarning("exec timed out").pipe(
          Effect.annotateLogs({ namespace: "argo", pod: "wf-1", action: "terminateContainers", node: "node-4", elapsedMs: 30000 })
        )
      )
      assert.deepStrictEqual(lines, [
        `{"ts":"1970-01-01T00:00:01.500Z","level":"warn","msg":"exec timed out","namespace":"argo","pod":"wf-1","action":"terminateContainers","node":"node-4","elapsedMs":30000}`
      ])
    }))

  it.effect("every level in lower case", () =>
    Effect.gen(function*() {
      const lines = yield* capture(Effect.gen(function*() {
        yield* Effect.logDebug("d")
        yield* Effect.logInfo("i")
        yield* Effect.logWarning("w")
        yield* Effect.logError("e")
        yield* Effect.logFatal("f")
      }))
      assert.deepStrictEqual(lines.map((l) => JSON.parse(l).level), ["debug", "info", "warn", "error", "error"])
      for (const l of lines) assert.deepStrictEqual(Object.keys(JSON.parse(l)), ["ts", "level", "msg"])
    }))

  it.effect("a failure's cause is one string field `error` (the message), a defect's stack goes to `stacktrace`", () =>
    Effect.gen(function*() {
      const lines = yield* capture(Effect.gen(function*() {
        yield* Effect.logError("delete failed", Cause.fail(new PodGoneError({ pod: "wf-1", message: "pods \"wf-1\" not found" }))).pipe(
          Effect.annotateLogs({ pod: "wf-1" })
        )
        yield* Effect.logError("unexpected", Cause.die(new Error("boom")))
        yield* Effect.logWarning("with an Error argument", new Error("socket hang up"))
      }))
      const [failed, died, arg] = lines.map((l) => JSON.parse(l))
      assert.deepStrictEqual(failed, {
        ts: "1970-01-01T00:00:00.000Z",
        level: "error",
        msg: "delete failed",
        pod: "wf-1",
        error: "pods \"wf-1\" not found"
      })
      assert.strictEqual(died.error, "boom")
      assert.isString(died.stacktrace)
      assert.include(died.stacktrace, "boom")
      assert.deepStrictEqual(arg, { ts: "1970-01-01T00:00:00.000Z", level: "warn", msg: "with an Error argument", error: "socket hang up" })
    }))

  it.effect("spans only when there are some; plain objects in the message become keys; reserved names are not overwritten", () =>
    Effect.gen(function*() {
      const lines = yield* capture(Effect.gen(function*() {
        yield* Effect.logInfo("in a span").pipe(Effect.withLogSpan("reconcile"))
        yield* Effect.logInfo("inventory low", { sku: "A-1", count: 3 }).pipe(Effect.annotateLogs({ msg: "not me", level: "x" }))
      }))
      const [span, objects] = lines.map((l) => JSON.parse(l))
      assert.deepStrictEqual(span, { ts: "1970-01-01T00:00:00.000Z", level: "info", msg: "in a span", spans: { reconcile: 0 } })
      assert.deepStrictEqual(objects, {
        ts: "1970-01-01T00:00:00.000Z",
        level: "info",
        msg: "inventory low",
        annotation_msg: "not me",
        annotation_level: "x",
        sku: "A-1",
        count: 3
      })
    }))

  it.effect("credentials in messages are passed through unchanged (redaction is another layer's job)", () =>
    Effect.gen(function*() {
      const lines = yield* capture(Effect.logInfo("token=abc"))
      assert.strictEqual(JSON.parse(lines[0]!).msg, "token=abc")
    }))

  it.effect("loggingLayer(json) writes these lines to stderr (console.error), at the chosen level", () =>
    Effect.gen(function*() {
      yield* Effect.logInfo("hello").pipe(Effect.annotateLogs({ pod: "p" }), Effect.provide(loggingLayer("json", "info", false)))
      yield* Effect.logDebug("below the level").pipe(Effect.provide(loggingLayer("json", "info", false)))
      const written = yield* TestConsole.errorLines
      assert.deepStrictEqual(yield* TestConsole.logLines, [])
      assert.deepStrictEqual(written.map((w) => JSON.parse(String(w))), [{ ts: "1970-01-01T00:00:00.000Z", level: "info", msg: "hello", pod: "p" }])
    }))
})
