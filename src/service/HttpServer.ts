/**
 * The HTTP endpoints of the running service: `/healthz` (the process and its loops are alive),
 * `/readyz` (every cache has synced), and `/metrics` (Prometheus text, every metric prefixed
 * `pod_cleanup_`). Health answers are JSON so a probe failure explains itself in `kubectl describe`.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import { Controller } from "./Controller.ts"

export const metricsPrefix = "pod_cleanup"

const routes = HttpRouter.use((router) =>
  Effect.gen(function*() {
    const controller = yield* Controller
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
        PrometheusMetrics.format({ prefix: metricsPrefix }),
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
