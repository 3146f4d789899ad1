// Expected values are what Go's time.ParseDuration / Duration.String return (go1.22+).
import { Duration, Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  formatGoDuration,
  parseArgoDuration,
  parseGoDuration,
  parseGoDurationNanos,
  parseGoDurationOrUndefined
} from "../../src/domain/duration.ts"

const nanos = (input: string): bigint | string => {
  const r = parseGoDurationNanos(input)
  return Result.isSuccess(r) ? r.success : `error: ${r.failure.message}`
}

const S = 1_000_000_000n
const MS = 1_000_000n

describe("parseGoDurationNanos", () => {
  it.each([
    ["5s", 5n * S],
    ["1m30s", 90n * S],
    ["0s", 0n],
    ["0", 0n],
    ["-0", 0n],
    ["+0", 0n],
    ["1h", 3600n * S],
    ["1h0m0s", 3600n * S],
    ["2h45m", 9900n * S],
    ["300ms", 300n * MS],
    ["1.5s", 1500n * MS],
    [".5s", 500n * MS],
    ["5.s", 5n * S],
    ["1.0000000001s", S],
    ["1ns", 1n],
    ["1us", 1000n],
    ["1\u00b5s", 1000n],
    ["1\u03bcs", 1000n],
    ["-1.5h", -5400n * S],
    ["+2m", 120n * S],
    ["1h1m1s1ms1us1ns", 3661n * S + MS + 1000n + 1n],
    ["9223372036854775807ns", 9223372036854775807n],
    ["-9223372036854775808ns", -9223372036854775808n],
    ["2562047h", 2562047n * 3600n * S]
  ])("%s -> %s ns", (input, expected) => {
    expect(nanos(input)).toBe(expected)
  })

  it.each([
    ["", 'time: invalid duration ""'],
    ["5", 'time: missing unit in duration "5"'],
    ["s", 'time: invalid duration "s"'],
    ["-", 'time: invalid duration "-"'],
    [".s", 'time: invalid duration ".s"'],
    ["5 s", 'time: unknown unit " s" in duration "5 s"'],
    ["5x", 'time: unknown unit "x" in duration "5x"'],
    ["5S", 'time: unknown unit "S" in duration "5S"'],
    ["1.5.5s", 'time: missing unit in duration "1.5.5s"'],
    ["1h-5m", 'time: unknown unit "h-" in duration "1h-5m"'],
    ["9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'],
    ["3000000h", 'time: invalid duration "3000000h"'],
    ["99999999999999999999s", 'time: invalid duration "99999999999999999999s"']
  ])("%j is invalid", (input, message) => {
    expect(nanos(input)).toBe(`error: ${message}`)
  })

  it("fails with a tagged error carrying the input", () => {
    const r = parseGoDuration("soon")
    expect(Result.isFailure(r)).toBe(true)
    if (Result.isFailure(r)) {
      expect(r.failure._tag).toBe("InvalidDurationError")
      expect(r.failure.input).toBe("soon")
    }
  })
})

describe("parseGoDuration", () => {
  it("returns an Effect Duration", () => {
    const r = parseGoDuration("1m30s")
    expect(Result.isSuccess(r) && Duration.toMillis(r.success)).toBe(90_000)
  })

  it("has an undefined-returning variant", () => {
    expect(parseGoDurationOrUndefined("300ms")?.pipe(Duration.toMillis)).toBe(300)
    expect(parseGoDurationOrUndefined("300")).toBe(undefined)
  })
})

describe("parseArgoDuration (ParseStringToDuration)", () => {
  const seconds = (input: string): number | string => {
    const r = parseArgoDuration(input)
    return Result.isSuccess(r) ? Duration.toSeconds(r.success) : `error: ${r.failure.message}`
  }
  it.each([
    ["30", 30],
    ["0", 0],
    ["+7", 7],
    ["-5", -5],
    ["1m", 60],
    ["1.5s", 1.5],
    ["2h", 7200]
  ])("%s -> %s s", (input, expected) => {
    expect(seconds(input)).toBe(expected)
  })

  it.each(["", "abc", "5 m", "99999999999"])("%j is invalid", (input) => {
    expect(typeof seconds(input)).toBe("string")
    expect(String(seconds(input))).toMatch(/^error: time: /)
  })
})

describe("formatGoDuration (Duration.String)", () => {
  it.each([
    [Duration.zero, "0s"],
    [Duration.millis(1500), "1.5s"],
    [Duration.millis(300), "300ms"],
    [Duration.hours(1), "1h0m0s"],
    [Duration.seconds(90), "1m30s"],
    [Duration.seconds(5), "5s"],
    [Duration.nanos(1n), "1ns"],
    [Duration.nanos(1100n), "1.1\u00b5s"],
    [Duration.nanos(1_200_000n), "1.2ms"],
    [Duration.minutes(165), "2h45m0s"],
    [Duration.seconds(-5), "-5s"],
    [Duration.nanos(1_000_000_001n), "1.000000001s"],
    [Duration.infinity, "+Inf"]
  ])("%s -> %s", (d, expected) => {
    expect(formatGoDuration(d)).toBe(expected)
  })

  it.each(["1h0m0s", "1m30s", "1.5s", "300ms", "1.1\u00b5s", "7ns", "-2h3m4.5s", "0s"])(
    "round-trips %s",
    (text) => {
      const parsed = parseGoDuration(text)
      expect(Result.isSuccess(parsed) && formatGoDuration(parsed.success)).toBe(text)
    }
  )
})
