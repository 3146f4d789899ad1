/**
 * The connection to the Kubernetes API: the loaded configuration, the generated API clients of
 * `@kubernetes/client-node`, and `call`, the one way this project makes a request. `call` passes
 * the fiber's AbortSignal to the HTTP request, so a deadline or an interruption really closes it,
 * and turns every failure into a typed `KubeApiError`.
 */
import * as k8s from "@kubernetes/client-node"
import { Clock, Context, Duration, Effect, Layer } from "effect"
import {
  type ApiRequest,
  deadlineExceeded,
  fromStatus,
  type KubeApiError,
  networkFailure
} from "./ApiError.ts"
import { type KubeConfigError, type KubeConfigInputs, type LoadedKubeConfig, loadKubeConfig } from "./KubeConfigSource.ts"

export type RequestOptions = k8s.ConfigurationOptions

/** Per-request options that hand `signal` to the request (client-node ignores it otherwise). */
export const withSignal = (signal: AbortSignal, extra?: { readonly contentType?: string }): RequestOptions => {
  const middleware: k8s.ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(signal)
      if (extra?.contentType) ctx.setHeaderParam("Content-Type", extra.contentType)
      return new k8s.Observable(Promise.resolve(ctx))
    },
    post: (res) => new k8s.Observable(Promise.resolve(res))
  }
  return { middleware: [middleware], middlewareMergeStrategy: "append" }
}

export interface KubeClientOptions {
  /** Deadline of one API request (not of watches). Default 15 s. */
  readonly requestTimeout?: Duration.Input | undefined
}

export class KubeClient extends Context.Service<KubeClient, {
  readonly loaded: LoadedKubeConfig
  readonly config: k8s.KubeConfig
  readonly core: k8s.CoreV1Api
  readonly coordination: k8s.CoordinationV1Api
  readonly customObjects: k8s.CustomObjectsApi
  readonly requestTimeout: Duration.Duration
  /**
   * Runs one request under the request deadline. `f` receives the options to pass to the
   * generated method (they carry the AbortSignal and, for patches, the Content-Type).
   */
  readonly call: <A>(
    req: ApiRequest,
    f: (options: RequestOptions) => Promise<A>,
    extra?: { readonly contentType?: string; readonly timeout?: Duration.Duration }
  ) => Effect.Effect<A, KubeApiError>
}>()("pod-cleanup/KubeClient") {
  /** A client for an already-loaded configuration. */
  static readonly fromLoaded = (loaded: LoadedKubeConfig, options: KubeClientOptions = {}) =>
    Layer.succeed(KubeClient, makeKubeClient(loaded, options))

  /** Resolves the configuration (explicit path, KUBECONFIG, in-cluster, ~/.kube/config). */
  static readonly layer = (
    inputs: KubeConfigInputs,
    options: KubeClientOptions = {}
  ): Layer.Layer<KubeClient, KubeConfigError> =>
    Layer.effect(KubeClient, Effect.map(loadKubeConfig(inputs), (loaded) => makeKubeClient(loaded, options)))
}

export const makeKubeClient = (loaded: LoadedKubeConfig, options: KubeClientOptions = {}): KubeClient["Service"] => {
  const config = loaded.config
  const requestTimeout = Duration.fromInputUnsafe(options.requestTimeout ?? "15 seconds")
  const call = <A>(
    req: ApiRequest,
    f: (options: RequestOptions) => Promise<A>,
    extra?: { readonly contentType?: string; readonly timeout?: Duration.Duration }
  ): Effect.Effect<A, KubeApiError> => {
    const timeout = extra?.timeout ?? requestTimeout
    return Effect.tryPromise({
      try: (signal) => f(withSignal(signal, extra)),
      catch: (cause) => cause
    }).pipe(
      Effect.catch((cause) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.fail(
            cause instanceof k8s.ApiException
              ? fromStatus(req, cause.code, cause.body, cause.headers as Record<string, string>, now)
              : networkFailure(req, cause)
          )
        )
      ),
      Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(deadlineExceeded(req, timeout)) })
    )
  }
  return KubeClient.of({
    loaded,
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    coordination: config.makeApiClient(k8s.CoordinationV1Api),
    customObjects: config.makeApiClient(k8s.CustomObjectsApi),
    requestTimeout,
    call
  })
}
