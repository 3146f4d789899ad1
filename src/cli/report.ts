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

/** One reason recorded for skipped or failed actions, with how many actions ended with it. */
export interface ReasonCount {
  readonly kind: "skipped" | "failed"
  readonly action: string
  /** The reason with the pod's own names replaced by `<pod>`, so that pods group together. */
  readonly reason: string
  readonly count: number
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * A reason with the pod's namespace/name and name replaced by `<pod>`, the engine's retry note
 * ("; trying again in 4s 168ms (retry 1 of 8)") shortened to "; to be tried again", and lists of
 * names (the containers signalled, "wait, main") sorted, so that the same reason on many pods
 * groups together.
 */
export const reasonPattern = (o: Pick<Outcome, "namespace" | "pod" | "reason">): string => {
  let reason = o.reason
  if (o.pod !== "") {
    const names = `${escapeRegExp(`${o.namespace}/${o.pod}`)}|${escapeRegExp(o.pod)}`
    reason = reason.replace(new RegExp(`(?<![-.\\w])(?:${names})(?![-.\\w])`, "g"), "<pod>")
  }
  return reason
    .replace(/; trying again in [^(;]*\(retry \d+ of \d+\)/g, "; to be tried again")
    .replace(/\b[a-z0-9][-a-z0-9]*(?:, [a-z0-9][-a-z0-9]*)+\b/g, (list) => list.split(", ").sort().join(", "))
}

/**
 * The most frequent reasons among skipped and failed outcomes (failed first, then by count):
 * what the demo and `once` summarise. Pure.
 */
export const topReasons = (outcomes: ReadonlyArray<Outcome>, limit = 5): ReadonlyArray<ReasonCount> => {
  const groups = new Map<string, { kind: "skipped" | "failed"; action: string; reason: string; count: number }>()
  for (const o of outcomes) {
    if (o.kind === "done") continue
    const reason = reasonPattern(o)
    const key = `${o.kind}\u0000${o.action}\u0000${reason}`
    const group = groups.get(key)
    if (group === undefined) groups.set(key, { kind: o.kind, action: o.action, reason, count: 1 })
    else group.count++
  }
  return [...groups.values()]
    .sort((a, b) => (a.kind === b.kind ? b.count - a.count : a.kind === "failed" ? -1 : 1) || a.reason.localeCompare(b.reason))
    .slice(0, limit)
}

/**
 * The lines of `topReasons` for a summary, each cut to `columns`; `total` is the number of skipped
 * and failed outcomes they were taken from.
 */
export const formatReasons = (reasons: ReadonlyArray<ReasonCount>, total: number, columns = 100): ReadonlyArray<string> => {
  if (reasons.length === 0) return ["recorded reasons: none (no action was skipped or failed)"]
  const shown = reasons.reduce((n, r) => n + r.count, 0)
  const lines = [
    `recorded reasons (latest outcome of each action not done, most frequent first${shown < total ? `; ${total - shown} more with other reasons` : ""}):`
  ]
  const width = Math.max(...reasons.map((r) => String(r.count).length))
  for (const r of reasons) {
    const line = `  ${String(r.count).padStart(width)}  ${r.kind.padEnd(7)}  ${r.action}: ${r.reason}`
    lines.push(line.length > columns ? `${line.slice(0, columns - 1)}…` : line)
  }
  return lines
}
