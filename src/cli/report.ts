/**
 * How `pod-cleanup once` prints what it planned or did: one row per action (namespace, pod,
 * action, reason, outcome), as an aligned table or as JSON. Pure: rows in, text out.
 */
import type { PlanResult } from "../engine/Engine.ts"
import type { Outcome } from "../engine/Outcomes.ts"

export interface ReportRow {
  readonly namespace: string
  readonly pod: string
  readonly action: string
  readonly reason: string
  /** "planned" or "waiting" (for Argo to record the pod's node) in a dry run; done, skipped or failed otherwise. */
  readonly outcome: string
}

/** Rows for a dry run: what the policy would do, and why. */
export const plannedRows = (plans: ReadonlyArray<PlanResult>): ReadonlyArray<ReportRow> =>
  plans.flatMap((p): ReadonlyArray<ReportRow> => {
    switch (p.decision._tag) {
      case "Act":
        return p.decision.actions.map((a) => ({ namespace: p.namespace, pod: p.pod, action: a.action, reason: a.reason, outcome: "planned" }))
      case "Skip":
        return [{ namespace: p.namespace, pod: p.pod, action: "-", reason: p.decision.reason, outcome: "skipped" }]
      case "Wait":
        return [{ namespace: p.namespace, pod: p.pod, action: "-", reason: p.decision.reason, outcome: "waiting" }]
      case "Malformed":
        return [{ namespace: p.namespace, pod: p.pod, action: "-", reason: p.decision.reason, outcome: "skipped" }]
    }
  })

export const outcomeRows = (outcomes: ReadonlyArray<Outcome>): ReadonlyArray<ReportRow> =>
  [...outcomes]
    .sort((a, b) => a.at - b.at)
    .map((o) => ({ namespace: o.namespace, pod: o.pod, action: o.action, reason: o.reason, outcome: o.kind }))

const columns = ["namespace", "pod", "action", "outcome", "reason"] as const

export const formatTable = (rows: ReadonlyArray<ReportRow>, maxReason = 100): string => {
  const cells = rows.map((r) => columns.map((c) => (c === "reason" && r.reason.length > maxReason ? r.reason.slice(0, maxReason - 1) + "…" : r[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)))
  const line = (values: ReadonlyArray<string>) => values.map((v, i) => (i === columns.length - 1 ? v : v.padEnd(widths[i]!))).join("  ")
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join("\n")
}

export const formatJson = (rows: ReadonlyArray<ReportRow>): string => JSON.stringify(rows, null, 2)
