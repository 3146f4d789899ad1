/**
 * A list + watch loop that never gives up while its fiber lives (client-node's informer stops on
 * the first error). Its contract:
 *
 * - It lists (paginated; a continue token that expires mid-list, 410, falls back to one full list
 *   without `limit`, as client-go's pager does), then watches from the list's resourceVersion with
 *   bookmarks.
 * - Every watch asks the server for `timeoutSeconds` (`watchTimeout`, default 25 s) below the
 *   client's inactivity limit (`watchInactivityLimit`, default 30 s, client-node's), so on a quiet
 *   cluster, where a real API server sends one BOOKMARK a minute and nothing else, the server ends
 *   the watch cleanly before the client would abort it. A clean end is never an error: the watch is
 *   resumed at once from the last resourceVersion seen (bookmarks included) and the backoff is reset
 *   (only a run of immediate, empty clean ends waits `backoffBase` between them).
 * - A drop or any other error resumes from the last resourceVersion after a capped, jittered
 *   backoff; the client's inactivity limit firing is such an error (a dead connection).
 * - A watch silent past `silenceLimit` (no bytes, bookmarks included) is restarted.
 * - A watch that delivers no real event (ADDED / MODIFIED / DELETED; bookmarks do not count) for
 *   `eventSilenceLimit` (default 5 minutes) may be wedged (a stuck watch cache keeps sending
 *   bookmarks): it is closed and the loop lists again and reconciles the cache (upserts for new or
 *   changed objects, deletes for vanished ones; unchanged objects are not re-delivered). A check that
 *   finds differences logs a warning and counts in `health().driftFound`.
 * - A 410 (resourceVersion too old) lists again and reconciles the cache against the new list
 *   (every listed object is delivered to `onUpsert`), so no object is ever lost.
 * - Malformed watch events never reach the cache (`watchStream` drops them with a warning).
 * - Restarts count in `watch_restarts_total{resource, reason}`: closed, error, silent, stale,
 *   expired, list-error, continue-expired.
 * - All waiting is on `Clock`.
 */
import { Clock, Data, Duration, Effect, Metric, Random, Stream } from "effect"
import type { KubeApiError } from "../kube/ApiError.ts"
import { type WatchEvent, WatchTimeouts, type WatchTimeoutSettings } from "../kube/watchStream.ts"
import { watchRestarts } from "../engine/metrics.ts"

export interface ListPage<A> {
  readonly items: ReadonlyArray<A>
  readonly resourceVersion: string
  readonly continue: string | undefined
}

export interface InformerOptions<A> {
  /** For logs and metrics, e.g. "pods" or "workflows". */
  readonly resource: string
  /** `limit: 0` asks for one unpaginated list (the fallback after an expired continue token). */
  readonly list: (options: { readonly continue?: string | undefined; readonly limit: number }) => Effect.Effect<ListPage<A>, KubeApiError>
  /** Runs with `WatchTimeouts` set from `watchTimeout` / `watchInactivityLimit`. */
  readonly watch: (resourceVersion: string) => Stream.Stream<WatchEvent<A>, KubeApiError>
  readonly keyOf: (object: A) => string
  readonly onUpsert: (object: A, previous: A | undefined) => Effect.Effect<void>
  readonly onDelete: (object: A) => Effect.Effect<void>
  /** Called after every complete list (the first one marks the cache synced). */
  readonly onSynced?: (() => Effect.Effect<void>) | undefined
  /** A watch with no event (bookmarks included) for this long is restarted. Default 5 minutes. */
  readonly silenceLimit?: Duration.Duration | undefined
  /**
   * A watch with no ADDED / MODIFIED / DELETED event (bookmarks do not count) for this long is
   * re-established after a relist check. Measured across watches, from the last such event or
   * complete list. Default 5 minutes.
   */
  readonly eventSilenceLimit?: Duration.Duration | undefined
  /**
   * The server-side `timeoutSeconds` each watch asks for (whole seconds, at least 1): the server
   * ends the watch cleanly and it is resumed at once. Keep it below `watchInactivityLimit`.
   * Default: 80 % of `watchInactivityLimit`, at most 25 s.
   */
  readonly watchTimeout?: Duration.Duration | undefined
  /** The client aborts a watch that received no bytes for this long (an error). Default 30 s. */
  readonly watchInactivityLimit?: Duration.Duration | undefined
  /** Backoff after an error: from `backoffBase` doubling to `backoffMax`. Default 1 s → 30 s. */
  readonly backoffBase?: Duration.Duration | undefined
  readonly backoffMax?: Duration.Duration | undefined
  readonly pageSize?: number | undefined
}

export interface InformerHealth {
  /** A complete list has been applied. */
  readonly synced: boolean
  /** Since the last ADDED / MODIFIED / DELETED event or complete list; undefined before the first list. */
  readonly lastEventAgeMs: number | undefined
  /** Synced, and `lastEventAgeMs` is past `eventSilenceLimit` (the relist check has not succeeded yet). */
  readonly stale: boolean
  /** Relist checks completed after an event silence. */
  readonly relistsAfterSilence: number
  /** Relist checks that found objects the watch had not delivered (new, changed or vanished). */
  readonly driftFound: number
}

/** The cache an informer maintains; the loop writes it, everyone else reads it. */
export interface InformerCache<A> {
  readonly get: (key: string) => A | undefined
  readonly values: () => IterableIterator<A>
  readonly size: () => number
  readonly synced: () => boolean
  readonly health: () => Effect.Effect<InformerHealth>
  /** `health()` at a time the caller read from its `Clock` (for synchronous status reads). */
  readonly healthAt: (nowMillis: number) => InformerHealth
}

class WatchSilent extends Data.TaggedError("WatchSilent")<{ readonly silentMs: number }> {}
class WatchStale extends Data.TaggedError("WatchStale")<{ readonly eventAgeMs: number }> {}

const resourceVersionOf = (object: unknown): string | undefined =>
  (object as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion

export const makeInformer = <A>(options: InformerOptions<A>) => {
  const store = new Map<string, A>()
  let synced = false
  /** Clock time of the last real event or complete list. */
  let lastEvidenceAt: number | undefined
  let relistsAfterSilence = 0
  let driftFound = 0
  const silenceMs = Duration.toMillis(options.silenceLimit ?? Duration.minutes(5))
  const eventSilenceMs = Duration.toMillis(options.eventSilenceLimit ?? Duration.minutes(5))
  const backoffBase = Duration.toMillis(options.backoffBase ?? Duration.seconds(1))
  const backoffMax = Duration.toMillis(options.backoffMax ?? Duration.seconds(30))
  const pageSize = options.pageSize ?? 500
  const inactivityMs = Duration.toMillis(options.watchInactivityLimit ?? Duration.seconds(30))
  const timeouts: WatchTimeoutSettings = {
    inactivityMs,
    serverTimeoutSeconds: options.watchTimeout !== undefined
      ? Math.max(1, Math.round(Duration.toSeconds(options.watchTimeout)))
      : Math.max(1, Math.min(25, Math.floor((inactivityMs * 0.8) / 1000)))
  }
  const annotate = Effect.annotateLogs({ resource: options.resource })
  const log = (message: string) => annotate(Effect.logInfo(message))
  const warn = (message: string) => annotate(Effect.logWarning(message))
  const restarted = (reason: string) =>
    Metric.update(Metric.withAttributes(watchRestarts, { resource: options.resource, reason }), 1)

  /**
   * Every page of one consistent list. A continue token that expired (410) restarts the list as one
   * full, unpaginated list, as client-go's pager does; pages already read are discarded.
   */
  const listAll = Effect.gen(function*() {
    let items: Array<A> = []
    let cont: string | undefined
    let limit = pageSize
    for (;;) {
      const page = yield* Effect.result(options.list({ continue: cont, limit }))
      if (page._tag === "Failure") {
        if (cont !== undefined && limit > 0 && page.failure._tag === "KubeGoneError") {
          yield* warn(`list ${options.resource}: the continue token expired after ${items.length} objects; listing again in full`)
          yield* restarted("continue-expired")
          items = []
          cont = undefined
          limit = 0
          continue
        }
        return yield* Effect.fail(page.failure)
      }
      for (const item of page.success.items) items.push(item)
      cont = page.success.continue
      if (cont === undefined) return { items, resourceVersion: page.success.resourceVersion }
    }
  })

  /**
   * Lists and makes the cache equal to the result. `check`: a relist after an event silence, which
   * delivers only what differs and counts drift.
   */
  const relist = (check: boolean) =>
    Effect.gen(function*() {
      const { items, resourceVersion } = yield* listAll
      const seen = new Set<string>()
      let changed = 0
      let vanished = 0
      for (const item of items) {
        const key = options.keyOf(item)
        seen.add(key)
        const previous = store.get(key)
        const rv = resourceVersionOf(previous)
        const differs = previous === undefined || rv === undefined || rv !== resourceVersionOf(item)
        if (differs) changed++
        store.set(key, item)
        if (!check || differs) yield* options.onUpsert(item, previous)
      }
      for (const [key, item] of store) {
        if (!seen.has(key)) {
          store.delete(key)
          vanished++
          yield* options.onDelete(item)
        }
      }
      synced = true
      lastEvidenceAt = yield* Clock.currentTimeMillis
      if (check) {
        relistsAfterSilence++
        if (changed + vanished > 0) {
          driftFound++
          yield* warn(
            `watch ${options.resource}: the relist after an event silence found ${changed} new or changed and ${vanished} vanished objects the watch had not delivered`
          )
        }
      }
      if (options.onSynced) yield* options.onSynced()
      return resourceVersion
    })

  /** Watches from `resourceVersion` until the stream ends or fails; returns the last version seen. */
  const watchFrom = (resourceVersion: string) =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const startedAt = clock.currentTimeMillisUnsafe()
      const state = { resourceVersion, lastAnyAt: startedAt, events: 0 }
      const consume = Stream.runForEach(options.watch(resourceVersion), (event) =>
        Effect.suspend(() => {
          const now = clock.currentTimeMillisUnsafe()
          state.lastAnyAt = now
          state.events++
          if (event.type === "BOOKMARK") {
            state.resourceVersion = event.resourceVersion
            return Effect.void
          }
          lastEvidenceAt = now
          const object = event.object
          const rv = resourceVersionOf(object)
          if (rv) state.resourceVersion = rv
          const key = options.keyOf(object)
          if (event.type === "DELETED") {
            store.delete(key)
            return options.onDelete(object)
          }
          const previous = store.get(key)
          store.set(key, object)
          return options.onUpsert(object, previous)
        })).pipe(Effect.provideService(WatchTimeouts, timeouts))
      const watchdog = Effect.gen(function*() {
        for (;;) {
          const now = clock.currentTimeMillisUnsafe()
          const silentMs = now - state.lastAnyAt
          if (silentMs >= silenceMs) return yield* new WatchSilent({ silentMs })
          const eventAgeMs = now - (lastEvidenceAt ?? startedAt)
          if (eventAgeMs >= eventSilenceMs) return yield* new WatchStale({ eventAgeMs })
          yield* Effect.sleep(Duration.millis(Math.max(1, Math.min(silenceMs - silentMs, eventSilenceMs - eventAgeMs))))
        }
      })
      const exit = yield* Effect.exit(Effect.raceFirst(consume, watchdog))
      const lastedMs = clock.currentTimeMillisUnsafe() - startedAt
      return { exit, resourceVersion: state.resourceVersion, events: state.events, lastedMs }
    })

  const run: Effect.Effect<never> = Effect.gen(function*() {
    let resourceVersion: string | undefined
    let checkNextList = false
    let failures = 0
    let quickEnds = 0
    const backoff = Effect.gen(function*() {
      failures++
      const nominal = Math.min(backoffMax, backoffBase * 2 ** Math.min(failures - 1, 20))
      const jitter = 0.8 + 0.4 * (yield* Random.next)
      yield* Effect.sleep(Duration.millis(nominal * jitter))
    })
    for (;;) {
      if (resourceVersion === undefined) {
        const listed = yield* Effect.result(relist(checkNextList))
        if (listed._tag === "Failure") {
          yield* warn(`list ${options.resource} failed: ${listed.failure.message}`)
          yield* restarted("list-error")
          yield* backoff
          continue
        }
        resourceVersion = listed.success
        checkNextList = false
        failures = 0
      }
      const { exit, resourceVersion: last, events, lastedMs } = yield* watchFrom(resourceVersion)
      resourceVersion = last
      if (events > 0) failures = 0
      if (exit._tag === "Success") {
        // A clean end (the server's timeoutSeconds, or its own choice): resume at once.
        yield* restarted("closed")
        failures = 0
        quickEnds = events === 0 && lastedMs < Math.min(1000, timeouts.serverTimeoutSeconds * 500) ? quickEnds + 1 : 0
        if (quickEnds >= 3) yield* Effect.sleep(Duration.millis(backoffBase))
        continue
      }
      quickEnds = 0
      const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
      const error = failure?._tag === "Fail" ? failure.error as KubeApiError | WatchSilent | WatchStale : undefined
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
      if (error?._tag === "WatchStale") {
        yield* warn(
          `watch ${options.resource}: no event for ${error.eventAgeMs} ms (bookmarks do not count); listing again to check the cache`
        )
        yield* restarted("stale")
        resourceVersion = undefined
        checkNextList = true
        continue
      }
      yield* warn(
        `watch ${options.resource} failed: ${error && "message" in error ? error.message : "unknown"}; resuming after backoff`
      )
      yield* restarted("error")
      yield* backoff
    }
  }) as Effect.Effect<never>

  const healthAt = (now: number): InformerHealth => {
    const lastEventAgeMs = lastEvidenceAt === undefined ? undefined : now - lastEvidenceAt
    return {
      synced,
      lastEventAgeMs,
      stale: synced && lastEventAgeMs !== undefined && lastEventAgeMs >= eventSilenceMs,
      relistsAfterSilence,
      driftFound
    }
  }
  const cache: InformerCache<A> = {
    get: (key) => store.get(key),
    values: () => store.values(),
    size: () => store.size,
    synced: () => synced,
    health: () => Effect.map(Clock.currentTimeMillis, healthAt),
    healthAt
  }
  return { run, cache }
}
