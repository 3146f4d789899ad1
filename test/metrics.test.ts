/**
 * Series made once per label values (`labelledSeries`) are the series `Metric.withAttributes`
 * names: the same registry entry, the same Prometheus text. Each combination is made once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import {
  labelledSeries,
  recordApiRequest,
  restClientDuration,
  restClientRequests,
  watchRestarts,
  watchRestartsOf
} from "../src/metrics.ts"

const isolated = <A, E>(effect: Effect.Effect<A, E>) => Effect.provideService(effect, Metric.MetricRegistry, new Map())

describe("labelledSeries", () => {
  it("makes each combination of label values once and hands the same metric out after", () => {
    const made: Array<Record<string, string>> = []
    const of = labelledSeries(["a", "b"], (attributes) => {
      made.push(attributes)
      return Metric.counter("test_series_total", { attributes })
    })
    const x = of("1", "2")
    assert.strictEqual(of("1", "2"), x)
    assert.notStrictEqual(of("1", "3"), x)
    assert.notStrictEqual(of("2", "2"), x)
    assert.strictEqual(of("1", "3"), of("1", "3"))
    assert.deepStrictEqual(made, [{ a: "1", b: "2" }, { a: "1", b: "3" }, { a: "2", b: "2" }])
  })

  it.effect("recordApiRequest counts into the series withAttributes reads, and formats as before", () =>
    isolated(Effect.gen(function*() {
      yield* recordApiRequest("list", "pods", 200, 0.01)
      yield* recordApiRequest("list", "pods", 200, 0.02)
      yield* recordApiRequest("patch", "pods", 409, 0.5)
      yield* recordApiRequest("get", "workflows.argoproj.io", 0, 30)
      const listed = yield* Metric.value(Metric.withAttributes(restClientRequests, { code: "200", method: "GET", resource: "pods", verb: "list" }))
      assert.strictEqual(listed.count, 2)
      const failed = yield* Metric.value(Metric.withAttributes(restClientRequests, { code: "<error>", method: "GET", resource: "workflows.argoproj.io", verb: "get" }))
      assert.strictEqual(failed.count, 1)
      const durations = yield* Metric.value(Metric.withAttributes(restClientDuration, { method: "GET", resource: "pods", verb: "list" }))
      assert.strictEqual(durations.count, 2)
      const text = yield* PrometheusMetrics.format()
      assert.include(text, `rest_client_requests_total{code="200",method="GET",resource="pods",verb="list"} 2`)
      assert.include(text, `rest_client_requests_total{code="409",method="PATCH",resource="pods",verb="patch"} 1`)
      assert.include(text, `rest_client_request_duration_seconds_count{method="GET",resource="pods",verb="list"} 2`)
      // One series per label set: no second, unlabelled or duplicated entry.
      assert.strictEqual(text.split("\n").filter((l) => l.startsWith("rest_client_requests_total{")).length, 3)
    })))

  it.effect("watchRestartsOf is pod_cleanup_watch_restarts_total{resource, reason}", () =>
    isolated(Effect.gen(function*() {
      yield* Metric.update(watchRestartsOf("pods", "expired"), 1)
      yield* Metric.update(watchRestartsOf("pods", "expired"), 1)
      yield* Metric.update(Metric.withAttributes(watchRestarts, { resource: "pods", reason: "expired" }), 1)
      const value = yield* Metric.value(Metric.withAttributes(watchRestarts, { resource: "pods", reason: "expired" }))
      assert.strictEqual(value.count, 3)
      const text = yield* PrometheusMetrics.format()
      assert.include(text, `pod_cleanup_watch_restarts_total{resource="pods",reason="expired"} 3`)
    })))
})
