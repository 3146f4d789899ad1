/**
 * Runs one cleanup action against the live pod and says how it ended. Contracts:
 * - it never fails and never outlives `actionTimeout`: every error becomes an outcome;
 * - every action is bound to the UID of the pod it was decided for: a pod that is gone ends "pod
 *   already gone", one re-created under the same name (another UID) ends "pod replaced", untouched;
 *   patches carry the UID as a precondition, deletes a UID precondition;
 * - signals and deletes read the live pod first (an exec carries no precondition, and a cache can
 *   lag); a label or finalizer patch acts on the cached pod, its preconditions standing guard, and
 *   reads the live pod after a conflict; before labelling, deleting or releasing a pod it re-checks
 *   the whole decision (`decidePod`, Argo's recorded node included);
 * - deletes strip the status finalizer with a resourceVersion-guarded patch, then delete with a
 *   UID precondition, so a re-created pod of the same name is never deleted by mistake;
 * - transient API errors and 409s are retried with a capped, jittered exponential `Schedule` that
 *   honours `Retry-After`; not-found is success; forbidden and invalid are reported, not retried;
 * - containers are signalled concurrently (bounded), each exec through the node's guard; a timed-out
 *   exec is logged, counted, and answered by a requeue after a backoff, never an immediate retry;
 * - in a dry run (`dryRun`, shadow mode) everything above runs as usual (reads, the re-checked
 *   decision, Argo's gate, the caps), and at the point where an exec, a patch or a delete would go
 *   out it is logged and counted (`pod_cleanup_dry_run_actions_total`) instead; the outcome is
 *   "skipped" with reason "dry run: would ...", and no follow-up (SIGKILL) is scheduled, since no
 *   SIGTERM was sent;
 * - deletes and finalizer removals take one from the per-minute destructive budget
 *   (`maxDestructivePerMinute`); past it they are requeued for the next minute, nothing is lost.
 */
import { Cause, Clock, Context, Duration, Effect, Layer, Metric, Result } from "effect"
import { type ActionName, actionKey, type ActionRequest } from "../domain/Action.ts"
import { FinalizerPodStatus, LabelKeyCompleted, LabelKeyWorkflow } from "../domain/argo.ts"
import { killCommand, type Signal } from "../domain/killCommand.ts"
import { decodePod, hasStatusFinalizer, type Pod, runningContainers, terminationGracePeriod } from "../domain/Pod.ts"
import { argoRecorded, type Decision, decidePod } from "../domain/policy.ts"
import { isRetryable, type KubeApiError } from "../kube/ApiError.ts"
import { classifyExec, type ExecRejectedError } from "../kube/ExecError.ts"
import { PodApi } from "../kube/PodApi.ts"
import { PodExec } from "../kube/PodExec.ts"
import { type ActionResult, finished, type FollowUp } from "./actionResult.ts"
import { ApiRateLimiter } from "./ApiRateLimiter.ts"
import { EngineConfig } from "./EngineSettings.ts"
import { makeDestructiveBudget } from "./DestructiveBudget.ts"
import { dryRunActions, execDurationOf, execTimeouts, retriesTotal } from "../metrics.ts"
import { retryApi } from "./retryPolicy.ts"
import { NodeGuard, type Slot } from "./NodeGuard.ts"
import { PodCache } from "./PodCache.ts"
import { type SignalResult, signalVerdict } from "./signalVerdict.ts"
import { WorkflowSource } from "./WorkflowSource.ts"

export type { ActionResult, FollowUp } from "./actionResult.ts"

/** An action as it sits in the queue: the request and how many times it has been tried. */
export interface QueuedAction {
  readonly request: ActionRequest
  readonly attempt: number
  /** The pod's node when it was queued, so a busy node can be waited for without an API call. */
  readonly node?: string | undefined
  /** Earlier runs that ended in a retryable failure (the engine's own retries, with backoff). */
  readonly failures?: number | undefined
  /** A slot of its node it waited for (busy node): its first exec there runs in it. */
  readonly slot?: Slot | undefined
}

export class ActionRunner extends Context.Service<ActionRunner, {
  readonly run: (queued: QueuedAction) => Effect.Effect<ActionResult>
}>()("pod-cleanup/ActionRunner") {
  static readonly layer = Layer.effect(
    ActionRunner,
    Effect.gen(function*() {
      const settings = yield* EngineConfig
      const pods = yield* PodApi
      const exec = yield* PodExec
      const guard = yield* NodeGuard
      const workflows = yield* WorkflowSource
      const limiter = yield* ApiRateLimiter
      const cache = yield* PodCache
      const budget = makeDestructiveBudget(settings.maxDestructivePerMinute, yield* Clock.Clock)

      /**
       * Dry run: what the action would write or exec, logged and counted instead of done. The
       * outcome is "skipped" (nothing changed) and schedules nothing.
       */
      const wouldDo = (action: ActionName, what: string, node: string | undefined) =>
        Effect.as(
          Effect.andThen(
            Metric.update(Metric.withAttributes(dryRunActions, { action }), 1),
            Effect.logInfo(`dry run: would ${what}`).pipe(Effect.annotateLogs({ dryRun: true, node: node ?? "" }))
          ),
          { _tag: "Finished", kind: "skipped", reason: `dry run: would ${what}`, node, followUps: [], retryable: false, dryRun: true } as const
        )

      /** A delete or finalizer removal the destructive cap puts off: requeued for the next minute. */
      const capped = (reason: string, retryInMs: number, node: string | undefined): ActionResult => ({
        _tag: "Requeue",
        reason,
        after: Duration.millis(Math.max(1, retryInMs)),
        node,
        followUps: [],
        quiet: true
      })

      const api = <A>(effect: Effect.Effect<A, KubeApiError>) => Effect.andThen(limiter.take, effect)

      const retrying = <A, E extends { readonly _tag: string }>(action: ActionName, effect: Effect.Effect<A, E>) =>
        retryApi<E>(settings, action)(effect)

      /** The live pod, decoded; "gone" on 404; a malformed pod is reported, not acted on. */
      const readPod = (namespace: string, name: string) =>
        api(pods.get(namespace, name)).pipe(
          Effect.map((raw) => {
            const decoded = decodePod(raw)
            return Result.isSuccess(decoded)
              ? { _tag: "Pod" as const, pod: decoded.success }
              : { _tag: "Malformed" as const, message: decoded.failure.message }
          }),
          Effect.catchTag("KubeNotFoundError", () => Effect.succeed({ _tag: "Gone" as const }))
        )

      /** No pod to act on: the name is gone, or stands for another pod than the one decided for. */
      const goneTarget = { pod: undefined, result: finished("done", "pod already gone") }
      const replacedTarget = (request: ActionRequest, uid: string, node: string | undefined) => ({
        pod: undefined,
        result: finished("skipped", `pod replaced: ${request.namespace}/${request.pod} now has uid ${uid}, not ${request.uid}; left untouched`, node)
      })

      /**
       * The live pod the request was decided for, or the finished result when there is none to act
       * on: gone, re-created under the same name (another UID), or malformed.
       */
      const livePod = (request: ActionRequest) =>
        Effect.map(readPod(request.namespace, request.pod), (read) => {
          if (read._tag === "Gone") return goneTarget
          if (read._tag === "Malformed") return { pod: undefined, result: finished("skipped", read.message) }
          const uid = read.pod.metadata.uid
          if (request.uid !== undefined && uid !== request.uid) return replacedTarget(request, uid, read.pod.spec.nodeName)
          return { pod: read.pod, result: undefined }
        })

      /**
       * The pod a patch acts on: the cached one when `fresh` is false and the cache has it (the
       * decision was made from it; the patch carries the UID, and a finalizer rewrite the
       * resourceVersion, as preconditions, and a conflict reads the live pod), else the live one.
       * Signals (an exec carries no precondition) and deletes always read the live pod.
       */
      const podFor = (request: ActionRequest, fresh: boolean) => {
        const cached = fresh ? undefined : cache.get(request.namespace, request.pod)
        if (cached === undefined) return livePod(request)
        if (request.uid !== undefined && cached.metadata.uid !== request.uid) return livePod(request)
        return Effect.succeed({ pod: cached, result: undefined })
      }
      /**
       * The pod a signal acts on, read live but cheaply: its metadata only (`PartialObjectMetadata`:
       * which pod the name stands for now, and its resourceVersion). The same UID and the cached
       * resourceVersion mean the cached record is the live pod exactly, so it is used; anything
       * else (another resourceVersion, no cached record, metadata without them) reads the whole
       * live pod (`livePod`). A pod re-created under the name is found replaced either way.
       */
      const signalTarget = (request: ActionRequest) =>
        Effect.gen(function*() {
          const cached = cache.get(request.namespace, request.pod)
          const cachedVersion = cached?.metadata.resourceVersion
          if (cached === undefined || cachedVersion === undefined || (request.uid !== undefined && cached.metadata.uid !== request.uid)) {
            return yield* livePod(request)
          }
          const meta = yield* api(pods.getMetadata(request.namespace, request.pod)).pipe(
            Effect.catchTag("KubeNotFoundError", () => Effect.succeed(undefined))
          )
          if (meta === undefined) return goneTarget
          const uid = meta.metadata?.uid
          if (request.uid !== undefined && typeof uid === "string" && uid !== request.uid) return replacedTarget(request, uid, cached.spec.nodeName)
          if (uid === cached.metadata.uid && meta.metadata?.resourceVersion === cachedVersion) return { pod: cached, result: undefined }
          return yield* livePod(request)
        })

      /** `podFor`, cached on the first attempt and live on every retry (after a conflict). */
      const podForAttempts = (request: ActionRequest) => {
        let attempt = 0
        return Effect.suspend(() => podFor(request, attempt++ > 0))
      }

      /** The whole decision for the live pod (`decidePod`: the policy behind Argo's recorded node). */
      const decisionFor = (pod: Pod): Effect.Effect<Decision, KubeApiError> =>
        Effect.gen(function*() {
          const wf = pod.metadata.labels[LabelKeyWorkflow]
          const context = wf === undefined
            ? { _tag: "Gone" as const, reason: "not a workflow pod" }
            : yield* api(workflows.lookup(pod.metadata.namespace, wf))
          return decidePod(pod, context, settings.policy, yield* Clock.currentTimeMillis)
        })

      /**
       * Re-checks the whole decision against the live pod before `action` takes it out of Argo's
       * view: the finished result when the decision no longer calls for it, else undefined.
       */
      const verbs: Partial<Record<ActionName, string>> = { deletePod: "deletes", labelPodCompleted: "labels", removeFinalizer: "releases" }
      const stillCalledFor = (pod: Pod, action: ActionName) =>
        Effect.map(decisionFor(pod), (decision) => {
          if (decision._tag === "Act" && decision.actions.some((a) => a.action === action)) return undefined
          const why = decision._tag === "Act" ? decision.actions.map((a) => a.action).join(", ") : decision.reason
          return finished("skipped", `policy no longer ${verbs[action]} the pod: ${why}`, pod.spec.nodeName)
        })

      /**
       * A merge patch bound to the pod's UID (a re-created pod of the same name answers 409), and,
       * when it rewrites the finalizer list, guarded by the pod's resourceVersion too.
       */
      const podPatch = (pod: Pod, change: { readonly labels?: Record<string, string>; readonly dropStatusFinalizer?: boolean }) => ({
        type: "merge" as const,
        body: {
          metadata: {
            uid: pod.metadata.uid,
            ...(change.dropStatusFinalizer === true
              ? {
                resourceVersion: pod.metadata.resourceVersion,
                finalizers: pod.metadata.finalizers.filter((f) => f !== FinalizerPodStatus)
              }
              : {}),
            ...(change.labels === undefined ? {} : { labels: change.labels })
          }
        }
      })

      // ---- signalling ---------------------------------------------------------------------

      const signalOne = (pod: Pod, container: string, signal: Signal, slot: Slot | undefined): Effect.Effect<SignalResult> =>
        Effect.gen(function*() {
          const command = killCommand(pod, container, signal)
          for (const warning of command.warnings) yield* Effect.logWarning(warning)
          const node = pod.spec.nodeName
          yield* limiter.take
          const start = yield* Clock.currentTimeMillis
          const outcome = yield* Effect.result(
            guard.exec(
              node,
              exec.run({
                namespace: pod.metadata.namespace,
                pod: pod.metadata.name,
                container,
                node,
                command: command.argv,
                timeout: settings.execTimeout
              }),
              slot
            )
          )
          const seconds = ((yield* Clock.currentTimeMillis) - start) / 1000
          if (Result.isSuccess(outcome)) {
            yield* Metric.update(execDurationOf("success"), seconds)
            return { _tag: "Signalled", container } as const
          }
          const error = outcome.failure
          if (error._tag !== "NodeUnavailableError") {
            yield* Metric.update(execDurationOf(error._tag), seconds)
          }
          if (error._tag === "NodeUnavailableError") return { _tag: "NodeUnavailable", container, error } as const
          const kind = classifyExec(error)
          switch (kind) {
            case "gone":
              // The kill found no process to signal (a non-zero exit), or the pod or container is
              // gone (404, 400): the container is already stopping or gone.
              return {
                _tag: "AlreadyGone",
                container,
                detail: error._tag === "ExecNonZeroExitError"
                  ? `exit code ${error.exitCode}`
                  : error._tag === "ExecRejectedError"
                  ? `${error.code} ${error.reason}`
                  : error.message
              } as const
            case "unreachable":
            case "unconnected":
              if (error._tag === "ExecTimeoutError") {
                yield* Metric.update(Metric.withAttributes(execTimeouts, { phase: error.phase, node: node ?? "" }), 1)
              }
              if ("phase" in error) {
                yield* Effect.logWarning(error.message).pipe(
                  Effect.annotateLogs({ container, node: node ?? "", phase: error.phase, elapsedMs: error.elapsedMs })
                )
              }
              // Unreachable: the verdict retries the exec. Unconnected (could not connect at all: the
              // API server or the network): the action fails retryably, worth trying again later.
              return kind === "unreachable"
                ? { _tag: "TimedOut", container, error } as const
                : { _tag: "Failed", container, detail: error.message, retryable: true } as const
            case "refused-transient": {
              // Only refusals are classed "refused-transient".
              const refusal = error as ExecRejectedError
              yield* Metric.update(Metric.withAttributes(retriesTotal, { action: signal === "SIGTERM" ? "terminateContainers" : "killContainers", reason: `exec ${refusal.code}` }), 1)
              yield* Effect.logWarning(`${refusal.message}; trying again later`).pipe(
                Effect.annotateLogs({ container, node: node ?? "", code: refusal.code })
              )
              return { _tag: "Refused", container, error: refusal } as const
            }
            case "refused":
              if (error._tag === "ExecRejectedError" && error.code === 403) {
                yield* Effect.logError(`${error.message} (check pods/exec in the RBAC rules)`)
              }
              return { _tag: "Failed", container, detail: error.message, retryable: false } as const
          }
        })

      const signalContainers = (queued: QueuedAction, pod: Pod, signal: Signal): Effect.Effect<ActionResult> =>
        Effect.gen(function*() {
          const node = pod.spec.nodeName
          const running = runningContainers(pod)
          if (running.length === 0) return finished("done", "no container is running", node)
          if (settings.dryRun) {
            const commands = running.map((c) => `${c}: ${JSON.stringify(killCommand(pod, c, signal).argv)}`).join(", ")
            const grace = signal === "SIGTERM" ? `; SIGKILL would follow after ${Duration.format(terminationGracePeriod(pod))} if they still ran` : ""
            return yield* wouldDo(queued.request.action, `send ${signal} to ${running.length} container(s) on node ${node ?? "?"} (${commands})${grace}`, node)
          }
          // One action never takes more than its node's exec slots: its own signals wait for each
          // other; only other actions' execs can make the node busy.
          const concurrency = Math.max(
            1,
            settings.perNodeExecCap > 0 ? Math.min(settings.signalConcurrency, settings.perNodeExecCap) : settings.signalConcurrency
          )
          const results = yield* Effect.forEach(running, (c) => signalOne(pod, c, signal, queued.slot), { concurrency })
          const grace = terminationGracePeriod(pod)
          const followUps: ReadonlyArray<FollowUp> = signal === "SIGTERM" && Duration.toMillis(grace) > 0
            ? [{
              request: {
                action: "killContainers",
                namespace: pod.metadata.namespace,
                pod: pod.metadata.name,
                // Bound to this pod: a pod re-created under the same name meanwhile is not killed.
                uid: pod.metadata.uid,
                reason: `grace period ${Duration.format(grace)} after SIGTERM`
              },
              delay: grace
            }]
            : []
          const verdict = signalVerdict({ results, signal, attempt: queued.attempt, node, followUps, settings })
          if (verdict.retried !== undefined) {
            yield* Metric.update(Metric.withAttributes(retriesTotal, { action: queued.request.action, reason: verdict.retried }), 1)
          }
          return verdict.result
        })

      // ---- the actions ----------------------------------------------------------------------

      /**
       * deletePodByUID is not a policy decision (it removes one known pod, e.g. a retried step's old
       * one), so only the Argo part of the decision is re-checked: its node must be recorded.
       */
      const argoHasRecorded = (pod: Pod) =>
        Effect.gen(function*() {
          const wf = pod.metadata.labels[LabelKeyWorkflow]
          if (wf === undefined) return undefined
          const context = yield* api(workflows.lookup(pod.metadata.namespace, wf))
          if (context._tag === "Gone") return undefined
          if (context._tag === "Unseen") return finished("skipped", `workflow ${wf} not seen yet: waiting for it`, pod.spec.nodeName)
          const gate = argoRecorded(pod, context.workflow)
          return gate.open ? undefined : finished("skipped", gate.reason, pod.spec.nodeName)
        })

      /** Deletes the pod decided for: the whole decision re-checked, or (deletePodByUID) Argo's part. */
      const deleteLive = (request: ActionRequest) => {
        let granted = false
        return retrying(
          request.action,
          Effect.gen(function*() {
            // The minute's budget is spent: wait for the next one without reading anything.
            const room = granted ? undefined : yield* budget.check(request.action)
            if (room?._tag === "Deferred") return capped(room.reason, room.retryInMs, undefined)
            const live = yield* livePod(request)
            if (live.pod === undefined) return live.result
            const pod = live.pod
            const node = pod.spec.nodeName
            const stop = request.action === "deletePodByUID" ? yield* argoHasRecorded(pod) : yield* stillCalledFor(pod, "deletePod")
            if (stop !== undefined) return stop
            const finalizer = hasStatusFinalizer(pod)
            if (pod.metadata.deletionTimestamp !== undefined && !finalizer) {
              return finished("done", "pod already being deleted", node)
            }
            if (!granted) {
              const taken = yield* budget.take(request.action)
              if (taken._tag === "Deferred") return capped(taken.reason, taken.retryInMs, node)
              granted = true
            }
            if (settings.dryRun) {
              return yield* wouldDo(
                request.action,
                `${finalizer ? "remove the status finalizer of and " : ""}delete pod ${request.namespace}/${request.pod} (uid ${pod.metadata.uid}${
                  settings.deleteGracePeriodSeconds === undefined ? "" : `, grace period ${settings.deleteGracePeriodSeconds}s`
                })`,
                node
              )
            }
            if (finalizer) {
              yield* api(pods.patchUnread(request.namespace, request.pod, podPatch(pod, { dropStatusFinalizer: true })))
            }
            yield* api(pods.delete(request.namespace, request.pod, {
              uid: pod.metadata.uid,
              gracePeriodSeconds: settings.deleteGracePeriodSeconds
            })).pipe(Effect.catchTag("KubeNotFoundError", () => Effect.void))
            return finished("done", `deleted${finalizer ? " (status finalizer removed first)" : ""}`, node)
          })
        )
      }

      const byAction = (queued: QueuedAction): Effect.Effect<ActionResult, KubeApiError> => {
        const request = queued.request
        switch (request.action) {
          case "terminateContainers":
          case "killContainers": {
            const signal: Signal = request.action === "terminateContainers" ? "SIGTERM" : "SIGKILL"
            return Effect.gen(function*() {
              // An exec cannot carry a UID precondition, and a cache can be seconds behind (a slow or
              // wedged watch): every signal reads the live pod first (its metadata, and the whole
              // pod when it is not the cached one), so a pod re-created under the same name
              // meanwhile is found replaced, never signalled (chaos seeds 7 and 8).
              const live = yield* retrying(request.action, signalTarget(request))
              if (live.pod === undefined) return live.result
              const pod = live.pod
              if (pod.status.phase === "Pending") {
                if (signal === "SIGKILL") return finished("done", "pod is Pending: nothing to kill", pod.spec.nodeName)
                // Argo deletes a Pending pod instead of signalling it: a delete like any other, so it
                // waits for Argo to have recorded the pod's node.
                const deleted = yield* deleteLive({ ...request, action: "deletePod", uid: pod.metadata.uid })
                return deleted._tag === "Finished" && deleted.kind === "done"
                  ? finished("done", "pod is Pending: deleted instead of signalled", pod.spec.nodeName)
                  : deleted
              }
              return yield* signalContainers(queued, pod, signal)
            })
          }
          case "labelPodCompleted": {
            const read = podForAttempts(request)
            return retrying(
              request.action,
              Effect.gen(function*() {
                const live = yield* read
                if (live.pod === undefined) return live.result
                const pod = live.pod
                const finalizer = hasStatusFinalizer(pod)
                if (pod.metadata.labels[LabelKeyCompleted] === "true" && !finalizer) {
                  return finished("done", "already labelled", pod.spec.nodeName)
                }
                const stop = yield* stillCalledFor(pod, "labelPodCompleted")
                if (stop !== undefined) return stop
                // As Argo does, the label patch also drops the status finalizer (guarded by resourceVersion).
                const labels = { [LabelKeyCompleted]: "true" }
                if (settings.dryRun) {
                  return yield* wouldDo(
                    request.action,
                    `label pod ${request.namespace}/${request.pod} ${LabelKeyCompleted}=true${finalizer ? " and remove its status finalizer" : ""}`,
                    pod.spec.nodeName
                  )
                }
                yield* api(pods.patchUnread(request.namespace, request.pod, podPatch(pod, { labels, dropStatusFinalizer: finalizer })))
                return finished("done", `labelled ${LabelKeyCompleted}=true`, pod.spec.nodeName)
              })
            )
          }
          case "deletePod":
          case "deletePodByUID":
            return deleteLive(request)
          case "removeFinalizer": {
            const read = podForAttempts(request)
            let granted = false
            return retrying(
              request.action,
              Effect.gen(function*() {
                const room = granted ? undefined : yield* budget.check(request.action)
                if (room?._tag === "Deferred") return capped(room.reason, room.retryInMs, undefined)
                const live = yield* read
                if (live.pod === undefined) return live.result
                const pod = live.pod
                if (!hasStatusFinalizer(pod)) return finished("done", "no status finalizer", pod.spec.nodeName)
                const stop = yield* stillCalledFor(pod, "removeFinalizer")
                if (stop !== undefined) return stop
                if (!granted) {
                  const taken = yield* budget.take(request.action)
                  if (taken._tag === "Deferred") return capped(taken.reason, taken.retryInMs, pod.spec.nodeName)
                  granted = true
                }
                if (settings.dryRun) {
                  return yield* wouldDo(request.action, `remove the status finalizer of pod ${request.namespace}/${request.pod}`, pod.spec.nodeName)
                }
                yield* api(pods.patchUnread(request.namespace, request.pod, podPatch(pod, { dropStatusFinalizer: true })))
                return finished("done", "status finalizer removed", pod.spec.nodeName)
              })
            )
          }
        }
      }

      const run = (queued: QueuedAction): Effect.Effect<ActionResult> => {
        const request = queued.request
        return byAction(queued).pipe(
          Effect.catch((error: KubeApiError) =>
            Effect.gen(function*() {
              if (error._tag === "KubeNotFoundError") return finished("done", "pod already gone")
              if (error._tag === "KubeForbiddenError") {
                yield* Effect.logError(`${error.message} (check the RBAC rules)`)
              } else {
                yield* Effect.logWarning(error.message)
              }
              const retried = isRetryable(error) ? ` (gave up after ${settings.retryAttempts} retries)` : ""
              // Transient errors and conflicts past the API retries may pass: the engine tries the
              // action again later. Forbidden and invalid requests are final.
              return finished("failed", `${error._tag}: ${error.message}${retried}`, undefined, [], isRetryable(error))
            })
          ),
          Effect.timeoutOrElse({
            duration: settings.actionTimeout,
            orElse: () =>
              Effect.as(
                Effect.logWarning(`action deadline of ${Duration.format(settings.actionTimeout)} exceeded`),
                finished("failed", `action deadline of ${Duration.format(settings.actionTimeout)} exceeded`)
              )
          }),
          Effect.catchCause((cause) =>
            Cause.hasInterruptsOnly(cause)
              ? Effect.failCause(cause)
              : Effect.as(
                Effect.logError("action failed unexpectedly", Cause.pretty(cause)),
                finished("failed", `unexpected: ${Cause.pretty(cause).split("\n")[0]}`)
              )
          ),
          Effect.annotateLogs({ namespace: request.namespace, pod: request.pod, action: request.action, key: actionKey(request) }),
          // One span per action, for embedders that install a tracer. Its call site would always be
          // this line, so no stack is captured for it: the capture was 1 % of the service's CPU in
          // a label storm (8000 labels), the span itself costs a few µs.
          Effect.withSpan(`ActionRunner.${request.action}`, {
            attributes: { namespace: request.namespace, pod: request.pod, attempt: queued.attempt }
          }, { captureStackTrace: false })
        ) as Effect.Effect<ActionResult>
      }

      return ActionRunner.of({ run })
    })
  )
}
