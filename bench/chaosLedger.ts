/**
 * The chaos ledger: what became of every expected pod. `cleaned` = in the state its strategy asks
 * for (deleted, or labelled completed=true and kept); anything else is `uncleaned`, and the run
 * fails: every fault is cleared at the end of the window, so no reason to leave a pod behind is
 * still true once the system has settled. For an uncleaned pod the ledger keeps what is known
 * about it (its state, the service's outcomes) to diagnose it.
 *
 * A pod is identified by name and, once the run has re-created it, by UID: the first incarnation,
 * removed by the run itself, is no longer expected; the new one is, with its own expectation.
 */
import type { V1Pod } from "@kubernetes/client-node"
import type { Outcome } from "../src/engine/Outcomes.ts"
import type { Expectation } from "./chaosPlan.ts"

export interface SeededPod {
  readonly namespace: string
  readonly name: string
  readonly node: string
  readonly expect: Expectation
  /** Set for a pod the run re-created: only the incarnation with this UID is this entry. */
  readonly uid?: string | undefined
  /** The run removed this incarnation itself (to re-create the pod): not expected any more. */
  replaced?: boolean
}

export type PodVerdict = "cleaned" | "uncleaned"

export interface UncleanedPod {
  readonly namespace: string
  readonly name: string
  readonly node: string
  readonly expect: Expectation
  /** What the pod looks like now: "gone", or its phase, labels and running containers. */
  readonly state: string
  readonly outcomes: ReadonlyArray<string>
}

export interface Ledger {
  /** Pods expected to be cleaned (every seeded pod but the incarnations the run replaced). */
  readonly expected: number
  readonly cleaned: number
  readonly uncleaned: number
  /** Uncleaned pods by their latest outcome (normalised; "no outcome" when there is none), most common first. */
  readonly reasons: ReadonlyArray<readonly [string, number]>
  /** Up to 20 uncleaned pods, with what is known about them. */
  readonly uncleanedPods: ReadonlyArray<UncleanedPod>
}

/** The live object, if it is this entry's incarnation. */
const incarnation = (pod: Pick<SeededPod, "uid">, live: V1Pod | undefined): V1Pod | undefined =>
  live === undefined || (pod.uid !== undefined && live.metadata?.uid !== pod.uid) ? undefined : live

export const isCleaned = (pod: Pick<SeededPod, "expect" | "uid">, live: V1Pod | undefined): boolean => {
  const mine = incarnation(pod, live)
  return pod.expect === "delete"
    ? mine === undefined
    : mine !== undefined && mine.metadata?.labels?.["workflows.argoproj.io/completed"] === "true"
}

/** A reason without the pod, node and numbers in it, so equal causes count together. */
export const normaliseReason = (outcome: Outcome): string =>
  `${outcome.action} ${outcome.kind}: ${
    outcome.reason
      .replaceAll(`${outcome.namespace}/${outcome.pod}`, "<pod>")
      .replaceAll(outcome.pod, "<pod>")
      .replace(/chaos-[a-z]+\b/g, "<ns>")
      .replace(/node-\d+/g, "node-N")
      .replace(/\b\d+(\.\d+)?(ms|s|m)?\b/g, "N$2")
      .slice(0, 160)
  }`

export const describeLive = (live: V1Pod | undefined): string => {
  if (live === undefined) return "gone"
  const running = (live.status?.containerStatuses ?? []).filter((s) => s.state?.running !== undefined).map((s) => s.name)
  const completed = live.metadata?.labels?.["workflows.argoproj.io/completed"] ?? "(none)"
  const deleting = live.metadata?.deletionTimestamp !== undefined ? ", being deleted" : ""
  const finalizers = (live.metadata?.finalizers ?? []).length > 0 ? `, finalizers [${live.metadata!.finalizers!.join(", ")}]` : ""
  return `uid ${live.metadata?.uid?.slice(0, 8) ?? "?"}, phase ${live.status?.phase ?? "?"}, completed=${completed}, running [${
    running.join(", ")
  }]${deleting}${finalizers}`
}

export const buildLedger = (
  pods: ReadonlyArray<SeededPod>,
  live: (pod: SeededPod) => V1Pod | undefined,
  outcomesOf: (pod: SeededPod) => ReadonlyArray<Outcome>
): Ledger => {
  let expected = 0
  let cleaned = 0
  let uncleaned = 0
  const reasons = new Map<string, number>()
  const uncleanedPods: Array<UncleanedPod> = []
  for (const pod of pods) {
    if (pod.replaced === true) continue
    expected++
    const current = live(pod)
    if (isCleaned(pod, current)) {
      cleaned++
      continue
    }
    uncleaned++
    const outcomes = outcomesOf(pod)
    const latest = outcomes.length === 0 ? undefined : outcomes.reduce((a, b) => (b.at >= a.at ? b : a))
    const reason = latest === undefined ? "no outcome recorded" : normaliseReason(latest)
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
    if (uncleanedPods.length < 20) {
      uncleanedPods.push({
        namespace: pod.namespace,
        name: pod.name,
        node: pod.node,
        expect: pod.expect,
        state: describeLive(current),
        outcomes: outcomes.map((o) => `${o.action} ${o.kind} (attempt ${o.attempts}): ${o.reason}`)
      })
    }
  }
  return { expected, cleaned, uncleaned, reasons: [...reasons].sort((a, b) => b[1] - a[1]), uncleanedPods }
}
