/**
 * The cleanup engine: deduplicating, time-aware queues drained by bounded pools of worker fibers,
 * fed by intake fibers that decide pods (`decidePod`) from the cache as informers ask for them.
 * Actions run in two lanes, each a queue with its own pool: the signals (SIGTERM, SIGKILL: execs,
 * `workers`, default 4) and the actions that need only the API (label, delete, finalizer removal:
 * `apiWorkers`, default 4), so a label or a delete never waits behind execs, however slow or hung
 * (with `apiWorkers` 0 one pool runs both, as Argo's does). Every action that enters it ends in a
 * recorded outcome; a requeue (a busy node, a timed-out exec to retry), a retryable failure (with
 * backoff, a bounded number of times) and follow-ups (SIGKILL after the grace period, a delayed
 * delete) go back through their lane's queue, so a worker never sleeps on a delay. Every action
 * carries the UID of the pod it was decided for.
 * Closing the engine's scope interrupts the workers (their sockets close with their scopes) and
 * records every action that did not run as skipped.
 */
import { Clock, Context, Deferred, Duration, Effect, Fiber, Layer, Metric, Random, Result, Scope } from "effect"
import { actionKey, type ActionRequest } from "../domain/Action.ts"
import { LabelKeyWorkflow } from "../domain/argo.ts"
import { decodePod, type Pod, podKey, runningContainers } from "../domain/Pod.ts"
import { type Decision, decidePod, type WorkflowContext } from "../domain/policy.ts"
import type { KubeClient } from "../kube/KubeClient.ts"
import { PodApi } from "../kube/PodApi.ts"
import { PodExec } from "../kube/PodExec.ts"
import { ActionRunner, type QueuedAction } from "./ActionRunner.ts"
import { ApiRateLimiter } from "./ApiRateLimiter.ts"
import { EventRecorder, EventSubject, podRef, workflowRef } from "./EventRecorder.ts"
import { outcomeEvent } from "./outcomeEvents.ts"
import { PodCache } from "./PodCache.ts"
import { defaultEngineSettings, EngineConfig, type EngineSettings, workerCount } from "./EngineSettings.ts"
import { ActionQueueName, ApiActionQueueName, longestRunningSeconds, podsWaitingForArgo, queueDepth, retriesTotal, workersBusy } from "../metrics.ts"
import { NodeGuard, nodeGuardSettingsOf } from "./NodeGuard.ts"
import { type Outcome, Outcomes } from "./Outcomes.ts"
import { makeWorkQueue, type QueueDepth, type WorkQueue } from "./WorkQueue.ts"
import { WorkflowSource } from "./WorkflowSource.ts"

export interface EngineOptions {
  /**
   * After a pod's containers were killed, read it again and queue what the policy now says
   * (label or delete): for a driver without a pod watch (`Engine.layerStandalone`, where it is on
   * by default). The controller learns the same from its watch and leaves it off.
   */
  readonly reconcileAfterKill?: boolean | undefined
  /** Called with every decision made for a pod enqueued with `enqueue` (the one-shot pass follows its pods with it). */
  readonly onDecision?: ((result: PlanResult) => void) | undefined
}

/** Pods of a sweep waiting for an intake fiber at once (a few milliseconds of decisions). */
export const IntakeSweepBacklog = 64

export interface PlanResult {
  readonly pod: string
  readonly namespace: string
  readonly decision: Decision | { readonly _tag: "Malformed"; readonly reason: string }
}

export class Engine extends Context.Service<Engine, {
  /** Queues an action (deduplicated by key), due after `delay`. */
  readonly submit: (request: ActionRequest, delay?: Duration.Duration) => Effect.Effect<boolean>
  /** Decides what a pod needs now and queues it (level-based: the pod's state, not an event). */
  readonly reconcile: (raw: unknown) => Effect.Effect<PlanResult>
  /**
   * Asks for the pod to be decided again soon, from `PodCache`, on the engine's own fibers
   * (deduplicated: many events for one pod make one decision). What informer handlers call.
   */
  readonly enqueue: (namespace: string, name: string) => Effect.Effect<void>
  /**
   * `enqueue` for many pods (a sweep over every cached pod: leadership's start, a resync), paced on
   * the intake fibers: at most `IntakeSweepBacklog` of them wait at once, so a sweep over 100 000
   * pods never holds them all in the queue.
   */
  readonly enqueueAll: (pods: Iterable<{ readonly namespace: string; readonly name: string }>) => Effect.Effect<void>
  /** Decides what a pod needs now without queueing anything (a dry run). */
  readonly plan: (raw: unknown) => Effect.Effect<PlanResult>
  /** Forgets a pod that is gone (its wait for Argo, its queued follow-ups stay to find it gone). */
  readonly forget: (namespace: string, pod: string) => Effect.Effect<void>
  /** Pods whose cleanup waits for Argo to record their node (or for their workflow to appear). */
  readonly waiting: () => ReadonlyMap<string, string>
  /** `namespace/pod` of every pod with an action queued, delayed or running. */
  readonly activePods: () => ReadonlySet<string>
  readonly depth: () => QueueDepth
  readonly busyWorkers: () => number
  /**
   * Worker fibers still alive, of `workerCount(settings)` (for health checks: a dead loop is not a
   * healthy engine).
   */
  readonly workersAlive: () => number
  /** Waits until nothing is queued, delayed or running. */
  readonly awaitIdle: Effect.Effect<void>
  /**
   * Stops handing out work and waits (at most `grace`) for the actions in flight to finish. What
   * is still running after that is interrupted when the engine's scope closes.
   */
  readonly drain: (grace: Duration.Duration) => Effect.Effect<void>
}>()("pod-cleanup/Engine") {
  /**
   * The engine for the current scope, taking everything it needs from the context: its workers
   * run until the scope closes (a leadership term, a test, a one-shot pass). `Engine.layerServices`
   * provides all of it but the pod and workflow sources.
   */
  static readonly make = (options: EngineOptions = {}): Effect.Effect<Engine["Service"], never, Scope.Scope | EngineDependencies> =>
    makeEngine(options)

  /**
   * What the engine runs on besides its pod and workflow sources: settings, the ledger, the node
   * guard, the API rate limit, pod access, the exec primitive and the action runner. The service
   * and the standalone engine both build on this one layer, so a new dependency is added here.
   */
  static readonly layerServices = (settings: EngineSettings): Layer.Layer<EngineServices, never, KubeClient | WorkflowSource | PodCache> =>
    ActionRunner.layer.pipe(
      Layer.provideMerge(Layer.mergeAll(
        EngineConfig.layer(settings),
        Outcomes.layer(),
        NodeGuard.layer(nodeGuardSettingsOf(settings)),
        ApiRateLimiter.layer(settings.apiQps, settings.apiBurst),
        PodApi.layer,
        PodExec.layer({ timeout: settings.execTimeout })
      ))
    )

  /**
   * The engine on its own, for a driver without a controller (tests, custom drivers, the dry run
   * of `once`): everything below it for a given `KubeClient`, no pod cache (every pod is read from
   * the API), and, unless `options` say otherwise, `reconcileAfterKill` (no pod watch tells it what
   * a pod needs after its kill). `workflows` defaults to reading them from the API; pass
   * `WorkflowSource.layerStatic(...)` to supply them.
   *
   * @example
   * ```ts
   * const report = yield* cleanOnce(pods).pipe(
   *   Effect.provide(Engine.layerStandalone({ workers: 8 }).pipe(Layer.provide(kubeClientLayer())))
   * )
   * ```
   */
  static readonly layerStandalone = (
    settings: Partial<EngineSettings> = {},
    options: EngineOptions = { reconcileAfterKill: true },
    workflows?: Layer.Layer<WorkflowSource, never, KubeClient>
  ): Layer.Layer<Engine | EngineServices | WorkflowSource | PodCache, never, KubeClient> =>
    Layer.effect(Engine, Engine.make(options)).pipe(
      Layer.provideMerge(Engine.layerServices({ ...defaultEngineSettings, ...settings })),
      Layer.provideMerge(Layer.merge(workflows ?? WorkflowSource.layerFromApi(), PodCache.none))
    )
}

/**
 * What `Engine.layerServices` provides. A service the engine comes to need is added here and to
 * that layer, and nowhere else: every composition (the controller's, the standalone engine's)
 * builds on it.
 */
export type EngineServices = EngineConfig | Outcomes | NodeGuard | ApiRateLimiter | PodApi | PodExec | ActionRunner

/** What `Engine.make` takes from its context: the engine's services and its pod and workflow sources. */
export type EngineDependencies = EngineServices | PodCache | WorkflowSource

/** Whether an action signals containers (an exec, on the signal lane, bound by its node's slots). */
const usesExec = (action: ActionRequest["action"]) => action === "terminateContainers" || action === "killContainers"

const makeEngine = (options: EngineOptions) =>
  Effect.gen(function*() {
    const settings = yield* EngineConfig
    const runner = yield* ActionRunner
    const outcomes = yield* Outcomes
    const workflows = yield* WorkflowSource
    const pods = yield* PodApi
    const guard = yield* NodeGuard
    const clock = yield* Clock.Clock
    /** The signal lane (execs); the API lane is its own queue unless `apiWorkers` is 0. */
    const signals = yield* makeWorkQueue<QueuedAction>({ name: ActionQueueName })
    const apiLane = settings.apiWorkers > 0 ? yield* makeWorkQueue<QueuedAction>({ name: ApiActionQueueName }) : signals
    const lanes = apiLane === signals ? [signals] : [signals, apiLane]
    const laneOf = (action: ActionRequest["action"]) => usesExec(action) ? signals : apiLane
    /** Pods to decide again (keys `namespace/name`), read from the cache when their turn comes. */
    const intake = yield* makeWorkQueue<{ readonly namespace: string; readonly name: string }>({ name: `${ActionQueueName}_intake` })
    const cache = yield* PodCache
    const scope = yield* Scope.Scope
    const events = yield* EventRecorder
    const running = new Map<number, { readonly key: string; readonly since: number; readonly item: QueuedAction }>()
    let idleWaiters: Array<Deferred.Deferred<void>> = []
    const reconciles = new Map<string, number>()
    let draining = false
    let runningEmptyWaiters: Array<Deferred.Deferred<void>> = []
    const finishRunning = (id: number) => {
      running.delete(id)
      if (running.size > 0 || runningEmptyWaiters.length === 0) return
      // Take the list before waking anyone: a waiter that waits again goes on the new list.
      const woken = runningEmptyWaiters
      runningEmptyWaiters = []
      for (const waiter of woken) Deferred.doneUnsafe(waiter, Effect.void)
    }

    const depth = (): QueueDepth => {
      let ready = 0, delayed = 0, processing = 0
      for (const lane of lanes) {
        const d = lane.depth()
        ready += d.ready
        delayed += d.delayed
        processing += d.processing
      }
      return { ready, delayed, processing }
    }
    const total = () => {
      const d = depth()
      const i = intake.depth()
      return d.ready + d.delayed + d.processing + i.ready + i.delayed + i.processing + parked.size
    }
    const wakeIdle = () => {
      if (total() !== 0 || idleWaiters.length === 0) return
      const woken = idleWaiters
      idleWaiters = []
      for (const waiter of woken) Deferred.doneUnsafe(waiter, Effect.void)
    }

    const submit = (request: ActionRequest, delay: Duration.Duration = Duration.zero, node?: string) =>
      laneOf(request.action).add(actionKey(request), { request, attempt: 1, node }, clock.currentTimeMillisUnsafe() + Duration.toMillis(delay))

    /** Actions waiting in a node's line, so that they get an outcome if the engine stops first. */
    const parked = new Map<string, QueuedAction>()
    /**
     * Every exec slot of the action's node is taken: the action waits off the worker pool, in the
     * node's line (`NodeGuard.acquireSlot`), and the worker moves on at once. A freed slot is handed
     * to the first action in line, which goes back to the queue holding it; when the node's breaker
     * opens, the line goes back at once to fail fast. No API call is spent meanwhile, no timer
     * stands in for a wake-up, and pods on other nodes are never held up by it.
     */
    const park = (key: string, item: QueuedAction, node: string) =>
      Effect.forkIn(
        Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(Effect.result(restore(guard.acquireSlot(node))), (slot) =>
            Effect.gen(function*() {
              parked.delete(key)
              const held = Result.isSuccess(slot) ? slot.success : undefined
              const added = yield* signals.add(key, { ...item, slot: held }, clock.currentTimeMillisUnsafe())
              // The same action was queued meanwhile (a watch event): it goes instead, without the slot.
              if (!added && held !== undefined) yield* held.release
              wakeIdle()
            }))
        ),
        scope
      )
    const releaseSlot = (item: QueuedAction) => item.slot === undefined ? Effect.void : item.slot.release

    const workflowOf = (pod: Pod): Effect.Effect<WorkflowContext, string> => {
      const wf = pod.metadata.labels[LabelKeyWorkflow]
      if (wf === undefined) return Effect.succeed({ _tag: "Gone", reason: "not a workflow pod" })
      return Effect.mapError(workflows.lookup(pod.metadata.namespace, wf), (e) => `cannot read workflow ${wf}: ${e.message}`)
    }

    /** Pods waiting for Argo, with the reason; warnings about unreadable node status, once per workflow. */
    const waiting = new Map<string, string>()
    const warned = new Set<string>()

    const planPod = (pod: Pod): Effect.Effect<Decision> =>
      Effect.gen(function*() {
        const context = yield* Effect.result(workflowOf(pod))
        if (Result.isFailure(context)) return { _tag: "Wait", reason: context.failure } as const
        return decidePod(pod, context.success, settings.policy, clock.currentTimeMillisUnsafe())
      })

    const killKey = (pod: Pod) => actionKey({ action: "killContainers", namespace: pod.metadata.namespace, pod: pod.metadata.name })
    /** The pod name's SIGKILL waiting in the queue or running now, if any (it may be an earlier pod's). */
    const pendingKill = (pod: Pod): { readonly item: QueuedAction; readonly running: boolean } | undefined => {
      const key = killKey(pod)
      if (!signals.has(key)) return undefined
      for (const r of running.values()) if (r.key === key) return { item: r.item, running: true }
      const waiting = signals.pending().find((p) => p.key === key)
      return waiting === undefined ? undefined : { item: waiting.item, running: false }
    }

    const plan = (raw: unknown): Effect.Effect<PlanResult> => decideRaw(raw, false)
    const reconcile = (raw: unknown): Effect.Effect<PlanResult> => decideRaw(raw, true)
    const decideRaw = (raw: unknown, enqueue: boolean): Effect.Effect<PlanResult> =>
      Effect.suspend(() => {
        const decoded = decodePod(raw)
        if (Result.isSuccess(decoded)) return decideDecoded(decoded.success, enqueue)
        return Effect.as(
          Effect.logWarning(`skipping pod: ${decoded.failure.message}`).pipe(
            Effect.annotateLogs({ namespace: decoded.failure.namespace, pod: decoded.failure.pod })
          ),
          {
            namespace: decoded.failure.namespace,
            pod: decoded.failure.pod,
            decision: { _tag: "Malformed", reason: decoded.failure.message }
          } as const
        )
      })
    const decideDecoded = (pod: Pod, enqueue: boolean): Effect.Effect<PlanResult> =>
      Effect.gen(function*() {
        const decision = yield* planPod(pod)
        const result = { namespace: pod.metadata.namespace, pod: pod.metadata.name, decision }
        if (!enqueue) return result
        const key = podKey(pod)
        if (decision._tag === "Wait") {
          waiting.set(key, decision.reason)
          if (decision.warning !== undefined && !warned.has(decision.warning)) {
            if (warned.size > 10_000) warned.clear()
            warned.add(decision.warning)
            yield* Effect.logWarning(decision.warning)
          }
        } else {
          waiting.delete(key)
        }
        // Nothing runs in the pod any more: a pending SIGKILL has nothing to do.
        if (runningContainers(pod).length === 0 && pod.status.phase !== "Pending") {
          const kill = signals.remove(killKey(pod))
          if (kill !== undefined) {
            yield* releaseSlot(kill)
            yield* record(kill, killKey(pod), "done", "nothing left to kill: every container stopped after SIGTERM")
            wakeIdle()
          }
        }
        // A SIGKILL queued for an earlier pod of this name (re-created since, as argo retry does) is
        // not this pod's: it neither holds back this pod's SIGTERM nor takes the place of its SIGKILL.
        let kill = pendingKill(pod)
        const staleUid = kill?.item.request.uid
        if (kill !== undefined && staleUid !== undefined && staleUid !== pod.metadata.uid) {
          // One that runs already finds the pod replaced itself; a waiting one is dropped here.
          const stale = kill.running ? undefined : signals.remove(killKey(pod))
          if (stale !== undefined) {
            yield* record(stale, killKey(pod), "skipped", `pod replaced: ${key} now has uid ${pod.metadata.uid}, not ${staleUid}; left untouched`)
            wakeIdle()
          }
          kill = undefined
        }
        if (decision._tag !== "Act") return result
        for (const planned of decision.actions) {
          // Already signalled: its SIGKILL is due after the grace period; SIGTERM is not sent again.
          if (planned.action === "terminateContainers" && kill !== undefined) continue
          yield* submit({
            action: planned.action,
            namespace: pod.metadata.namespace,
            pod: pod.metadata.name,
            uid: pod.metadata.uid,
            reason: planned.reason
          }, planned.delay, pod.spec.nodeName)
        }
        return result
      })

    /** The standalone engine's level-based step after a kill (no pod watch): read the pod again and queue what it needs now. */
    const reconcileAgain = (request: ActionRequest) =>
      Effect.gen(function*() {
        const key = `${request.namespace}/${request.pod}`
        const n = reconciles.get(key) ?? 0
        if (n >= 3) return
        reconciles.set(key, n + 1)
        const live = yield* Effect.result(pods.get(request.namespace, request.pod))
        if (Result.isSuccess(live)) yield* reconcile(live.success)
      })

    /** Exponential from `actionRetryBase`, capped at `actionRetryMax`, jittered ±20 %. */
    const actionBackoff = (failures: number) =>
      Effect.map(Random.next, (r) => {
        const base = Duration.toMillis(settings.actionRetryBase) * 2 ** Math.min(failures - 1, 20)
        return Duration.millis(Math.round(Math.min(Duration.toMillis(settings.actionRetryMax), base) * (0.8 + 0.4 * r)))
      })

    const record = (
      item: QueuedAction,
      key: string,
      kind: Outcome["kind"],
      reason: string,
      node?: string,
      event: { readonly reason?: string; readonly retrying?: boolean; readonly gaveUp?: boolean } = {}
    ) =>
      Effect.andThen(
        outcomes.record({
          key,
          action: item.request.action,
          namespace: item.request.namespace,
          pod: item.request.pod,
          node,
          kind,
          reason,
          attempts: item.attempt,
          at: clock.currentTimeMillisUnsafe()
        }),
        recordEvent(item, { ...event, action: item.request.action, kind, reason: event.reason ?? reason })
      )

    /** The outcome's Event on the pod; a Warning also on its Workflow (looked up off the worker). */
    const recordEvent = (item: QueuedAction, outcome: Parameters<typeof outcomeEvent>[0]) =>
      Effect.suspend(() => {
        const e = events.enabled ? outcomeEvent(outcome) : undefined
        if (e === undefined) return Effect.void
        const { namespace, pod, uid } = item.request
        const cached = cache.get(namespace, pod)
        const regarding = podRef(namespace, pod, uid ?? cached?.metadata.uid)
        const wf = e.type === "Warning" ? cached?.metadata.labels[LabelKeyWorkflow] : undefined
        const onWorkflow = wf === undefined ? Effect.void : Effect.forkIn(
          workflows.lookup(namespace, wf).pipe(
            Effect.flatMap((context) =>
              context._tag === "Known" && context.workflow.metadata.uid !== ""
                ? events.record({ ...e, note: `pod ${pod}: ${e.note}`, regarding: workflowRef(namespace, wf, context.workflow.metadata.uid), related: regarding })
                : Effect.void
            ),
            Effect.timeout("5 seconds"),
            Effect.ignore
          ),
          scope
        )
        return Effect.andThen(events.record({ ...e, regarding }), onWorkflow)
      })

    const worker = (id: number, queue: WorkQueue<QueuedAction>) =>
      Effect.forever(
        Effect.gen(function*() {
          const { key, item } = yield* queue.take
          if (draining) {
            yield* releaseSlot(item)
            yield* record(item, key, "skipped", "not run: the engine is shutting down")
            yield* queue.done(key)
            return
          }
          if (item.node !== undefined && item.slot === undefined && usesExec(item.request.action) && guard.isBusy(item.node)) {
            parked.set(key, item)
            yield* park(key, item, item.node)
            yield* queue.done(key)
            return
          }
          running.set(id, { key, since: clock.currentTimeMillisUnsafe(), item })
          const result = yield* runner.run(item).pipe(
            // What the node guard records about this action's execs lands on this pod.
            Effect.provideService(EventSubject, podRef(item.request.namespace, item.request.pod, item.request.uid)),
            // A slot the action waited for goes back whether or not an exec used it.
            Effect.ensuring(releaseSlot(item)),
            Effect.onInterrupt(() =>
              Effect.andThen(
                record(item, key, "skipped", "interrupted: the engine stopped while it ran"),
                Effect.sync(() => finishRunning(id))
              )
            )
          )
          const retrying = result._tag === "Finished" && result.retryable === true && result.kind !== "done" &&
            (item.failures ?? 0) < settings.actionRetries
          // Follow-ups (SIGKILL after the grace period) start from the attempt that ends the action:
          // a SIGTERM that will be tried again must not have its SIGKILL arrive first.
          const followUps = result._tag === "Finished" && !retrying ? result.followUps : []
          for (const followUp of followUps) {
            yield* submit(followUp.request, followUp.delay, result.node)
          }
          if (result._tag === "Requeue" && result.busyNode !== undefined) {
            parked.set(key, item)
            yield* park(key, { ...item, node: result.busyNode, slot: undefined }, result.busyNode)
          } else if (result._tag === "Requeue") {
            yield* (result.quiet === true ? Effect.logDebug : Effect.logInfo)(`requeued: ${result.reason}`).pipe(
              Effect.annotateLogs({ namespace: item.request.namespace, pod: item.request.pod, action: item.request.action })
            )
            yield* queue.add(
              key,
              { request: item.request, attempt: item.attempt + 1, node: result.node ?? item.node, failures: item.failures },
              clock.currentTimeMillisUnsafe() + Duration.toMillis(result.after)
            )
          } else if (retrying) {
            // The cause may pass (an unreachable node, an open breaker, a flaky API server): the
            // action is tried again with backoff, so the system converges once the fault is gone.
            const failures = (item.failures ?? 0) + 1
            const after = yield* actionBackoff(failures)
            const again = `${result.reason}; trying again in ${Duration.format(after)} (retry ${failures} of ${settings.actionRetries})`
            yield* record(item, key, result.kind, again, result.node, { reason: result.reason, retrying: true })
            yield* Metric.update(Metric.withAttributes(retriesTotal, { action: item.request.action, reason: result.kind }), 1)
            yield* Effect.logInfo(again).pipe(
              Effect.annotateLogs({ namespace: item.request.namespace, pod: item.request.pod, action: item.request.action })
            )
            yield* queue.add(
              key,
              { request: item.request, attempt: 1, node: result.node ?? item.node, failures },
              clock.currentTimeMillisUnsafe() + Duration.toMillis(after)
            )
          } else {
            yield* record(item, key, result.kind, result.reason, result.node, {
              gaveUp: result.retryable === true && result.kind !== "done"
            })
            if (result.kind !== "done" && result.dryRun !== true) {
              const given = result.retryable === true ? `giving up after ${settings.actionRetries} retries: ` : ""
              const log = result.kind === "failed" || given !== "" ? Effect.logWarning : Effect.logInfo
              yield* log(`${item.request.action} ${result.kind}: ${given}${result.reason}`).pipe(
                Effect.annotateLogs({ namespace: item.request.namespace, pod: item.request.pod, action: item.request.action, node: result.node ?? "" })
              )
            }
            if (options.reconcileAfterKill === true && item.request.action === "killContainers" && result.kind === "done") {
              yield* reconcileAgain(item.request)
            }
          }
          finishRunning(id)
          yield* queue.done(key)
          wakeIdle()
        })
      )

    const sampler = Effect.forever(
      Effect.gen(function*() {
        const d = depth()
        yield* Metric.update(Metric.withAttributes(queueDepth, { state: "ready" }), d.ready)
        yield* Metric.update(Metric.withAttributes(queueDepth, { state: "delayed" }), d.delayed)
        yield* Metric.update(Metric.withAttributes(queueDepth, { state: "processing" }), d.processing)
        yield* Metric.update(workersBusy, running.size)
        yield* Metric.update(podsWaitingForArgo, waiting.size)
        const now = clock.currentTimeMillisUnsafe()
        let oldest = now
        for (const r of running.values()) oldest = Math.min(oldest, r.since)
        yield* Metric.update(longestRunningSeconds, (now - oldest) / 1000)
        for (const lane of lanes) yield* lane.sampleMetrics
        yield* intake.sampleMetrics
        yield* Effect.sleep("1 second")
      })
    )

    /** Decides the pods asked for, from the cache: informer handlers only enqueue. */
    const intakeLoop = Effect.forever(
      Effect.gen(function*() {
        const { key, item } = yield* intake.take
        const pod = cache.get(item.namespace, item.name)
        if (pod === undefined) {
          waiting.delete(key)
        } else {
          const result = yield* decideDecoded(pod, true)
          options.onDecision?.(result)
        }
        yield* intake.done(key)
        wakeIdle()
      })
    )

    const enqueue = (namespace: string, name: string): Effect.Effect<void> =>
      Effect.asVoid(intake.add(`${namespace}/${name}`, { namespace, name }))

    const signalWorkers = Math.max(1, settings.workers)
    const fibers = yield* Effect.forEach(
      Array.from({ length: workerCount(settings) }, (_, i) => i),
      (i) => Effect.forkIn(worker(i, i < signalWorkers ? signals : apiLane), scope)
    )
    // Two: a decision that has to read a workflow from the API does not hold up the others.
    const intakeFibers = yield* Effect.forEach([0, 1], () => Effect.forkIn(intakeLoop, scope))
    yield* Effect.forkIn(sampler, scope)

    // Whatever never ran gets an outcome too: nothing is silently lost.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Fiber.interruptAll(fibers)
        for (const lane of lanes) {
          for (const pending of lane.pending()) {
            yield* record(pending.item, pending.key, "skipped", "not run: the engine stopped first")
          }
        }
        for (const [key, item] of parked) {
          yield* record(item, key, "skipped", "not run: the engine stopped while it waited for a slot of its node")
        }
      })
    )

    return Engine.of({
      forget: (namespace, pod) =>
        Effect.gen(function*() {
          waiting.delete(`${namespace}/${pod}`)
          // The pod is gone: its pending SIGKILL has nothing to do (no API call is spent on it).
          const key = actionKey({ action: "killContainers", namespace, pod })
          const kill = signals.remove(key)
          if (kill !== undefined) {
            yield* releaseSlot(kill)
            yield* record(kill, key, "done", "pod gone before its SIGKILL was due")
            wakeIdle()
          }
        }),
      waiting: () => waiting,
      activePods: () => {
        const out = new Set<string>()
        const add = (item: QueuedAction) => out.add(`${item.request.namespace}/${item.request.pod}`)
        for (const lane of lanes) for (const pending of lane.pending()) add(pending.item)
        for (const r of running.values()) add(r.item)
        return out
      },
      submit,
      reconcile,
      enqueue,
      enqueueAll: (pods) =>
        Effect.gen(function*() {
          for (const { namespace, name } of pods) {
            yield* intake.awaitRoom(IntakeSweepBacklog)
            yield* enqueue(namespace, name)
          }
        }),
      plan,
      depth,
      busyWorkers: () => running.size,
      // A dead intake loop counts as a dead worker: nothing would be decided any more.
      workersAlive: () =>
        intakeFibers.every((f) => f.pollUnsafe() === undefined) ? fibers.filter((f) => f.pollUnsafe() === undefined).length : 0,
      drain: (grace) =>
        Effect.gen(function*() {
          draining = true
          if (running.size === 0) return
          // Woken by the last running action as it ends (no polling), bounded by the grace.
          const done = Deferred.makeUnsafe<void>()
          runningEmptyWaiters.push(done)
          yield* Deferred.await(done).pipe(Effect.timeoutOption(grace))
          if (running.size > 0) yield* Effect.logWarning(`shutdown grace over: interrupting ${running.size} running actions`)
        }),
      awaitIdle: Effect.suspend(() => {
        if (total() === 0) return Effect.void
        const waiter = Deferred.makeUnsafe<void>()
        idleWaiters.push(waiter)
        return Deferred.await(waiter)
      })
    })
  })
