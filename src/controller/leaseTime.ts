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

/**
 * A timing that client-go's `NewLeaderElector` refuses, with the bound it missed. The comparisons
 * are client-go's to the nanosecond: `renewDeadline <= time.Duration(JitterFactor * retryPeriod)`
 * (truncated) is refused.
 */
export type TimingViolation =
  | { readonly _tag: "NotPositive" }
  | { readonly _tag: "NotFinite" }
  /** leaseDuration must exceed renewDeadline. */
  | { readonly _tag: "LeaseNotAboveRenew"; readonly leaseDuration: Duration.Duration; readonly renewDeadline: Duration.Duration }
  /** renewDeadline must exceed JitterFactor × retryPeriod (`jitteredRetry`). */
  | { readonly _tag: "RenewNotAboveJitteredRetry"; readonly renewDeadline: Duration.Duration; readonly jitteredRetry: Duration.Duration }

/** Every rule the timings break: none when usable; the comparisons only once all three are finite and positive. */
export const timingViolations = (t: LeaseTimings): ReadonlyArray<TimingViolation> => {
  const all = [t.leaseDuration, t.renewDeadline, t.retryPeriod]
  if (!all.every((d) => Duration.isGreaterThan(d, Duration.zero))) return [{ _tag: "NotPositive" }]
  if (!all.every(Duration.isFinite)) return [{ _tag: "NotFinite" }]
  const nanos = Duration.toNanosUnsafe
  const violations: Array<TimingViolation> = []
  if (nanos(t.leaseDuration) <= nanos(t.renewDeadline)) {
    violations.push({ _tag: "LeaseNotAboveRenew", leaseDuration: t.leaseDuration, renewDeadline: t.renewDeadline })
  }
  const jitteredRetry = BigInt(Math.trunc(JitterFactor * Number(nanos(t.retryPeriod))))
  if (nanos(t.renewDeadline) <= jitteredRetry) {
    violations.push({ _tag: "RenewNotAboveJitteredRetry", renewDeadline: t.renewDeadline, jitteredRetry: Duration.nanos(jitteredRetry) })
  }
  return violations
}

/** The rule `v` breaks, in client-go's terms (`leaseDuration must be greater than renewDeadline`). */
export const timingViolationMessage = (v: TimingViolation): string => {
  switch (v._tag) {
    case "NotPositive":
      return "leaseDuration, renewDeadline and retryPeriod must be greater than zero"
    case "NotFinite":
      return "leaseDuration, renewDeadline and retryPeriod must be finite"
    case "LeaseNotAboveRenew":
      return "leaseDuration must be greater than renewDeadline"
    case "RenewNotAboveJitteredRetry":
      return `renewDeadline must be greater than retryPeriod × ${JitterFactor}`
  }
}

/** client-go's `NewLeaderElector` checks as one message (the first rule broken); `undefined` when the timings are usable. */
export const checkTimings = (t: LeaseTimings): string | undefined => {
  const [first] = timingViolations(t)
  return first === undefined ? undefined : timingViolationMessage(first)
}
