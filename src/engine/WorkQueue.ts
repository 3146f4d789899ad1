/**
 * The action queue: deduplicated by key, with "run at time T" (due times from `Clock`), and no
 * throughput cap of its own. Semantics follow client-go's delaying work queue, which Argo uses:
 * a key is queued at most once; adding a key that waits for a later time moves it earlier; adding
 * a key that is being processed queues it again once `done` is called, never twice at once. One
 * scheduler fiber sleeps until the earliest due time (or a new earlier one): nothing is polled.
 *
 * A named queue exports client-go's workqueue series with `name` (`workqueue_adds_total`, `_depth`,
 * `_queue_duration_seconds`, `_work_duration_seconds`, `_retries_total`, `_unfinished_work_seconds`,
 * `_longest_running_processor_seconds`) with client-go's meanings: an add is an item becoming ready
 * (after its delay, if it had one), a retry is an add with a delay (client-go's `AddAfter`), the
 * depth counts ready items, and the last two are refreshed by `sampleMetrics`.
 */
import { Cause, Clock, Deferred, Effect, Metric, Queue, type Scope } from "effect"
import { workqueueSeriesOf } from "../metrics.ts"

export interface QueueDepth {
  /** Due now, waiting for a worker. */
  readonly ready: number
  /** Waiting for their due time. */
  readonly delayed: number
  /** Taken by a worker and not yet done. */
  readonly processing: number
}

export interface WorkQueue<A> {
  /**
   * Queues `item` under `key`, due at `at` (epoch ms from `Clock`; now when omitted). Returns
   * false when the key was already queued at the same or an earlier time.
   */
  readonly add: (key: string, item: A, at?: number) => Effect.Effect<boolean>
  /** Waits for the next due item; fails with `Done` once the queue is shut down. */
  readonly take: Effect.Effect<{ readonly key: string; readonly item: A }, Cause.Done>
  /**
   * Takes `key` out of the queue if it is waiting (ready or delayed) and returns what it held; a
   * key being processed is left alone (its pending re-add, if any, is dropped).
   */
  readonly remove: (key: string) => A | undefined
  /** Whether `key` is queued, delayed or being processed. */
  readonly has: (key: string) => boolean
  /**
   * Waits until fewer than `limit` items are ready (at once if that is so already, and at shutdown).
   * A producer of many keys paces itself on the consumers with it, so the queue never holds them
   * all at once (a resync of 100 000 cached pods).
   */
  readonly awaitRoom: (limit: number) => Effect.Effect<void>
  /** Marks `key` processed; a re-add that came in meanwhile is queued now. */
  readonly done: (key: string) => Effect.Effect<void>
  readonly depth: () => QueueDepth
  /** Keys and due times of everything not yet taken (for outcomes at shutdown). */
  readonly pending: () => ReadonlyArray<{ readonly key: string; readonly item: A; readonly at: number }>
  readonly shutdown: Effect.Effect<void>
  /** Refreshes the queue's workqueue gauges (a no-op for an unnamed queue). */
  readonly sampleMetrics: Effect.Effect<void>
}

export interface WorkQueueOptions {
  /** The `name` label of the queue's workqueue metrics; none without it. */
  readonly name?: string | undefined
}

type Entry<A> =
  | { state: "ready"; item: A; at: number; readyAt: number }
  | { state: "delayed"; item: A; at: number }
  | { state: "processing"; item: A; at: number; startedAt: number; again?: { item: A; at: number } | undefined }

/** A binary min-heap of (due time, key); stale entries are skipped when popped. */
class DueHeap {
  private readonly items: Array<{ at: number; key: string }> = []
  get size(): number {
    return this.items.length
  }
  peek(): { at: number; key: string } | undefined {
    return this.items[0]
  }
  push(entry: { at: number; key: string }): void {
    const items = this.items
    items.push(entry)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.at <= entry.at) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = entry
  }
  pop(): { at: number; key: string } | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && items[right]!.at < items[left]!.at ? right : left
      if (items[child]!.at >= last.at) break
      items[i] = items[child]!
      i = child
    }
    items[i] = last
    return top
  }
}

export const makeWorkQueue = <A>(options: WorkQueueOptions = {}): Effect.Effect<WorkQueue<A>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const name = options.name
    /** Adds and retries not yet reported to the metrics. */
    let unreportedAdds = 0
    let unreportedRetries = 0
    const ready = yield* Queue.unbounded<string, Cause.Done>()
    const wakeups = yield* Queue.sliding<void>(1)
    const entries = new Map<string, Entry<A>>()
    const heap = new DueHeap()
    let delayedCount = 0
    let processingCount = 0

    const makeReady = (key: string, item: A, at: number) => {
      entries.set(key, { state: "ready", item, at, readyAt: clock.currentTimeMillisUnsafe() })
      unreportedAdds++
      Queue.offerUnsafe(ready, key)
    }
    const readyCount = () => entries.size - delayedCount - processingCount
    const series = name === undefined ? undefined : workqueueSeriesOf(name)
    /** Reports the adds and retries since the last report, and the depth. */
    const report: Effect.Effect<void> = series === undefined ? Effect.void : Effect.suspend(() => {
      const adds = unreportedAdds
      const retries = unreportedRetries
      unreportedAdds = 0
      unreportedRetries = 0
      return Effect.all([
        adds > 0 ? Metric.update(series.adds, adds) : Effect.void,
        retries > 0 ? Metric.update(series.retries, retries) : Effect.void,
        Metric.update(series.depth, readyCount())
      ], { discard: true })
    })
    const observe = (metric: "queueDuration" | "workDuration", sinceMillis: number): Effect.Effect<void> =>
      series === undefined
        ? Effect.void
        : Metric.update(series[metric], Math.max(0, clock.currentTimeMillisUnsafe() - sinceMillis) / 1000)

    const schedule = (key: string, item: A, at: number, now: number): void => {
      if (at <= now) {
        makeReady(key, item, at)
      } else {
        entries.set(key, { state: "delayed", item, at })
        delayedCount++
        heap.push({ at, key })
        const head = heap.peek()
        if (head !== undefined && head.key === key && head.at === at) Queue.offerUnsafe(wakeups, undefined)
      }
    }

    const addUnsafe = (key: string, item: A, at?: number): boolean => {
        const now = clock.currentTimeMillisUnsafe()
        const due = at ?? now
        // client-go counts every AddAfter as a retry (backoffs, requeues, delayed follow-ups).
        if (due > now) unreportedRetries++
        const entry = entries.get(key)
        if (entry === undefined) {
          schedule(key, item, due, now)
          return true
        }
        switch (entry.state) {
          case "ready":
            return false
          case "delayed":
            if (due >= entry.at) return false
            delayedCount--
            schedule(key, item, due, now)
            return true
          case "processing":
            if (entry.again !== undefined && entry.again.at <= due) return false
            entry.again = { item, at: due }
            return true
        }
    }
    const add = (key: string, item: A, at?: number): Effect.Effect<boolean> =>
      Effect.tap(Effect.sync(() => addUnsafe(key, item, at)), () => report)

    /** Moves every due delayed entry to ready; returns the next due time, if any. */
    const promote = (now: number): number | undefined => {
      for (;;) {
        const head = heap.peek()
        if (head === undefined) return undefined
        const entry = entries.get(head.key)
        const live = entry !== undefined && entry.state === "delayed" && entry.at === head.at
        if (!live) {
          heap.pop()
          continue
        }
        if (head.at > now) return head.at
        heap.pop()
        delayedCount--
        makeReady(head.key, entry.item, entry.at)
      }
    }

    const scheduler = Effect.gen(function*() {
      for (;;) {
        const next = promote(clock.currentTimeMillisUnsafe())
        yield* report
        const wake = Queue.take(wakeups)
        if (next === undefined) {
          yield* wake
        } else {
          yield* Effect.raceFirst(Effect.sleep(Math.max(0, next - clock.currentTimeMillisUnsafe())), wake)
        }
      }
    })
    yield* Effect.forkScoped(scheduler)

    /** Producers waiting for fewer than `limit` ready items, woken as items are taken or removed. */
    let roomWaiters: Array<{ readonly limit: number; readonly deferred: Deferred.Deferred<void> }> = []
    let closed = false
    const wakeRoom = () => {
      if (roomWaiters.length === 0) return
      // A woken producer may run at once, add and wait again: it waits on the new list, and the
      // room is counted again for each waiter (with the count taken once, and the list walked while
      // it grew, one take let a sweep of 100 000 pods into the queue at once).
      const waiters = roomWaiters
      roomWaiters = []
      const still: typeof roomWaiters = []
      for (const waiter of waiters) {
        if (closed || readyCount() < waiter.limit) Deferred.doneUnsafe(waiter.deferred, Effect.void)
        else still.push(waiter)
      }
      roomWaiters = [...still, ...roomWaiters]
    }
    const awaitRoom = (limit: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (closed || readyCount() < limit) return Effect.void
        const deferred = Deferred.makeUnsafe<void>()
        roomWaiters.push({ limit, deferred })
        return Deferred.await(deferred)
      })

    const take: Effect.Effect<{ readonly key: string; readonly item: A }, Cause.Done> = Effect.flatMap(Queue.take(ready), (key) =>
      Effect.suspend(() => {
        const entry = entries.get(key)
        // Removed (or removed and re-added later) while it waited in the ready queue: not this one.
        if (entry === undefined || entry.state !== "ready") return take
        entries.set(key, { state: "processing", item: entry.item, at: entry.at, startedAt: clock.currentTimeMillisUnsafe() })
        processingCount++
        wakeRoom()
        return Effect.as(Effect.andThen(observe("queueDuration", entry.readyAt), report), { key, item: entry.item })
      }))

    const done = (key: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        const entry = entries.get(key)
        if (entry === undefined || entry.state !== "processing") return Effect.void
        processingCount--
        entries.delete(key)
        if (entry.again !== undefined) schedule(key, entry.again.item, entry.again.at, clock.currentTimeMillisUnsafe())
        return Effect.andThen(observe("workDuration", entry.startedAt), report)
      })

    const sampleMetrics: Effect.Effect<void> = series === undefined ? Effect.void : Effect.suspend(() => {
      const now = clock.currentTimeMillisUnsafe()
      let unfinished = 0
      let longest = 0
      for (const entry of entries.values()) {
        if (entry.state !== "processing") continue
        const age = Math.max(0, now - entry.startedAt) / 1000
        unfinished += age
        longest = Math.max(longest, age)
      }
      return Effect.andThen(
        Effect.all([
          Metric.update(series.unfinishedWork, unfinished),
          Metric.update(series.longestRunning, longest)
        ], { discard: true }),
        report
      )
    })

    const remove = (key: string): A | undefined => {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      switch (entry.state) {
        case "processing": {
          const again = entry.again
          entry.again = undefined
          return again?.item
        }
        case "delayed":
          // Its heap entry goes stale and is skipped when popped.
          delayedCount--
          entries.delete(key)
          return entry.item
        case "ready":
          // Its key stays in the ready queue; `take` skips keys that have no ready entry.
          entries.delete(key)
          wakeRoom()
          return entry.item
      }
    }

    const shutdown = Effect.andThen(
      Effect.sync(() => {
        closed = true
        wakeRoom()
      }),
      Effect.asVoid(Queue.end(ready))
    )
    yield* Effect.addFinalizer(() => shutdown)
    // A queue that is gone (leadership lost) holds nothing: its gauges say so.
    if (series !== undefined) {
      yield* Effect.addFinalizer(() =>
        Effect.all([
          Metric.update(series.depth, 0),
          Metric.update(series.unfinishedWork, 0),
          Metric.update(series.longestRunning, 0)
        ], { discard: true })
      )
    }

    return {
      add,
      remove,
      has: (key) => entries.has(key),
      take,
      awaitRoom,
      done,
      depth: () => ({ ready: readyCount(), delayed: delayedCount, processing: processingCount }),
      pending: () => {
        const out: Array<{ key: string; item: A; at: number }> = []
        for (const [key, entry] of entries) {
          if (entry.state !== "processing") out.push({ key, item: entry.item, at: entry.at })
          else if (entry.again) out.push({ key, item: entry.again.item, at: entry.again.at })
        }
        return out
      },
      shutdown,
      sampleMetrics
    }
  })
