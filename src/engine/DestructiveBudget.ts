/**
 * The cap on destructive work (`--max-destructive-per-minute`): pod deletes and status-finalizer
 * removals, counted in fixed one-minute windows of the engine's Clock. A misconfigured selector or
 * policy deletes far more than usual; past the cap the rest waits for the next window (the caller
 * requeues it there: nothing is lost), an error is logged once per window, and
 * `pod_cleanup_destructive_paused` is 1 until a window starts with room again. Labelling is not
 * destructive (the pod stays; Argo only stops watching it) and is never held back.
 */
import { type Clock, Effect, Metric } from "effect"
import type { ActionName } from "../domain/Action.ts"
import { destructiveCapReached, destructiveDeferred, destructivePaused } from "../metrics.ts"

export const DestructiveWindowMs = 60_000

export type BudgetAnswer =
  | { readonly _tag: "Granted" }
  /** The window's budget is spent: try again in `retryInMs` (the next window's start). */
  | { readonly _tag: "Deferred"; readonly retryInMs: number; readonly reason: string }

export interface DestructiveBudget {
  /** Whether one more would be granted now, without taking it (a Deferred is counted and reported). */
  readonly check: (action: ActionName) => Effect.Effect<BudgetAnswer>
  /** Takes one from this window's budget, or says when to try again. */
  readonly take: (action: ActionName) => Effect.Effect<BudgetAnswer>
  /** Taken in the current window. */
  readonly used: () => number
}

const granted: BudgetAnswer = { _tag: "Granted" }

/** A budget of `limit` per minute; 0 or less = unlimited. */
export const makeDestructiveBudget = (limit: number, clock: Clock.Clock): DestructiveBudget => {
  let windowStart = -1
  let used = 0
  let announced = false
  let paused = false

  /** Rolls the window forward; a new window with room lifts the pause. */
  const roll = (now: number): Effect.Effect<void> => {
    const start = Math.floor(now / DestructiveWindowMs) * DestructiveWindowMs
    if (start === windowStart) return Effect.void
    windowStart = start
    used = 0
    announced = false
    if (!paused) return Effect.void
    paused = false
    return Effect.andThen(
      Metric.update(destructivePaused, 0),
      Effect.logWarning(`destructive cap: a new minute; deletes and finalizer removals resume (at most ${limit} per minute)`)
    )
  }

  const deferred = (action: ActionName, now: number): Effect.Effect<BudgetAnswer> =>
    Effect.suspend(() => {
      const retryInMs = windowStart + DestructiveWindowMs - now
      const reason = `destructive cap of ${limit} per minute reached (--max-destructive-per-minute): ${action} waits for the next minute`
      const first = !announced
      announced = true
      paused = true
      return Effect.all([
        Metric.update(Metric.withAttributes(destructiveDeferred, { action }), 1),
        first
          ? Effect.all([
            Metric.update(destructiveCapReached, 1),
            Metric.update(destructivePaused, 1),
            Effect.logError(
              `destructive cap reached: ${used} pod deletes and finalizer removals this minute, the most --max-destructive-per-minute allows; ` +
                `the rest wait for the next minute (labelling goes on). Far more than usual? Check the label selector and the PodGC policy.`
            ).pipe(Effect.annotateLogs({ limit, resumesInMs: retryInMs }))
          ], { discard: true })
          : Effect.void
      ], { discard: true }).pipe(Effect.as({ _tag: "Deferred", retryInMs, reason } as const))
    })

  const answer = (action: ActionName, consume: boolean): Effect.Effect<BudgetAnswer> =>
    Effect.suspend(() => {
      if (limit <= 0) return Effect.succeed(granted)
      const now = clock.currentTimeMillisUnsafe()
      return Effect.andThen(roll(now), Effect.suspend(() => {
        if (used < limit) {
          if (consume) used++
          return Effect.succeed(granted)
        }
        return deferred(action, now)
      }))
    })

  return {
    check: (action) => answer(action, false),
    take: (action) => answer(action, true),
    used: () => used
  }
}
