/** Argo-like workflow pods for engine tests: `main` has finished, `wait` still runs. */
import type { SimPodInit } from "@pod-cleanup/sim"

export interface WorkflowPodOptions {
  readonly node?: string
  readonly namespace?: string
  readonly workflow?: string
  /** pod-gc-strategy annotation strategy (`<strategy>/0s`); none = never delete (label). */
  readonly strategy?: string
  readonly graceSeconds?: number
  readonly ignoreSigterm?: boolean
  readonly termDelayMs?: number
  /** false: `wait` has stopped too (a finished pod with nothing to signal). */
  readonly waitRunning?: boolean
  readonly finalizers?: ReadonlyArray<string>
}

export const workflowPod = (name: string, o: WorkflowPodOptions = {}): SimPodInit => ({
  namespace: o.namespace ?? "argo",
  name,
  nodeName: o.node ?? "node-0",
  labels: { "workflows.argoproj.io/workflow": o.workflow ?? "wf-1", "workflows.argoproj.io/completed": "false" },
  annotations: o.strategy ? { "workflows.argoproj.io/pod-gc-strategy": `${o.strategy}/0s` } : {},
  finalizers: o.finalizers,
  terminationGracePeriodSeconds: o.graceSeconds,
  containers: [
    {
      name: "wait",
      volumeMounts: [{ name: "var-run-argo", mountPath: "/var/run/argo" }],
      ignoreSigterm: o.ignoreSigterm,
      termDelayMs: o.termDelayMs,
      ...(o.waitRunning === false ? { state: "terminated" as const, exitCode: 0 } : {})
    },
    { name: "main", state: "terminated", exitCode: 0 }
  ]
})
