/**
 * pod-cleanup's public API, for Effect apps that embed it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Controller, podCleanupFromEnv } from "pod-cleanup"
 *
 * // The whole service (watches, leader election, engine), configured from POD_CLEANUP_* variables,
 * // its cluster from KUBECONFIG or the in-cluster service account (never ~/.kube/config unless
 * // asked: podCleanupFromEnv({ homeConfig: true })), added to an app with one Effect.provide:
 * const app = Controller.use((c) => Effect.log(c.status())).pipe(Effect.provide(podCleanupFromEnv()))
 * ```
 */
import { Effect, Layer, Result } from "effect"
import { redactUrl } from "./kube/ApiError.ts"
import { KubeClient, type KubeClientOptions } from "./kube/KubeClient.ts"
import { type KubeConfigError, loadKubeConfig } from "./kube/KubeConfigSource.ts"
import { parseConfig, type ServiceConfig, type ServiceConfigError as ConfigError } from "./config/Config.ts"
import { podCleanupCoreLayer, type PodCleanupLayerOptions } from "./controller/PodCleanup.ts"

// ---- configuration ------------------------------------------------------------------------------
export { parseConfig, type ServiceConfig, ServiceConfigError, ServiceConfigError as ConfigError } from "./config/Config.ts"
export { helpText, settingsTable } from "./cli/help.ts"
export { argoCompatible, defaultEngineSettings, EngineConfig, type EngineSettings } from "./engine/EngineSettings.ts"

/** The defaults (every setting unset), as a `ServiceConfig`. */
export const defaultConfig: ServiceConfig = (() => {
  const parsed = parseConfig([], {})
  if (Result.isFailure(parsed)) throw new Error(`pod-cleanup: the defaults do not parse: ${parsed.failure.message}`)
  return parsed.success
})()

/** Reads the configuration from `POD_CLEANUP_*` variables (and flags, if given). */
export const configFromEnv = (
  env: Readonly<Record<string, string | undefined>> = process.env,
  argv: ReadonlyArray<string> = []
): Effect.Effect<ServiceConfig, ConfigError> =>
  Effect.suspend(() => {
    const parsed = parseConfig(argv, env)
    return Result.isSuccess(parsed) ? Effect.succeed(parsed.success) : Effect.fail(parsed.failure)
  })

// ---- the service as layers ----------------------------------------------------------------------
export { controllerLayer, podCleanupCoreLayer, podCleanupLayer, type PodCleanupLayerOptions } from "./controller/PodCleanup.ts"
export { Controller, type ControllerSettings, type ControllerStatus } from "./controller/Controller.ts"
export { ClusterCache, type ClusterCacheHealth, type ClusterCacheSettings, type ClusterChangeHandler } from "./controller/ClusterCache.ts"
export { LeaderElection, type LeaderElectionSettings } from "./controller/LeaderElection.ts"

/**
 * The service configured from `POD_CLEANUP_*` variables: needs a `KubeClient`, fails with
 * `ConfigError` on bad configuration. It serves no HTTP endpoints (an embedding app has its own
 * server; the metrics are in Effect's metric registry): use `podCleanupLayer(config)` for the
 * /healthz, /readyz and /metrics endpoints of the standalone service.
 */
export const layerFromEnv = (
  options: PodCleanupLayerOptions & { readonly env?: Readonly<Record<string, string | undefined>> } = {}
) => Layer.unwrap(Effect.map(configFromEnv(options.env ?? process.env), (config) => podCleanupCoreLayer(config, options)))

/**
 * Where an embedded pod-cleanup finds its cluster, in this order: `kubeconfig` (else the
 * `--kubeconfig` in `argv`), `KUBECONFIG` in `env`, the in-cluster service account, and
 * `~/.kube/config` only with `homeConfig: true`. As with `pod-cleanup run`, a laptop's current
 * context is never used by accident.
 */
export interface ClusterOptions extends KubeClientOptions {
  /** A kubeconfig file; wins over `KUBECONFIG`. */
  readonly kubeconfig?: string | undefined
  /** The variables to read (`KUBECONFIG`, `POD_CLEANUP_*`, `KUBERNETES_SERVICE_HOST`, `HOME`); default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** The service-account folder; default `$POD_CLEANUP_SERVICE_ACCOUNT_DIR`, else Kubernetes' own. */
  readonly serviceAccountDir?: string | undefined
  /** Also fall back to `~/.kube/config` (default false). */
  readonly homeConfig?: boolean | undefined
}

const kubeInputs = (options: ClusterOptions, kubeconfig?: string | undefined) => {
  const env = options.env ?? process.env
  return {
    kubeconfig: options.kubeconfig ?? kubeconfig,
    env,
    serviceAccountDir: options.serviceAccountDir ?? env.POD_CLEANUP_SERVICE_ACCOUNT_DIR,
    homeConfig: options.homeConfig === true
  }
}

/**
 * A `KubeClient` for the cluster `options` name (see `ClusterOptions`); like `KubeClient.layer`,
 * it does not fall back to `~/.kube/config` unless `homeConfig: true`.
 */
export const kubeClientLayer = (options: ClusterOptions = {}): Layer.Layer<KubeClient, KubeConfigError> =>
  KubeClient.layer(kubeInputs(options), { requestTimeout: options.requestTimeout, responseLimits: options.responseLimits })

/**
 * The whole service, ready to provide: configured from `POD_CLEANUP_*` variables (and flags in
 * `argv`, if given), connected to the cluster `options` name (`ClusterOptions`: `KUBECONFIG`, else
 * the in-cluster service account; `~/.kube/config` only with `homeConfig: true`). It logs where its
 * cluster came from, serves no HTTP endpoints (the metrics are in Effect's metric registry), and
 * fails with `ConfigError` or `KubeConfigError` before anything starts.
 */
export const podCleanupFromEnv = (
  options: PodCleanupLayerOptions & ClusterOptions & { readonly argv?: ReadonlyArray<string> | undefined } = {}
) =>
  Layer.unwrap(Effect.gen(function*() {
    const config = yield* configFromEnv(options.env ?? process.env, options.argv ?? [])
    const loaded = yield* loadKubeConfig(kubeInputs(options, config.kubeconfig))
    yield* Effect.logInfo("pod-cleanup starting").pipe(
      Effect.annotateLogs({ kubeconfig: loaded.source, server: redactUrl(loaded.server), leaderElection: config.leaderElection.enabled })
    )
    return podCleanupCoreLayer(config, { ...options, defaultLeaseNamespace: options.defaultLeaseNamespace ?? loaded.namespace }).pipe(
      Layer.provideMerge(KubeClient.layerFromLoaded(loaded, { requestTimeout: options.requestTimeout, responseLimits: options.responseLimits }))
    )
  }))

// ---- the engine, for one-shot or custom drivers -------------------------------------------------
export { ActionRunner, type ActionResult, type QueuedAction } from "./engine/ActionRunner.ts"
export { ApiRateLimiter } from "./engine/ApiRateLimiter.ts"
export { Engine, type EngineDependencies, type EngineOptions, type EngineServices, type PlanResult } from "./engine/Engine.ts"
export { NodeGuard, type NodeGuardSettings, NodeUnavailableError } from "./engine/NodeGuard.ts"
export { cleanOnce, type OnceReport } from "./engine/cleanOnce.ts"
export { type Outcome, type OutcomeKind, Outcomes } from "./engine/Outcomes.ts"
export { WorkflowSource } from "./engine/WorkflowSource.ts"

// ---- Kubernetes access --------------------------------------------------------------------------
export {
  isRetryable,
  type KubeApiError,
  KubeConflictError,
  KubeForbiddenError,
  KubeGoneError,
  KubeInvalidError,
  KubeNotFoundError,
  KubeTransientError
} from "./kube/ApiError.ts"
export {
  ExecConnectionLostError,
  type ExecError,
  ExecNonZeroExitError,
  ExecRejectedError,
  ExecTimeoutError
} from "./kube/ExecError.ts"
export { KubeClient, type KubeClientOptions } from "./kube/KubeClient.ts"
export { KubeConfigError, type KubeConfigInputs, type LoadedKubeConfig, loadKubeConfig } from "./kube/KubeConfigSource.ts"
export { PodApi } from "./kube/PodApi.ts"
export { defaultExecSettings, type ExecRequest, type ExecResult, type ExecSettings, PodExec } from "./kube/PodExec.ts"

// ---- the pure domain ----------------------------------------------------------------------------
export { type ActionName, ActionNames, actionKey, type ActionRequest } from "./domain/Action.ts"
export { killCommand } from "./domain/killCommand.ts"
export { decodePod, MalformedPodError, type Pod } from "./domain/Pod.ts"
export { decide, type Decision, type PolicyOptions, type WorkflowView } from "./domain/policy.ts"
