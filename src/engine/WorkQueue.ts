/**
 * The action queue: deduplicated by key, with "run at time T" (due times from `Clock`), and no
 * throughput cap of its own. Semantics follow client-go's delaying work queue, which Argo uses:
 * a key is queued at most once; adding a key that waits for a later time moves it earlier; adding
 * a key that is being processed queues it again once `done` is called, never twice at once. One
 * scheduler fiber sleeps until the earliest due time (or a new earlier one): nothing is polled.
 */
import { Cause, Clock, Effect, Queue, type Scope } from "effect"

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
  /** Marks `key` processed; a re-add that came in meanwhile is queued now. */
  readonly done: (key: string) => Effect.Effect<void>
  readonly depth: () => QueueDepth
  /** Keys and due times of everything not yet taken (for outcomes at shutdown). */
  readonly pending: () => ReadonlyArray<{ readonly key: string; readonly item: A; readonly at: number }>
  readonly shutdown: Effect.Effect<void>
}

type Entry<A> =
  | { state: "ready"; item: A; at: number }
  | { state: "delayed"; item: A; at: number }
  | { state: "processing"; item: A; at: number; again?: { item: A; at: number } | undefined }

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

export const makeWorkQueue = <A>(): Effect.Effect<WorkQueue<A>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const ready = yield* Queue.unbounded<string, Cause.Done>()
    const wakeups = yield* Queue.sliding<void>(1)
    const entries = new Map<string, Entry<A>>()
    const heap = new DueHeap()
    let delayedCount = 0
    let processingCount = 0

    const makeReady = (key: string, item: A, at: number) => {
      entries.set(key, { state: "ready", item, at })
      Queue.offerUnsafe(ready, key)
    }

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
    const add = (key: string, item: A, at?: number): Effect.Effect<boolean> => Effect.sync(() => addUnsafe(key, item, at))

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
        const wake = Queue.take(wakeups)
        if (next === undefined) {
          yield* wake
        } else {
          yield* Effect.raceFirst(Effect.sleep(Math.max(0, next - clock.currentTimeMillisUnsafe())), wake)
        }
      }
    })
    yield* Effect.forkScoped(scheduler)

    const take: Effect.Effect<{ readonly key: string; readonly item: A }, Cause.Done> = Effect.flatMap(Queue.take(ready), (key) =>
      Effect.suspend(() => {
        const entry = entries.get(key)
        // Removed (or removed and re-added later) while it waited in the ready queue: not this one.
        if (entry === undefined || entry.state !== "ready") return take
        entries.set(key, { state: "processing", item: entry.item, at: entry.at })
        processingCount++
        return Effect.succeed({ key, item: entry.item })
      }))

    const done = (key: string): Effect.Effect<void> =>
      Effect.sync(() => {
        const entry = entries.get(key)
        if (entry === undefined || entry.state !== "processing") return
        processingCount--
        entries.delete(key)
        if (entry.again !== undefined) schedule(key, entry.again.item, entry.again.at, clock.currentTimeMillisUnsafe())
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
          return entry.item
      }
    }

    const shutdown = Effect.asVoid(Queue.end(ready))
    yield* Effect.addFinalizer(() => shutdown)

    return {
      add,
      remove,
      has: (key) => entries.has(key),
      take,
      done,
      depth: () => ({ ready: entries.size - delayedCount - processingCount, delayed: delayedCount, processing: processingCount }),
      pending: () => {
        const out: Array<{ key: string; item: A; at: number }> = []
        for (const [key, entry] of entries) {
          if (entry.state !== "processing") out.push({ key, item: entry.item, at: entry.at })
          else if (entry.again) out.push({ key, item: entry.again.item, at: entry.again.at })
        }
        return out
      },
      shutdown
    }
  })
