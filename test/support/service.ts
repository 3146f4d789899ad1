/**
 * Test support: pod-cleanup composed as `pod-cleanup run` composes it (`podCleanupLayer`, or the
 * core without HTTP endpoints), pointed at a simulated cluster through a kubeconfig file.
 */
import type { SimCluster } from "@pod-cleanup/sim"
import { Context, Effect, Layer, Logger, Result } from "effect"
import { HttpServer } from "effect/http"
import { parseConfig, type ServiceConfig } from "../../src/config/Config.ts"
import { podCleanupCoreLayer, podCleanupLayer } from "../../src/controller/PodCleanup.ts"
import type { KubeClient } from "../../src/kube/KubeClient.ts"
import { clientLayer } from "./sim.ts"

/** The configuration `argv` gives; a malformed one fails the test with its message. */
export const configOf = (argv: ReadonlyArray<string>): ServiceConfig => {
  const config = parseConfig(argv, {})
  if (Result.isFailure(config)) throw new Error(config.failure.message)
  return config.success
}

export interface ServiceOptions {
  /** Another kubeconfig file than the simulator's default (another token, another identity). */
  readonly kubeconfig?: string | undefined
  /** Collects the service's log lines (logfmt) here instead of printing them. */
  readonly logLines?: Array<string> | undefined
}

const against = <A, E>(
  layer: (config: ServiceConfig) => Layer.Layer<A, E, KubeClient>,
  sim: SimCluster,
  config: ServiceConfig | ReadonlyArray<string>,
  options: ServiceOptions
) => {
  const parsed = Array.isArray(config) ? configOf(config) : config as ServiceConfig
  const service = layer(parsed).pipe(Layer.provide(clientLayer(sim, {}, options.kubeconfig)))
  const lines = options.logLines
  return lines === undefined
    ? service
    : service.pipe(Layer.provide(Logger.layer([Logger.map(Logger.formatLogFmt, (line) => void lines.push(line))])))
}

/** The service without HTTP endpoints (`podCleanupCoreLayer`) against `sim`, configured by flags or a parsed configuration. */
export const serviceAgainst = (sim: SimCluster, config: ServiceConfig | ReadonlyArray<string>, options: ServiceOptions = {}) =>
  against((c) => podCleanupCoreLayer(c), sim, config, options)

/** The service as `run` launches it, /healthz, /readyz and /metrics on `--http-port` included. */
export const serviceWithHttpAgainst = (sim: SimCluster, config: ServiceConfig | ReadonlyArray<string>, options: ServiceOptions = {}) =>
  against((c) => podCleanupLayer(c), sim, config, options)

/** The port the service's HTTP endpoints listen on. */
export const httpPortOf = (services: Context.Context<HttpServer.HttpServer>): number => {
  const address = Context.get(services, HttpServer.HttpServer).address
  return address._tag === "UnixPathAddress" ? 0 : address.port
}

/** GET `path` from the service's HTTP endpoints. */
export const httpGet = (port: number, path: string) =>
  Effect.promise(async () => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`)
    return { status: res.status, body: await res.text() }
  })
