/**
 * The Argo Workflow operations pod-cleanup performs (`argoproj.io/v1alpha1`, read only): list a
 * page, get one, watch, and probe whether the CRD is installed. Every call goes through the
 * `KubeClient` (request deadline, AbortSignal, typed `KubeApiError`) and hands out the API's plain
 * JSON: Workflows are large (thousands of nodes, stored templates), callers compact them at once.
 * A 404 from `get` stays a `KubeNotFoundError`: whether that means "gone" is the caller's rule.
 */
import { Context, Duration, Effect, Layer, Result, type Stream } from "effect"
import type { ApiRequest, KubeApiError } from "./ApiError.ts"
import { KubeClient } from "./KubeClient.ts"
import { type ListPage, listPage } from "./listPage.ts"
import type { WatchEvent } from "./watchStream.ts"

const group = "argoproj.io"
const version = "v1alpha1"
const plural = "workflows"
/** How the API server names the resource (`workflows.argoproj.io`), in requests, errors and metrics. */
export const workflowResource = `${plural}.${group}`
/** The Workflow CRD's `apiVersion`. */
export const workflowApiVersion = `${group}/${version}`

/** A Workflow as read from the API: kept raw, read through the domain's `workflowView`/`workflowRecord`. */
export interface WorkflowObject {
  readonly metadata?: { readonly namespace?: string; readonly name?: string; readonly resourceVersion?: string }
  readonly [key: string]: unknown
}

export type WorkflowList = ListPage<WorkflowObject>

export interface ListWorkflowsOptions {
  /** Omit for all namespaces. */
  readonly namespace?: string | undefined
  readonly limit: number
  readonly continue?: string | undefined
}

export interface WatchWorkflowsOptions {
  /** Omit for all namespaces. */
  readonly namespace?: string | undefined
  readonly resourceVersion: string
  readonly allowWatchBookmarks: boolean
}

const collectionPath = (namespace: string | undefined): string =>
  namespace === undefined
    ? `/apis/${group}/${version}/${plural}`
    : `/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/${plural}`

const request = (verb: string, namespace?: string, name?: string): ApiRequest => ({ verb, resource: workflowResource, namespace, name })

export class WorkflowApi extends Context.Service<WorkflowApi, {
  readonly list: (options: ListWorkflowsOptions) => Effect.Effect<WorkflowList, KubeApiError>
  /** One workflow; 404 (gone, or the CRD is absent) fails with `KubeNotFoundError`. */
  readonly get: (namespace: string, name: string) => Effect.Effect<WorkflowObject, KubeApiError>
  readonly watch: (options: WatchWorkflowsOptions) => Stream.Stream<WatchEvent<WorkflowObject>, KubeApiError>
  /**
   * Whether the Workflow CRD is installed, by listing one workflow: 404 means absent; 401/403 is
   * logged as an RBAC problem and read as absent; any other failure is tried 3 times, 1 s apart,
   * and then assumed present (the informer keeps trying).
   */
  readonly crdPresent: (namespace?: string | undefined) => Effect.Effect<boolean>
}>()("pod-cleanup/WorkflowApi") {
  static readonly layer: Layer.Layer<WorkflowApi, never, KubeClient> = Layer.effect(
    WorkflowApi,
    Effect.map(KubeClient, (client) => makeWorkflowApi(client))
  )
}

const makeWorkflowApi = (client: KubeClient["Service"]): WorkflowApi["Service"] => {
  const list = Effect.fn("WorkflowApi.list")(function*(options: ListWorkflowsOptions) {
    const req = request("list", options.namespace)
    const body = yield* client.getJson(req, collectionPath(options.namespace), { limit: options.limit, continue: options.continue })
    return yield* listPage<WorkflowObject>(req, body)
  })

  const get = Effect.fn("WorkflowApi.get")(function*(namespace: string, name: string) {
    // Straight on the pool (`requestJson`), as the pod reads: a decision whose workflow is not
    // cached reads it here, many times a second while a sweep decides pods of workflows not seen.
    const body = yield* client.requestJson(request("get", namespace, name), "GET", `${collectionPath(namespace)}/${encodeURIComponent(name)}`)
    return body as WorkflowObject
  })

  const watch = (options: WatchWorkflowsOptions): Stream.Stream<WatchEvent<WorkflowObject>, KubeApiError> =>
    client.watch<WorkflowObject>(request("watch", options.namespace), collectionPath(options.namespace), {
      resourceVersion: options.resourceVersion,
      allowWatchBookmarks: options.allowWatchBookmarks
    })

  const crdPresent = Effect.fn("WorkflowApi.crdPresent")(function*(namespace?: string | undefined) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const probe = yield* Effect.result(list({ namespace, limit: 1 }))
      if (Result.isSuccess(probe)) return true
      if (probe.failure._tag === "KubeNotFoundError") return false
      if (probe.failure._tag === "KubeForbiddenError") {
        yield* Effect.logError(`cannot list workflows: ${probe.failure.message} (check the RBAC rules)`)
        return false
      }
      yield* Effect.sleep(Duration.seconds(1))
    }
    // Unknown after retries: assume present; the informer keeps trying.
    return true
  })

  return WorkflowApi.of({ list, get, watch, crdPresent })
}
