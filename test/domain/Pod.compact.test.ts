/**
 * The compact record the caches keep (`compactPod`) round-trips every field the decision and the
 * kill commands read: for pods with real-world noise (foreign annotations, managed fields, env),
 * every decision and every kill command is the same for the compact record as for the full pod.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { killCommand } from "../../src/domain/killCommand.ts"
import { compactPod, decodePod, type Pod, runningContainers } from "../../src/domain/Pod.ts"
import { decidePod, type WorkflowContext } from "../../src/domain/policy.ts"
import { workflowRecord } from "../../src/domain/workflow.ts"

const raw = (variant: number) => ({
  metadata: {
    namespace: "argo",
    name: `p-${variant}`,
    uid: `uid-${variant}`,
    resourceVersion: "42",
    labels: { "workflows.argoproj.io/workflow": "wf", "workflows.argoproj.io/completed": variant % 3 === 0 ? "true" : "false", team: "a" },
    annotations: {
      "workflows.argoproj.io/node-id": "wf-1",
      "workflows.argoproj.io/node-name": "wf[0].step",
      "workflows.argoproj.io/pod-gc-strategy": variant % 2 === 0 ? "OnPodCompletion/0s" : "/",
      "workflows.argoproj.io/kill-cmd-sidecar": "[\"/bin/stop\", \"%d\"]",
      "kubectl.kubernetes.io/last-applied-configuration": "x".repeat(5_000),
      "cluster-autoscaler.kubernetes.io/safe-to-evict": "true"
    },
    finalizers: variant % 4 === 0 ? ["workflows.argoproj.io/status"] : [],
    ...(variant % 5 === 0 ? { deletionTimestamp: "2026-11-28T10:00:00Z" } : {}),
    managedFields: [{ manager: "kubelet", fieldsV1: { "f:status": {} } }]
  },
  spec: {
    nodeName: "node-1",
    terminationGracePeriodSeconds: 30,
    containers: [
      { name: "wait", env: [{ name: "ARGO_TEMPLATE", value: "{}".repeat(1_000) }], volumeMounts: [{ name: "v", mountPath: "/var/run/argo" }] },
      { name: "main", volumeMounts: [{ name: "b", mountPath: "/argo-bin" }] },
      { name: "sidecar" }
    ]
  },
  status: {
    phase: variant % 2 === 0 ? "Running" : "Succeeded",
    containerStatuses: [
      { name: "wait", state: variant % 2 === 0 ? { running: { startedAt: "2026-11-28T09:00:00Z" } } : { terminated: { exitCode: 0 } } },
      { name: "main", state: { terminated: { exitCode: variant % 7 === 0 ? 1 : 0 } } },
      { name: "sidecar", state: variant % 2 === 0 ? { running: {} } : { terminated: { exitCode: 0 } } }
    ]
  }
})

const contexts: ReadonlyArray<WorkflowContext> = [
  { _tag: "Gone", reason: "404" },
  { _tag: "Unseen" },
  { _tag: "Known", workflow: workflowRecord({ metadata: { namespace: "argo", name: "wf" }, spec: { podGC: { strategy: "OnPodCompletion" } }, status: { phase: "Running", nodes: { "wf-1": { id: "wf-1", type: "Pod", phase: "Succeeded" } } } }) },
  { _tag: "Known", workflow: workflowRecord({ metadata: { namespace: "argo", name: "wf" }, spec: { shutdown: "Stop" }, status: { phase: "Running", nodes: { "wf-1": { id: "wf-1", type: "Pod", phase: "Running" } } } }) }
]

const decode = (u: unknown): Pod => {
  const r = decodePod(u)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

describe("compactPod", () => {
  it("keeps only Argo's annotations and nothing the decision or kill commands read is lost", () => {
    for (let variant = 0; variant < 42; variant++) {
      const full = decode(raw(variant))
      const compact = compactPod(full)
      expect(Object.keys(compact.metadata.annotations).every((k) => k.startsWith("workflows.argoproj.io/"))).toBe(true)
      expect(compact.metadata.labels).toStrictEqual(full.metadata.labels)
      for (const context of contexts) {
        expect(decidePod(compact, context, undefined, 0)).toStrictEqual(decidePod(full, context, undefined, 0))
      }
      for (const container of runningContainers(full)) {
        for (const signal of ["SIGTERM", "SIGKILL"] as const) {
          expect(killCommand(compact, container, signal)).toStrictEqual(killCommand(full, container, signal))
        }
      }
    }
  })

  it("is a fraction of the object it came from (no env, managed fields or foreign annotations)", () => {
    const object = raw(2)
    const compact = compactPod(decode(object))
    expect(JSON.stringify(compact).length * 5).toBeLessThan(JSON.stringify(object).length)
  })
})
