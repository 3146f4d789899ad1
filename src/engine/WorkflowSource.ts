/**
 * Where the policy learns about a pod's workflow. `undefined` means the workflow is known to be
 * gone (or the Workflow CRD is absent): the pod's own pod-gc-strategy annotation then stands in.
 * A failure to find out (5xx, timeout) is an error, never `undefined`, so a flaky API server never
 * turns "delete after the workflow succeeds" into "just label".
 */
import { Clock, Context, Effect, Layer } from "effect"
import { workflowView } from "../domain/workflow.ts"
import type { WorkflowView } from "../domain/policy.ts"
import type { KubeApiError } from "../kube/ApiError.ts"
import { KubeClient } from "../kube/KubeClient.ts"

export class WorkflowSource extends Context.Service<WorkflowSource, {
  readonly lookup: (namespace: string, name: string) => Effect.Effect<WorkflowView | undefined, KubeApiError>
}>()("pod-cleanup/WorkflowSource") {
  /** Reads workflows from the API (`argoproj.io/v1alpha1`), remembering answers for `ttlMillis`. */
  static readonly layerFromApi = (ttlMillis = 2_000): Layer.Layer<WorkflowSource, never, KubeClient> =>
    Layer.effect(
      WorkflowSource,
      Effect.gen(function*() {
        const client = yield* KubeClient
        const cache = new Map<string, { readonly at: number; readonly view: WorkflowView | undefined }>()
        return WorkflowSource.of({
          lookup: Effect.fn("WorkflowSource.lookup")(function*(namespace: string, name: string) {
            const key = `${namespace}/${name}`
            const now = yield* Clock.currentTimeMillis
            const hit = cache.get(key)
            if (hit !== undefined && now - hit.at < ttlMillis) return hit.view
            const raw = yield* client.call(
              { verb: "get", resource: "workflows.argoproj.io", namespace, name },
              (options) =>
                client.customObjects.getNamespacedCustomObject({
                  group: "argoproj.io",
                  version: "v1alpha1",
                  namespace,
                  plural: "workflows",
                  name
                }, options)
            ).pipe(
              // 404: the workflow is gone, or the CRD is not installed; both mean "no workflow".
              Effect.catchTag("KubeNotFoundError", () => Effect.succeed(undefined))
            )
            const view = raw === undefined ? undefined : workflowView(raw, now)
            cache.set(key, { at: now, view })
            if (cache.size > 10_000) cache.delete(cache.keys().next().value!)
            return view
          })
        })
      })
    )

  /** Fixed answers, for tests and for callers that already hold the workflows. */
  static readonly layerStatic = (workflows: ReadonlyMap<string, WorkflowView>): Layer.Layer<WorkflowSource> =>
    Layer.succeed(
      WorkflowSource,
      WorkflowSource.of({ lookup: (namespace, name) => Effect.succeed(workflows.get(`${namespace}/${name}`)) })
    )
}
