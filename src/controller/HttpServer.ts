/**
 * The HTTP endpoints of the running service: `/healthz` (the process and its loops are alive),
 * `/readyz` (every cache has synced), and `/metrics` (Prometheus text: pod-cleanup's own metrics
 * under `pod_cleanup_`, the standard `workqueue_*`, `rest_client_*`, `leader_election_*`, `process_*`
 * and `nodejs_*` series under their usual names; the runtime ones are sampled at each scrape).
 * Health answers are JSON so a probe failure explains itself in `kubectl describe`.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import { initMetrics, sampleRuntimeMetrics } from "../metrics.ts"
import { Controller } from "./Controller.ts"

const routes = HttpRouter.use((router) =>
  Effect.gen(function*() {
    const controller = yield* Controller
    // Counters with labels known upfront are exported at 0 before their first increment.
    yield* initMetrics
    yield* router.add("GET", "/healthz", () =>
      Effect.sync(() => {
        const s = controller.status()
        return HttpServerResponse.jsonUnsafe({ alive: s.alive, leader: s.leader, detail: s.detail }, { status: s.alive ? 200 : 503 })
      }))
    yield* router.add("GET", "/readyz", () =>
      Effect.sync(() => {
        const s = controller.status()
        return HttpServerResponse.jsonUnsafe(
          { ready: s.synced, podsKnown: s.podsKnown, workflowsKnown: s.workflowsKnown, workflowCrd: s.workflowCrd },
          { status: s.synced ? 200 : 503 }
        )
      }))
    yield* router.add(
      "GET",
      "/metrics",
      Effect.map(
        // No prefix: every metric carries its full name (see src/metrics.ts).
        Effect.andThen(sampleRuntimeMetrics, PrometheusMetrics.format()),
        (body) => HttpServerResponse.text(body, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
      )
    )
  })
)

/** The endpoints on `port` (0 picks a free one). */
export const httpServerLayer = (port: number) =>
  HttpRouter.serve(routes, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "0.0.0.0", gracefulShutdownTimeout: "2 seconds" }))
  )
