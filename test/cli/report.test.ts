/**
 * What `once` and the demo print, as pure functions: the report's rows (planned or done), its
 * table and JSON forms, and the summary of recorded reasons.
 */
import { Duration } from "effect"
import { describe, expect, it } from "vitest"
import { formatJson, formatReasons, formatTable, outcomeRows, plannedRows, reasonPattern, topReasons } from "../../src/cli/report.ts"
import type { PlanResult } from "../../src/engine/Engine.ts"
import type { Outcome } from "../../src/engine/Outcomes.ts"

const outcome = (pod: string, kind: Outcome["kind"], reason: string, action: Outcome["action"] = "terminateContainers"): Outcome => ({
  key: `argo/${pod}/${action}`,
  action,
  namespace: "argo",
  pod,
  kind,
  reason,
  attempts: 1,
  at: 0
})

describe("the recorded reasons in the summary", () => {
  it("group the same reason across pods: names, container order and retry timings aside", () => {
    expect(reasonPattern(outcome("etl-1", "skipped", "exec argo/etl-1 container wait on node-4: no status within the 3s deadline")))
      .toBe("exec <pod> container wait on node-4: no status within the 3s deadline")
    expect(reasonPattern(outcome("p", "skipped", "x: SIGTERM not sent to wait, main; trying again in 4s 168ms (retry 1 of 8)")))
      .toBe("x: SIGTERM not sent to main, wait; to be tried again")
  })

  it("are counted, failed first, then the most frequent", () => {
    const breaker = "node node-4: exec breaker open after 3 consecutive exec timeouts: SIGTERM not sent to wait"
    const outcomes = [
      outcome("a", "skipped", `${breaker}; trying again in 4s 143ms (retry 1 of 8)`),
      outcome("b", "skipped", `${breaker}; trying again in 10s 338ms (retry 2 of 8)`),
      outcome("c", "skipped", breaker),
      outcome("d", "failed", "exec refused (403) for main"),
      outcome("e", "done", "SIGTERM sent to main"),
      outcome("f", "skipped", "workflow wf not seen yet: waiting for it", "labelPodCompleted")
    ]
    const top = topReasons(outcomes)
    expect(top.map((r) => [r.count, r.kind, r.action])).toEqual([
      [1, "failed", "terminateContainers"],
      [2, "skipped", "terminateContainers"],
      [1, "skipped", "terminateContainers"],
      [1, "skipped", "labelPodCompleted"]
    ])
    const lines = formatReasons(topReasons(outcomes, 2), 5, 80)
    expect(lines[0]).toContain("2 more with other reasons")
    expect(lines[2]).toMatch(/^ {2}2 {2}skipped {2}terminateContainers: node node-4: exec breaker open/)
    for (const line of lines.slice(1)) expect(line.length).toBeLessThanOrEqual(80)
    expect(formatReasons([], 0)).toEqual(["recorded reasons: none (no action was skipped or failed)"])
  })
})

describe("the report", () => {
  const plans: ReadonlyArray<PlanResult> = [
    {
      namespace: "argo",
      pod: "a",
      decision: {
        _tag: "Act",
        actions: [
          { action: "terminateContainers", reason: "pod finished: stop its sidecars", delay: Duration.zero },
          { action: "labelPodCompleted", reason: "OnPodCompletion", delay: Duration.zero }
        ]
      }
    },
    { namespace: "argo", pod: "b", decision: { _tag: "Skip", reason: "already labelled" } },
    { namespace: "argo", pod: "c", decision: { _tag: "Wait", reason: "Argo has not recorded node c yet" } },
    { namespace: "argo", pod: "d", decision: { _tag: "Malformed", reason: "spec.containers: expected an array" } }
  ]

  it("has a row per planned action, and one for a pod skipped, waiting or malformed", () => {
    expect(plannedRows(plans).map((r) => [r.pod, r.action, r.outcome])).toEqual([
      ["a", "terminateContainers", "planned"],
      ["a", "labelPodCompleted", "planned"],
      ["b", "-", "skipped"],
      ["c", "-", "waiting"],
      ["d", "-", "skipped"]
    ])
    expect(plannedRows(plans)[3]!.reason).toBe("Argo has not recorded node c yet")
  })

  it("lists outcomes in the order they were recorded", () => {
    const rows = outcomeRows([
      { ...outcome("late", "done", "labelled", "labelPodCompleted"), at: 20 },
      { ...outcome("early", "failed", "exec refused (403)"), at: 10 }
    ])
    expect(rows.map((r) => [r.pod, r.action, r.outcome])).toEqual([["early", "terminateContainers", "failed"], ["late", "labelPodCompleted", "done"]])
  })

  it("aligns the table's columns, reason last and cut to its width", () => {
    const table = formatTable(plannedRows(plans), 20).split("\n")
    expect(table[0]).toMatch(/^NAMESPACE {2}POD {2}ACTION +OUTCOME {2}REASON$/)
    const reasonAt = table[0]!.indexOf("REASON")
    for (const row of table.slice(1)) expect(row.length).toBeLessThanOrEqual(reasonAt + 20)
    expect(table[1]).toContain("pod finished: stop …")
    expect(table[1]!.indexOf("planned")).toBe(table[0]!.indexOf("OUTCOME"))
  })

  it("gives JSON whole, reasons uncut", () => {
    const rows = plannedRows(plans)
    expect(JSON.parse(formatJson(rows))).toEqual(rows)
  })
})
