/**
 * The cleanup engine: a deduplicating, time-aware queue drained by a bounded pool of N worker
 * fibers (default 4). Every action that enters it ends in a recorded outcome; a requeue (a busy
 * node, a timed-out exec to retry) and follow-ups (SIGKILL after the grace period, a delayed
 * delete) go back through the queue, so a worker never sleeps on a delay. Closing the engine's
 * scope interrupts the workers (their sockets close with their scopes) and records every action
 * that did not run as skipped.
 */
import { Clock, Context, Deferred, Duration, Effect, Fiber, Layer, Metric, Result, Scope, Stream } from "effect"
import { actionKey, type ActionRequest } from "../domain/Action.ts"
import { LabelKeyWorkflow } from "../domain/argo.ts"
import { decodePod, type Pod, runningContainers } from "../domain/Pod.ts"
import { decide, type Decision } from "../domain/policy.ts"
import { PodApi } from "../kube/PodApi.ts"
import { ActionRunner, type QueuedAction } from "./ActionRunner.ts"
import { EngineConfig } from "./EngineSettings.ts"
import { longestRunningSeconds, queueDepth, workersBusy } from "./metrics.ts"
import { NodeGuard } from "./NodeGuard.ts"
import { type Outcome, Outcomes } from "./Outcomes.ts"
import { makeWorkQueue, type QueueDepth } from "./WorkQueue.ts"
import { WorkflowSource } from "./WorkflowSource.ts"

export interface EngineOptions {
  /**
   * After a pod's containers were killed, read it again and queue what the policy now says
   * (label or delete). The one-shot pass needs this; the service reconciles from its watch.
   */
  readonly reconcileAfterKill: boolean
  /**
   * After SIGTERM, watch the pod and bring its SIGKILL step forward as soon as nothing runs in it
   * any more, instead of waiting out the grace period. The one-shot pass needs this (it has no
   * watch of its own); the service learns the same from its pod watch.
   */
  readonly advanceKillOnStop?: boolean | undefined
}

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
  /** Decides what a pod needs now without queueing anything (a dry run). */
  readonly plan: (raw: unknown) => Effect.Effect<PlanResult>
  readonly depth: () => QueueDepth
  readonly busyWorkers: () => number
  /** Worker fibers still alive (for health checks: a dead loop is not a healthy engine). */
  readonly workersAlive: () => number
  /** Waits until nothing is queued, delayed or running. */
  readonly awaitIdle: Effect.Effect<void>
  /**
   * Stops handing out work and waits (at most `grace`) for the actions in flight to finish. What
   * is still running after that is interrupted when the engine's scope closes.
   */
  readonly drain: (grace: Duration.Duration) => Effect.Effect<void>
}>()("pod-cleanup/Engine") {
  static readonly layerWith = (
    options: EngineOptions = { reconcileAfterKill: false }
  ): Layer.Layer<Engine, never, ActionRunner | Outcomes | EngineConfig | WorkflowSource | PodApi | NodeGuard> =>
    Layer.effect(Engine, Effect.suspend(() => makeEngine(options)))
  static readonly layer = Engine.layerWith()
}

export const makeEngine = (options: EngineOptions) =>
  Effect.gen(function*() {
    const settings = yield* EngineConfig
    const runner = yield* ActionRunner
    const outcomes = yield* Outcomes
    const workflows = yield* WorkflowSource
    const pods = yield* PodApi
    const guard = yield* NodeGuard
    const clock = yield* Clock.Clock
    const queue = yield* makeWorkQueue<QueuedAction>()
    const scope = yield* Scope.Scope
    const running = new Map<number, { readonly key: string; readonly since: number; readonly item: QueuedAction }>()
    let idleWaiters: Array<Deferred.Deferred<void>> = []
    const reconciles = new Map<string, number>()
    let draining = false
    let runningEmptyWaiters: Array<Deferred.Deferred<void>> = []
    const finishRunning = (id: number) => {
      running.delete(id)
      if (running.size > 0 || runningEmptyWaiters.length === 0) return
      for (const waiter of runningEmptyWaiters) Deferred.doneUnsafe(waiter, Effect.void)
      runningEmptyWaiters = []
    }

    const total = () => {
      const d = queue.depth()
      return d.ready + d.delayed + d.processing
    }
    const wakeIdle = () => {
      if (total() !== 0 || idleWaiters.length === 0) return
      for (const waiter of idleWaiters) Deferred.doneUnsafe(waiter, Effect.void)
      idleWaiters = []
    }

    const submit = (request: ActionRequest, delay: Duration.Duration = Duration.zero, node?: string) =>
      queue.add(actionKey(request), { request, attempt: 1, node }, clock.currentTimeMillisUnsafe() + Duration.toMillis(delay))

    /**
     * Every exec slot of the action's node is taken: the action waits in the queue until the node
     * announces a free slot (or `slotWait` passes), and the worker moves on at once. No API call is
     * spent on it meanwhile, and pods on other nodes are never held up by it.
     */
    const parked = new Map<string, object>()
    const park = (key: string, item: QueuedAction, node: string) => {
      const token = {}
      parked.set(key, token)
      const now = clock.currentTimeMillisUnsafe()
      queue.addUnsafe(key, item, now + Duration.toMillis(guard.settings.slotWait))
      guard.onSlotFree(node, () => {
        if (parked.get(key) !== token) return
        parked.delete(key)
        queue.addUnsafe(key, item, clock.currentTimeMillisUnsafe())
      })
    }
    const usesExec = (item: QueuedAction) =>
      item.request.action === "terminateContainers" || item.request.action === "killContainers"

    const planPod = (pod: Pod): Effect.Effect<Decision> =>
      Effect.gen(function*() {
        const wf = pod.metadata.labels[LabelKeyWorkflow]
        if (wf === undefined) return decide(pod, undefined, settings.policy)
        const view = yield* Effect.result(workflows.lookup(pod.metadata.namespace, wf))
        if (Result.isFailure(view)) {
          return { _tag: "Skip", reason: `cannot read workflow ${wf}: ${view.failure.message}` } as const
        }
        return decide(pod, view.success, settings.policy)
      })

    const plan = (raw: unknown): Effect.Effect<PlanResult> => decideRaw(raw, false)
    const reconcile = (raw: unknown): Effect.Effect<PlanResult> => decideRaw(raw, true)
    const decideRaw = (raw: unknown, enqueue: boolean): Effect.Effect<PlanResult> =>
      Effect.gen(function*() {
        const decoded = decodePod(raw)
        if (Result.isFailure(decoded)) {
          yield* Effect.logWarning(`skipping pod: ${decoded.failure.message}`).pipe(
            Effect.annotateLogs({ namespace: decoded.failure.namespace, pod: decoded.failure.pod })
          )
          return {
            namespace: decoded.failure.namespace,
            pod: decoded.failure.pod,
            decision: { _tag: "Malformed", reason: decoded.failure.message }
          } as const
        }
        const pod = decoded.success
        const decision = yield* planPod(pod)
        if (enqueue && decision._tag === "Act") {
          for (const planned of decision.actions) {
            yield* submit({
              action: planned.action,
              namespace: pod.metadata.namespace,
              pod: pod.metadata.name,
              uid: pod.metadata.uid,
              reason: planned.reason
            }, planned.delay, pod.spec.nodeName)
          }
        }
        return { namespace: pod.metadata.namespace, pod: pod.metadata.name, decision }
      })

    /** The one-shot pass's level-based step after a kill: read the pod again and queue what it needs now. */
    const reconcileAgain = (request: ActionRequest) =>
      Effect.gen(function*() {
        const key = `${request.namespace}/${request.pod}`
        const n = reconciles.get(key) ?? 0
        if (n >= 3) return
        reconciles.set(key, n + 1)
        const live = yield* Effect.result(pods.get(request.namespace, request.pod))
        if (Result.isSuccess(live)) yield* reconcile(live.success)
      })

    /** Moves the pod's pending SIGKILL step to now once the pod shows no running container. */
    const advanceWhenStopped = (request: ActionRequest, grace: Duration.Duration, node: string | undefined) =>
      pods.watch({ namespace: request.namespace, fieldSelector: `metadata.name=${request.pod}` }).pipe(
        Stream.filter((event) => {
          if (event.type === "DELETED") return true
          if (event.type === "BOOKMARK") return false
          const decoded = decodePod(event.object)
          return Result.isSuccess(decoded) && runningContainers(decoded.success).length === 0
        }),
        Stream.take(1),
        Stream.runDrain,
        Effect.andThen(Effect.sync(() => {
          queue.addUnsafe(actionKey(request), { request, attempt: 1, node }, clock.currentTimeMillisUnsafe())
        })),
        Effect.timeout(grace),
        Effect.ignore
      )

    const record = (item: QueuedAction, key: string, kind: Outcome["kind"], reason: string, node?: string) =>
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
      })

    const worker = (id: number) =>
      Effect.forever(
        Effect.gen(function*() {
          const { key, item } = yield* queue.take
          parked.delete(key)
          if (draining) {
            yield* record(item, key, "skipped", "not run: the engine is shutting down")
            yield* queue.done(key)
            return
          }
          if (item.node !== undefined && usesExec(item) && guard.isBusy(item.node)) {
            park(key, item, item.node)
            yield* queue.done(key)
            return
          }
          running.set(id, { key, since: clock.currentTimeMillisUnsafe(), item })
          const result = yield* runner.run(item).pipe(
            Effect.onInterrupt(() =>
              Effect.andThen(
                record(item, key, "skipped", "interrupted: the engine stopped while it ran"),
                Effect.sync(() => finishRunning(id))
              )
            )
          )
          for (const followUp of result.followUps) {
            yield* submit(followUp.request, followUp.delay, result.node)
            if (options.advanceKillOnStop && followUp.request.action === "killContainers") {
              yield* Effect.forkIn(advanceWhenStopped(followUp.request, followUp.delay, result.node), scope)
            }
          }
          if (result._tag === "Requeue" && result.busyNode !== undefined) {
            park(key, { ...item, node: result.busyNode }, result.busyNode)
          } else if (result._tag === "Requeue") {
            yield* Effect.logInfo(`requeued: ${result.reason}`).pipe(
              Effect.annotateLogs({ namespace: item.request.namespace, pod: item.request.pod, action: item.request.action })
            )
            yield* queue.add(
              key,
              { request: item.request, attempt: item.attempt + 1, node: result.node ?? item.node },
              clock.currentTimeMillisUnsafe() + Duration.toMillis(result.after)
            )
          } else {
            yield* record(item, key, result.kind, result.reason, result.node)
            if (options.reconcileAfterKill && item.request.action === "killContainers" && result.kind === "done") {
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
        const d = queue.depth()
        yield* Metric.update(Metric.withAttributes(queueDepth, { state: "ready" }), d.ready)
        yield* Metric.update(Metric.withAttributes(queueDepth, { state: "delayed" }), d.delayed)
        yield* Metric.update(Metric.withAttributes(queueDepth, { state: "processing" }), d.processing)
        yield* Metric.update(workersBusy, running.size)
        const now = clock.currentTimeMillisUnsafe()
        let oldest = now
        for (const r of running.values()) oldest = Math.min(oldest, r.since)
        yield* Metric.update(longestRunningSeconds, (now - oldest) / 1000)
        yield* Effect.sleep("1 second")
      })
    )

    const fibers = yield* Effect.forEach(
      Array.from({ length: Math.max(1, settings.workers) }, (_, i) => i),
      (i) => Effect.forkIn(worker(i), scope)
    )
    yield* Effect.forkIn(sampler, scope)

    // Whatever never ran gets an outcome too: nothing is silently lost.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Fiber.interruptAll(fibers)
        for (const pending of queue.pending()) {
          yield* record(pending.item, pending.key, "skipped", "not run: the engine stopped first")
        }
      })
    )

    return Engine.of({
      submit,
      reconcile,
      plan,
      depth: queue.depth,
      busyWorkers: () => running.size,
      workersAlive: () => fibers.filter((f) => f.pollUnsafe() === undefined).length,
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
