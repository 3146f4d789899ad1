/**
 * The controller: watches pods and workflows (decoded once into compact records), and while it
 * leads, asks the engine to decide every pod it knows once every cache has synced, again whenever
 * the pod changes or a node of its workflow it waits on changes, and at every resync (level-based:
 * each pod's current state goes through `decidePod`; the queues deduplicate). Only the leader cleans: losing the lease closes the engine's scope, which
 * interrupts its workers at once. Shutdown stops intake, lets in-flight actions finish within the
 * shutdown grace, then interrupts them; the lease is released after that.
 */
import { Clock, Context, Deferred, Duration, Effect, type Fiber, Layer, Random, Result } from "effect"
import { LabelKeyWorkflow } from "../domain/argo.ts"
import type { Pod } from "../domain/Pod.ts"
import { podNodeId } from "../domain/policy.ts"
import { changedNodeIds, workflowFieldsEqual, type WorkflowRecord, workflowInputsEqual } from "../domain/workflow.ts"
import { PodCache } from "../engine/PodCache.ts"
import { ActionRunner } from "../engine/ActionRunner.ts"
import { type Engine, makeEngine, type PlanResult } from "../engine/Engine.ts"
import { EngineConfig } from "../engine/EngineSettings.ts"
import { Outcomes } from "../engine/Outcomes.ts"
import { WorkflowSource } from "../engine/WorkflowSource.ts"
import { KubeClient } from "../kube/KubeClient.ts"
import { PodApi } from "../kube/PodApi.ts"
import { type InformerCache, makeInformer } from "./informer.ts"
import { LeaderElection } from "./LeaderElection.ts"
import { listWorkflows, objectKey, podListWatch, workflowListWatch } from "./sources.ts"

export interface ControllerSettings {
  /** Namespaces to watch; empty = all. */
  readonly namespaces: ReadonlyArray<string>
  readonly labelSelector: string
  readonly shutdownGrace: Duration.Duration
  /** A watch silent for this long is restarted (default 5 minutes). */
  readonly watchSilenceLimit?: Duration.Duration | undefined
  /**
   * While leading, every cached pod is decided again this often (jittered ±10 %), so actions that
   * were given up on are tried again once their cause is gone. Default 5 minutes; 0 turns it off.
   */
  readonly resyncPeriod?: Duration.Duration | undefined
  /** Only pods whose `namespace/name` passes are decided (the one-shot pass: the pods listed at its start). */
  readonly podFilter?: ((key: string) => boolean) | undefined
  /** Called with every decision the engine makes (the one-shot pass follows its pods with it). */
  readonly onDecision?: ((result: PlanResult) => void) | undefined
}

export interface ControllerStatus {
  /** Every cache has listed once (readiness). */
  readonly synced: boolean
  /** Every loop is running: informers, the leadership loop, and the engine's workers while leading. */
  readonly alive: boolean
  readonly leader: boolean
  readonly workflowCrd: boolean
  readonly podsKnown: number
  readonly workflowsKnown: number
  /** Pods whose cleanup waits for Argo to record their node. */
  readonly waitingForArgo: number
  readonly queue: { readonly ready: number; readonly delayed: number; readonly processing: number } | undefined
  readonly detail: ReadonlyArray<string>
}

export class Controller extends Context.Service<Controller, {
  readonly status: () => ControllerStatus
  /** The engine of the current leadership term, if leading. */
  readonly engine: () => Engine["Service"] | undefined
  /** Whether the pod cache holds `namespace/name` (the pod exists and matches the selector). */
  readonly knowsPod: (key: string) => boolean
}>()("pod-cleanup/Controller") {
  static readonly layer = (settings: ControllerSettings) => Layer.effect(Controller, Effect.suspend(() => makeController(settings)))
}

const makeController = (settings: ControllerSettings) =>
  Effect.gen(function*() {
    const client = yield* KubeClient
    const pods = yield* PodApi
    const engineSettings = yield* EngineConfig
    const leadership = yield* LeaderElection
    const clock = yield* Clock.Clock
    const namespaces: ReadonlyArray<string | undefined> = settings.namespaces.length === 0 ? [undefined] : settings.namespaces

    let engine: Engine["Service"] | undefined
    let accepting = true
    const podsByWorkflow = new Map<string, Set<string>>()
    const workflowOf = (pod: Pod) => {
      const wf = pod.metadata.labels[LabelKeyWorkflow]
      return wf === undefined ? undefined : `${pod.metadata.namespace}/${wf}`
    }

    /**
     * Every cache has listed once (client-go's WaitForCacheSync): until then no pod is decided, so a
     * pod is never decided against a workflow cache that is still filling.
     */
    const allSynced = Deferred.makeUnsafe<void>()
    const cachesSynced = () => Deferred.isDoneUnsafe(allSynced)
    const onSynced = () =>
      Effect.sync(() => {
        if ([...podInformers, ...workflowInformers].every((i) => i.cache.synced())) Deferred.doneUnsafe(allSynced, Effect.void)
      })

    const inScope = settings.podFilter ?? (() => true)
    /** Informer handlers only enqueue: the decision runs on the engine's fibers, from the cache. */
    const submit = (pod: Pod) =>
      !accepting || engine === undefined || !cachesSynced() || !inScope(objectKey(pod))
        ? Effect.void
        : engine.enqueue(pod.metadata.namespace, pod.metadata.name)

    // ---- workflows ----------------------------------------------------------------------------
    const crd = yield* workflowCrdPresent(client, namespaces[0])
    if (!crd) {
      yield* Effect.logWarning(
        "the Argo Workflow CRD (workflows.argoproj.io/v1alpha1) is not installed: workflow-level PodGC strategies " +
          "(OnWorkflowCompletion, OnWorkflowSuccess) will never be satisfied; pods follow their pod-gc-strategy annotation"
      )
    }
    const podCaches: Array<InformerCache<Pod>> = []
    /** Decides the workflow's pods again: all of them, or those whose node changed. */
    const reconcileWorkflowPods = (wfKey: string, nodes: ReadonlySet<string> | "all" = "all") =>
      Effect.gen(function*() {
        if (nodes !== "all" && nodes.size === 0) return
        const workflow = wfKey.slice(wfKey.indexOf("/") + 1)
        for (const podKey of podsByWorkflow.get(wfKey) ?? []) {
          for (const cache of podCaches) {
            const pod = cache.get(podKey)
            if (pod === undefined) continue
            if (nodes !== "all") {
              const id = podNodeId(pod, workflow)
              // A pod without a node ID waits for the workflow's phase: only "all" concerns it.
              if (id === undefined || !nodes.has(id)) continue
            }
            yield* submit(pod)
          }
        }
      })
    /** What changed for the policy between two records of a workflow: nothing, some nodes, or all. */
    const workflowChange = (wf: WorkflowRecord, previous: WorkflowRecord | undefined): ReadonlySet<string> | "all" => {
      if (previous === undefined) return "all"
      if (workflowInputsEqual(wf, previous)) return new Set()
      return workflowFieldsEqual(wf, previous) ? changedNodeIds(previous, wf) : "all"
    }
    const workflowInformers = crd
      ? namespaces.map((namespace) =>
        makeInformer<WorkflowRecord>({
          resource: "workflows",
          ...workflowListWatch(client, namespace),
          silenceLimit: settings.watchSilenceLimit,
          onSynced: () => onSynced(),
          onUpsert: (wf, previous) => reconcileWorkflowPods(objectKey(wf), workflowChange(wf, previous)),
          onDelete: (wf) => reconcileWorkflowPods(objectKey(wf))
        })
      )
      : []
    const apiWorkflows = yield* WorkflowSource.useSync((s) => s).pipe(Effect.provide(WorkflowSource.layerFromApi()))
    const workflows = WorkflowSource.of({
      lookup: (namespace, name) => {
        if (!crd) return Effect.succeed({ _tag: "Gone", reason: "the Workflow CRD is not installed" } as const)
        const informer = workflowInformers.find((_, i) => namespaces[i] === undefined || namespaces[i] === namespace)
        const cached = informer?.cache.getByName(namespace, name)
        if (cached !== undefined) return Effect.succeed({ _tag: "Known", workflow: cached } as const)
        // Not in the cache is not "gone": the cache lags behind while its watch is slow, silent or
        // reconnecting, and a pod can be seen before its workflow. Only the API server can say the
        // workflow is gone (404); a failure stays a failure (WorkflowSource's contract).
        return apiWorkflows.lookup(namespace, name)
      }
    })

    // ---- pods ---------------------------------------------------------------------------------
    const podInformers = namespaces.map((namespace) =>
      makeInformer<Pod>({
        resource: "pods",
        ...podListWatch(pods, namespace, settings.labelSelector),
        silenceLimit: settings.watchSilenceLimit,
        onSynced,
        onUpsert: (pod) =>
          Effect.suspend(() => {
            const wf = workflowOf(pod)
            if (wf !== undefined) {
              let set = podsByWorkflow.get(wf)
              if (set === undefined) podsByWorkflow.set(wf, set = new Set())
              set.add(objectKey(pod))
            }
            return submit(pod)
          }),
        onDelete: (pod) =>
          Effect.suspend(() => {
            const wf = workflowOf(pod)
            if (wf !== undefined) {
              const set = podsByWorkflow.get(wf)
              set?.delete(objectKey(pod))
              if (set?.size === 0) podsByWorkflow.delete(wf)
            }
            return engine === undefined ? Effect.void : engine.forget(pod.metadata.namespace, pod.metadata.name)
          })
      })
    )
    for (const informer of podInformers) podCaches.push(informer.cache)

    const loops: Array<Fiber.Fiber<unknown, unknown>> = []
    for (const informer of [...workflowInformers, ...podInformers]) loops.push(yield* Effect.forkScoped(informer.run))

    // ---- leadership: the engine exists only while leading ---------------------------------------
    const podCache = PodCache.of({
      get: (namespace, name) => {
        for (const cache of podCaches) {
          const pod = cache.getByName(namespace, name)
          if (pod !== undefined) return pod
        }
        return undefined
      }
    })
    const runnerContext = yield* Layer.build(
      ActionRunner.layer.pipe(Layer.provide(Layer.mergeAll(Layer.succeed(WorkflowSource, workflows), Layer.succeed(PodCache, podCache))))
    )
    const outcomes = yield* Outcomes
    const whileLeader = Effect.scoped(
      Effect.gen(function*() {
        const term = yield* makeEngine({ reconcileAfterKill: false, onDecision: settings.onDecision }).pipe(
          Effect.provide(runnerContext),
          Effect.provideService(PodCache, podCache),
          Effect.provideService(WorkflowSource, workflows),
          Effect.provideService(Outcomes, outcomes),
          Effect.provideService(EngineConfig, engineSettings),
          Effect.provideService(PodApi, pods)
        )
        engine = term
        yield* Effect.addFinalizer(() => Effect.sync(() => engine = undefined))
        yield* Deferred.await(allSynced)
        yield* Effect.logInfo("leading: reconciling every known pod")
        const everyPod = Effect.gen(function*() {
          for (const cache of podCaches) for (const pod of [...cache.values()]) yield* submit(pod)
        })
        yield* everyPod
        const resyncMs = Duration.toMillis(settings.resyncPeriod ?? Duration.minutes(5))
        if (resyncMs <= 0) return yield* Effect.never
        // The level-based safety net: every pod is decided again now and then, so what was given
        // up on (a partition longer than the retries, a burst of errors) converges once it passes.
        return yield* Effect.forever(
          Effect.gen(function*() {
            yield* Effect.sleep(Duration.millis(resyncMs * (0.9 + 0.2 * (yield* Random.next))))
            yield* Effect.logDebug("resync: deciding every known pod again")
            yield* everyPod
          })
        )
      })
    )
    const leaderLoop = yield* Effect.forkScoped(leadership.run(whileLeader))
    loops.push(leaderLoop)

    // Shutdown (runs before the loops above are interrupted): stop intake, drain within the grace.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        accepting = false
        if (engine !== undefined) {
          yield* Effect.logInfo(`shutting down: letting running actions finish (at most ${Duration.format(settings.shutdownGrace)})`)
          yield* engine.drain(settings.shutdownGrace)
        }
      })
    )

    return Controller.of({
      engine: () => engine,
      knowsPod: (key) => podCaches.some((cache) => cache.get(key) !== undefined),
      status: () => {
        const detail: Array<string> = []
        const synced = podInformers.every((i) => i.cache.synced()) && workflowInformers.every((i) => i.cache.synced())
        if (!synced) detail.push("caches not synced yet")
        const deadLoops = loops.filter((f) => f.pollUnsafe() !== undefined).length
        if (deadLoops > 0) detail.push(`${deadLoops} loop(s) stopped`)
        const workersDown = engine !== undefined && engine.workersAlive() < engineSettings.workers
        if (workersDown) detail.push("engine workers stopped")
        // A watch that delivers no event for too long (bookmarks only: a wedged watch cache) is
        // unhealthy until its relist check has run; the informer re-establishes it by itself.
        const now = clock.currentTimeMillisUnsafe()
        const informers = [...podInformers.map((i) => ["pods", i] as const), ...workflowInformers.map((i) => ["workflows", i] as const)]
        let stale = 0
        for (const [resource, informer] of informers) {
          const health = informer.cache.healthAt(now)
          if (health.stale) {
            stale++
            detail.push(`watch ${resource}: no event for ${Math.round((health.lastEventAgeMs ?? 0) / 1000)} s, relisting`)
          }
        }
        return {
          synced,
          alive: deadLoops === 0 && !workersDown && stale === 0,
          leader: leadership.isLeader(),
          workflowCrd: crd,
          podsKnown: podInformers.reduce((n, i) => n + i.cache.size(), 0),
          workflowsKnown: workflowInformers.reduce((n, i) => n + i.cache.size(), 0),
          waitingForArgo: engine?.waiting().size ?? 0,
          queue: engine?.depth(),
          detail
        }
      }
    })
  })

/** Lists one workflow to learn whether the CRD is installed (404 = absent). */
const workflowCrdPresent = (client: KubeClient["Service"], namespace: string | undefined) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 3; attempt++) {
      const probe = yield* Effect.result(listWorkflows(client, namespace, { limit: 1 }))
      if (Result.isSuccess(probe)) return true
      if (probe.failure._tag === "KubeNotFoundError") return false
      if (probe.failure._tag === "KubeForbiddenError") {
        yield* Effect.logError(`cannot list workflows: ${probe.failure.message} (check the RBAC rules)`)
        return false
      }
      yield* Effect.sleep(Duration.seconds(1))
    }
    // Unknown after retries: assume present; the informer keeps trying.
    return true
  })
