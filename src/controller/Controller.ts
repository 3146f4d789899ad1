/**
 * The controller: while it leads, it runs the engine (one per leadership term, made in the term's
 * scope from the context: `Engine.make`) and asks it to decide every pod the `ClusterCache` holds
 * once every cache has synced, again whenever the pod changes or a node of its workflow it waits
 * on changes, and at every resync (level-based: each pod's current state goes through
 * `decidePod`; the queues deduplicate). Only the leader cleans: losing the lease closes the
 * engine's scope, which interrupts its workers at once. Shutdown stops intake, lets in-flight
 * actions finish within the shutdown grace, then interrupts them; the lease is released after that.
 * It composes nothing: `controllerLayer` (PodCleanup.ts) gives it its cache and the engine's services.
 */
import { Clock, Context, Duration, Effect, type Fiber, Layer, Random } from "effect"
import { podNodeId } from "../domain/policy.ts"
import type { Pod } from "../domain/Pod.ts"
import { changedNodeIds, workflowFieldsEqual, type WorkflowRecord, workflowInputsEqual } from "../domain/workflow.ts"
import { Engine, type PlanResult } from "../engine/Engine.ts"
import { EngineConfig, workerCount } from "../engine/EngineSettings.ts"
import { ClusterCache } from "./ClusterCache.ts"
import { LeaderElection } from "./LeaderElection.ts"
import { objectKey } from "./sources.ts"

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
    const cluster = yield* ClusterCache
    const engineSettings = yield* EngineConfig
    const leadership = yield* LeaderElection
    const clock = yield* Clock.Clock

    let engine: Engine["Service"] | undefined
    let accepting = true

    const podFilter = settings.podFilter
    const inScope = (pod: Pod) => podFilter === undefined || podFilter(objectKey(pod))
    /**
     * Informer handlers only enqueue: the decision runs on the engine's fibers, from the cache. Until
     * every cache has listed once no pod is decided, so a pod is never decided against a workflow
     * cache that is still filling.
     */
    const submit = (pod: Pod) =>
      !accepting || engine === undefined || !cluster.synced() || !inScope(pod)
        ? Effect.void
        : engine.enqueue(pod.metadata.namespace, pod.metadata.name)

    /** Decides the workflow's pods again: all of them, or those whose node changed. */
    const reconcileWorkflowPods = (wf: WorkflowRecord, nodes: ReadonlySet<string> | "all" = "all") =>
      Effect.gen(function*() {
        if (nodes !== "all" && nodes.size === 0) return
        for (const pod of cluster.podsOfWorkflow(wf.metadata.namespace, wf.metadata.name)) {
          if (nodes !== "all") {
            const id = podNodeId(pod, wf.metadata.name)
            // A pod without a node ID waits for the workflow's phase: only "all" concerns it.
            if (id === undefined || !nodes.has(id)) continue
          }
          yield* submit(pod)
        }
      })
    /** What changed for the policy between two records of a workflow: nothing, some nodes, or all. */
    const workflowChange = (wf: WorkflowRecord, previous: WorkflowRecord | undefined): ReadonlySet<string> | "all" => {
      if (previous === undefined) return "all"
      if (workflowInputsEqual(wf, previous)) return new Set()
      return workflowFieldsEqual(wf, previous) ? changedNodeIds(previous, wf) : "all"
    }
    yield* cluster.addHandler({
      podUpserted: submit,
      podDeleted: (pod) => engine === undefined ? Effect.void : engine.forget(pod.metadata.namespace, pod.metadata.name),
      workflowUpserted: (wf, previous) => reconcileWorkflowPods(wf, workflowChange(wf, previous)),
      workflowDeleted: (wf) => reconcileWorkflowPods(wf)
    })

    // ---- leadership: the engine exists only while leading ---------------------------------------
    const whileLeader = Effect.scoped(
      Effect.gen(function*() {
        const term = yield* Engine.make({ onDecision: settings.onDecision })
        engine = term
        yield* Effect.addFinalizer(() => Effect.sync(() => engine = undefined))
        yield* cluster.awaitSynced
        yield* Effect.logInfo("leading: reconciling every known pod")
        // Paced on the intake fibers (`enqueueAll`): the queue never holds every cached pod at once.
        const everyPod = Effect.suspend(() =>
          term.enqueueAll(
            (function*() {
              for (const pod of cluster.pods()) {
                if (!accepting) return
                if (inScope(pod)) yield pod.metadata
              }
            })()
          )
        )
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
    const leaderLoop: Fiber.Fiber<unknown, unknown> = yield* Effect.forkScoped(leadership.run(whileLeader))

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
      knowsPod: (key) => {
        const slash = key.indexOf("/")
        return cluster.pod(key.slice(0, slash), key.slice(slash + 1)) !== undefined
      },
      status: () => {
        const cache = cluster.health(clock.currentTimeMillisUnsafe())
        const detail: Array<string> = []
        if (!cache.synced) detail.push("caches not synced yet")
        const deadLoops = cache.loopsStopped + (leaderLoop.pollUnsafe() !== undefined ? 1 : 0)
        if (deadLoops > 0) detail.push(`${deadLoops} loop(s) stopped`)
        const workersDown = engine !== undefined && engine.workersAlive() < workerCount(engineSettings)
        if (workersDown) detail.push("engine workers stopped")
        detail.push(...cache.staleWatches)
        return {
          synced: cache.synced,
          alive: deadLoops === 0 && !workersDown && cache.staleWatches.length === 0,
          leader: leadership.isLeader(),
          workflowCrd: cluster.workflowCrd,
          podsKnown: cache.podsKnown,
          workflowsKnown: cache.workflowsKnown,
          waitingForArgo: engine?.waiting().size ?? 0,
          queue: engine?.depth(),
          detail
        }
      }
    })
  })
