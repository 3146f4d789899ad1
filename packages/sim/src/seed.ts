// Argo-like workload for demos and benchmarks: finished workflow steps whose `main` container has
// exited while `wait` (argoexec) still runs, which is exactly the state the pod-cleanup controller
// acts on. Pods are spread over `node-0..node-(n-1)` round robin and owned by Workflow objects,
// named the way Argo names them (pod `<wf>-main-<fnv32a(node name)>`, node id `<wf>-<same hash>`),
// and each workflow carries a node per pod (its `status.nodes`, or compressed / offloaded).

import { randomUUID } from "node:crypto"
import type { V1Pod } from "@kubernetes/client-node"
import { podNode } from "./argo.ts"
import { argoNodeId, fnv32a } from "./argoNodes.ts"
import type { ArgoNodeMap, NodeStatusFormat } from "./argoNodes.ts"
import { nowIso } from "./pods.ts"
import { realisticNodes, realisticPodParts, realisticWorkflowParts } from "./realistic.ts"
import type { RealisticStep } from "./realistic.ts"
import type { SimCluster } from "./SimCluster.ts"
import type { SimPodGC, SimWorkflow } from "./workflows.ts"

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
  /**
   * Give each workflow a node per pod (Running; Succeeded when the workflow's phase is completed),
   * as Argo does. Default true. With `realistic`, Steps and StepGroup nodes too.
   */
  readonly argoNodes?: boolean
  /** Where workflows keep their node map. Default "nodes". */
  readonly nodeStatus?: NodeStatusFormat
  /**
   * Real-sized objects: pods of 10+ KB (ARGO_TEMPLATE, env, volumes, securityContext,
   * managedFields), workflows with a steps template, storedTemplates, and 2 nodes per pod + 1.
   */
  readonly realistic?: boolean
}

export interface SeedResult {
  readonly pods: ReadonlyArray<V1Pod>
  readonly workflows: ReadonlyArray<SimWorkflow>
}

interface PodPlan {
  readonly index: number
  readonly nodeName: string
  readonly nodeId: string
  readonly podName: string
  readonly hostNode: string
}

export const seedWorkflowPods = (sim: SimCluster, options: SeedOptions): SeedResult => {
  const namespace = options.namespace ?? "default"
  const nodes = Math.max(1, options.nodes)
  const workflowCount = Math.max(1, options.workflows ?? Math.ceil(options.pods / 10))
  const strategy = options.podGCStrategy ?? "OnPodCompletion"
  const deleteDelay = options.deleteDelay ?? "0s"
  const prefix = options.workflowPrefix ?? "wf"
  const phase = options.workflowPhase ?? "Succeeded"
  const realistic = options.realistic === true
  const argoNodes = options.argoNodes ?? true
  const podGC: SimPodGC = { strategy, deleteDelayDuration: deleteDelay }

  // Plan every pod first, so each workflow is created once with its whole node map.
  const plans: Array<Array<PodPlan>> = Array.from({ length: workflowCount }, () => [])
  for (let i = 0; i < options.pods; i++) {
    const wfName = `${prefix}-${i % workflowCount}`
    const nodeName = `${wfName}[${Math.floor(i / workflowCount)}].main`
    const hash = fnv32a(nodeName)
    plans[i % workflowCount].push({
      index: i,
      nodeName,
      nodeId: argoNodeId(wfName, nodeName),
      podName: `${wfName}-main-${hash}`,
      hostNode: `node-${i % nodes}`
    })
  }

  const workflows: Array<SimWorkflow> = []
  for (let w = 0; w < workflowCount; w++) {
    const name = `${prefix}-${w}`
    const steps = plans[w]
    const completed = phase === "Succeeded" || phase === "Failed" || phase === "Error"
    const nodePhase = completed ? "Succeeded" : "Running"
    let nodeMap: ArgoNodeMap | undefined
    if (argoNodes && realistic) {
      const realSteps: Array<RealisticStep> = steps.map((s) => ({ nodeName: s.nodeName, nodeId: s.nodeId, podName: s.podName, hostNode: s.hostNode }))
      nodeMap = realisticNodes(name, realSteps, nodePhase)
    } else if (argoNodes) {
      const now = nowIso()
      nodeMap = {}
      for (const s of steps) {
        const node = podNode(s.nodeId, s.nodeName, name, "Running", now)
        if (completed) Object.assign(node, { phase: "Succeeded", finishedAt: now })
        nodeMap[s.nodeId] = node
      }
    }
    const parts = realistic ? realisticWorkflowParts(name, steps.length) : undefined
    workflows.push(sim.addWorkflow({
      namespace,
      name,
      uid: randomUUID(),
      phase,
      podGC,
      ...(nodeMap === undefined ? {} : { nodes: nodeMap }),
      ...(options.nodeStatus === undefined ? {} : { nodeStatus: options.nodeStatus }),
      ...(parts === undefined ? {} : { spec: parts.spec, status: parts.status })
    }))
  }

  const pods: Array<V1Pod> = []
  const ordered = plans.flat().sort((a, b) => a.index - b.index)
  for (const plan of ordered) {
    const wf = workflows[plan.index % workflowCount]
    const wfName = wf.metadata.name
    const parts = realistic
      ? realisticPodParts({ namespace, workflow: wfName, nodeName: plan.nodeName, podName: plan.podName })
      : undefined
    const mount = [{ name: "var-run-argo", mountPath: "/var/run/argo" }]
    pods.push(
      sim.addPod({
        namespace,
        name: plan.podName,
        nodeName: plan.hostNode,
        labels: {
          "workflows.argoproj.io/workflow": wfName,
          "workflows.argoproj.io/completed": "false"
        },
        annotations: {
          "workflows.argoproj.io/node-name": plan.nodeName,
          "workflows.argoproj.io/node-id": plan.nodeId,
          "workflows.argoproj.io/pod-gc-strategy": `${strategy}/${deleteDelay}`
        },
        ...(options.finalizer === true ? { finalizers: ["workflows.argoproj.io/status"] } : {}),
        ...(options.terminationGracePeriodSeconds !== undefined
          ? { terminationGracePeriodSeconds: options.terminationGracePeriodSeconds }
          : {}),
        ...(parts === undefined ? {} : { metadata: parts.metadata, spec: parts.spec }),
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
            volumeMounts: mount,
            ...parts?.wait
          },
          {
            name: "main",
            image: "docker.io/library/busybox:1.36",
            state: "terminated",
            exitCode: 0,
            volumeMounts: mount,
            ...parts?.main
          }
        ]
      })
    )
  }
  return { pods, workflows }
}
