import { describe, expect, it } from "vitest"
import { workflowView } from "../../src/domain/workflow.ts"

const now = Date.parse("2026-11-28T12:00:00Z")

describe("workflowView", () => {
  it("reads phase, podGC and shutdown", () => {
    expect(workflowView({
      spec: { podGC: { strategy: "OnWorkflowSuccess", labelSelector: { matchLabels: { a: "b" } }, deleteDelayDuration: "30s" }, shutdown: "Stop" },
      status: { phase: "Succeeded" }
    }, now)).toEqual({
      phase: "Succeeded",
      podGC: { strategy: "OnWorkflowSuccess", labelSelector: { matchLabels: { a: "b" } }, deleteDelayDuration: "30s" },
      shutdown: "Stop",
      deadlineExceeded: false
    })
  })

  it("treats wrong types and unknown values as absent", () => {
    expect(workflowView({ spec: { podGC: { strategy: "Sometimes" }, shutdown: 3 }, status: { phase: "Exploded" } }, now)).toEqual({
      phase: undefined,
      podGC: { strategy: "", labelSelector: undefined, deleteDelayDuration: undefined },
      shutdown: undefined,
      deadlineExceeded: false
    })
    expect(workflowView(null, now)).toEqual({ phase: undefined, podGC: undefined, shutdown: undefined, deadlineExceeded: false })
    expect(workflowView("nonsense", now).podGC).toBeUndefined()
  })

  it("a running workflow past activeDeadlineSeconds has exceeded its deadline; a finished one has not", () => {
    const started = { startedAt: "2026-11-28T11:00:00Z" }
    expect(workflowView({ spec: { activeDeadlineSeconds: 3599 }, status: { phase: "Running", ...started } }, now).deadlineExceeded).toBe(true)
    expect(workflowView({ spec: { activeDeadlineSeconds: 3601 }, status: { phase: "Running", ...started } }, now).deadlineExceeded).toBe(false)
    expect(workflowView({ spec: { activeDeadlineSeconds: 10 }, status: { phase: "Failed", ...started } }, now).deadlineExceeded).toBe(false)
  })
})
