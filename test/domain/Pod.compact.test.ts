/**
 * The compact record the caches keep (`compactPod`) round-trips every field the decision and the
 * kill commands read: for pods with real-world noise (foreign annotations, managed fields, env),
 * every decision and every kill command is the same for the compact record as for the full pod.
 * What pods have in common (labels, finalizers, spec, status) is one frozen object shared by all
 * of them; what is a pod's own stays its own.
 */
import { Result } from "effect"
import { assert, describe, expect, it } from "vitest"
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

  it("shares equal labels, finalizers, specs and statuses between pods, frozen; the pod's own fields stay its own", () => {
    const a = compactPod(decode(raw(2)))
    const b = compactPod(decode({ ...raw(2), metadata: { ...raw(2).metadata, name: "other", uid: "uid-other", resourceVersion: "43" } }))
    assert.notStrictEqual(a, b)
    assert.notStrictEqual(a.metadata, b.metadata)
    assert.strictEqual(a.metadata.labels, b.metadata.labels)
    assert.strictEqual(a.metadata.finalizers, b.metadata.finalizers)
    assert.strictEqual(a.spec, b.spec)
    assert.strictEqual(a.status, b.status)
    assert.deepStrictEqual([b.metadata.name, b.metadata.uid, b.metadata.resourceVersion], ["other", "uid-other", "43"])
    for (const shared of [a.metadata.labels, a.metadata.finalizers, a.spec, a.spec.containers, a.spec.containers[0], a.spec.containers[0].volumeMounts, a.status, a.status.containerStatuses, a.status.containerStatuses[0], a.status.containerStatuses[0].state]) {
      assert.isTrue(Object.isFrozen(shared))
    }
    // A shared part cannot be changed through one pod (and so for all of them).
    expect(() => {
      ;(a.metadata.labels as Record<string, string>)["team"] = "b"
    }).toThrow(TypeError)
    // Pods that differ in a part do not share it.
    const running = compactPod(decode(raw(2)))
    const finished = compactPod(decode(raw(3)))
    assert.notStrictEqual(running.status, finished.status)
    assert.notStrictEqual(running.metadata.labels, finished.metadata.labels)
    const elsewhere = compactPod(decode({ ...raw(2), spec: { ...raw(2).spec, nodeName: "node-2" } }))
    assert.notStrictEqual(elsewhere.spec, running.spec)
    assert.strictEqual(elsewhere.spec.nodeName, "node-2")
  })

  it("keeps what the decision reads and only that: Argo's annotations, the kill commands' mounts, no unread timestamps", () => {
    const object = raw(0)
    const full = decode({
      ...object,
      metadata: { ...object.metadata, creationTimestamp: "2026-11-28T08:00:00Z" },
      spec: {
        ...object.spec,
        containers: [
          { name: "main", volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, { name: "b", mountPath: "/argo-bin" }, { name: "v", mountPath: "/var/run/argo" }] },
          { name: "sidecar", volumeMounts: [{ name: "data", mountPath: "/data" }] }
        ]
      },
      status: {
        phase: "Running",
        containerStatuses: [
          { name: "main", state: { terminated: { exitCode: 137, reason: "OOMKilled", finishedAt: "2026-11-28T09:30:00Z" } } },
          { name: "sidecar", state: { running: { startedAt: "2026-11-28T09:00:00Z" } } },
          { name: "init", state: { waiting: { reason: "PodInitializing" } } }
        ]
      }
    })
    const compact = compactPod(full)
    assert.deepStrictEqual(compact.metadata.annotations, {
      "workflows.argoproj.io/node-id": "wf-1",
      "workflows.argoproj.io/node-name": "wf[0].step",
      "workflows.argoproj.io/pod-gc-strategy": "OnPodCompletion/0s",
      "workflows.argoproj.io/kill-cmd-sidecar": "[\"/bin/stop\", \"%d\"]"
    })
    assert.isUndefined(compact.metadata.creationTimestamp)
    assert.strictEqual(compact.metadata.deletionTimestamp, "2026-11-28T10:00:00Z")
    assert.deepStrictEqual(compact.spec.containers, [
      { name: "main", volumeMounts: [{ name: "b", mountPath: "/argo-bin" }, { name: "v", mountPath: "/var/run/argo" }] },
      { name: "sidecar", volumeMounts: [] }
    ])
    assert.deepStrictEqual(compact.status.containerStatuses, [
      { name: "main", state: { terminated: { exitCode: 137, reason: "OOMKilled" } } },
      { name: "sidecar", state: { running: {} } },
      { name: "init", state: { waiting: { reason: "PodInitializing" } } }
    ])
    assert.strictEqual(compact.spec.terminationGracePeriodSeconds, 30)
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      for (const container of ["main", "sidecar", "other"]) {
        expect(killCommand(compact, container, signal)).toStrictEqual(killCommand(full, container, signal))
      }
    }
    for (const context of contexts) expect(decidePod(compact, context, undefined, 0)).toStrictEqual(decidePod(full, context, undefined, 0))
  })

  it("stays correct past its bounded tables: thousands of distinct label sets, then equal pods still share", () => {
    const base = decode(raw(2))
    const labelled = (i: number): Pod => ({ ...base, metadata: { ...base.metadata, name: `p-${i}`, labels: { "workflows.argoproj.io/workflow": `wf-${i}` } } })
    for (let i = 0; i < 20_000; i++) {
      const compact = compactPod(labelled(i))
      if (compact.metadata.labels["workflows.argoproj.io/workflow"] !== `wf-${i}`) throw new Error(`pod ${i} got another pod's labels`)
    }
    const a = compactPod(labelled(7))
    const b = compactPod(labelled(7))
    assert.strictEqual(a.metadata.labels, b.metadata.labels)
    assert.deepStrictEqual(a.metadata.labels, { "workflows.argoproj.io/workflow": "wf-7" })
  })
})
