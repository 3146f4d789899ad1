/**
 * The pod operations pod-cleanup performs: list, get, watch, patch, delete. Every call runs under
 * the request deadline with its AbortSignal wired through, and fails with a typed `KubeApiError`.
 * Every answer is the API's plain JSON (`PodObject`: timestamps as text), with none of
 * client-node's model objects built: at 100k pods lists and watches are the bulk of the traffic,
 * and in a label storm building the `V1Pod` of each patch's answer (a 15 KB pod) cost more CPU
 * than the rest of the label. Read a pod through the domain's `decodePod`.
 */
import * as k8s from "@kubernetes/client-node"
import { Context, Effect, Layer, type Stream } from "effect"
import type { KubeApiError } from "./ApiError.ts"
import { KubeClient } from "./KubeClient.ts"
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
    readonly finalizers?: ReadonlyArray<string>
    /** RFC 3339 text, as the API sends it. */
    readonly deletionTimestamp?: string
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

const podPath = (namespace: string, name: string): string => `${podsPath(namespace)}/${encodeURIComponent(name)}`

/**
 * The Accept header of a metadata-only read (`PartialObjectMetadata`, as client-go's metadata
 * client asks for it), with plain JSON after it: a server that cannot answer metadata only sends
 * the whole object, whose `metadata` reads the same.
 */
export const PartialObjectMetadataAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json"

/** What a metadata-only read of a pod answers (or the whole pod, from a server without it). */
export interface PodMetadataObject {
  readonly metadata?: {
    readonly namespace?: string
    readonly name?: string
    readonly uid?: string
    readonly resourceVersion?: string
    readonly deletionTimestamp?: string | null
  }
}

const contentTypes = {
  merge: k8s.PatchStrategy.MergePatch,
  strategic: k8s.PatchStrategy.StrategicMergePatch,
  json: k8s.PatchStrategy.JsonPatch
} as const

export class PodApi extends Context.Service<PodApi, {
  readonly list: (options?: ListPodsOptions) => Effect.Effect<PodList, KubeApiError>
  readonly get: (namespace: string, name: string) => Effect.Effect<PodObject, KubeApiError>
  /**
   * The pod's metadata only (`PartialObjectMetadata`: UID, resourceVersion, deletion; no spec or
   * status): a live check of which pod a name stands for, a fraction of a whole pod to send and read.
   */
  readonly getMetadata: (namespace: string, name: string) => Effect.Effect<PodMetadataObject, KubeApiError>
  /** The pod as patched. */
  readonly patch: (namespace: string, name: string, patch: PodPatch) => Effect.Effect<PodObject, KubeApiError>
  /**
   * `patch`, its answer checked but not parsed (the pod as patched is read off the wire and
   * dropped): for callers that see the pod's new state through their watch, as the engine does.
   */
  readonly patchUnread: (namespace: string, name: string, patch: PodPatch) => Effect.Effect<void, KubeApiError>
  /** What the API answers: the pod (marked for deletion, or as it was when removed at once). */
  readonly delete: (namespace: string, name: string, options?: DeletePodOptions) => Effect.Effect<PodObject, KubeApiError>
  readonly watch: (options?: WatchPodsOptions) => Stream.Stream<WatchEvent<PodObject>, KubeApiError>
}>()("pod-cleanup/PodApi") {
  static readonly layer = Layer.effect(
    PodApi,
    Effect.gen(function*() {
      const client = yield* KubeClient
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
          return (yield* client.requestJson({ verb: "get", resource: "pods", namespace, name }, "GET", podPath(namespace, name))) as PodObject
        }),
        getMetadata: Effect.fn("PodApi.getMetadata")(function*(namespace: string, name: string) {
          return (yield* client.requestJson(
            { verb: "get", resource: "pods", namespace, name },
            "GET",
            podPath(namespace, name),
            { accept: PartialObjectMetadataAccept }
          )) as PodMetadataObject
        }),
        patch: Effect.fn("PodApi.patch")(function*(namespace: string, name: string, patch: PodPatch) {
          return (yield* client.requestJson(
            { verb: "patch", resource: "pods", namespace, name },
            "PATCH",
            podPath(namespace, name),
            { body: patch.body, contentType: contentTypes[patch.type] }
          )) as PodObject
        }),
        patchUnread: Effect.fn("PodApi.patchUnread")(function*(namespace: string, name: string, patch: PodPatch) {
          yield* client.requestJson(
            { verb: "patch", resource: "pods", namespace, name },
            "PATCH",
            podPath(namespace, name),
            { body: patch.body, contentType: contentTypes[patch.type], answer: "ignored" }
          )
        }),
        delete: Effect.fn("PodApi.delete")(function*(namespace: string, name: string, options: DeletePodOptions = {}) {
          const preconditions = options.uid !== undefined || options.resourceVersion !== undefined
            ? { uid: options.uid, resourceVersion: options.resourceVersion }
            : undefined
          const propagationPolicy = options.propagationPolicy ?? "Background"
          return (yield* client.requestJson(
            { verb: "delete", resource: "pods", namespace, name },
            "DELETE",
            podPath(namespace, name),
            {
              query: { gracePeriodSeconds: options.gracePeriodSeconds, propagationPolicy },
              body: { gracePeriodSeconds: options.gracePeriodSeconds, propagationPolicy, preconditions }
            }
          )) as PodObject
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
