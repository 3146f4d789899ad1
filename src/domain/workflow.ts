/**
 * Reads the parts of an Argo `Workflow` object (`argoproj.io/v1alpha1`) that the policy needs into
 * a `WorkflowView`. Pure and forgiving: a field of the wrong type is treated as absent, so a
 * malformed workflow never stops the cleanup of its pods (the policy then falls back to labelling).
 */
import { isPodGCStrategy, isWorkflowCompleted, type ShutdownStrategy, ShutdownStrategies, WorkflowPhases } from "./argo.ts"
import type { LabelSelector } from "./labelSelector.ts"
import type { PodGCView, WorkflowView } from "./policy.ts"

const record = (u: unknown): Record<string, unknown> | undefined =>
  u !== null && typeof u === "object" && !Array.isArray(u) ? (u as Record<string, unknown>) : undefined

const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)

/**
 * @param nowMillis the current time (from `Clock`), to decide whether `spec.activeDeadlineSeconds`
 *   has passed since `status.startedAt`.
 */
export const workflowView = (raw: unknown, nowMillis: number): WorkflowView => {
  const wf = record(raw) ?? {}
  const spec = record(wf.spec) ?? {}
  const status = record(wf.status) ?? {}
  const phaseText = str(status.phase)
  const phase = WorkflowPhases.find((p) => p === phaseText)

  const podGCRaw = record(spec.podGC)
  let podGC: PodGCView | undefined
  if (podGCRaw !== undefined) {
    const strategy = str(podGCRaw.strategy)
    podGC = {
      strategy: strategy === undefined || strategy === "" ? "" : isPodGCStrategy(strategy) ? strategy : "",
      labelSelector: record(podGCRaw.labelSelector) as LabelSelector | undefined,
      deleteDelayDuration: str(podGCRaw.deleteDelayDuration)
    }
  }

  const shutdownText = str(spec.shutdown)
  const shutdown: ShutdownStrategy | undefined = ShutdownStrategies.find((s) => s === shutdownText)

  const deadline = typeof spec.activeDeadlineSeconds === "number" ? spec.activeDeadlineSeconds : undefined
  const startedAt = str(status.startedAt)
  const started = startedAt === undefined ? Number.NaN : Date.parse(startedAt)
  const deadlineExceeded = deadline !== undefined && !Number.isNaN(started) && !isWorkflowCompleted(phase) &&
    nowMillis > started + deadline * 1000

  return { phase, podGC, shutdown, deadlineExceeded }
}
