/**
 * The pod operations pod-cleanup performs: list, get, watch, patch, delete. Every call runs under
 * the request deadline with its AbortSignal wired through, and fails with a typed `KubeApiError`.
 * Objects are returned as client-node's `V1Pod`; objects from a watch keep their wire form
 * (timestamps as strings), so readers must accept both (the domain decoder does).
 */
import * as k8s from "@kubernetes/client-node"
import { Context, Effect, Layer, type Stream } from "effect"
import type { KubeApiError } from "./ApiError.ts"
import { KubeClient } from "./KubeClient.ts"
import { type WatchEvent, type WatchQuery, watchStream } from "./watchStream.ts"

export interface ListPodsOptions {
  /** Omit for all namespaces. */
  readonly namespace?: string | undefined
  readonly labelSelector?: string | undefined
  readonly fieldSelector?: string | undefined
  readonly limit?: number | undefined
  readonly continue?: string | undefined
  readonly resourceVersion?: string | undefined
}

export interface PodList {
  readonly items: ReadonlyArray<k8s.V1Pod>
  readonly resourceVersion: string
  readonly continue: string | undefined
}

export type PodPatch =
  | { readonly type: "merge"; readonly body: unknown }
  | { readonly type: "strategic"; readonly body: unknown }
  | { readonly type: "json"; readonly body: ReadonlyArray<unknown> }

export interface DeletePodOptions {
  readonly gracePeriodSeconds?: number | undefined
  /** Precondition: delete only the pod with this UID (not a re-created pod of the same name). */
  readonly uid?: string | undefined
  readonly resourceVersion?: string | undefined
  /** Default "Background", as Argo does. */
  readonly propagationPolicy?: "Background" | "Foreground" | "Orphan" | undefined
}

export interface WatchPodsOptions extends WatchQuery {
  readonly namespace?: string | undefined
}

const contentTypes = {
  merge: k8s.PatchStrategy.MergePatch,
  strategic: k8s.PatchStrategy.StrategicMergePatch,
  json: k8s.PatchStrategy.JsonPatch
} as const

export class PodApi extends Context.Service<PodApi, {
  readonly list: (options?: ListPodsOptions) => Effect.Effect<PodList, KubeApiError>
  readonly get: (namespace: string, name: string) => Effect.Effect<k8s.V1Pod, KubeApiError>
  readonly patch: (namespace: string, name: string, patch: PodPatch) => Effect.Effect<k8s.V1Pod, KubeApiError>
  readonly delete: (
    namespace: string,
    name: string,
    options?: DeletePodOptions
  ) => Effect.Effect<k8s.V1Pod | undefined, KubeApiError>
  readonly watch: (options?: WatchPodsOptions) => Stream.Stream<WatchEvent<k8s.V1Pod>, KubeApiError>
}>()("pod-cleanup/PodApi") {
  static readonly layer = Layer.effect(
    PodApi,
    Effect.gen(function*() {
      const client = yield* KubeClient
      const { core } = client
      return PodApi.of({
        list: Effect.fn("PodApi.list")(function*(options: ListPodsOptions = {}) {
          const query = {
            labelSelector: options.labelSelector,
            fieldSelector: options.fieldSelector,
            limit: options.limit,
            _continue: options.continue,
            resourceVersion: options.resourceVersion
          }
          const list = yield* client.call(
            { verb: "list", resource: "pods", namespace: options.namespace },
            (opts) =>
              options.namespace === undefined
                ? core.listPodForAllNamespaces(query, opts)
                : core.listNamespacedPod({ ...query, namespace: options.namespace }, opts)
          )
          return {
            items: list.items,
            resourceVersion: list.metadata?.resourceVersion ?? "",
            continue: list.metadata?._continue || undefined
          }
        }),
        get: Effect.fn("PodApi.get")(function*(namespace: string, name: string) {
          return yield* client.call(
            { verb: "get", resource: "pods", namespace, name },
            (opts) => core.readNamespacedPod({ namespace, name }, opts)
          )
        }),
        patch: Effect.fn("PodApi.patch")(function*(namespace: string, name: string, patch: PodPatch) {
          return yield* client.call(
            { verb: "patch", resource: "pods", namespace, name },
            (opts) => core.patchNamespacedPod({ namespace, name, body: patch.body }, opts),
            { contentType: contentTypes[patch.type] }
          )
        }),
        delete: Effect.fn("PodApi.delete")(function*(namespace: string, name: string, options: DeletePodOptions = {}) {
          const preconditions = options.uid !== undefined || options.resourceVersion !== undefined
            ? { uid: options.uid, resourceVersion: options.resourceVersion }
            : undefined
          return yield* client.call(
            { verb: "delete", resource: "pods", namespace, name },
            (opts) =>
              core.deleteNamespacedPod({
                namespace,
                name,
                gracePeriodSeconds: options.gracePeriodSeconds,
                propagationPolicy: options.propagationPolicy ?? "Background",
                body: {
                  gracePeriodSeconds: options.gracePeriodSeconds,
                  propagationPolicy: options.propagationPolicy ?? "Background",
                  preconditions
                }
              }, opts)
          )
        }),
        watch: (options: WatchPodsOptions = {}) =>
          watchStream<k8s.V1Pod>(
            client,
            { verb: "watch", resource: "pods", namespace: options.namespace },
            options.namespace === undefined ? "/api/v1/pods" : `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/pods`,
            options
          )
      })
    })
  )
}
