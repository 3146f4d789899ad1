/**
 * The chaos ledger: what became of every seeded pod. `cleaned` = in the state its strategy asks
 * for (deleted, or labelled completed=true and kept); `accounted` = not cleaned, but the service
 * recorded why (an outcome failed or skipped, with a reason); `lost` = neither: the service
 * dropped it silently, which is the one thing the chaos suite must never see.
 */
import type { V1Pod } from "@kubernetes/client-node"
import type { Outcome } from "../src/engine/Outcomes.ts"
import type { Expectation } from "./chaosPlan.ts"

export interface SeededPod {
  readonly namespace: string
  readonly name: string
  readonly node: string
  readonly expect: Expectation
}

export type PodVerdict = "cleaned" | "accounted" | "lost"

export interface LostPod {
  readonly namespace: string
  readonly name: string
  readonly node: string
  readonly expect: Expectation
  /** What the pod looks like now: "gone", or its phase, labels and running containers. */
  readonly state: string
  readonly outcomes: ReadonlyArray<string>
}

export interface Ledger {
  readonly cleaned: number
  readonly accounted: number
  readonly lost: number
  /** Reasons of the accounted pods (their latest failed/skipped outcome, normalised), most common first. */
  readonly reasons: ReadonlyArray<readonly [string, number]>
  /** Up to 20 lost pods, with what is known about them. */
  readonly lostPods: ReadonlyArray<LostPod>
}

export const isCleaned = (expect: Expectation, live: V1Pod | undefined): boolean =>
  expect === "delete"
    ? live === undefined
    : live !== undefined && live.metadata?.labels?.["workflows.argoproj.io/completed"] === "true"

export const verdictOf = (
  pod: SeededPod,
  live: V1Pod | undefined,
  outcomes: ReadonlyArray<Outcome>
): PodVerdict => {
  if (isCleaned(pod.expect, live)) return "cleaned"
  return outcomes.some((o) => (o.kind === "failed" || o.kind === "skipped") && o.reason.trim() !== "") ? "accounted" : "lost"
}

/** A reason without the pod, node and numbers in it, so equal causes count together. */
export const normaliseReason = (outcome: Outcome): string =>
  `${outcome.action} ${outcome.kind}: ${
    outcome.reason
      .replaceAll(`${outcome.namespace}/${outcome.pod}`, "<pod>")
      .replaceAll(outcome.pod, "<pod>")
      .replace(/chaos-[a-z]\b/g, "<ns>")
      .replace(/node-\d+/g, "node-N")
      .replace(/\b\d+(\.\d+)?(ms|s|m)?\b/g, "N$2")
      .slice(0, 160)
  }`

const describeLive = (live: V1Pod | undefined): string => {
  if (live === undefined) return "gone"
  const running = (live.status?.containerStatuses ?? []).filter((s) => s.state?.running !== undefined).map((s) => s.name)
  const completed = live.metadata?.labels?.["workflows.argoproj.io/completed"] ?? "(none)"
  const deleting = live.metadata?.deletionTimestamp !== undefined ? ", being deleted" : ""
  return `phase ${live.status?.phase ?? "?"}, completed=${completed}, running [${running.join(", ")}]${deleting}`
}

export const buildLedger = (
  pods: ReadonlyArray<SeededPod>,
  live: (pod: SeededPod) => V1Pod | undefined,
  outcomesOf: (pod: SeededPod) => ReadonlyArray<Outcome>
): Ledger => {
  let cleaned = 0
  let accounted = 0
  const reasons = new Map<string, number>()
  const lostPods: Array<LostPod> = []
  let lost = 0
  for (const pod of pods) {
    const current = live(pod)
    const outcomes = outcomesOf(pod)
    switch (verdictOf(pod, current, outcomes)) {
      case "cleaned":
        cleaned++
        break
      case "accounted": {
        accounted++
        const latest = outcomes
          .filter((o) => o.kind === "failed" || o.kind === "skipped")
          .reduce((a, b) => (b.at >= a.at ? b : a))
        const reason = normaliseReason(latest)
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
        break
      }
      case "lost":
        lost++
        if (lostPods.length < 20) {
          lostPods.push({
            namespace: pod.namespace,
            name: pod.name,
            node: pod.node,
            expect: pod.expect,
            state: describeLive(current),
            outcomes: outcomes.map((o) => `${o.action} ${o.kind} (attempt ${o.attempts}): ${o.reason}`)
          })
        }
        break
    }
  }
  return { cleaned, accounted, lost, reasons: [...reasons].sort((a, b) => b[1] - a[1]), lostPods }
}
