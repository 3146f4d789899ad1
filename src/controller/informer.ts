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
 * - The cache keeps each object once, by namespace and then name (no key string is built or kept
 *   per object). A list applies each page as it arrives, moving objects from the cache as it was to
 *   the one being listed (readers see either version, never none), so a relist of N objects never
 *   holds 2 × N; what the complete list did not return is deleted. A list that fails part-way
 *   puts the objects it moved back.
 */
import { Clock, Data, Duration, Effect, Metric, Random, Stream } from "effect"
import type { KubeApiError } from "../kube/ApiError.ts"
import { type WatchEvent, WatchTimeouts, type WatchTimeoutSettings } from "../kube/watchStream.ts"
import { watchRestartsOf } from "../metrics.ts"

export interface ListPage<A> {
  readonly items: ReadonlyArray<A>
  readonly resourceVersion: string
  readonly continue: string | undefined
}

/** What the informer reads of an object: where it lives. */
export interface KubeObject {
  readonly metadata?: { readonly namespace?: string | undefined; readonly name?: string | undefined } | undefined
}

export interface InformerOptions<A> {
  /** For logs and metrics, e.g. "pods" or "workflows". */
  readonly resource: string
  /** `limit: 0` asks for one unpaginated list (the fallback after an expired continue token). */
  readonly list: (options: { readonly continue?: string | undefined; readonly limit: number }) => Effect.Effect<ListPage<A>, KubeApiError>
  /** Runs with `WatchTimeouts` set from `watchTimeout` / `watchInactivityLimit`. */
  readonly watch: (resourceVersion: string) => Stream.Stream<WatchEvent<A>, KubeApiError>
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
  /**
   * Objects per list page. Default 100 (client-go's pager asks for 500): what one page allocates
   * while it is parsed and decoded (Argo's pods are about 15 KB of JSON each) then dies in V8's
   * young generation instead of being promoted; with 500, a list of real-sized pods peaked 70 MiB
   * higher (`npm run bench -- --only scale --realistic`), for no faster a list.
   */
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
  /** The object `namespace/name` (`""` for a cluster-scoped one). */
  readonly getByName: (namespace: string, name: string) => A | undefined
  /** The object of a `namespace/name` key, the form Kubernetes' caches and logs use. */
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

/** Objects by namespace, then name: a lookup or an update builds no string. */
class ObjectStore<A> {
  readonly #byNamespace = new Map<string, Map<string, A>>()
  #size = 0

  get size(): number {
    return this.#size
  }

  get(namespace: string, name: string): A | undefined {
    return this.#byNamespace.get(namespace)?.get(name)
  }

  set(namespace: string, name: string, object: A): void {
    let names = this.#byNamespace.get(namespace)
    if (names === undefined) this.#byNamespace.set(namespace, names = new Map())
    const before = names.size
    names.set(name, object)
    this.#size += names.size - before
  }

  /** Removes `namespace/name` and returns what it held. */
  take(namespace: string, name: string): A | undefined {
    const names = this.#byNamespace.get(namespace)
    const object = names?.get(name)
    if (names === undefined || object === undefined) return undefined
    names.delete(name)
    this.#size--
    if (names.size === 0) this.#byNamespace.delete(namespace)
    return object
  }

  *values(): IterableIterator<A> {
    for (const names of this.#byNamespace.values()) yield* names.values()
  }
}

const namespaceOf = (object: KubeObject): string => object.metadata?.namespace ?? ""
const nameOf = (object: KubeObject): string => object.metadata?.name ?? ""

export const makeInformer = <A extends KubeObject>(options: InformerOptions<A>) => {
  /** The cache as of the last complete list, and the watch's events since. */
  let current = new ObjectStore<A>()
  /** While a list runs: the objects it returned so far (moved out of `current`). */
  let listing: ObjectStore<A> | undefined
  let synced = false
  /** Clock time of the last real event or complete list. */
  let lastEvidenceAt: number | undefined
  let relistsAfterSilence = 0
  let driftFound = 0
  const silenceMs = Duration.toMillis(options.silenceLimit ?? Duration.minutes(5))
  const eventSilenceMs = Duration.toMillis(options.eventSilenceLimit ?? Duration.minutes(5))
  const backoffBase = Duration.toMillis(options.backoffBase ?? Duration.seconds(1))
  const backoffMax = Duration.toMillis(options.backoffMax ?? Duration.seconds(30))
  const pageSize = options.pageSize ?? 100
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
  const restarted = (reason: string) => Metric.update(watchRestartsOf(options.resource, reason), 1)

  /**
   * Every page of one consistent list, each handed to `apply` as it arrives and then dropped;
   * returns the list's resourceVersion. A continue token that expired (410) restarts the list as
   * one full, unpaginated list, as client-go's pager does (pages already applied are applied again).
   */
  const listPages = (apply: (items: ReadonlyArray<A>) => Effect.Effect<void>) =>
    Effect.gen(function*() {
      let listed = 0
      let cont: string | undefined
      let limit = pageSize
      for (;;) {
        const page = yield* Effect.result(options.list({ continue: cont, limit }))
        if (page._tag === "Failure") {
          if (cont !== undefined && limit > 0 && page.failure._tag === "KubeGoneError") {
            yield* warn(`list ${options.resource}: the continue token expired after ${listed} objects; listing again in full`)
            yield* restarted("continue-expired")
            cont = undefined
            limit = 0
            continue
          }
          return yield* Effect.fail(page.failure)
        }
        yield* apply(page.success.items)
        listed += page.success.items.length
        cont = page.success.continue
        if (cont === undefined) return page.success.resourceVersion
      }
    })

  /**
   * Lists and makes the cache equal to the result. `check`: a relist after an event silence, which
   * delivers only what differs and counts drift.
   */
  const relist = (check: boolean) =>
    Effect.gen(function*() {
      const incoming = new ObjectStore<A>()
      listing = incoming
      let changed = 0
      let vanished = 0
      const resourceVersion = yield* listPages((items) =>
        Effect.gen(function*() {
          for (const item of items) {
            const namespace = namespaceOf(item)
            const name = nameOf(item)
            const previous = incoming.get(namespace, name) ?? current.take(namespace, name)
            const rv = resourceVersionOf(previous)
            const differs = previous === undefined || rv === undefined || rv !== resourceVersionOf(item)
            if (differs) changed++
            incoming.set(namespace, name, item)
            if (!check || differs) yield* options.onUpsert(item, previous)
          }
        })
      )
      // What is left of the cache as it was is what the complete list did not return.
      for (const item of current.values()) {
        vanished++
        yield* options.onDelete(item)
      }
      current = incoming
      listing = undefined
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
    }).pipe(
      // A list that failed (or was interrupted) part-way: the objects it moved go back, newest first.
      Effect.onExit(() =>
        Effect.sync(() => {
          if (listing === undefined) return
          for (const item of listing.values()) current.set(namespaceOf(item), nameOf(item), item)
          listing = undefined
        })
      )
    )

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
          const namespace = namespaceOf(object)
          const name = nameOf(object)
          if (event.type === "DELETED") {
            current.take(namespace, name)
            return options.onDelete(object)
          }
          const previous = current.get(namespace, name)
          current.set(namespace, name, object)
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

  const lookup = (namespace: string, name: string): A | undefined =>
    listing?.get(namespace, name) ?? current.get(namespace, name)
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
    getByName: lookup,
    get: (key) => {
      const slash = key.indexOf("/")
      return slash < 0 ? undefined : lookup(key.slice(0, slash), key.slice(slash + 1))
    },
    values: function*() {
      if (listing !== undefined) yield* listing.values()
      yield* current.values()
    },
    size: () => current.size + (listing?.size ?? 0),
    synced: () => synced,
    health: () => Effect.map(Clock.currentTimeMillis, healthAt),
    healthAt
  }
  return { run, cache }
}
