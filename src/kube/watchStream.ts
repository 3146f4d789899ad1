/**
 * A Kubernetes watch as a `Stream` (`KubeClient.watch`; nothing else opens one). The HTTP request belongs to the stream: when the stream ends,
 * fails or is interrupted, the request is aborted (even one still waiting for its headers). A
 * clean end of the server's response ends the stream; an `ERROR` event or a broken connection
 * fails it with a typed error (`KubeGoneError` for 410), so the caller decides how to resume.
 *
 * Timeouts (`WatchTimeouts`, a reference the caller may override): client-node aborts a watch that
 * receives no bytes for `inactivityMs` (its private `requestTimeoutMs`, 30 s by default), while a
 * real API server sends nothing but a BOOKMARK about once a minute on a quiet cluster. So every
 * watch asks the server for `timeoutSeconds` (default 25 s) below that limit: on a quiet cluster the
 * server ends the watch cleanly before the client would abort it, and the caller resumes it from the
 * last resourceVersion. The client-side limit stays, as the detector of a dead connection.
 *
 * Each line of the response is parsed with `JSON.parse` (client-node's `Watch`): objects arrive in
 * their wire form, with no model objects built. Malformed events (an ADDED / MODIFIED / DELETED
 * whose object is not an object with `metadata`) are dropped with one warning per kind of problem
 * per watch; they never reach the caller.
 */
import * as k8s from "@kubernetes/client-node"
import { Cause, Clock, Context, Effect, Queue, Result, Stream } from "effect"
import { type ApiRequest, fromStatus, type KubeApiError, KubeTransientError, networkFailure } from "./ApiError.ts"

export type WatchEvent<A> =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: A }
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string }

export interface WatchQuery {
  readonly resourceVersion?: string | undefined
  readonly labelSelector?: string | undefined
  readonly fieldSelector?: string | undefined
  readonly allowWatchBookmarks?: boolean | undefined
  /** Default: `WatchTimeouts.serverTimeoutSeconds`; 0 asks for none (the server picks). */
  readonly timeoutSeconds?: number | undefined
}

export interface WatchTimeoutSettings {
  /** The client aborts a watch that received no bytes for this long (client-node: 30 000). */
  readonly inactivityMs: number
  /** The `timeoutSeconds` a watch asks for when its query names none; keep it below `inactivityMs`. */
  readonly serverTimeoutSeconds: number
}

export const defaultWatchTimeouts: WatchTimeoutSettings = { inactivityMs: 30_000, serverTimeoutSeconds: 25 }

/** The timeouts of the watches opened in this context (the informer sets its own). */
export const WatchTimeouts = Context.Reference<WatchTimeoutSettings>("pod-cleanup/WatchTimeouts", {
  defaultValue: () => defaultWatchTimeouts
})

type MalformedProblem = "null object" | "object is not an object" | "object without metadata"

interface Malformed {
  readonly type: "MALFORMED"
  readonly eventType: string
  readonly problem: MalformedProblem
}

const problemOf = (object: unknown): MalformedProblem | undefined => {
  if (object === null || object === undefined) return "null object"
  if (typeof object !== "object" || Array.isArray(object)) return "object is not an object"
  const metadata = (object as { metadata?: unknown }).metadata
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) return "object without metadata"
  return undefined
}

/** A watch of `path` sent through `fetchConfig` (a configuration whose fetches use the client's pool). */
export const watchStream = <A>(
  fetchConfig: k8s.KubeConfig,
  req: ApiRequest,
  path: string,
  query: WatchQuery
): Stream.Stream<WatchEvent<A>, KubeApiError> =>
  Stream.suspend(() => {
    // One warning per kind of problem per watch (each run of the stream is one watch).
    const warned = new Set<MalformedProblem>()
    const raw = Stream.callback<WatchEvent<A> | Malformed, KubeApiError>((queue) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const timeouts = yield* WatchTimeouts
        const fail = (error: KubeApiError) => {
          Queue.failCauseUnsafe(queue, Cause.fail(error))
        }
        const onEvent = (type: string, object: unknown) => {
          switch (type) {
            case "ADDED":
            case "MODIFIED":
            case "DELETED": {
              const problem = problemOf(object)
              if (problem !== undefined) Queue.offerUnsafe(queue, { type: "MALFORMED", eventType: type, problem })
              else Queue.offerUnsafe(queue, { type, object: object as A })
              return
            }
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
                message: `${req.verb} ${req.resource}: the watch stayed silent past the client's inactivity limit (${timeouts.inactivityMs} ms)`
              })
            )
          } else {
            fail(networkFailure(req, err))
          }
        }
        const serverTimeout = query.timeoutSeconds ?? timeouts.serverTimeoutSeconds
        const params: Record<string, string | number | boolean | undefined> = {
          resourceVersion: query.resourceVersion,
          labelSelector: query.labelSelector,
          fieldSelector: query.fieldSelector,
          allowWatchBookmarks: query.allowWatchBookmarks,
          timeoutSeconds: serverTimeout > 0 ? Math.max(1, Math.round(serverTimeout)) : undefined
        }
        // `fetchConfig`: the watch goes out on the client's shared keep-alive pool, like every request.
        const watch = new k8s.Watch(fetchConfig)
        // client-node keeps its inactivity limit private; it is a plain field read on every reset.
        ;(watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = Math.min(2_147_483_647, Math.max(1, timeouts.inactivityMs))
        const pending = watch.watch(path, params, onEvent, onDone)
        // The controller only exists once the headers arrive; abort it whenever that happens.
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            pending.then((controller) => controller.abort(), () => undefined)
          })
        )
        pending.catch((cause: unknown) => fail(networkFailure(req, cause)))
      })
    )
    return raw.pipe(
      Stream.filterMapEffect((event) => {
        if (event.type !== "MALFORMED") return Effect.succeed(Result.succeed(event))
        if (warned.has(event.problem)) return Effect.succeed(Result.fail(event))
        warned.add(event.problem)
        return Effect.logWarning(
          `watch ${req.resource}: skipped a malformed ${event.eventType} event (${event.problem}); further ones of this kind on this watch are skipped silently`
        ).pipe(
          Effect.annotateLogs({ resource: req.resource, namespace: req.namespace ?? "" }),
          Effect.as(Result.fail(event))
        )
      })
    )
  })
