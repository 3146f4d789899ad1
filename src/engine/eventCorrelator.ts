/**
 * The rules of client-go's event correlator (`tools/record/events_cache.go`) as pure, clock-free
 * state transitions, applied to `events.k8s.io/v1` Events: nothing here writes to the API, it only
 * says which write (create, or a patch of the series) an observation calls for, if any. Memory is
 * bounded (at most `maxEntries` records per cache, least recently used evicted first).
 *
 * - Aggregation: events about one object from one source that differ only by their note, seen
 *   `maxSimilar` (10) times with distinct notes within `windowMs` (10 minutes) of each other, are
 *   combined into one Event whose note starts "(combined from similar events): ".
 * - Series: an identical event (same source, object, type, reason, action, note) seen again within
 *   `windowMs` of its last observation is not a new Event: its `series.count` and
 *   `series.lastObservedTime` grow and the existing Event is patched.
 * - Spam filter: every write about one object from one source (and of one type) takes a token
 *   from that object's bucket: `spamBurst` (25) at most, refilled one per `spamRefillMs` (5
 *   minutes). An observation without a token is not written; a series keeps counting, so the
 *   next write (or the final one, below) carries the whole count.
 * - A series idle for `windowMs` ends: its final count is written once if the server is behind
 *   (without a token: one write per series, as client-go's `finishSeries` does), then forgotten.
 */

import type { EventObjectRef } from "../kube/EventApi.ts"

export type ObjectRef = EventObjectRef

export type EventType = "Normal" | "Warning"

/** What a caller records; the source (reporting controller and instance) is the recorder's. */
export interface EventInput {
  readonly regarding: ObjectRef
  readonly related?: ObjectRef | undefined
  readonly type: EventType
  /** CamelCase, why: `SentSIGTERM`, `ExecTimedOut`, `FailedDelete`. */
  readonly reason: string
  /** CamelCase, what was done or tried: `Terminating`, `Deleting`, `Exec`. */
  readonly action: string
  readonly note: string
}

export interface CorrelatorSettings {
  readonly windowMs: number
  readonly maxSimilar: number
  readonly spamBurst: number
  readonly spamRefillMs: number
  readonly maxEntries: number
}

/** client-go's defaults (`defaultAggregateMaxEvents`, `defaultAggregateIntervalInSeconds`, `defaultSpamBurst`, `defaultSpamQPS`, `maxLruCacheEntries`). */
export const defaultCorrelatorSettings: CorrelatorSettings = {
  windowMs: 10 * 60_000,
  maxSimilar: 10,
  spamBurst: 25,
  spamRefillMs: 5 * 60_000,
  maxEntries: 4096
}

export const CombinedPrefix = "(combined from similar events): "

/** One write to make: the whole state of a series (count 1 = no series yet). */
export interface Write {
  readonly _tag: "Create" | "Patch"
  /** The series key, to report the write's result with `written`/`failed`. */
  readonly key: string
  /** The Event's name: chosen here for a create, the server's for a patch. */
  readonly name: string
  readonly event: EventInput
  /** When the series was first observed (the Event's `eventTime`), epoch ms. */
  readonly firstAt: number
  readonly lastAt: number
  readonly count: number
}

export interface Observation {
  readonly writes: ReadonlyArray<Write>
  /** The observation was not written for lack of a token (the spam filter). */
  readonly rateLimited: boolean
  readonly combined: boolean
}

interface SeriesRecord {
  readonly key: string
  readonly spamKey: string
  readonly event: EventInput
  readonly firstAt: number
  lastAt: number
  count: number
  /** The count the server has (0: not created yet). */
  written: number
  /** The name to create it under (kept across failed attempts, so a lost answer ends as 409). */
  name: string
  created: boolean
}

interface Bucket {
  tokens: number
  at: number
}

const refKey = (r: ObjectRef): string => [r.apiVersion, r.kind, r.namespace, r.name, r.uid ?? ""].join("\u0000")

/** Kubernetes object names are at most 253 characters. */
const eventName = (regarding: ObjectRef, nanos: bigint): string => {
  const suffix = `.${nanos.toString(16)}`
  return `${regarding.name.slice(0, 253 - suffix.length)}${suffix}`
}

const touch = <K, V>(map: Map<K, V>, key: K, value: V, max: number): void => {
  map.delete(key)
  map.set(key, value)
  while (map.size > max) map.delete(map.keys().next().value as K)
}

export interface Correlator {
  /** An event observed at `now` (epoch ms): the writes it calls for. */
  readonly observe: (input: EventInput, now: number) => Observation
  /** Ends the series idle for the window: their final writes (if the server is behind). */
  readonly sweep: (now: number) => ReadonlyArray<Write>
  /** The server has the write: its name and count. */
  readonly written: (write: Write, name: string) => void
  /** The create of `write` must be made again under a new name (its Event was deleted on the server). */
  readonly recreate: (write: Write, now: number) => Write
  readonly size: () => { readonly series: number; readonly similar: number; readonly buckets: number }
}

export const makeCorrelator = (
  source: { readonly reportingController: string; readonly reportingInstance: string },
  partial: Partial<CorrelatorSettings> = {}
): Correlator => {
  const settings = { ...defaultCorrelatorSettings, ...partial }
  const sourceKey = `${source.reportingController}\u0000${source.reportingInstance}`
  const similar = new Map<string, { readonly notes: Set<string>; last: number }>()
  const series = new Map<string, SeriesRecord>()
  const buckets = new Map<string, Bucket>()
  let lastNanos = 0n

  const uniqueNanos = (now: number): bigint => {
    const n = BigInt(Math.floor(now)) * 1_000_000n
    lastNanos = n > lastNanos ? n : lastNanos + 1n
    return lastNanos
  }

  const refill = (bucket: Bucket, now: number) => {
    bucket.tokens = Math.min(settings.spamBurst, bucket.tokens + Math.max(0, now - bucket.at) / settings.spamRefillMs)
    bucket.at = now
  }
  const takeToken = (spamKey: string, now: number): boolean => {
    const bucket = buckets.get(spamKey) ?? { tokens: settings.spamBurst, at: now }
    refill(bucket, now)
    const ok = bucket.tokens >= 1
    if (ok) bucket.tokens -= 1
    touch(buckets, spamKey, bucket, settings.maxEntries)
    return ok
  }

  const writeOf = (rec: SeriesRecord): Write => ({
    _tag: rec.created ? "Patch" : "Create",
    key: rec.key,
    name: rec.name,
    event: rec.event,
    firstAt: rec.firstAt,
    lastAt: rec.lastAt,
    count: rec.count
  })
  /** A series that ended with the server behind: its last write. */
  const finalWrite = (rec: SeriesRecord): ReadonlyArray<Write> =>
    rec.created && rec.count > rec.written ? [writeOf(rec)] : []

  const observe = (input: EventInput, now: number): Observation => {
    const regarding = refKey(input.regarding)
    const aggregateKey = [sourceKey, regarding, input.type, input.reason, input.action, input.related ? refKey(input.related) : ""]
      .join("\u0001")
    let group = similar.get(aggregateKey)
    if (group === undefined || now - group.last > settings.windowMs) group = { notes: new Set(), last: now }
    group.notes.add(input.note)
    group.last = now
    touch(similar, aggregateKey, group, settings.maxEntries)
    let event = input
    let key = `${aggregateKey}\u0001${input.note}`
    const combined = group.notes.size >= settings.maxSimilar
    if (combined) {
      // Do not grow the set past the threshold (client-go pops one); this note stays in it.
      for (const note of group.notes) {
        if (note !== input.note) {
          group.notes.delete(note)
          break
        }
      }
      event = { ...input, note: `${CombinedPrefix}${input.note}` }
      key = `${aggregateKey}\u0001\u0002combined`
    }

    const writes: Array<Write> = []
    let rec = series.get(key)
    if (rec !== undefined && now - rec.lastAt <= settings.windowMs) {
      rec.count++
      rec.lastAt = now
    } else {
      if (rec !== undefined) writes.push(...finalWrite(rec))
      rec = {
        key,
        spamKey: `${sourceKey}\u0001${regarding}\u0001${input.type}`,
        event,
        firstAt: now,
        lastAt: now,
        count: 1,
        written: 0,
        name: eventName(input.regarding, uniqueNanos(now)),
        created: false
      }
    }
    touch(series, key, rec, settings.maxEntries)
    if (!takeToken(rec.spamKey, now)) return { writes, rateLimited: true, combined }
    writes.push(writeOf(rec))
    return { writes, rateLimited: false, combined }
  }

  const sweep = (now: number): ReadonlyArray<Write> => {
    const writes: Array<Write> = []
    for (const [key, rec] of series) {
      if (now - rec.lastAt <= settings.windowMs) continue
      writes.push(...finalWrite(rec))
      series.delete(key)
    }
    for (const [key, group] of similar) if (now - group.last > settings.windowMs) similar.delete(key)
    for (const [key, bucket] of buckets) {
      refill(bucket, now)
      if (bucket.tokens >= settings.spamBurst) buckets.delete(key)
    }
    return writes
  }

  return {
    observe,
    sweep,
    written: (write, name) => {
      const rec = series.get(write.key)
      // A series ended and begun again under the same key meanwhile: the write was the old one's.
      if (rec === undefined || rec.name !== write.name) return
      rec.name = name
      rec.created = true
      rec.written = Math.max(rec.written, write.count)
    },
    recreate: (write, now) => {
      const name = eventName(write.event.regarding, uniqueNanos(now))
      const rec = series.get(write.key)
      if (rec !== undefined && rec.name === write.name) {
        rec.name = name
        rec.created = false
        rec.written = 0
      }
      return { ...write, _tag: "Create", name }
    },
    size: () => ({ series: series.size, similar: similar.size, buckets: buckets.size })
  }
}
