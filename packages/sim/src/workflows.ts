// The shape of a simulated Argo Workflow: what `SimCluster.addWorkflow` builds (spec, status, the
// phase labels Argo's controller keeps, the node map stored as `nodeStatus` says) and how a phase
// change rewrites it. Pure functions over the workflow's JSON; the Argo model (argo.ts) and the
// facade decide *when* a workflow changes.

import { completedWorkflowPhases } from "./argo.ts"
import { storeNodes } from "./argoNodes.ts"
import type { ArgoNodeMap, NodeStatusFormat } from "./argoNodes.ts"
import { nowIso } from "./pods.ts"
import { apiVersionOf, workflows } from "./resources.ts"
import { copy } from "./store.ts"
import type { KubeObject } from "./store.ts"

export interface SimPodGC {
  readonly strategy?: string
  readonly labelSelector?: { readonly matchLabels?: Readonly<Record<string, string>>; readonly matchExpressions?: ReadonlyArray<unknown> }
  readonly deleteDelayDuration?: string
}

export interface SimWorkflowInit {
  /** Default "default". */
  readonly namespace?: string
  readonly name: string
  /** Pending | Running | Succeeded | Failed | Error. Default "Running". */
  readonly phase?: string
  readonly podGC?: SimPodGC
  readonly uid?: string
  readonly labels?: Readonly<Record<string, string>>
  /** The node map (`status.nodes` entries, by node id). Default none. */
  readonly nodes?: ArgoNodeMap
  /** Where the node map is stored. Default "nodes". */
  readonly nodeStatus?: NodeStatusFormat
  /** Extra `spec` fields (templates, shutdown, activeDeadlineSeconds, ...), merged over the defaults. */
  readonly spec?: Readonly<Record<string, unknown>>
  /** Extra `status` fields (storedTemplates, conditions, ...); phase, times and nodes are set as above. */
  readonly status?: Readonly<Record<string, unknown>>
}

/** An Argo Workflow as the API server returns it (plain JSON). */
export interface SimWorkflow extends KubeObject {
  spec: { podGC?: SimPodGC; shutdown?: string; activeDeadlineSeconds?: number; [key: string]: unknown }
  status: { phase?: string; startedAt?: string; finishedAt?: string | null; message?: string; [key: string]: unknown }
}

/** The labels Argo's controller keeps in step with a workflow's phase. */
const phaseLabels = (phase: string): Record<string, string> => ({
  "workflows.argoproj.io/phase": phase,
  "workflows.argoproj.io/completed": String(completedWorkflowPhases.has(phase))
})

/**
 * A new workflow from `init`, started now, with its node map (if any) stored as `init.nodeStatus`
 * says: in `status.nodes`, base64 `status.compressedNodes`, or offloaded (only
 * `offloadNodeStatusVersion`; the map itself is the caller's to keep).
 */
export const buildWorkflow = (init: SimWorkflowInit): SimWorkflow => {
  const phase = init.phase ?? "Running"
  const now = nowIso()
  const format = init.nodeStatus ?? "nodes"
  const wf: SimWorkflow = {
    apiVersion: apiVersionOf(workflows),
    kind: "Workflow",
    metadata: {
      name: init.name,
      namespace: init.namespace ?? "default",
      uid: init.uid ?? crypto.randomUUID(),
      generation: 1,
      creationTimestamp: now,
      labels: { ...init.labels, ...phaseLabels(phase) }
    },
    spec: {
      entrypoint: "main",
      templates: [{ name: "main", container: { image: "docker.io/library/busybox:1.36", command: ["true"] } }],
      ...(init.podGC === undefined ? {} : { podGC: copy(init.podGC) }),
      ...(init.spec === undefined ? {} : copy(init.spec))
    },
    status: {
      ...(init.status === undefined ? {} : copy(init.status)),
      phase,
      startedAt: now,
      finishedAt: completedWorkflowPhases.has(phase) ? now : null
    }
  }
  if (init.nodes !== undefined || format !== "nodes") storeNodes(wf.status, copy(init.nodes ?? {}), format)
  return wf
}

/** A copy of `wf` in `phase`: its labels follow, and it finishes now unless it had already. */
export const withPhase = (wf: SimWorkflow, phase: string): SimWorkflow => {
  const next = copy(wf)
  next.status = {
    ...next.status,
    phase,
    finishedAt: completedWorkflowPhases.has(phase) ? next.status.finishedAt ?? nowIso() : null
  }
  next.metadata.labels = { ...next.metadata.labels, ...phaseLabels(phase) }
  return next
}
