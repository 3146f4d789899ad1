/**
 * The controller: watches pods and workflows, and while it leads, reconciles every pod it knows
 * into the engine (level-based: each pod's current state goes through the policy; the queue
 * deduplicates). Only the leader cleans: losing the lease closes the engine's scope, which
 * interrupts its workers at once. Shutdown stops intake, lets in-flight actions finish within the
 * shutdown grace, then interrupts them; the lease is released after that.
 */
import type * as k8s from "@kubernetes/client-node"
import { Clock, Context, Duration, Effect, type Fiber, Layer, Result } from "effect"
import { LabelKeyWorkflow } from "../domain/argo.ts"
import { workflowView } from "../domain/workflow.ts"
import { ActionRunner } from "../engine/ActionRunner.ts"
import { type Engine, makeEngine } from "../engine/Engine.ts"
import { EngineConfig } from "../engine/EngineSettings.ts"
import { Outcomes } from "../engine/Outcomes.ts"
import { WorkflowSource } from "../engine/WorkflowSource.ts"
import { KubeClient } from "../kube/KubeClient.ts"
import { PodApi } from "../kube/PodApi.ts"
import { type InformerCache, makeInformer } from "./informer.ts"
import { LeaderElection } from "./LeaderElection.ts"
import { listWorkflows, objectKey, podListWatch, type WorkflowObject, workflowListWatch } from "./sources.ts"

export interface ControllerSettings {
  /** Namespaces to watch; empty = all. */
  readonly namespaces: ReadonlyArray<string>
  readonly labelSelector: string
  readonly shutdownGrace: Duration.Duration
  /** A watch silent for this long is restarted (default 5 minutes). */
  readonly watchSilenceLimit?: Duration.Duration | undefined
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
  readonly queue: { readonly ready: number; readonly delayed: number; readonly processing: number } | undefined
  readonly detail: ReadonlyArray<string>
}

export class Controller extends Context.Service<Controller, {
  readonly status: () => ControllerStatus
  /** The engine of the current leadership term, if leading. */
  readonly engine: () => Engine["Service"] | undefined
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
    const workflowOf = (pod: k8s.V1Pod) => {
      const wf = pod.metadata?.labels?.[LabelKeyWorkflow]
      return wf === undefined ? undefined : `${pod.metadata?.namespace ?? ""}/${wf}`
    }

    const submit = (pod: unknown) => (accepting && engine !== undefined ? Effect.asVoid(engine.reconcile(pod)) : Effect.void)

    // ---- workflows ----------------------------------------------------------------------------
    const crd = yield* workflowCrdPresent(client, namespaces[0])
    if (!crd) {
      yield* Effect.logWarning(
        "the Argo Workflow CRD (workflows.argoproj.io/v1alpha1) is not installed: workflow-level PodGC strategies " +
          "(OnWorkflowCompletion, OnWorkflowSuccess) will never be satisfied; pods follow their pod-gc-strategy annotation"
      )
    }
    const podCaches: Array<InformerCache<k8s.V1Pod>> = []
    const reconcileWorkflowPods = (wfKey: string) =>
      Effect.gen(function*() {
        for (const podKey of podsByWorkflow.get(wfKey) ?? []) {
          for (const cache of podCaches) {
            const pod = cache.get(podKey)
            if (pod !== undefined) yield* submit(pod)
          }
        }
      })
    const workflowInformers = crd
      ? namespaces.map((namespace) =>
        makeInformer<WorkflowObject>({
          resource: "workflows",
          ...workflowListWatch(client, namespace),
          keyOf: objectKey,
          silenceLimit: settings.watchSilenceLimit,
          onUpsert: (wf, previous) =>
            previous !== undefined && sameForPolicy(wf, previous) ? Effect.void : reconcileWorkflowPods(objectKey(wf)),
          onDelete: (wf) => reconcileWorkflowPods(objectKey(wf))
        })
      )
      : []
    const apiWorkflows = yield* WorkflowSource.useSync((s) => s).pipe(Effect.provide(WorkflowSource.layerFromApi()))
    const workflows = WorkflowSource.of({
      lookup: (namespace, name) => {
        if (!crd) return Effect.succeed(undefined)
        const key = `${namespace}/${name}`
        const informer = workflowInformers.find((_, i) => namespaces[i] === undefined || namespaces[i] === namespace)
        const raw = informer?.cache.get(key)
        if (raw !== undefined) return Effect.succeed(workflowView(raw, clock.currentTimeMillisUnsafe()))
        // Not in the cache is not "gone": the cache lags behind while its watch is slow, silent or
        // reconnecting, and a pod can be seen before its workflow. Only the API server can say the
        // workflow is gone (404 → undefined); a failure stays a failure (WorkflowSource's contract).
        return apiWorkflows.lookup(namespace, name)
      }
    })

    // ---- pods ---------------------------------------------------------------------------------
    const podInformers = namespaces.map((namespace) =>
      makeInformer<k8s.V1Pod>({
        resource: "pods",
        ...podListWatch(pods, namespace, settings.labelSelector),
        keyOf: objectKey,
        silenceLimit: settings.watchSilenceLimit,
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
          Effect.sync(() => {
            const wf = workflowOf(pod)
            if (wf === undefined) return
            const set = podsByWorkflow.get(wf)
            set?.delete(objectKey(pod))
            if (set?.size === 0) podsByWorkflow.delete(wf)
          })
      })
    )
    for (const informer of podInformers) podCaches.push(informer.cache)

    const loops: Array<Fiber.Fiber<unknown, unknown>> = []
    for (const informer of [...workflowInformers, ...podInformers]) loops.push(yield* Effect.forkScoped(informer.run))

    // ---- leadership: the engine exists only while leading ---------------------------------------
    const runnerContext = yield* Layer.build(ActionRunner.layer.pipe(Layer.provide(Layer.succeed(WorkflowSource, workflows))))
    const outcomes = yield* Outcomes
    const whileLeader = Effect.scoped(
      Effect.gen(function*() {
        const term = yield* makeEngine({ reconcileAfterKill: false }).pipe(
          Effect.provide(runnerContext),
          Effect.provideService(WorkflowSource, workflows),
          Effect.provideService(Outcomes, outcomes),
          Effect.provideService(EngineConfig, engineSettings),
          Effect.provideService(PodApi, pods)
        )
        engine = term
        yield* Effect.addFinalizer(() => Effect.sync(() => engine = undefined))
        yield* Effect.logInfo("leading: reconciling every known pod")
        for (const cache of podCaches) for (const pod of [...cache.values()]) yield* submit(pod)
        return yield* Effect.never
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
      status: () => {
        const detail: Array<string> = []
        const synced = podInformers.every((i) => i.cache.synced()) && workflowInformers.every((i) => i.cache.synced())
        if (!synced) detail.push("caches not synced yet")
        const deadLoops = loops.filter((f) => f.pollUnsafe() !== undefined).length
        if (deadLoops > 0) detail.push(`${deadLoops} loop(s) stopped`)
        const workersDown = engine !== undefined && engine.workersAlive() < engineSettings.workers
        if (workersDown) detail.push("engine workers stopped")
        return {
          synced,
          alive: deadLoops === 0 && !workersDown,
          leader: leadership.isLeader(),
          workflowCrd: crd,
          podsKnown: podInformers.reduce((n, i) => n + i.cache.size(), 0),
          workflowsKnown: workflowInformers.reduce((n, i) => n + i.cache.size(), 0),
          queue: engine?.depth(),
          detail
        }
      }
    })
  })

/** Whether the parts of a workflow the policy reads are unchanged (status churn is ignored). */
const sameForPolicy = (a: WorkflowObject, b: WorkflowObject): boolean => {
  const pick = (w: WorkflowObject) =>
    JSON.stringify([
      (w.status as { phase?: unknown } | undefined)?.phase,
      (w.spec as { podGC?: unknown; shutdown?: unknown } | undefined)?.podGC,
      (w.spec as { shutdown?: unknown } | undefined)?.shutdown
    ])
  return pick(a) === pick(b)
}

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
