/**
 * The list and watch calls behind the service's informers: pods (through `PodApi`, with the label
 * selector) and Argo workflows (through `WorkflowApi`), for all namespaces or one. Both arrive as
 * the API's plain JSON and are decoded here, once, into the compact records the caches keep.
 */
import { Effect, Result, Stream } from "effect"
import { compactPod, decodePod, type Pod } from "../domain/Pod.ts"
import { type WorkflowRecord, workflowRecord } from "../domain/workflow.ts"
import type { PodApi, PodObject } from "../kube/PodApi.ts"
import type { WatchEvent } from "../kube/watchStream.ts"
import type { WorkflowApi } from "../kube/WorkflowApi.ts"
import type { InformerOptions } from "./informer.ts"

type ListWatch<A> = Pick<InformerOptions<A>, "list" | "watch">

/** Decodes a pod at the informer's edge into its compact record; a malformed one is skipped with a warning. */
const atEdge = (raw: unknown): Effect.Effect<Pod | undefined> => {
  const decoded = decodePod(raw)
  if (Result.isSuccess(decoded)) return Effect.succeed(compactPod(decoded.success))
  return Effect.as(
    Effect.logWarning(`skipping pod: ${decoded.failure.message}`).pipe(
      Effect.annotateLogs({ namespace: decoded.failure.namespace, pod: decoded.failure.pod })
    ),
    undefined
  )
}

/** Enough of a pod to take it out of a cache (a DELETED event for a pod that does not decode). */
const tombstone = (raw: PodObject): Pod => ({
  metadata: {
    namespace: raw.metadata?.namespace ?? "",
    name: raw.metadata?.name ?? "",
    uid: raw.metadata?.uid ?? "",
    resourceVersion: raw.metadata?.resourceVersion,
    labels: {},
    annotations: {},
    finalizers: []
  },
  spec: { containers: [] },
  status: { containerStatuses: [] }
})

/**
 * Pods as compact records, decoded once as each object arrives (list pages and watch events, both
 * plain JSON): the caches never hold whole pods, and nothing downstream decodes a pod again.
 */
export const podListWatch = (
  pods: PodApi["Service"],
  namespace: string | undefined,
  labelSelector: string
): ListWatch<Pod> => ({
  list: ({ continue: cont, limit }) =>
    Effect.flatMap(pods.list({ namespace, labelSelector, limit, continue: cont }), (page) =>
      Effect.map(Effect.forEach(page.items, atEdge), (items) => ({
        items: items.filter((p): p is Pod => p !== undefined),
        resourceVersion: page.resourceVersion,
        continue: page.continue
      }))),
  watch: (resourceVersion) =>
    pods.watch({ namespace, labelSelector, resourceVersion, allowWatchBookmarks: true }).pipe(
      Stream.mapEffect((event): Effect.Effect<WatchEvent<Pod> | undefined> =>
        event.type === "BOOKMARK"
          ? Effect.succeed(event)
          : Effect.map(atEdge(event.object), (pod): WatchEvent<Pod> | undefined =>
            pod !== undefined
              ? { type: event.type, object: pod }
              : event.type === "DELETED"
              ? { type: event.type, object: tombstone(event.object) }
              : undefined)
      ),
      Stream.filter((event): event is WatchEvent<Pod> => event !== undefined)
    )
})

/**
 * Workflows as compact records, decoded once as each object arrives: the caches never hold whole
 * Workflow objects (thousands of nodes, stored templates).
 */
export const workflowListWatch = (workflows: WorkflowApi["Service"], namespace: string | undefined): ListWatch<WorkflowRecord> => ({
  list: (options) =>
    Effect.map(workflows.list({ namespace, ...options }), (page) => ({ ...page, items: page.items.map(workflowRecord) })),
  watch: (resourceVersion) =>
    workflows.watch({ namespace, resourceVersion, allowWatchBookmarks: true }).pipe(
      Stream.map((event) => event.type === "BOOKMARK" ? event : { type: event.type, object: workflowRecord(event.object) })
    )
})

export const objectKey = (o: { readonly metadata?: { readonly namespace?: string; readonly name?: string } }): string =>
  `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`
