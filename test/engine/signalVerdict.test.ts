import { Duration } from "effect"
import { describe, expect, it } from "vitest"
import type { FollowUp } from "../../src/engine/actionResult.ts"
import { NodeUnavailableError } from "../../src/engine/NodeGuard.ts"
import {
  MaxRefusedExecAttempts,
  SigkillBreakerWaits,
  SigkillVerifyAttempts,
  type SignalResult,
  signalVerdict,
  type SignalVerdictInput
} from "../../src/engine/signalVerdict.ts"
import { ExecConnectionLostError, ExecRejectedError, ExecTimeoutError } from "../../src/kube/ExecError.ts"

const settings = { execRetries: 1, execRetryBackoff: Duration.seconds(5) }
const target = { namespace: "default", pod: "p", container: "main", node: "node-1", elapsedMs: 10 }
const followUp: FollowUp = {
  request: { action: "killContainers", namespace: "default", pod: "p", uid: "u1", reason: "grace period 30s after SIGTERM" },
  delay: Duration.seconds(30)
}

const signalled = (container: string): SignalResult => ({ _tag: "Signalled", container })
const gone = (container: string, detail = "exit code 1"): SignalResult => ({ _tag: "AlreadyGone", container, detail })
const timedOut = (container: string): SignalResult => ({
  _tag: "TimedOut",
  container,
  error: new ExecTimeoutError({ ...target, container, phase: "stream", timeoutMs: 30_000, message: `exec in ${container} timed out` })
})
const unavailable = (container: string, reason: NodeUnavailableError["reason"], retryInMs: number): SignalResult => ({
  _tag: "NodeUnavailable",
  container,
  error: new NodeUnavailableError({ node: "node-1", reason, retryInMs, message: `node node-1: ${reason}` })
})
const refused = (container: string, code: number, retryAfter?: Duration.Duration): SignalResult => ({
  _tag: "Refused",
  container,
  error: new ExecRejectedError({ ...target, container, code, reason: "TooManyRequests", retryAfter, message: `exec refused ${code}` })
})
const failed = (container: string, detail: string, retryable: boolean): SignalResult => ({ _tag: "Failed", container, detail, retryable })

const verdict = (input: Partial<SignalVerdictInput> & Pick<SignalVerdictInput, "results">) =>
  signalVerdict({ signal: "SIGTERM", attempt: 1, node: "node-1", followUps: [], settings, ...input })

const requeue = (after: Duration.Duration, extra: Record<string, unknown> = {}) => ({ _tag: "Requeue", after, node: "node-1", ...extra })
const ended = (kind: string, retryable: boolean) => ({ _tag: "Finished", kind, node: "node-1", retryable })

describe("signal verdict", () => {
  const rows: ReadonlyArray<{
    readonly name: string
    readonly input: Partial<SignalVerdictInput> & Pick<SignalVerdictInput, "results">
    readonly expected: Record<string, unknown>
    readonly reason?: RegExp
    readonly retried?: "exec timeout"
  }> = [
    {
      name: "busy node → requeue waiting for its slot",
      input: { results: [signalled("a"), unavailable("b", "busy", 0)] },
      expected: requeue(Duration.millis(0), { busyNode: "node-1" }),
      reason: /^node node-1 busy; not yet signalled: b$/
    },
    {
      name: "busy wins over a timeout and an open breaker",
      input: { results: [timedOut("a"), unavailable("b", "breaker-open", 9), unavailable("c", "busy", 0)] },
      expected: requeue(Duration.millis(0), { busyNode: "node-1" })
    },
    {
      name: "429 with Retry-After 8 s → requeue after max(backoff, Retry-After)",
      input: { results: [refused("a", 429, Duration.seconds(8))] },
      expected: requeue(Duration.seconds(8)),
      reason: /^exec refused \(429\) for a; retrying after 8s$/
    },
    {
      name: "429 with Retry-After 2 s → requeue after the backoff (the longer)",
      input: { results: [refused("a", 429, Duration.seconds(2)), refused("b", 503)] },
      expected: requeue(Duration.seconds(5)),
      reason: /^exec refused \(429, 503\) for a, b/
    },
    {
      name: `refused on the last attempt (${MaxRefusedExecAttempts}) → still requeued`,
      input: { results: [refused("a", 429, Duration.seconds(1))], attempt: MaxRefusedExecAttempts },
      expected: requeue(Duration.seconds(5))
    },
    {
      name: "refused past the limit → retryable failure",
      input: { results: [refused("a", 429, Duration.seconds(1))], attempt: MaxRefusedExecAttempts + 1 },
      expected: ended("failed", true),
      reason: /^exec refused: exec refused 429$/
    },
    {
      name: "no cluster-wide exec slot (exec-cap) → requeue after its retryIn",
      input: { results: [unavailable("a", "exec-cap", 250)] },
      expected: requeue(Duration.millis(250)),
      reason: /not yet signalled: a$/
    },
    {
      name: "timed out within execRetries → requeue after the backoff, counted as a retry",
      input: { results: [signalled("a"), timedOut("b")] },
      expected: requeue(Duration.seconds(5)),
      reason: /^exec timed out for b; retrying after 5s$/,
      retried: "exec timeout"
    },
    {
      name: "timed out past execRetries → retryable failure",
      input: { results: [timedOut("a")], attempt: 2 },
      expected: ended("failed", true),
      reason: /^exec timed out on node node-1 for a \(exec in a timed out\)$/
    },
    {
      name: "timed out beside an open breaker → no exec retry: retryable failure",
      input: { results: [timedOut("a"), unavailable("b", "breaker-open", 9)], signal: "SIGKILL" },
      expected: ended("failed", true)
    },
    {
      name: "breaker open + SIGKILL, first attempt → waits for the cooldown",
      input: { results: [unavailable("a", "breaker-open", 42_000)], signal: "SIGKILL" },
      expected: requeue(Duration.millis(42_000)),
      reason: /SIGKILL waits for the breaker's cooldown$/
    },
    {
      name: `breaker open + SIGKILL, attempt ${SigkillBreakerWaits} → still waits`,
      input: { results: [unavailable("a", "breaker-open", 42_000)], signal: "SIGKILL", attempt: SigkillBreakerWaits },
      expected: requeue(Duration.millis(42_000))
    },
    {
      name: "breaker open + SIGKILL past the waits → retryable skip",
      input: { results: [unavailable("a", "breaker-open", 42_000)], signal: "SIGKILL", attempt: SigkillBreakerWaits + 1 },
      expected: ended("skipped", true),
      reason: /: SIGKILL not sent to a$/
    },
    {
      name: "breaker open + SIGTERM → retryable skip at once",
      input: { results: [signalled("a"), unavailable("b", "breaker-open", 42_000)] },
      expected: ended("skipped", true),
      reason: /^node node-1: breaker-open: SIGTERM not sent to b$/
    },
    {
      name: "failed 403 → final failure",
      input: { results: [signalled("a"), failed("b", "exec forbidden 403", false)] },
      expected: ended("failed", false),
      reason: /^exec forbidden 403$/
    },
    {
      name: "failed, every one retryable (no connection) → retryable failure",
      input: { results: [failed("a", "could not connect", true), failed("b", "could not connect", true)] },
      expected: ended("failed", true),
      reason: /^could not connect; could not connect$/
    },
    {
      name: "failed, one of them final → final failure",
      input: { results: [failed("a", "could not connect", true), failed("b", "forbidden", false)] },
      expected: ended("failed", false)
    },
    {
      name: "SIGKILL found no process → re-check after 1 s",
      input: { results: [gone("a")], signal: "SIGKILL" },
      expected: requeue(Duration.seconds(1)),
      reason: /^SIGKILL found no process in a; checking the pod again$/
    },
    {
      name: `SIGKILL found no process, attempt ${SigkillVerifyAttempts - 1} → re-check again`,
      input: { results: [gone("a"), signalled("b")], signal: "SIGKILL", attempt: SigkillVerifyAttempts - 1 },
      expected: requeue(Duration.seconds(1))
    },
    {
      name: `SIGKILL found no process, attempt ${SigkillVerifyAttempts} → failure`,
      input: { results: [gone("a", "exit code 1")], signal: "SIGKILL", attempt: SigkillVerifyAttempts },
      expected: ended("failed", false),
      reason: /^containers still reported running after 3 SIGKILL attempts: a exit code 1$/
    },
    {
      name: "SIGTERM found no process → done, noted",
      input: { results: [signalled("a"), gone("b", "404 NotFound")] },
      expected: ended("done", false),
      reason: /^SIGTERM sent to a \(already stopped: b 404 NotFound\)$/
    },
    {
      name: "all signalled → done",
      input: { results: [signalled("a"), signalled("b")], signal: "SIGKILL", attempt: 3 },
      expected: ended("done", false),
      reason: /^SIGKILL sent to a, b$/
    },
    {
      name: "nothing signalled, all gone (SIGTERM) → done to none",
      input: { results: [gone("a")] },
      expected: ended("done", false),
      reason: /^SIGTERM sent to none \(already stopped: a exit code 1\)$/
    },
    {
      name: "refusal wins over a timeout",
      input: { results: [timedOut("a"), refused("b", 500)] },
      expected: requeue(Duration.seconds(5)),
      reason: /^exec refused \(500\)/
    },
    {
      name: "refused past its limit beside a 403 → the refusal decides: retryable failure",
      input: { results: [refused("a", 429), failed("b", "forbidden", false)], attempt: MaxRefusedExecAttempts + 1 },
      expected: ended("failed", true)
    },
    {
      name: "open breaker beside a 403 (SIGTERM) → retryable skip",
      input: { results: [unavailable("a", "breaker-open", 1), failed("b", "forbidden", false)] },
      expected: ended("skipped", true)
    },
    {
      name: "a failure beside SIGKILL's no such process → the failure decides",
      input: { results: [gone("a"), failed("b", "forbidden", false)], signal: "SIGKILL" },
      expected: ended("failed", false)
    }
  ]

  for (const row of rows) {
    it(row.name, () => {
      const v = signalVerdict({ signal: "SIGTERM", attempt: 1, node: "node-1", followUps: [], settings, ...row.input })
      expect(v.result).toMatchObject(row.expected)
      if (row.reason !== undefined) expect(v.result.reason).toMatch(row.reason)
      expect(v.retried).toBe(row.retried)
      if (v.result._tag === "Requeue" && !("busyNode" in row.expected)) expect(v.result.busyNode).toBeUndefined()
    })
  }

  it("every verdict carries the caller's follow-ups (the SIGKILL after a SIGTERM)", () => {
    for (const row of rows) {
      expect(verdict({ ...row.input, followUps: [followUp] }).result.followUps).toEqual([followUp])
    }
  })

  it("the timed-out error's message is the one of the first timed-out container", () => {
    const lost: SignalResult = {
      _tag: "TimedOut",
      container: "b",
      error: new ExecConnectionLostError({ ...target, container: "b", phase: "stream", reason: "heartbeat", message: "heartbeat lost" })
    }
    expect(verdict({ results: [lost, timedOut("a")], attempt: 2 }).result.reason).toBe("exec timed out on node node-1 for b, a (heartbeat lost)")
  })
})
