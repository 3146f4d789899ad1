/**
 * A list + watch loop that never gives up while its fiber lives (client-node's informer stops on
 * the first error). It lists (paginated), then watches from the list's resourceVersion with
 * bookmarks; a clean end or a drop resumes the watch from the last resourceVersion seen, an error
 * resumes after a capped, jittered backoff, a watch silent past `silenceLimit` is restarted, and a
 * 410 (resourceVersion too old) lists again and reconciles the cache against the new list, so no
 * object is ever lost. All waiting is on `Clock`.
 */
import { Clock, Data, Duration, Effect, Metric, Random, Stream } from "effect"
import type { KubeApiError } from "../kube/ApiError.ts"
import type { WatchEvent } from "../kube/watchStream.ts"
import { watchRestarts } from "../engine/metrics.ts"

export interface ListPage<A> {
  readonly items: ReadonlyArray<A>
  readonly resourceVersion: string
  readonly continue: string | undefined
}

export interface InformerOptions<A> {
  /** For logs and metrics, e.g. "pods" or "workflows". */
  readonly resource: string
  readonly list: (options: { readonly continue?: string | undefined; readonly limit: number }) => Effect.Effect<ListPage<A>, KubeApiError>
  readonly watch: (resourceVersion: string) => Stream.Stream<WatchEvent<A>, KubeApiError>
  readonly keyOf: (object: A) => string
  readonly onUpsert: (object: A, previous: A | undefined) => Effect.Effect<void>
  readonly onDelete: (object: A) => Effect.Effect<void>
  /** Called after every complete list (the first one marks the cache synced). */
  readonly onSynced?: (() => Effect.Effect<void>) | undefined
  /** A watch with no event (bookmarks included) for this long is restarted. Default 5 minutes. */
  readonly silenceLimit?: Duration.Duration | undefined
  /** Backoff after an error: from `backoffBase` doubling to `backoffMax`. Default 1 s → 30 s. */
  readonly backoffBase?: Duration.Duration | undefined
  readonly backoffMax?: Duration.Duration | undefined
  readonly pageSize?: number | undefined
}

/** The cache an informer maintains; the loop writes it, everyone else reads it. */
export interface InformerCache<A> {
  readonly get: (key: string) => A | undefined
  readonly values: () => IterableIterator<A>
  readonly size: () => number
  readonly synced: () => boolean
}

class WatchSilent extends Data.TaggedError("WatchSilent")<{ readonly silentMs: number }> {}

export const makeInformer = <A>(options: InformerOptions<A>) => {
  const store = new Map<string, A>()
  let synced = false
  const silenceLimit = options.silenceLimit ?? Duration.minutes(5)
  const backoffBase = Duration.toMillis(options.backoffBase ?? Duration.seconds(1))
  const backoffMax = Duration.toMillis(options.backoffMax ?? Duration.seconds(30))
  const pageSize = options.pageSize ?? 500
  const log = (message: string, extra: Record<string, unknown> = {}) =>
    Effect.annotateLogs(Effect.logInfo(message), { resource: options.resource, ...extra })
  const restarted = (reason: string) =>
    Metric.update(Metric.withAttributes(watchRestarts, { resource: options.resource, reason }), 1)

  /** Lists every page and makes the cache equal to the result (deletes for what vanished). */
  const relist = Effect.gen(function*() {
    const seen = new Set<string>()
    let cont: string | undefined
    let resourceVersion = ""
    do {
      const page = yield* options.list({ continue: cont, limit: pageSize })
      for (const item of page.items) {
        const key = options.keyOf(item)
        seen.add(key)
        const previous = store.get(key)
        store.set(key, item)
        yield* options.onUpsert(item, previous)
      }
      cont = page.continue
      resourceVersion = page.resourceVersion
    } while (cont !== undefined)
    for (const [key, item] of store) {
      if (!seen.has(key)) {
        store.delete(key)
        yield* options.onDelete(item)
      }
    }
    synced = true
    if (options.onSynced) yield* options.onSynced()
    return resourceVersion
  })

  /** Watches from `resourceVersion` until the stream ends or fails; returns the last version seen. */
  const watchFrom = (resourceVersion: string) =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const state = { resourceVersion, lastEventAt: clock.currentTimeMillisUnsafe(), events: 0 }
      const consume = Stream.runForEach(options.watch(resourceVersion), (event) =>
        Effect.suspend(() => {
          state.lastEventAt = clock.currentTimeMillisUnsafe()
          state.events++
          if (event.type === "BOOKMARK") {
            state.resourceVersion = event.resourceVersion
            return Effect.void
          }
          const object = event.object
          const rv = (object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion
          if (rv) state.resourceVersion = rv
          const key = options.keyOf(object)
          if (event.type === "DELETED") {
            store.delete(key)
            return options.onDelete(object)
          }
          const previous = store.get(key)
          store.set(key, object)
          return options.onUpsert(object, previous)
        }))
      const limitMs = Duration.toMillis(silenceLimit)
      const watchdog = Effect.gen(function*() {
        for (;;) {
          yield* Effect.sleep(Duration.millis(Math.max(10, limitMs / 4)))
          const silentMs = clock.currentTimeMillisUnsafe() - state.lastEventAt
          if (silentMs >= limitMs) return yield* new WatchSilent({ silentMs })
        }
      })
      const exit = yield* Effect.exit(Effect.raceFirst(consume, watchdog))
      return { exit, resourceVersion: state.resourceVersion, events: state.events }
    })

  const run: Effect.Effect<never> = Effect.gen(function*() {
    let resourceVersion: string | undefined
    let failures = 0
    const backoff = Effect.gen(function*() {
      failures++
      const nominal = Math.min(backoffMax, backoffBase * 2 ** Math.min(failures - 1, 20))
      const jitter = 0.8 + 0.4 * (yield* Random.next)
      yield* Effect.sleep(Duration.millis(nominal * jitter))
    })
    for (;;) {
      if (resourceVersion === undefined) {
        const listed = yield* Effect.result(relist)
        if (listed._tag === "Failure") {
          yield* Effect.logWarning(`list ${options.resource} failed: ${listed.failure.message}`).pipe(
            Effect.annotateLogs({ resource: options.resource })
          )
          yield* restarted("list-error")
          yield* backoff
          continue
        }
        resourceVersion = listed.success
        failures = 0
      }
      const { exit, resourceVersion: last, events } = yield* watchFrom(resourceVersion)
      resourceVersion = last
      if (events > 0) failures = 0
      if (exit._tag === "Success") {
        yield* restarted("closed")
        continue
      }
      const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
      const error = failure?._tag === "Fail" ? failure.error as KubeApiError | WatchSilent : undefined
      if (error?._tag === "KubeGoneError") {
        yield* log(`watch ${options.resource}: resourceVersion ${resourceVersion} expired, listing again`)
        yield* restarted("expired")
        resourceVersion = undefined
        continue
      }
      if (error?._tag === "WatchSilent") {
        yield* log(`watch ${options.resource}: silent for ${error.silentMs} ms, restarting`)
        yield* restarted("silent")
        continue
      }
      yield* Effect.logWarning(
        `watch ${options.resource} failed: ${error && "message" in error ? error.message : "unknown"}; resuming after backoff`
      ).pipe(Effect.annotateLogs({ resource: options.resource }))
      yield* restarted("error")
      yield* backoff
    }
  }) as Effect.Effect<never>

  const cache: InformerCache<A> = {
    get: (key) => store.get(key),
    values: () => store.values(),
    size: () => store.size,
    synced: () => synced
  }
  return { run, cache }
}
