/**
 * Where the decision learns about a pod's workflow, as a `WorkflowContext`: `Known` (the compact
 * record), `Gone` (the API server answered 404, or the Workflow CRD is absent: the pod is an orphan
 * and its own pod-gc-strategy annotation stands in), or `Unseen`. A failure to find out (5xx,
 * timeout) is an error, never `Gone`, so a flaky API server never turns "delete after the workflow
 * succeeds" into "just label", nor "wait for Argo" into "go ahead".
 */
import { Clock, Context, Deferred, Effect, Layer } from "effect"
import type { WorkflowContext, WorkflowView } from "../domain/policy.ts"
import { type WorkflowRecord, workflowRecord } from "../domain/workflow.ts"
import type { KubeApiError } from "../kube/ApiError.ts"
import type { KubeClient } from "../kube/KubeClient.ts"
import { WorkflowApi } from "../kube/WorkflowApi.ts"

export const gone = (namespace: string, name: string): WorkflowContext => ({
  _tag: "Gone",
  reason: `workflow ${namespace}/${name} not found (404)`
})

/**
 * A record standing for a `WorkflowView` given by hand (tests, custom drivers): its node map is
 * empty, so until its phase is completed its pods wait for Argo like any other.
 */
export const recordFromView = (namespace: string, name: string, view: WorkflowView): WorkflowRecord => ({
  metadata: { namespace, name, uid: "", resourceVersion: "" },
  phase: view.phase,
  podGC: view.podGC,
  shutdown: view.shutdown === "" ? undefined : view.shutdown,
  deadlineAt: view.deadlineExceeded === true ? Number.NEGATIVE_INFINITY : undefined,
  nodes: { _tag: "Nodes", pods: new Map(), source: "nodes" }
})

export class WorkflowSource extends Context.Service<WorkflowSource, {
  readonly lookup: (namespace: string, name: string) => Effect.Effect<WorkflowContext, KubeApiError>
}>()("pod-cleanup/WorkflowSource") {
  /**
   * Reads workflows from the API (`WorkflowApi.get`), remembering answers for `ttlMillis`. Lookups
   * of one workflow while its read is on the wire wait for that read (one GET, not one per pod:
   * the pods of a workflow are decided together). The read runs in the layer's scope, under the
   * client's request deadline, so a caller that stops waiting does not cut it short for the others;
   * a failure is shared by those waiting and not remembered.
   */
  static readonly layerFromApi = (ttlMillis = 2_000): Layer.Layer<WorkflowSource, never, KubeClient> =>
    Layer.effect(
      WorkflowSource,
      Effect.gen(function*() {
        const workflows = yield* WorkflowApi
        const scope = yield* Effect.scope
        const cache = new Map<string, { readonly at: number; readonly context: WorkflowContext }>()
        const inFlight = new Map<string, Deferred.Deferred<WorkflowContext, KubeApiError>>()
        const read = (namespace: string, name: string, key: string) =>
          Effect.gen(function*() {
            const at = yield* Clock.currentTimeMillis
            const raw = yield* workflows.get(namespace, name).pipe(
              // 404: the workflow is gone, or the CRD is not installed; both mean "no workflow".
              Effect.catchTag("KubeNotFoundError", () => Effect.succeed(undefined))
            )
            const context: WorkflowContext = raw === undefined
              ? gone(namespace, name)
              : { _tag: "Known", workflow: workflowRecord(raw) }
            cache.set(key, { at, context })
            if (cache.size > 10_000) cache.delete(cache.keys().next().value!)
            return context
          })
        return WorkflowSource.of({
          lookup: Effect.fn("WorkflowSource.lookup")(function*(namespace: string, name: string) {
            const key = `${namespace}/${name}`
            const now = yield* Clock.currentTimeMillis
            const hit = cache.get(key)
            if (hit !== undefined && now - hit.at < ttlMillis) return hit.context
            let pending = inFlight.get(key)
            if (pending === undefined) {
              const deferred = Deferred.makeUnsafe<WorkflowContext, KubeApiError>()
              pending = deferred
              inFlight.set(key, deferred)
              // onExit: those waiting are answered however the read ends, interrupted too (the
              // layer's scope closing).
              yield* Effect.forkIn(
                Effect.onExit(read(namespace, name, key), (exit) =>
                  Effect.sync(() => {
                    inFlight.delete(key)
                    Deferred.doneUnsafe(deferred, exit)
                  })),
                scope
              )
            }
            return yield* Deferred.await(pending)
          })
        })
      })
    ).pipe(Layer.provide(WorkflowApi.layer))

  /**
   * Fixed answers, for tests and for callers that already hold the workflows (`ns/name` → view or
   * record); a workflow not in the map is gone.
   */
  static readonly layerStatic = (
    workflows: ReadonlyMap<string, WorkflowView | WorkflowRecord>
  ): Layer.Layer<WorkflowSource> =>
    Layer.succeed(
      WorkflowSource,
      WorkflowSource.of({
        lookup: (namespace, name) => {
          const given = workflows.get(`${namespace}/${name}`)
          if (given === undefined) return Effect.succeed(gone(namespace, name))
          const workflow = "metadata" in given ? given : recordFromView(namespace, name, given)
          return Effect.succeed({ _tag: "Known", workflow })
        }
      })
    )
}
