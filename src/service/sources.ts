/**
 * The list and watch calls behind the service's informers: pods (through `PodApi`, with the label
 * selector) and Argo workflows (`argoproj.io/v1alpha1`, through the custom-objects API), for all
 * namespaces or one.
 */
import type * as k8s from "@kubernetes/client-node"
import { Effect, Stream } from "effect"
import { type WorkflowRecord, workflowRecord } from "../domain/workflow.ts"
import type { KubeApiError } from "../kube/ApiError.ts"
import type { KubeClient } from "../kube/KubeClient.ts"
import type { PodApi } from "../kube/PodApi.ts"
import { watchStream } from "../kube/watchStream.ts"
import type { InformerOptions } from "./informer.ts"

type ListWatch<A> = Pick<InformerOptions<A>, "list" | "watch">

export const podListWatch = (
  pods: PodApi["Service"],
  namespace: string | undefined,
  labelSelector: string
): ListWatch<k8s.V1Pod> => ({
  list: ({ continue: cont, limit }) => pods.list({ namespace, labelSelector, limit, continue: cont }),
  watch: (resourceVersion) => pods.watch({ namespace, labelSelector, resourceVersion, allowWatchBookmarks: true })
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
