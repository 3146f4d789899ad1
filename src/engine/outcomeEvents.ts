/**
 * Which Kubernetes Event an action's outcome makes, as a pure rule: what an operator wants in
 * `kubectl describe pod` (signals sent, deletes, finalizer removals, skips with their reason,
 * failures and give-ups), and nothing for no-ops (already labelled, pod already gone), for the
 * engine's own bookkeeping (shutdown, a pod replaced under the same name), or for the routine
 * `completed=true` label: it happens to every pod Argo keeps, the label is its own record on the
 * pod, Argo records no Event for it either, and an Event each would double the API writes of the
 * commonest cleanup (a failed label is still a Warning). Failures and give-ups are Warnings,
 * everything else Normal. Notes carry no attempt counters, so repeats aggregate.
 */
import type { ActionName } from "../domain/Action.ts"
import type { EventType } from "./eventCorrelator.ts"
import type { OutcomeKind } from "./Outcomes.ts"

export interface OutcomeForEvent {
  readonly action: ActionName
  readonly kind: OutcomeKind
  /** The outcome's reason as the action ended (without the engine's retry wording). */
  readonly reason: string
  /** The engine will try the action again, with backoff. */
  readonly retrying?: boolean | undefined
  /** A failure that might have passed, after the last retry: given up until the next resync. */
  readonly gaveUp?: boolean | undefined
}

export interface OutcomeEvent {
  readonly type: EventType
  readonly reason: string
  readonly action: string
  readonly note: string
}

/** client-go style actions: what was being done. */
export const eventActions: Readonly<Record<ActionName, string>> = {
  terminateContainers: "Terminating",
  killContainers: "Killing",
  labelPodCompleted: "Labelling",
  deletePod: "Deleting",
  deletePodByUID: "Deleting",
  removeFinalizer: "RemovingFinalizer"
}

const failedReasons: Readonly<Record<ActionName, string>> = {
  terminateContainers: "FailedTerminate",
  killContainers: "FailedKill",
  labelPodCompleted: "FailedLabel",
  deletePod: "FailedDelete",
  deletePodByUID: "FailedDelete",
  removeFinalizer: "FailedRemoveFinalizer"
}

/** Outcomes about the engine, not the pod: no Event. */
const bookkeeping = [/^pod replaced: /, /^not run: /, /^interrupted: /, /^nothing left to kill/, /^pod gone before/]

const done = (action: ActionName, reason: string): Omit<OutcomeEvent, "action" | "type"> | undefined => {
  const signal = /^(SIGTERM|SIGKILL) sent to (.*)$/.exec(reason)
  if (signal !== null) return signal[2]!.startsWith("none") ? undefined : { reason: `Sent${signal[1]}`, note: reason }
  if (reason.startsWith("deleted") || reason === "pod is Pending: deleted instead of signalled") {
    return { reason: "Deleted", note: reason }
  }
  if (reason === "status finalizer removed") return { reason: "FinalizerRemoved", note: reason }
  return undefined
}

/** The Event for an outcome, or undefined when it is not worth one. */
export const outcomeEvent = (o: OutcomeForEvent): OutcomeEvent | undefined => {
  const action = eventActions[o.action]
  if (bookkeeping.some((re) => re.test(o.reason))) return undefined
  switch (o.kind) {
    case "done": {
      const e = done(o.action, o.reason)
      return e === undefined ? undefined : { type: "Normal", action, ...e }
    }
    case "skipped":
      // A skip that may pass (the node's exec breaker is open) is a problem, not a policy decision.
      if (o.retrying === true || o.gaveUp === true) {
        return {
          type: "Warning",
          reason: "SkippedNodeUnavailable",
          action,
          note: o.gaveUp === true ? `giving up until the next resync: ${o.reason}` : `${o.reason}; will retry`
        }
      }
      return { type: "Normal", reason: "Skipped", action, note: o.reason }
    case "failed":
      return {
        type: "Warning",
        reason: failedReasons[o.action],
        action,
        note: o.gaveUp === true ? `giving up after retries: ${o.reason}` : o.retrying === true ? `${o.reason}; will retry` : o.reason
      }
  }
}
