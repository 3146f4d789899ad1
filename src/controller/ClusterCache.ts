/**
 * The controller's view of the cluster: the pods matching its selector and the Argo workflows,
 * each kept by one informer per watched namespace that lists, watches and never gives up while the
 * layer's scope lives (decoded once, at the informer's edge, into compact records). Only the
 * informers write the caches; everyone else reads them. Whoever reacts to changes adds a handler
 * (client-go's AddEventHandler): it runs on the informer's fiber after the cache was updated, and
 * sees the changes made while it is added. It also provides what the engine reads from it: a
 * `PodCache` and a `WorkflowSource` (cache, then API; only a 404 means gone).
 */
import { Context, Deferred, Duration, Effect, type Fiber, Layer, type Scope } from "effect"
import { LabelKeyWorkflow } from "../domain/argo.ts"
import type { Pod } from "../domain/Pod.ts"
import type { WorkflowRecord } from "../domain/workflow.ts"
import { PodCache } from "../engine/PodCache.ts"
import { WorkflowSource } from "../engine/WorkflowSource.ts"
import type { KubeClient } from "../kube/KubeClient.ts"
import { WorkflowApi, workflowApiVersion, workflowResource } from "../kube/WorkflowApi.ts"
import { PodApi } from "../kube/PodApi.ts"
import { type InformerCache, makeInformer } from "./informer.ts"
import { podListWatch, workflowListWatch } from "./sources.ts"

export interface ClusterCacheSettings {
  /** Namespaces to watch; empty = all. */
  readonly namespaces: ReadonlyArray<string>
  readonly labelSelector: string
  /** A watch silent for this long is restarted (default 5 minutes). */
  readonly watchSilenceLimit?: Duration.Duration | undefined
}

/** What a handler is told, after the cache holds the change. */
export interface ClusterChangeHandler {
  readonly podUpserted: (pod: Pod) => Effect.Effect<void>
  readonly podDeleted: (pod: Pod) => Effect.Effect<void>
  readonly workflowUpserted: (workflow: WorkflowRecord, previous: WorkflowRecord | undefined) => Effect.Effect<void>
  readonly workflowDeleted: (workflow: WorkflowRecord) => Effect.Effect<void>
}

export interface ClusterCacheHealth {
  /** Every cache has listed once. */
  readonly synced: boolean
  /** Informer loops that stopped (they never stop while they live: a stopped one is a failure). */
  readonly loopsStopped: number
  /** One line per watch with no event past its limit (it is relisting). */
  readonly staleWatches: ReadonlyArray<string>
  readonly podsKnown: number
  readonly workflowsKnown: number
}

export class ClusterCache extends Context.Service<ClusterCache, {
  /** Whether the Workflow CRD is installed (learned once, when the layer is built). */
  readonly workflowCrd: boolean
  readonly pod: (namespace: string, name: string) => Pod | undefined
  /** Every cached pod, as of now. */
  readonly pods: () => ReadonlyArray<Pod>
  /** The cached pods labelled with the workflow `namespace/workflow`. */
  readonly podsOfWorkflow: (namespace: string, workflow: string) => ReadonlyArray<Pod>
  readonly workflow: (namespace: string, name: string) => WorkflowRecord | undefined
  /** Every cache has listed once (client-go's WaitForCacheSync). */
  readonly synced: () => boolean
  /** Waits until every cache has listed once. */
  readonly awaitSynced: Effect.Effect<void>
  readonly health: (nowMillis: number) => ClusterCacheHealth
  /** Adds a handler for the scope's lifetime. */
  readonly addHandler: (handler: ClusterChangeHandler) => Effect.Effect<void, never, Scope.Scope>
}>()("pod-cleanup/ClusterCache") {
  /** The informers of `settings`, running in the layer's scope. */
  static readonly layer = (settings: ClusterCacheSettings): Layer.Layer<ClusterCache, never, PodApi | WorkflowApi> =>
    Layer.effect(ClusterCache, Effect.suspend(() => makeClusterCache(settings)))

  /** The engine's `PodCache`: the pod informers' caches. */
  static readonly layerPodCache: Layer.Layer<PodCache, never, ClusterCache> = Layer.effect(
    PodCache,
    Effect.map(Effect.service(ClusterCache), (cluster) => PodCache.of({ get: cluster.pod }))
  )

  /**
   * The engine's `WorkflowSource`: the workflow informers' cache, else the API. Not in the cache is
   * not "gone": the cache lags behind while its watch is slow, silent or reconnecting, and a pod
   * can be seen before its workflow. Only the API server can say the workflow is gone (404); a
   * failure to ask stays a failure (WorkflowSource's contract). Without the CRD every workflow is
   * gone.
   */
  static readonly layerWorkflowSource = Layer.effect(
    WorkflowSource,
    Effect.gen(function*() {
      const cluster = yield* ClusterCache
      const api = yield* WorkflowSource
      return WorkflowSource.of({
        lookup: (namespace, name) => {
          if (!cluster.workflowCrd) return Effect.succeed({ _tag: "Gone", reason: "the Workflow CRD is not installed" } as const)
          const cached = cluster.workflow(namespace, name)
          if (cached !== undefined) return Effect.succeed({ _tag: "Known", workflow: cached } as const)
          return api.lookup(namespace, name)
        }
      })
    })
  ).pipe(Layer.provide(WorkflowSource.layerFromApi()))
}

const makeClusterCache = (settings: ClusterCacheSettings) =>
  Effect.gen(function*() {
    const podApi = yield* PodApi
    const workflowApi = yield* WorkflowApi
    const namespaces: ReadonlyArray<string | undefined> = settings.namespaces.length === 0 ? [undefined] : settings.namespaces
    const handlers = new Set<ClusterChangeHandler>()
    const tell = (f: (handler: ClusterChangeHandler) => Effect.Effect<void>) =>
      Effect.suspend(() => Effect.forEach([...handlers], f, { discard: true }))

    const allSynced = Deferred.makeUnsafe<void>()
    const onSynced = () =>
      Effect.sync(() => {
        if ([...podInformers, ...workflowInformers].every((i) => i.cache.synced())) Deferred.doneUnsafe(allSynced, Effect.void)
      })

    // ---- workflows ----------------------------------------------------------------------------
    const crd = yield* workflowApi.crdPresent(namespaces[0])
    if (!crd) {
      yield* Effect.logWarning(
        `the Argo Workflow CRD (${workflowResource}, ${workflowApiVersion}) is not installed: workflow-level PodGC strategies ` +
          "(OnWorkflowCompletion, OnWorkflowSuccess) will never be satisfied; pods follow their pod-gc-strategy annotation"
      )
    }
    const workflowInformers = crd
      ? namespaces.map((namespace) =>
        makeInformer<WorkflowRecord>({
          resource: "workflows",
          ...workflowListWatch(workflowApi, namespace),
          silenceLimit: settings.watchSilenceLimit,
          onSynced,
          onUpsert: (wf, previous) => tell((h) => h.workflowUpserted(wf, previous)),
          onDelete: (wf) => tell((h) => h.workflowDeleted(wf))
        })
      )
      : []

    // ---- pods, indexed by workflow ------------------------------------------------------------
    /** `namespace/workflow` → the names of its cached pods (in the workflow's namespace). */
    const podsByWorkflow = new Map<string, Set<string>>()
    const workflowOf = (pod: Pod) => {
      const wf = pod.metadata.labels[LabelKeyWorkflow]
      return wf === undefined ? undefined : `${pod.metadata.namespace}/${wf}`
    }
    const podInformers = namespaces.map((namespace) =>
      makeInformer<Pod>({
        resource: "pods",
        ...podListWatch(podApi, namespace, settings.labelSelector),
        silenceLimit: settings.watchSilenceLimit,
        onSynced,
        onUpsert: (pod) =>
          Effect.suspend(() => {
            const wf = workflowOf(pod)
            if (wf !== undefined) {
              let set = podsByWorkflow.get(wf)
              if (set === undefined) podsByWorkflow.set(wf, set = new Set())
              set.add(pod.metadata.name)
            }
            return tell((h) => h.podUpserted(pod))
          }),
        onDelete: (pod) =>
          Effect.suspend(() => {
            const wf = workflowOf(pod)
            if (wf !== undefined) {
              const set = podsByWorkflow.get(wf)
              set?.delete(pod.metadata.name)
              if (set?.size === 0) podsByWorkflow.delete(wf)
            }
            return tell((h) => h.podDeleted(pod))
          })
      })
    )
    const podCaches: ReadonlyArray<InformerCache<Pod>> = podInformers.map((i) => i.cache)
    const podByName = (namespace: string, name: string) => {
      for (const cache of podCaches) {
        const pod = cache.getByName(namespace, name)
        if (pod !== undefined) return pod
      }
      return undefined
    }

    const loops: Array<Fiber.Fiber<unknown, unknown>> = []
    for (const informer of [...workflowInformers, ...podInformers]) loops.push(yield* Effect.forkScoped(informer.run))

    const synced = () => podInformers.every((i) => i.cache.synced()) && workflowInformers.every((i) => i.cache.synced())
    return ClusterCache.of({
      workflowCrd: crd,
      pod: podByName,
      pods: () => podCaches.flatMap((cache) => [...cache.values()]),
      podsOfWorkflow: (namespace, workflow) => {
        const out: Array<Pod> = []
        for (const name of podsByWorkflow.get(`${namespace}/${workflow}`) ?? []) {
          const pod = podByName(namespace, name)
          if (pod !== undefined) out.push(pod)
        }
        return out
      },
      workflow: (namespace, name) => {
        const informer = workflowInformers.find((_, i) => namespaces[i] === undefined || namespaces[i] === namespace)
        return informer?.cache.getByName(namespace, name)
      },
      synced,
      awaitSynced: Deferred.await(allSynced),
      addHandler: (handler) =>
        Effect.asVoid(Effect.acquireRelease(
          Effect.sync(() => handlers.add(handler)),
          () => Effect.sync(() => handlers.delete(handler))
        )),
      health: (now) => {
        // A watch that delivers no event for too long (bookmarks only: a wedged watch cache) is
        // unhealthy until its relist check has run; the informer re-establishes it by itself.
        const staleWatches: Array<string> = []
        const informers = [...podInformers.map((i) => ["pods", i] as const), ...workflowInformers.map((i) => ["workflows", i] as const)]
        for (const [resource, informer] of informers) {
          const health = informer.cache.healthAt(now)
          if (health.stale) staleWatches.push(`watch ${resource}: no event for ${Math.round((health.lastEventAgeMs ?? 0) / 1000)} s, relisting`)
        }
        return {
          synced: synced(),
          loopsStopped: loops.filter((f) => f.pollUnsafe() !== undefined).length,
          staleWatches,
          podsKnown: podInformers.reduce((n, i) => n + i.cache.size(), 0),
          workflowsKnown: workflowInformers.reduce((n, i) => n + i.cache.size(), 0)
        }
      }
    })
  })
