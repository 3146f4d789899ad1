/**
 * The pod operations pod-cleanup performs: list, get, watch, patch, delete. Every call runs under
 * the request deadline with its AbortSignal wired through, and fails with a typed `KubeApiError`.
 * Lists and watches hand out the API's plain JSON (`PodObject`: timestamps as text, no model
 * objects: at 100k pods these are the bulk of the traffic); get, patch and delete return
 * client-node's `V1Pod` (`Date` timestamps). Readers accept both (the domain decoder does).
 */
import * as k8s from "@kubernetes/client-node"
import { Context, Effect, Layer, type Stream } from "effect"
import type { KubeApiError } from "./ApiError.ts"
import { KubeClient, kubeInternals } from "./KubeClient.ts"
import { type ListPage, listPage } from "./listPage.ts"
import type { WatchEvent, WatchQuery } from "./watchStream.ts"

/** A pod in the API's JSON, as lists and watches deliver it: read it through the domain's `decodePod`. */
export interface PodObject {
  readonly metadata?: {
    readonly namespace?: string
    readonly name?: string
    readonly uid?: string
    readonly resourceVersion?: string
    readonly labels?: Readonly<Record<string, string>>
    readonly [key: string]: unknown
  }
  readonly [key: string]: unknown
}

export interface ListPodsOptions {
  /** Omit for all namespaces. */
  readonly namespace?: string | undefined
  readonly labelSelector?: string | undefined
  readonly fieldSelector?: string | undefined
  readonly limit?: number | undefined
  readonly continue?: string | undefined
  readonly resourceVersion?: string | undefined
}

export type PodList = ListPage<PodObject>

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

const podsPath = (namespace: string | undefined): string =>
  namespace === undefined ? "/api/v1/pods" : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`

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
  readonly watch: (options?: WatchPodsOptions) => Stream.Stream<WatchEvent<PodObject>, KubeApiError>
}>()("pod-cleanup/PodApi") {
  static readonly layer = Layer.effect(
    PodApi,
    Effect.gen(function*() {
      const client = yield* KubeClient
      const core = kubeInternals(client).fetchConfig.makeApiClient(k8s.CoreV1Api)
      return PodApi.of({
        list: Effect.fn("PodApi.list")(function*(options: ListPodsOptions = {}) {
          const req = { verb: "list", resource: "pods", namespace: options.namespace }
          const body = yield* client.getJson(
            req,
            podsPath(options.namespace),
            {
              labelSelector: options.labelSelector,
              fieldSelector: options.fieldSelector,
              limit: options.limit,
              continue: options.continue,
              resourceVersion: options.resourceVersion
            }
          )
          return yield* listPage<PodObject>(req, body)
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
          client.watch<PodObject>(
            { verb: "watch", resource: "pods", namespace: options.namespace },
            podsPath(options.namespace),
            options
          )
      })
    })
  )
}
