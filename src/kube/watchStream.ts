/**
 * A Kubernetes watch as a `Stream`. The HTTP request belongs to the stream: when the stream ends,
 * fails or is interrupted, the request is aborted (even one still waiting for its headers). A
 * clean end of the server's response ends the stream; an `ERROR` event or a broken connection
 * fails it with a typed error (`KubeGoneError` for 410), so the caller decides how to resume.
 */
import * as k8s from "@kubernetes/client-node"
import { Cause, Clock, Effect, Queue, Stream } from "effect"
import { type ApiRequest, fromStatus, type KubeApiError, KubeTransientError, networkFailure } from "./ApiError.ts"
import type { KubeClient } from "./KubeClient.ts"

export type WatchEvent<A> =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: A }
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string }

export interface WatchQuery {
  readonly resourceVersion?: string | undefined
  readonly labelSelector?: string | undefined
  readonly fieldSelector?: string | undefined
  readonly allowWatchBookmarks?: boolean | undefined
  readonly timeoutSeconds?: number | undefined
}

export const watchStream = <A>(
  client: KubeClient["Service"],
  req: ApiRequest,
  path: string,
  query: WatchQuery
): Stream.Stream<WatchEvent<A>, KubeApiError> =>
  Stream.callback<WatchEvent<A>, KubeApiError>((queue) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const fail = (error: KubeApiError) => {
        Queue.failCauseUnsafe(queue, Cause.fail(error))
      }
      const onEvent = (type: string, object: unknown) => {
        switch (type) {
          case "ADDED":
          case "MODIFIED":
          case "DELETED":
            Queue.offerUnsafe(queue, { type, object: object as A })
            return
          case "BOOKMARK": {
            const rv = (object as k8s.KubernetesObject | undefined)?.metadata?.resourceVersion
            if (rv) Queue.offerUnsafe(queue, { type: "BOOKMARK", resourceVersion: rv })
            return
          }
          case "ERROR": {
            const status = object as { code?: number } | undefined
            fail(fromStatus(req, status?.code ?? 500, object, undefined, now))
            return
          }
        }
      }
      const onDone = (err: unknown) => {
        if (err === null || err === undefined) {
          Queue.endUnsafe(queue)
        } else if (typeof (err as { statusCode?: unknown }).statusCode === "number") {
          fail(fromStatus(req, (err as { statusCode: number }).statusCode, undefined, undefined, now))
        } else if ((err as { name?: unknown }).name === "TimeoutError") {
          fail(
            new KubeTransientError({
              ...req,
              code: 0,
              reason: "Timeout",
              message: `${req.verb} ${req.resource}: the watch stayed silent past client-node's inactivity limit`
            })
          )
        } else {
          fail(networkFailure(req, err))
        }
      }
      const params: Record<string, string | number | boolean | undefined> = {
        resourceVersion: query.resourceVersion,
        labelSelector: query.labelSelector,
        fieldSelector: query.fieldSelector,
        allowWatchBookmarks: query.allowWatchBookmarks,
        timeoutSeconds: query.timeoutSeconds
      }
      const pending = new k8s.Watch(client.config).watch(path, params, onEvent, onDone)
      // The controller only exists once the headers arrive; abort it whenever that happens.
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          pending.then((controller) => controller.abort(), () => undefined)
        })
      )
      pending.catch((cause: unknown) => fail(networkFailure(req, cause)))
    })
  )
