// Argo-like workload for demos and benchmarks: finished workflow steps whose `main` container has
// exited while `wait` (argoexec) still runs, which is exactly the state the pod-cleanup controller
// acts on. Pods are spread over `node-0..node-(n-1)` round robin and owned by Workflow objects.

import { createHash } from "node:crypto"
import type { V1Pod } from "@kubernetes/client-node"
import type { SimCluster, SimPodGC, SimWorkflow } from "./SimCluster.ts"

export interface SeedOptions {
  readonly pods: number
  readonly nodes: number
  /** Default "default". */
  readonly namespace?: string
  /** Number of workflows the pods are spread over (round robin). Default: 1 per 10 pods. */
  readonly workflows?: number
  /** Default "OnPodCompletion". */
  readonly podGCStrategy?: string
  /** The delay part of the pod-gc-strategy annotation and `deleteDelayDuration`. Default "0s". */
  readonly deleteDelay?: string
  /** Phase of the workflows. Default "Succeeded". */
  readonly workflowPhase?: string
  /** Add Argo's `workflows.argoproj.io/status` finalizer to each pod. */
  readonly finalizer?: boolean
  /** SIGTERM → exit delay of the `wait` container. Default 0. */
  readonly waitTermDelayMs?: number
  /** `wait` ignores SIGTERM (only SIGKILL stops it). */
  readonly waitIgnoresSigterm?: boolean
  /** Workflow name prefix. Default "wf". */
  readonly workflowPrefix?: string
  /** `spec.terminationGracePeriodSeconds` of each pod. Default unset (30 s). */
  readonly terminationGracePeriodSeconds?: number
}

export interface SeedResult {
  readonly pods: ReadonlyArray<V1Pod>
  readonly workflows: ReadonlyArray<SimWorkflow>
}

const nodeIdHash = (text: string): string =>
  String(parseInt(createHash("sha256").update(text).digest("hex").slice(0, 12), 16) % 10_000_000_000).padStart(10, "0")

export const seedWorkflowPods = (sim: SimCluster, options: SeedOptions): SeedResult => {
  const namespace = options.namespace ?? "default"
  const nodes = Math.max(1, options.nodes)
  const workflowCount = Math.max(1, options.workflows ?? Math.ceil(options.pods / 10))
  const strategy = options.podGCStrategy ?? "OnPodCompletion"
  const deleteDelay = options.deleteDelay ?? "0s"
  const prefix = options.workflowPrefix ?? "wf"
  const podGC: SimPodGC = { strategy, deleteDelayDuration: deleteDelay }
  const workflows: Array<SimWorkflow> = []
  for (let w = 0; w < workflowCount; w++) {
    workflows.push(sim.addWorkflow({ namespace, name: `${prefix}-${w}`, phase: options.workflowPhase ?? "Succeeded", podGC }))
  }
  const pods: Array<V1Pod> = []
  for (let i = 0; i < options.pods; i++) {
    const wf = workflows[i % workflowCount]
    const wfName = wf.metadata.name
    const nodeName = `${wfName}[${Math.floor(i / workflowCount)}].main`
    const podName = `${wfName}-main-${nodeIdHash(`${wfName}/${i}`)}`
    pods.push(
      sim.addPod({
        namespace,
        name: podName,
        nodeName: `node-${i % nodes}`,
        labels: {
          "workflows.argoproj.io/workflow": wfName,
          "workflows.argoproj.io/completed": "false"
        },
        annotations: {
          "workflows.argoproj.io/node-name": nodeName,
          "workflows.argoproj.io/node-id": `${wfName}-${nodeIdHash(`${wfName}/${i}`)}`,
          "workflows.argoproj.io/pod-gc-strategy": `${strategy}/${deleteDelay}`
        },
        ...(options.finalizer === true ? { finalizers: ["workflows.argoproj.io/status"] } : {}),
        ...(options.terminationGracePeriodSeconds !== undefined
          ? { terminationGracePeriodSeconds: options.terminationGracePeriodSeconds }
          : {}),
        ownerReferences: [{
          apiVersion: "argoproj.io/v1alpha1",
          kind: "Workflow",
          name: wfName,
          uid: wf.metadata.uid,
          controller: true,
          blockOwnerDeletion: true
        }],
        containers: [
          {
            name: "wait",
            image: "quay.io/argoproj/argoexec:v3.6.5",
            state: "running",
            termDelayMs: options.waitTermDelayMs ?? 0,
            ignoreSigterm: options.waitIgnoresSigterm ?? false,
            volumeMounts: [{ name: "var-run-argo", mountPath: "/var/run/argo" }]
          },
          {
            name: "main",
            image: "docker.io/library/busybox:1.36",
            state: "terminated",
            exitCode: 0,
            volumeMounts: [{ name: "var-run-argo", mountPath: "/var/run/argo" }]
          }
        ]
      })
    )
  }
  return { pods, workflows }
}
