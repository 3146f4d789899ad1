/**
 * pod-cleanup's public API, for Effect apps that embed it.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { KubeClient, layerFromEnv } from "pod-cleanup"
 *
 * // The whole service (watches, leader election, engine), configured from POD_CLEANUP_* variables,
 * // added to an app with one Layer.provide:
 * const app = myProgram.pipe(Effect.provide(layerFromEnv().pipe(Layer.provide(KubeClient.layer({ env: process.env })))))
 * ```
 */
import { Effect, Layer, Result } from "effect"
import { type ConfigError, parseConfig, type ServiceConfig } from "./service/Config.ts"
import { podCleanupCoreLayer, type PodCleanupLayerOptions } from "./service/PodCleanup.ts"

// ---- configuration ------------------------------------------------------------------------------
export { ConfigError, helpText, parseConfig, type ServiceConfig, settingsTable } from "./service/Config.ts"
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
export { alwaysLeader, podCleanupCoreLayer, podCleanupLayer, type PodCleanupLayerOptions } from "./service/PodCleanup.ts"
export { Controller, type ControllerSettings, type ControllerStatus } from "./service/Controller.ts"
export { LeaderElection, type LeaderElectionSettings } from "./service/LeaderElection.ts"

/**
 * The service configured from `POD_CLEANUP_*` variables: needs a `KubeClient`, fails with
 * `ConfigError` on bad configuration. It serves no HTTP endpoints (an embedding app has its own
 * server; the metrics are in Effect's metric registry): use `podCleanupLayer(config)` for the
 * /healthz, /readyz and /metrics endpoints of the standalone service.
 */
export const layerFromEnv = (
  options: PodCleanupLayerOptions & { readonly env?: Readonly<Record<string, string | undefined>> } = {}
) => Layer.unwrap(Effect.map(configFromEnv(options.env ?? process.env), (config) => podCleanupCoreLayer(config, options)))

// ---- the engine, for one-shot or custom drivers -------------------------------------------------
export { ActionRunner, type ActionResult, type QueuedAction } from "./engine/ActionRunner.ts"
export { ApiRateLimiter } from "./engine/ApiRateLimiter.ts"
export { Engine, type EngineOptions, type PlanResult } from "./engine/Engine.ts"
export { engineLayer } from "./engine/layers.ts"
export { NodeGuard, type NodeGuardSettings, NodeUnavailableError } from "./engine/NodeGuard.ts"
export { cleanOnce, type OnceReport } from "./engine/once.ts"
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
export { KubeConfigError, type KubeConfigInputs, loadKubeConfig } from "./kube/KubeConfigSource.ts"
export { PodApi } from "./kube/PodApi.ts"
export { defaultExecSettings, type ExecRequest, type ExecResult, type ExecSettings, PodExec } from "./kube/PodExec.ts"

// ---- the pure domain ----------------------------------------------------------------------------
export { type ActionName, ActionNames, actionKey, type ActionRequest } from "./domain/Action.ts"
export { killCommand } from "./domain/killCommand.ts"
export { decodePod, MalformedPodError, type Pod } from "./domain/Pod.ts"
export { decide, type Decision, type PolicyOptions, type WorkflowView } from "./domain/policy.ts"
