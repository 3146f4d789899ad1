/**
 * Go duration strings, parsed and printed exactly as Go's `time` package does, so a delay read from
 * a Workflow or a pod annotation means here what it meant to Argo. Parsing never throws: bad input
 * is an `InvalidDurationError`.
 *
 * Sources: Go `src/time/format.go` (`ParseDuration`, `leadingInt`, `leadingFraction`, `unitMap`)
 * and `src/time/time.go` (`Duration.String`); argoproj/argo-workflows
 * `pkg/apis/workflow/v1alpha1/utils.go` (`ParseStringToDuration`: a bare integer is seconds,
 * otherwise `time.ParseDuration`), used by `PodGC.GetDeleteDelayDuration`.
 */
import { Data, Duration, Result } from "effect"

export class InvalidDurationError extends Data.TaggedError("InvalidDurationError")<{
  readonly input: string
  readonly message: string
}> {}

const MAX_INT64 = (1n << 63n) - 1n
const TWO_63 = 1n << 63n

const NANOSECOND = 1n
const MICROSECOND = 1000n * NANOSECOND
const MILLISECOND = 1000n * MICROSECOND
const SECOND = 1000n * MILLISECOND
const MINUTE = 60n * SECOND
const HOUR = 60n * MINUTE

const UNITS: ReadonlyMap<string, bigint> = new Map([
  ["ns", NANOSECOND],
  ["us", MICROSECOND],
  ["\u00b5s", MICROSECOND], // U+00B5 micro sign
  ["\u03bcs", MICROSECOND], // U+03BC Greek small letter mu
  ["ms", MILLISECOND],
  ["s", SECOND],
  ["m", MINUTE],
  ["h", HOUR]
])

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9"

const invalid = (input: string, why: string): Result.Result<never, InvalidDurationError> =>
  Result.fail(new InvalidDurationError({ input, message: `time: ${why} ${JSON.stringify(input)}` }))

/**
 * Parses a Go duration (`"5s"`, `"1m30s"`, `"0"`, `"300ms"`, `"1.5s"`, `"-2h45m"`, `"1h0m0s"`) into
 * nanoseconds, with Go's int64 range and overflow rules.
 */
export const parseGoDurationNanos = (input: string): Result.Result<bigint, InvalidDurationError> => {
  let s = input
  let neg = false
  if (s !== "") {
    const c = s[0]
    if (c === "-" || c === "+") {
      neg = c === "-"
      s = s.slice(1)
    }
  }
  // Special case: "0" needs no unit.
  if (s === "0") return Result.succeed(0n)
  if (s === "") return invalid(input, "invalid duration")

  let d = 0n
  while (s !== "") {
    let v = 0n
    let f = 0n
    let scale = 1

    if (!(s[0] === "." || isDigit(s[0]))) return invalid(input, "invalid duration")

    // leadingInt: the integer part; overflow is an error.
    let i = 0
    for (; i < s.length && isDigit(s[i]); i++) {
      if (v > TWO_63 / 10n) return invalid(input, "invalid duration")
      v = v * 10n + BigInt(s.charCodeAt(i) - 48)
      if (v > TWO_63) return invalid(input, "invalid duration")
    }
    const pre = i > 0
    s = s.slice(i)

    // leadingFraction: digits past the int64 range are consumed but ignored.
    let post = false
    if (s !== "" && s[0] === ".") {
      s = s.slice(1)
      let j = 0
      let overflow = false
      for (; j < s.length && isDigit(s[j]); j++) {
        if (overflow) continue
        if (f > MAX_INT64 / 10n) {
          overflow = true
          continue
        }
        const y = f * 10n + BigInt(s.charCodeAt(j) - 48)
        if (y > TWO_63) {
          overflow = true
          continue
        }
        f = y
        scale *= 10
      }
      post = j > 0
      s = s.slice(j)
    }
    if (!pre && !post) return invalid(input, "invalid duration") // no digits, e.g. ".s" or "."

    // The unit runs up to the next digit or '.'.
    let k = 0
    for (; k < s.length; k++) {
      if (s[k] === "." || isDigit(s[k])) break
    }
    if (k === 0) return invalid(input, "missing unit in duration")
    const u = s.slice(0, k)
    s = s.slice(k)
    const unit = UNITS.get(u)
    if (unit === undefined) return invalid(input, `unknown unit ${JSON.stringify(u)} in duration`)

    if (v > TWO_63 / unit) return invalid(input, "invalid duration")
    v *= unit
    if (f > 0n) {
      // Go computes this part in float64: float64(f) * (float64(unit) / scale), truncated.
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)))
      if (v > TWO_63) return invalid(input, "invalid duration")
    }
    d += v
    if (d > TWO_63) return invalid(input, "invalid duration")
  }
  if (neg) return Result.succeed(-d)
  if (d > MAX_INT64) return invalid(input, "invalid duration")
  return Result.succeed(d)
}

/** `time.ParseDuration` as an Effect `Duration`. */
export const parseGoDuration = (input: string): Result.Result<Duration.Duration, InvalidDurationError> =>
  Result.map(parseGoDurationNanos(input), Duration.nanos)

/** Like {@link parseGoDuration}, `undefined` when the input is not a Go duration. */
export const parseGoDurationOrUndefined = (input: string): Duration.Duration | undefined =>
  Result.getOrUndefined(parseGoDuration(input))

const GO_INT = /^[+-]?[0-9]+$/

/**
 * Argo's `ParseStringToDuration`: a bare integer (`strconv.Atoi`) is a number of seconds,
 * anything else is a Go duration. Used for `spec.podGC.deleteDelayDuration`.
 */
export const parseArgoDuration = (input: string): Result.Result<Duration.Duration, InvalidDurationError> => {
  if (GO_INT.test(input)) {
    const secs = BigInt(input)
    // strconv.Atoi is int64 on the platforms Argo ships for; time.Duration(val)*time.Second wraps
    // silently in Go, we refuse instead.
    if (secs * SECOND > MAX_INT64 || secs * SECOND < -TWO_63) {
      return invalid(input, "invalid duration")
    }
    return Result.succeed(Duration.nanos(secs * SECOND))
  }
  return parseGoDuration(input)
}

// ---- Formatting (Go's Duration.String) ----------------------------------------------------------

const fmtFrac = (v: bigint, prec: number): { digits: string; rest: bigint } => {
  // Prints the fraction of v / 10^prec, omitting trailing zeros and the '.' if nothing remains.
  let out = ""
  let print = false
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n
    print = print || digit !== 0n
    if (print) out = digit.toString() + out
    v /= 10n
  }
  return { digits: print ? "." + out : "", rest: v }
}

/**
 * Go's `Duration.String()`: `"0s"`, `"300ms"`, `"1.5s"`, `"1m30s"`, `"1h0m0s"`, `"-5s"`. This is the
 * form Argo writes into the `pod-gc-strategy` annotation. Infinite durations have no Go form and
 * are printed as `"+Inf"` / `"-Inf"`.
 */
export const formatGoDuration = (duration: Duration.Duration): string => {
  if (!Duration.isFinite(duration)) return Duration.isNegative(duration) ? "-Inf" : "+Inf"
  const d = Duration.toNanosUnsafe(duration)
  if (d === 0n) return "0s"
  const neg = d < 0n
  let u = neg ? -d : d
  let body: string
  if (u < SECOND) {
    // Sub-second: a smaller unit, e.g. "1.2ms".
    let prec: number
    let unit: string
    if (u < MICROSECOND) {
      prec = 0
      unit = "ns"
    } else if (u < MILLISECOND) {
      prec = 3
      unit = "\u00b5s"
    } else {
      prec = 6
      unit = "ms"
    }
    const { digits, rest } = fmtFrac(u, prec)
    body = rest.toString() + digits + unit
  } else {
    const { digits, rest } = fmtFrac(u, 9)
    u = rest // whole seconds
    body = (u % 60n).toString() + digits + "s"
    u /= 60n
    if (u > 0n) {
      body = (u % 60n).toString() + "m" + body
      u /= 60n
      if (u > 0n) body = u.toString() + "h" + body
    }
  }
  return neg ? "-" + body : body
}
