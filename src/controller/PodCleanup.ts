/**
 * pod-cleanup as one Layer: give it a `KubeClient` and a `ServiceConfig`, get the running
 * controller (informers, leader election, engine while leading), its ledger and node guard, and,
 * unless `http: false`, the health and metrics endpoints. This is what `pod-cleanup run` launches
 * and what another Effect app adds with one `Layer.provide`.
 */
import { Effect, Layer } from "effect"
import { Engine, type EngineServices } from "../engine/Engine.ts"
import type { EngineSettings } from "../engine/EngineSettings.ts"
import { eventRecorderLayer } from "../engine/EventRecorder.ts"
import type { PodCache } from "../engine/PodCache.ts"
import type { WorkflowSource } from "../engine/WorkflowSource.ts"
import type { KubeClient } from "../kube/KubeClient.ts"
import { PodApi } from "../kube/PodApi.ts"
import { WorkflowApi } from "../kube/WorkflowApi.ts"
import { ClusterCache } from "./ClusterCache.ts"
import type { ServiceConfig } from "../config/Config.ts"
import { Controller, type ControllerSettings } from "./Controller.ts"
import { httpServerLayer } from "./HttpServer.ts"
import { LeaderElection } from "./LeaderElection.ts"

export interface PodCleanupLayerOptions {
  /** The namespace the lease lives in when the config names none (the service account's). */
  readonly defaultLeaseNamespace?: string | undefined
  /** Restricts and observes the controller (the one-shot pass); see `ControllerSettings`. */
  readonly podFilter?: ControllerSettings["podFilter"]
  readonly onDecision?: ControllerSettings["onDecision"]
}


/**
 * The controller composed: its cluster cache (the informers), the engine's pod and workflow
 * sources read from that cache, and the engine's services. The one place the controller's layers
 * meet, for the service, `once` and the tests; it needs a `KubeClient` and a `LeaderElection`
 * (and an `EventRecorder` below it to record Events).
 */
export const controllerLayer = (
  settings: ControllerSettings,
  engine: EngineSettings
): Layer.Layer<Controller | ClusterCache | PodCache | WorkflowSource | EngineServices, never, KubeClient | LeaderElection> =>
  Controller.layer(settings).pipe(
    Layer.provideMerge(Engine.layerServices(engine)),
    Layer.provideMerge(Layer.merge(ClusterCache.layerPodCache, ClusterCache.layerWorkflowSource)),
    Layer.provideMerge(ClusterCache.layer(settings)),
    // The one PodApi (the engine's services name the same layer, built once) and WorkflowApi.
    Layer.provideMerge(Layer.merge(PodApi.layer, WorkflowApi.layer))
  )

/**
 * The controller with everything it needs but the `KubeClient`, without HTTP endpoints: what an
 * embedding app adds (it usually has its own HTTP server; `/metrics` data is in the global
 * metric registry either way).
 */
export const podCleanupCoreLayer = (config: ServiceConfig, options: PodCleanupLayerOptions = {}) => {
  const election = config.leaderElection
  // One identity for the Lease and for the Events' reportingInstance.
  const identity = election.identity ?? `pod-cleanup-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  const leadership = election.enabled
    ? LeaderElection.layer({
      leaseName: election.leaseName,
      leaseNamespace: election.leaseNamespace ?? options.defaultLeaseNamespace ?? "default",
      identity,
      leaseDuration: election.leaseDuration,
      renewDeadline: election.renewDeadline,
      retryPeriod: election.retryPeriod
    })
    : LeaderElection.layerNoop
  // The node guard and the engine record Events through it (they record nothing without it).
  // Shadow mode changes nothing in the cluster, Events included.
  const events = eventRecorderLayer({ enabled: config.events && !config.engine.dryRun, reportingInstance: identity })
  return controllerLayer({
    namespaces: config.namespaces,
    labelSelector: config.labelSelector,
    shutdownGrace: config.shutdownGrace,
    resyncPeriod: config.resyncPeriod,
    podFilter: options.podFilter,
    onDecision: options.onDecision
  }, config.engine).pipe(Layer.provideMerge(leadership), Layer.provideMerge(events))
}

/** The service as `pod-cleanup run` launches it: the core plus /healthz, /readyz and /metrics. */
export const podCleanupLayer = (config: ServiceConfig, options: PodCleanupLayerOptions = {}) =>
  httpServerLayer(config.httpPort).pipe(Layer.provideMerge(podCleanupCoreLayer(config, options)))
