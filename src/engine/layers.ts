/**
 * The engine's layers composed in one place: give it a `KubeClient` and settings, get the engine,
 * its ledger and its node guard. Tests and the service build on this.
 */
import { Layer } from "effect"
import { PodApi } from "../kube/PodApi.ts"
import { PodExec } from "../kube/PodExec.ts"
import type { KubeClient } from "../kube/KubeClient.ts"
import { ActionRunner } from "./ActionRunner.ts"
import { ApiRateLimiter } from "./ApiRateLimiter.ts"
import { Engine, type EngineOptions } from "./Engine.ts"
import { defaultEngineSettings, EngineConfig, type EngineSettings } from "./EngineSettings.ts"
import { NodeGuard } from "./NodeGuard.ts"
import { Outcomes } from "./Outcomes.ts"
import { PodCache } from "./PodCache.ts"
import { WorkflowSource } from "./WorkflowSource.ts"

/**
 * Everything below the engine, for a given `KubeClient`. `workflows` defaults to reading them
 * from the API; pass `WorkflowSource.layerStatic(...)` to supply them.
 */
export const engineLayer = (
  partial: Partial<EngineSettings> = {},
  options: EngineOptions = { reconcileAfterKill: false },
  workflows: Layer.Layer<WorkflowSource, never, KubeClient> = WorkflowSource.layerFromApi()
) => {
  const settings = { ...defaultEngineSettings, ...partial }
  return Engine.layerWith(options).pipe(
    Layer.provideMerge(ActionRunner.layer),
    Layer.provideMerge(Layer.mergeAll(engineServicesLayer(settings), workflows, PodCache.none))
  )
}

/** What the engine and the service share: settings, ledger, node guard, rate limit, pod access. */
export const engineServicesLayer = (settings: EngineSettings) =>
  Layer.mergeAll(
    EngineConfig.layer(settings),
    Outcomes.layer,
    NodeGuard.layerWith({
      perNodeExecCap: settings.perNodeExecCap,
      breakerThreshold: settings.breakerThreshold,
      breakerCooldown: settings.breakerCooldown,
      globalExecCap: settings.execCap,
      // An exec that waited longer for a cluster-wide slot would be past its own deadline.
      globalExecWait: settings.execTimeout
    }),
    ApiRateLimiter.layerWith(settings.apiQps, settings.apiBurst),
    PodApi.layer,
    PodExec.layerWith({ timeout: settings.execTimeout })
  )
