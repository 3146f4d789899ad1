/**
 * client-go's leader-election timing rules, once: `timingViolations` lists every rule broken (the
 * configuration blames settings by it), `checkTimings` names the first (LeaderElection refuses by it).
 */
import { Duration } from "effect"
import { describe, expect, it } from "vitest"
import { checkTimings, timingViolations } from "../../src/controller/leaseTime.ts"

const timings = (lease: Duration.Input, renew: Duration.Input, retry: Duration.Input) => ({
  leaseDuration: Duration.fromInputUnsafe(lease),
  renewDeadline: Duration.fromInputUnsafe(renew),
  retryPeriod: Duration.fromInputUnsafe(retry)
})

describe("timingViolations", () => {
  it("accepts client-go's defaults", () => {
    expect(timingViolations(timings("15 seconds", "10 seconds", "2 seconds"))).toStrictEqual([])
  })

  it("lists both comparisons when both fail, with the bound missed", () => {
    expect(timingViolations(timings("5 seconds", "5 seconds", "5 seconds"))).toStrictEqual([
      { _tag: "LeaseNotAboveRenew", leaseDuration: Duration.seconds(5), renewDeadline: Duration.seconds(5) },
      { _tag: "RenewNotAboveJitteredRetry", renewDeadline: Duration.seconds(5), jitteredRetry: Duration.nanos(6_000_000_000n) }
    ])
  })

  it("compares in nanoseconds, truncating 1.2 × retryPeriod as client-go does", () => {
    expect(timingViolations(timings("15 seconds", "10 seconds", Duration.nanos(8_333_333_334n))).map((v) => v._tag)).toStrictEqual([
      "RenewNotAboveJitteredRetry"
    ])
    expect(timingViolations(timings("15 seconds", "10 seconds", Duration.nanos(8_333_333_333n)))).toStrictEqual([])
  })

  it("refuses zero and infinite durations before comparing", () => {
    expect(timingViolations(timings("15 seconds", "10 seconds", Duration.zero))).toStrictEqual([{ _tag: "NotPositive" }])
    expect(timingViolations(timings(Duration.infinity, "10 seconds", "2 seconds"))).toStrictEqual([{ _tag: "NotFinite" }])
    expect(checkTimings(timings(Duration.infinity, "10 seconds", "2 seconds"))).toBe("leaseDuration, renewDeadline and retryPeriod must be finite")
  })
})
