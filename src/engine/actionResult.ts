/**
 * How one cleanup action ended, and what it schedules next: the shared vocabulary of `ActionRunner`
 * (which produces it), `signalVerdict` (which decides it for signals) and the engine (which acts on it).
 */
import type { Duration } from "effect"
import type { ActionRequest } from "../domain/Action.ts"
import type { OutcomeKind } from "./Outcomes.ts"

export interface FollowUp {
  readonly request: ActionRequest
  readonly delay: Duration.Duration
}

export type ActionResult =
  | {
    readonly _tag: "Finished"
    readonly kind: OutcomeKind
    readonly reason: string
    readonly node?: string | undefined
    readonly followUps: ReadonlyArray<FollowUp>
    /**
     * The cause may pass (a transient API error, an unreachable node, an open breaker): the engine
     * tries the action again later, with backoff, a bounded number of times.
     */
    readonly retryable?: boolean | undefined
    /** A dry run's "would ...": it has been logged already. */
    readonly dryRun?: boolean | undefined
  }
  | {
    /** Not finished: try again after `after` (a timed-out exec to retry, or a busy node). */
    readonly _tag: "Requeue"
    readonly reason: string
    readonly after: Duration.Duration
    readonly node?: string | undefined
    /** Set when every exec slot of this node was taken: wait for one rather than for `after`. */
    readonly busyNode?: string | undefined
    readonly followUps: ReadonlyArray<FollowUp>
    /** Logged by the runner already (once per window, the destructive cap): the engine logs it at debug. */
    readonly quiet?: boolean | undefined
  }

export const finished = (
  kind: OutcomeKind,
  reason: string,
  node?: string,
  followUps: ReadonlyArray<FollowUp> = [],
  retryable = false
): ActionResult => ({ _tag: "Finished", kind, reason, node, followUps, retryable })
