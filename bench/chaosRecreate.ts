/**
 * Pods re-created under the same name between SIGTERM and SIGKILL (the plan's "pod recreate").
 * The victim is one pod in its own Running workflow: `main` done, `wait` ignoring SIGTERM, a grace
 * period of a few seconds. When the service's SIGTERM reaches the victim's `wait` (an exec the
 * simulator resolved), the run waits `afterSigtermMs` (less than the grace period: the service's
 * SIGKILL is still due), deletes the pod (grace 0) and at once creates a new one with the same
 * name, a new UID and a new Argo node of the same workflow, `main` and `wait` running: nothing may
 * signal, label or delete it. `mainRunsMs` later its `main` ends, and it becomes a pod like any
 * other. The victim's own node is marked Error "pod deleted" by the Argo model: the run did that,
 * so `harnessDeleted` tells those records apart from the ones the service would cause.
 */
import { randomUUID } from "node:crypto"
import type { V1Pod } from "@kubernetes/client-node"
import { podNode } from "@pod-cleanup/sim"
import type { ExecEventInfo, PodDeletedRecord, SimCluster, SimContainerInit } from "@pod-cleanup/sim"
import { argoNodeId, fnv32a } from "@pod-cleanup/sim"
import type { SeededPod } from "./chaosLedger.ts"
import type { RecreateSpec } from "./chaosPlan.ts"

export interface RecreateRecord {
  readonly spec: RecreateSpec
  readonly namespace: string
  readonly pod: string
  readonly workflow: string
  readonly oldUid: string
  readonly oldNodeId: string
  readonly seededAt: number
  newUid?: string
  newNodeId?: string
  /** Date.now() of the SIGTERM exec to the victim's wait. */
  sigtermAt?: number
  /** Date.now() of the delete + create. */
  replacedAt?: number
  /** Date.now() when the new pod's main ended. */
  mainEndedAt?: number
  /** Why the pod was not re-created, if it was not. */
  missed?: string
}

const mainRunning = (pod: V1Pod | undefined): boolean =>
  (pod?.status?.containerStatuses ?? []).some((s) => s.name === "main" && s.state?.running !== undefined)

const waitRunning = (pod: V1Pod | undefined): boolean =>
  (pod?.status?.containerStatuses ?? []).some((s) => s.name === "wait" && s.state?.running !== undefined)

/** argv of a SIGTERM: `argoexec kill 15 1`, `kill -15 1`, `kill -TERM 1`, ... */
export const isSigterm = (command: ReadonlyArray<string>): boolean =>
  /(^|[\s-])(15|TERM|SIGTERM)(\s|$)/.test(command.join(" "))

const mount = [{ name: "var-run-argo", mountPath: "/var/run/argo" }]

export class Recreator {
  readonly records: Array<RecreateRecord> = []
  readonly #sim: SimCluster
  readonly #nodes: number
  readonly #onReplaced: (record: RecreateRecord, replacement: SeededPod) => void
  readonly #byKey = new Map<string, RecreateRecord>()
  readonly #timers = new Set<ReturnType<typeof setTimeout>>()
  #closed = false
  #windowOver = false

  constructor(sim: SimCluster, nodes: number, onReplaced: (record: RecreateRecord, replacement: SeededPod) => void) {
    this.#sim = sim
    this.#nodes = nodes
    this.#onReplaced = onReplaced
    sim.events.on("exec-open", (info: ExecEventInfo) => this.#onExec(info))
  }

  /** Seeds the victim and arms its re-creation; returns its ledger entry. */
  seed(spec: RecreateSpec): SeededPod {
    const sim = this.#sim
    const workflow = `rc${spec.index}`
    const nodeName = `${workflow}[0].main`
    const nodeId = argoNodeId(workflow, nodeName)
    const pod = `${workflow}-main-${fnv32a(nodeName)}`
    const wf = sim.addWorkflow({
      namespace: spec.namespace,
      name: workflow,
      phase: "Running",
      podGC: { strategy: spec.strategy, deleteDelayDuration: "0s" },
      nodes: { [nodeId]: podNode(nodeId, nodeName, workflow, "Running", new Date().toISOString()) }
    })
    const victim = sim.addPod({
      ...this.#podInit(spec, workflow, wf.metadata.uid ?? "", pod, nodeName, nodeId),
      containers: [
        { name: "wait", state: "running", ignoreSigterm: true, volumeMounts: mount },
        { name: "main", state: "terminated", exitCode: 0, volumeMounts: mount }
      ]
    })
    const record: RecreateRecord = {
      spec,
      namespace: spec.namespace,
      pod,
      workflow,
      oldUid: victim.metadata?.uid ?? "",
      oldNodeId: nodeId,
      seededAt: Date.now()
    }
    this.records.push(record)
    this.#byKey.set(`${spec.namespace}/${pod}`, record)
    return { namespace: spec.namespace, name: pod, node: spec.node, expect: spec.expect, uid: record.oldUid }
  }

  #podInit(spec: RecreateSpec, workflow: string, workflowUid: string, pod: string, nodeName: string, nodeId: string) {
    const node = /^node-(\d+)$/.exec(spec.node) !== null && Number(spec.node.slice(5)) < this.#nodes ? spec.node : "node-0"
    return {
      namespace: spec.namespace,
      name: pod,
      nodeName: node,
      labels: { "workflows.argoproj.io/workflow": workflow, "workflows.argoproj.io/completed": "false" },
      annotations: {
        "workflows.argoproj.io/node-name": nodeName,
        "workflows.argoproj.io/node-id": nodeId,
        "workflows.argoproj.io/pod-gc-strategy": `${spec.strategy}/0s`
      },
      terminationGracePeriodSeconds: spec.graceSeconds,
      ownerReferences: [{
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Workflow",
        name: workflow,
        uid: workflowUid,
        controller: true,
        blockOwnerDeletion: true
      }]
    }
  }

  #later(ms: number, body: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t)
      if (!this.#closed) body()
    }, ms)
    this.#timers.add(t)
  }

  #onExec(info: ExecEventInfo): void {
    if (this.#closed || this.#windowOver || info.container !== "wait" || !isSigterm(info.command)) return
    const record = this.#byKey.get(`${info.namespace}/${info.pod}`)
    if (record === undefined || record.sigtermAt !== undefined) return
    // Only the victim's SIGTERM arms it (the new pod gets one too, once its main has ended).
    if (this.#sim.getPod(info.namespace, info.pod)?.metadata?.uid !== record.oldUid) return
    record.sigtermAt = Date.now()
    this.#later(record.spec.afterSigtermMs, () => this.#replace(record))
  }

  #replace(record: RecreateRecord): void {
    const sim = this.#sim
    const live = sim.getPod(record.namespace, record.pod)
    if (live === undefined || live.metadata?.uid !== record.oldUid) {
      record.missed = live === undefined ? "the victim was gone before its re-creation" : "the victim had been replaced"
      return
    }
    if (!waitRunning(live)) {
      record.missed = "the victim's wait had stopped before its re-creation (SIGKILL already sent?)"
      return
    }
    const spec = record.spec
    const nodeName = `${record.workflow}[1].main`
    const nodeId = argoNodeId(record.workflow, nodeName)
    const wfUid = sim.getWorkflow(record.namespace, record.workflow)?.metadata.uid ?? ""
    const containers: ReadonlyArray<SimContainerInit> = [
      { name: "wait", state: "running", volumeMounts: mount },
      { name: "main", state: "running", volumeMounts: mount }
    ]
    const uid = randomUUID()
    record.replacedAt = Date.now()
    // As `argo retry` does: the workflow gets the new step's node (Running) before the old pod goes,
    // so it stays Running and its new pod is not one of a finished workflow's leftovers.
    sim.updateWorkflow(record.namespace, record.workflow, (wf) => {
      const nodes = (wf.status.nodes ?? {}) as Record<string, unknown>
      wf.status.nodes = { ...nodes, [nodeId]: podNode(nodeId, nodeName, record.workflow, "Running", new Date().toISOString()) }
    })
    sim.deletePod(record.namespace, record.pod, { gracePeriodSeconds: 0 })
    sim.addPod({ ...this.#podInit(spec, record.workflow, wfUid, record.pod, nodeName, nodeId), uid, containers })
    record.newUid = uid
    record.newNodeId = nodeId
    this.#onReplaced(record, {
      namespace: record.namespace,
      name: record.pod,
      node: live.spec?.nodeName ?? spec.node,
      expect: spec.expect,
      uid
    })
    this.#later(spec.mainRunsMs, () => this.#endMain(record))
  }

  #endMain(record: RecreateRecord): void {
    if (record.mainEndedAt !== undefined) return
    const live = this.#sim.getPod(record.namespace, record.pod)
    record.mainEndedAt = Date.now()
    if (live?.metadata?.uid === record.newUid && mainRunning(live)) {
      this.#sim.setContainerState(record.namespace, record.pod, "main", "terminated", 0)
    }
  }

  /** The new pod's main is running at `at` (Date.now()): it must not be touched. */
  liveAt(namespace: string, pod: string, at: number): boolean {
    const r = this.#byKey.get(`${namespace}/${pod}`)
    return r?.replacedAt !== undefined && at >= r.replacedAt && (r.mainEndedAt === undefined || at < r.mainEndedAt)
  }

  /** A "pod deleted" record the run caused itself, by removing a victim. */
  harnessDeleted(record: PodDeletedRecord): boolean {
    const r = this.#byKey.get(`${record.namespace}/${record.pod}`)
    return r?.replacedAt !== undefined && record.nodeId === r.oldNodeId && record.at >= r.replacedAt
  }

  /**
   * The end of the fault window: victims not yet signalled are not re-created any more (they are
   * ordinary pods now). A re-creation already under way (its SIGTERM came inside the window) still
   * happens, at most `afterSigtermMs` later, and its main ends `mainRunsMs` after that: the
   * settling period covers both.
   */
  endWindow(): void {
    this.#windowOver = true
    for (const r of this.records) {
      if (r.sigtermAt === undefined) r.missed = "no SIGTERM reached the victim's wait within the window"
    }
  }

  /** Cancels what is still pending (the run is over). */
  close(): void {
    this.#closed = true
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
  }

  get replaced(): number {
    return this.records.filter((r) => r.replacedAt !== undefined).length
  }
}
