/**
 * The list and watch calls behind the service's informers: pods (through `PodApi`, with the label
 * selector) and Argo workflows (`argoproj.io/v1alpha1`, through the custom-objects API), for all
 * namespaces or one.
 */
import type * as k8s from "@kubernetes/client-node"
import { Effect, Result, Stream } from "effect"
import { compactPod, decodePod, type Pod } from "../domain/Pod.ts"
import { type WorkflowRecord, workflowRecord } from "../domain/workflow.ts"
import type { KubeApiError } from "../kube/ApiError.ts"
import type { KubeClient } from "../kube/KubeClient.ts"
import type { PodApi } from "../kube/PodApi.ts"
import { type WatchEvent, watchStream } from "../kube/watchStream.ts"
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
const tombstone = (raw: k8s.V1Pod): Pod => ({
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
 * Pods as compact records, decoded once as each object arrives (list pages and watch events): the
 * caches never hold client-node's objects, and nothing downstream decodes a pod again.
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

/** A Workflow as read from the API: kept raw, read through `workflowView`. */
export interface WorkflowObject {
  readonly metadata?: { readonly namespace?: string; readonly name?: string; readonly resourceVersion?: string }
  readonly [key: string]: unknown
}

const workflowsPath = (namespace: string | undefined) =>
  namespace === undefined
    ? "/apis/argoproj.io/v1alpha1/workflows"
    : `/apis/argoproj.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/workflows`

export const listWorkflows = (
  client: KubeClient["Service"],
  namespace: string | undefined,
  options: { readonly continue?: string | undefined; readonly limit: number }
): Effect.Effect<{ items: ReadonlyArray<WorkflowObject>; resourceVersion: string; continue: string | undefined }, KubeApiError> =>
  Effect.map(
    client.call({ verb: "list", resource: "workflows.argoproj.io", namespace }, (opts) => {
      const common = { group: "argoproj.io", version: "v1alpha1", plural: "workflows", limit: options.limit, _continue: options.continue }
      return namespace === undefined
        ? client.customObjects.listClusterCustomObject(common, opts)
        : client.customObjects.listNamespacedCustomObject({ ...common, namespace }, opts)
    }),
    (list: { items?: Array<WorkflowObject>; metadata?: { resourceVersion?: string; continue?: string } }) => ({
      items: list.items ?? [],
      resourceVersion: list.metadata?.resourceVersion ?? "",
      continue: list.metadata?.continue || undefined
    })
  )

/**
 * Workflows as compact records, decoded once as each object arrives: the caches never hold whole
 * Workflow objects (thousands of nodes, stored templates).
 */
export const workflowListWatch = (client: KubeClient["Service"], namespace: string | undefined): ListWatch<WorkflowRecord> => ({
  list: (options) =>
    Effect.map(listWorkflows(client, namespace, options), (page) => ({ ...page, items: page.items.map(workflowRecord) })),
  watch: (resourceVersion) =>
    watchStream<WorkflowObject>(client, { verb: "watch", resource: "workflows.argoproj.io", namespace }, workflowsPath(namespace), {
      resourceVersion,
      allowWatchBookmarks: true
    }).pipe(Stream.map((event) => event.type === "BOOKMARK" ? event : { type: event.type, object: workflowRecord(event.object) }))
})

export const objectKey = (o: { readonly metadata?: { readonly namespace?: string; readonly name?: string } }): string =>
  `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`
