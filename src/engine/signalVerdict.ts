/**
 * The verdict of one signal action (SIGTERM or SIGKILL to a pod's running containers), as a pure
 * function of what became of each container's exec, the attempt and the settings. No I/O and no
 * clock: `ActionRunner` runs the execs and applies the verdict (as `NodeGuard` applies `breaker.ts`).
 *
 * Precedence, first match wins:
 * 1. a busy node: requeue, waiting for one of its exec slots (`busyNode`);
 * 2. an exec upgrade refused with 429/5xx: requeue after max(backoff, Retry-After), at most
 *    `MaxRefusedExecAttempts` attempts;
 * 3. no cluster-wide exec slot in time (`--exec-cap`): requeue shortly;
 * 4. a timed-out exec (none refused by an open breaker): requeue after the backoff, at most
 *    `execRetries` times; then a retryable failure;
 * 5. an open breaker: SIGKILL waits for the cooldown (`SigkillBreakerWaits` times), then, like
 *    SIGTERM at once, a retryable skip;
 * 6. refusals past their limit: a retryable failure; other failures: a failure, retryable when
 *    every one of them is;
 * 7. SIGKILL found no process: read the pod again after `SigkillVerifyDelay`, until attempt
 *    `SigkillVerifyAttempts`; then a failure;
 * 8. otherwise done. Every verdict carries the caller's follow-ups (SIGKILL after a SIGTERM).
 */
import { Duration } from "effect"
import type { Signal } from "../domain/killCommand.ts"
import type { ExecError, ExecRejectedError } from "../kube/ExecError.ts"
import { type ActionResult, finished, type FollowUp } from "./actionResult.ts"
import type { NodeUnavailableError } from "./NodeGuard.ts"

/** Attempts of a signal whose exec upgrade was refused with 429/5xx before the action fails (retryably). */
export const MaxRefusedExecAttempts = 5

/** Attempts of a SIGKILL that wait for an open breaker's cooldown: a node that recovers still gets its pods killed. */
export const SigkillBreakerWaits = 2

/** Attempts of a SIGKILL that found no process before it says the containers still run: the kubelet reports a stop late. */
export const SigkillVerifyAttempts = 3

/** How long a SIGKILL that found no process waits before it reads the pod again: about the kubelet's status lag. */
export const SigkillVerifyDelay = Duration.seconds(1)

/** What became of one container's signal. */
export type SignalResult =
  | { readonly _tag: "Signalled"; readonly container: string }
  | { readonly _tag: "AlreadyGone"; readonly container: string; readonly detail: string }
  | { readonly _tag: "TimedOut"; readonly container: string; readonly error: ExecError }
  | { readonly _tag: "NodeUnavailable"; readonly container: string; readonly error: NodeUnavailableError }
  | { readonly _tag: "Failed"; readonly container: string; readonly detail: string; readonly retryable: boolean }
  /** The upgrade was refused with 429/5xx (API priority and fairness, an overloaded server). */
  | { readonly _tag: "Refused"; readonly container: string; readonly error: ExecRejectedError }

export interface SignalVerdictSettings {
  /** Times a timed-out exec is tried again, after `execRetryBackoff`. */
  readonly execRetries: number
  /** The wait before a timed-out exec is tried again, and the least wait after a refusal. */
  readonly execRetryBackoff: Duration.Duration
}

export interface SignalVerdictInput {
  readonly results: ReadonlyArray<SignalResult>
  readonly signal: Signal
  /** This run's attempt, 1 for the first. */
  readonly attempt: number
  readonly node: string | undefined
  /** Scheduled whatever the verdict (the SIGKILL after a SIGTERM's grace period). */
  readonly followUps: ReadonlyArray<FollowUp>
  readonly settings: SignalVerdictSettings
}

export interface SignalVerdict {
  readonly result: ActionResult
  /** Set when the verdict retries a timed-out exec: the caller counts it in retries_total. */
  readonly retried?: "exec timeout" | undefined
}

export const signalVerdict = (input: SignalVerdictInput): SignalVerdict => {
  const { attempt, followUps, node, results, settings, signal } = input
  const of = <T extends SignalResult["_tag"]>(tag: T) =>
    results.filter((r): r is Extract<SignalResult, { _tag: T }> => r._tag === tag)
  const names = (rs: ReadonlyArray<SignalResult>) => rs.map((r) => r.container).join(", ")
  const requeue = (reason: string, after: Duration.Duration, busyNode?: string): SignalVerdict => ({
    result: busyNode === undefined
      ? { _tag: "Requeue", reason, after, node, followUps }
      : { _tag: "Requeue", reason, after, node, busyNode, followUps }
  })
  const done = (result: ActionResult): SignalVerdict => ({ result })
  const timedOut = of("TimedOut")
  const unavailable = of("NodeUnavailable")
  const failed = of("Failed")
  const refused = of("Refused")
  const busy = unavailable.filter((r) => r.error.reason === "busy")
  const open = unavailable.filter((r) => r.error.reason === "breaker-open")
  const cappedExecs = unavailable.filter((r) => r.error.reason === "exec-cap")

  if (busy.length > 0) {
    return requeue(`node ${node} busy; not yet signalled: ${names(busy)}`, Duration.millis(busy[0]!.error.retryInMs), busy[0]!.error.node)
  }
  // A refused upgrade (429 under API priority and fairness, a 5xx) is tried again after the
  // server's Retry-After, a bounded number of times; then the engine's own retries take over.
  if (refused.length > 0 && attempt <= MaxRefusedExecAttempts) {
    const after = refused.reduce(
      (longest, r) => r.error.retryAfter === undefined ? longest : Duration.max(longest, r.error.retryAfter),
      settings.execRetryBackoff
    )
    return requeue(`exec refused (${refused.map((r) => r.error.code).join(", ")}) for ${names(refused)}; retrying after ${Duration.format(after)}`, after)
  }
  // Every cluster-wide exec slot stayed busy (--exec-cap) for the exec deadline: try again shortly.
  if (cappedExecs.length > 0) {
    return requeue(`${cappedExecs[0]!.error.message}; not yet signalled: ${names(cappedExecs)}`, Duration.millis(cappedExecs[0]!.error.retryInMs))
  }
  if (timedOut.length > 0 && open.length === 0 && attempt <= settings.execRetries) {
    return {
      ...requeue(`exec timed out for ${names(timedOut)}; retrying after ${Duration.format(settings.execRetryBackoff)}`, settings.execRetryBackoff),
      retried: "exec timeout"
    }
  }
  if (timedOut.length > 0) {
    const first = timedOut[0]!.error
    return done(finished("failed", `exec timed out on node ${node} for ${names(timedOut)} (${first.message})`, node, followUps, true))
  }
  // SIGKILL is the last signal: while its node's breaker is open it waits for the cooldown
  // (a bounded number of times) instead of giving up, so a node that recovers still gets its pods killed.
  if (open.length > 0 && signal === "SIGKILL" && attempt <= SigkillBreakerWaits) {
    return requeue(`${open[0]!.error.message}: SIGKILL waits for the breaker's cooldown`, Duration.millis(open[0]!.error.retryInMs))
  }
  if (open.length > 0) {
    return done(finished("skipped", `${open[0]!.error.message}: ${signal} not sent to ${names(open)}`, node, followUps, true))
  }
  if (refused.length > 0) {
    return done(finished("failed", `exec refused: ${refused.map((r) => r.error.message).join("; ")}`, node, followUps, true))
  }
  if (failed.length > 0) {
    return done(finished("failed", failed.map((f) => f.detail).join("; "), node, followUps, failed.every((f) => f.retryable)))
  }
  const gone = of("AlreadyGone")
  // "No such process" from a SIGKILL is not proof: read the pod again shortly (the next attempt
  // ends "no container is running" once the kubelet reports it), and say so if it still runs after
  // the last try.
  if (signal === "SIGKILL" && gone.length > 0) {
    if (attempt < SigkillVerifyAttempts) {
      return requeue(`SIGKILL found no process in ${names(gone)}; checking the pod again`, SigkillVerifyDelay)
    }
    return done(finished(
      "failed",
      `containers still reported running after ${attempt} SIGKILL attempts: ${gone.map((g) => `${g.container} ${g.detail}`).join(", ")}`,
      node,
      followUps
    ))
  }
  const goneNote = gone.length > 0 ? ` (already stopped: ${gone.map((g) => `${g.container} ${g.detail}`).join(", ")})` : ""
  return done(finished("done", `${signal} sent to ${names(of("Signalled")) || "none"}${goneNote}`, node, followUps))
}
