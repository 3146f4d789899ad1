/**
 * Pure time rules of leader election on a Lease. `acquireTime`/`renewTime` are MicroTime: RFC 3339
 * in UTC with exactly six fractional digits (Go layout `2006-01-02T15:04:05.000000Z07:00`); an API
 * server rejects anything else (a JS `Date` serialises three digits) with 400. The timing checks
 * and the jitter are client-go's (`tools/leaderelection`).
 */
import { Duration } from "effect"

/** client-go's `JitterFactor`: a follower waits between `retryPeriod` and `(1 + 1.2) × retryPeriod`. */
export const JitterFactor = 1.2

const microTimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(?:Z|[+-]\d{2}:\d{2})$/
const rfc3339Pattern = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/

/** Formats an epoch time in nanoseconds as a MicroTime, e.g. `2026-11-28T10:00:00.123456Z`. */
export const formatMicroTime = (epochNanos: bigint): string => {
  const micros = epochNanos > 0n ? epochNanos / 1000n : 0n
  const millis = Number(micros / 1000n)
  const extraMicros = Number(micros % 1000n)
  return `${new Date(millis).toISOString().slice(0, -1)}${String(extraMicros).padStart(3, "0")}Z`
}

/** Whether `value` is a MicroTime string as an API server accepts it. */
export const isMicroTime = (value: unknown): value is string =>
  typeof value === "string" && microTimePattern.test(value) && !Number.isNaN(Date.parse(value))

/**
 * Reads an RFC 3339 time (any fraction, as read back from a server) or a `Date` as epoch
 * milliseconds, keeping the microseconds as the fraction. `undefined` when it is neither.
 */
export const parseMicroTime = (value: unknown): number | undefined => {
  if (value instanceof Date) {
    const t = value.getTime()
    return Number.isNaN(t) ? undefined : t
  }
  if (typeof value !== "string") return undefined
  const m = rfc3339Pattern.exec(value)
  if (m === null) return undefined
  const seconds = Date.parse(`${m[1]}${m[3]}`)
  if (Number.isNaN(seconds)) return undefined
  const fraction = (m[2] ?? "").padEnd(6, "0").slice(0, 6)
  return seconds + Number(fraction) / 1000
}

/**
 * The `leaseDurationSeconds` written to the Lease. client-go truncates; rounding up instead keeps
 * the promise a holder makes to followers at least as long as the configured duration (they judge
 * expiry by this field), which only matters for durations that are not whole seconds.
 */
export const leaseDurationSeconds = (leaseDuration: Duration.Duration): number =>
  Math.max(1, Math.ceil(Duration.toMillis(leaseDuration) / 1000))

/** client-go's `wait.Jitter`: `period + random × factor × period`, with `random` in [0, 1). */
export const jittered = (periodMillis: number, factor: number, random: number): number =>
  periodMillis + random * factor * periodMillis

export interface LeaseTimings {
  readonly leaseDuration: Duration.Duration
  readonly renewDeadline: Duration.Duration
  readonly retryPeriod: Duration.Duration
}

/** client-go's `NewLeaderElector` checks; `undefined` when the timings are usable. */
export const checkTimings = (t: LeaseTimings): string | undefined => {
  const lease = Duration.toMillis(t.leaseDuration)
  const renew = Duration.toMillis(t.renewDeadline)
  const retry = Duration.toMillis(t.retryPeriod)
  if (!(lease > 0) || !(renew > 0) || !(retry > 0)) return "leaseDuration, renewDeadline and retryPeriod must be greater than zero"
  if (!Number.isFinite(lease) || !Number.isFinite(renew) || !Number.isFinite(retry)) return "leaseDuration, renewDeadline and retryPeriod must be finite"
  if (lease <= renew) return "leaseDuration must be greater than renewDeadline"
  if (renew <= JitterFactor * retry) return `renewDeadline must be greater than retryPeriod × ${JitterFactor}`
  return undefined
}
