// A model of Argo's workflow-controller (v4), as far as pod cleanup is concerned: it keeps each
// workflow's node map up to date from its pods, completes workflows, applies shutdown and deadlines,
// and, like Argo's podReconciliation, marks a node Error "pod deleted" when its pod leaves Argo's
// view before the node was recorded fulfilled. That last rule is what a cleanup controller running
// beside Argo must never trigger.
//
// It reads the store in-process, not over HTTP, and sees only the pods Argo's informer sees:
// labelled `workflows.argoproj.io/completed=false` and carrying `workflows.argoproj.io/workflow`. A
// pod leaves the view when it is removed (DELETED) or that label stops being "false". The model never
// signals, labels or deletes pods; every workflow write goes through the store (watchers see
// MODIFIED). Workflows in a completed phase are never touched (Argo does not operate them either), nor
// are workflows whose `status.compressedNodes` cannot be decoded. Differences from Argo: a pod that
// leaves the view is judged at once (Argo waits 10 s after a node started: we are stricter), and a
// node's outputs are "synced" after a fixed delay (`taskResultLagMs`) instead of by a WorkflowTaskResult;
// only a pod seen leaving is judged (a Running node whose pod was never in view is not marked); nothing
// is retried or resubmitted; workflows are not created from templates (tests add workflows and pods).

import type { ArgoNode, ArgoNodeMap } from "./argoNodes.ts"
import { argoNodeId, nodeFulfilled } from "./argoNodes.ts"
import { nowIso } from "./pods.ts"
import type { PodJson } from "./pods.ts"
import type { StoreEvent, StoreListener } from "./store.ts"

export interface ArgoModelOptions {
  /** Time from a pod reaching Succeeded/Failed until its node is recorded: fixed ms, or { minMs, maxMs } drawn uniformly. Default 0. */
  readonly recordLag?: number | { readonly minMs: number; readonly maxMs: number }
  /** Record the node first with taskResultSynced:false, then true after this many ms (default: undefined = no taskResultSynced field). */
  readonly taskResultLagMs?: number
  /** Seed of the PRNG that draws random lags. Default 1. */
  readonly seed?: number
  /**
   * Coalesce a workflow's node updates into slots of this many ms (an update is delayed to the end
   * of its slot, at most this much), so many pods finishing together cost one workflow write, as
   * Argo's reconcile loop does. Default 25; 0: every update exactly on time (costly with big
   * workflows: each write of a 1000-node workflow takes the simulator ~100 ms).
   */
  readonly batchMs?: number
  /**
   * Argo's `DEFAULT_REQUEUE_TIME` (10 s in Argo; users lower it to 2 s): a pod change enqueues its
   * workflow with `wfQueue.AddRateLimited`, whose fixed-interval limiter delays it this long, and
   * the changes that come meanwhile join that one pending operation (a delaying queue keeps the
   * earliest due time of a key). So a workflow is written at most about once per interval while its
   * pods end, and a node is recorded up to this long after its pod ended. When set, it replaces
   * `batchMs`. Default undefined (records at `recordLag`, slotted by `batchMs`).
   */
  readonly requeueMs?: number
}

/** A node Argo marked Error "pod deleted" because its pod left the view before the node was fulfilled. */
export interface PodDeletedRecord {
  readonly namespace: string
  readonly workflow: string
  readonly nodeId: string
  readonly pod: string
  /** Date.now() when it happened. */
  readonly at: number
}

/** The Workflow fields the model reads and writes (SimWorkflow, structurally). */
export interface ArgoWorkflowJson {
  metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string>; [key: string]: unknown }
  spec: { shutdown?: string; activeDeadlineSeconds?: number; [key: string]: unknown }
  status: { phase?: string; startedAt?: string; finishedAt?: string | null; message?: string; [key: string]: unknown }
  [key: string]: unknown
}

/** What the model needs from the simulator (SimCluster provides it). */
export interface ArgoHost {
  subscribe(resource: "pods" | "workflows", listener: StoreListener): () => void
  listPods(): Array<PodJson>
  listWorkflows(): Array<ArgoWorkflowJson>
  /** The stored workflow itself, not a copy: read it, never change it. */
  peekWorkflow(namespace: string, name: string): ArgoWorkflowJson | undefined
  /**
   * The workflow's node map wherever it lives (nodes, compressedNodes, offloaded), not copied when
   * it is `workflow.status.nodes`; throws when undecodable.
   */
  readNodes(workflow: ArgoWorkflowJson): ArgoNodeMap
  /**
   * Commits `next` (same uid as stored; handed over, not copied) with `nodes` stored in the
   * workflow's format. Returns the new resourceVersion, or undefined when nothing was written.
   */
  writeWorkflow(next: ArgoWorkflowJson, nodes: ArgoNodeMap): string | undefined
}

export const completedWorkflowPhases: ReadonlySet<string> = new Set(["Succeeded", "Failed", "Error"])

const workflowLabel = "workflows.argoproj.io/workflow"
const completedLabel = "workflows.argoproj.io/completed"
const onExitLabel = "workflows.argoproj.io/on-exit"

interface ViewPod {
  readonly key: string
  readonly uid: string
  readonly namespace: string
  readonly name: string
  readonly workflow: string
  readonly nodeId: string
  readonly nodeName: string
  readonly onExit: boolean
  readonly phase: string
  readonly createdAt: string | undefined
}

interface Draft {
  readonly workflow: ArgoWorkflowJson
  readonly nodes: ArgoNodeMap
  changed: boolean
}

/** mulberry32: small, seeded, good enough for lags. */
const prng = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Argo's node id of a pod: annotation node-id, else `Workflow.NodeID(node-name annotation)`. */
export const podNodeId = (pod: PodJson, workflow: string): string => {
  const annotations = pod.metadata.annotations ?? {}
  return annotations["workflows.argoproj.io/node-id"] ??
    argoNodeId(workflow, annotations["workflows.argoproj.io/node-name"] ?? pod.metadata.name)
}

/** The node entry Argo has for a pod it created (phase from the pod's phase). */
export const podNode = (id: string, nodeName: string, workflow: string, podPhase: string | undefined, startedAt: string): ArgoNode => ({
  id,
  name: nodeName,
  displayName: /\.([^.[\]]+)$/.exec(nodeName)?.[1] ?? nodeName,
  type: "Pod",
  templateName: "main",
  phase: podPhase === "Pending" || podPhase === undefined ? "Pending" : "Running",
  startedAt,
  boundaryID: workflow
})

const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`

/** A running model of Argo's workflow-controller over one simulator; see the file header. */
export class ArgoModel {
  readonly #podDeleted: Array<PodDeletedRecord> = []
  readonly #host: ArgoHost
  readonly #taskResultLagMs: number | undefined
  readonly #recordLag: ArgoModelOptions["recordLag"]
  readonly #random: () => number
  readonly #unsubscribe: Array<() => void> = []
  /** Pods in Argo's view, by `${namespace}/${name}`. */
  readonly #view = new Map<string, ViewPod>()
  /** Pod keys in view, by workflow key. */
  readonly #byWorkflow = new Map<string, Set<string>>()
  readonly #batchMs: number
  readonly #requeueMs: number
  /** The pending operation of each workflow under `requeueMs`: when it runs, and what it records. */
  readonly #pendingOperate = new Map<string, { readonly at: number; readonly bodies: Array<() => void> }>()
  /** Pending batched updates, by `${workflow key}@${due}`. */
  readonly #slots = new Map<string, Array<() => void>>()
  /** Pods whose node has been scheduled for recording (uid). */
  readonly #scheduled = new Set<string>()
  readonly #timers = new Set<ReturnType<typeof setTimeout>>()
  readonly #deadlineTimers = new Map<string, ReturnType<typeof setTimeout>>()
  readonly #fulfilledAt = new Map<string, number>()
  /** Workflows read in this entry point (null: absent, completed or undecodable: left alone). */
  readonly #drafts = new Map<string, Draft | null>()
  readonly #queue: Array<{ readonly resource: "pods" | "workflows"; readonly event: StoreEvent }> = []
  /** resourceVersions of our own workflow writes, whose events need no handling. */
  readonly #ownWrites = new Set<string>()
  #draining = false
  #stopped = false

  constructor(host: ArgoHost, options: ArgoModelOptions = {}) {
    this.#host = host
    this.#taskResultLagMs = options.taskResultLagMs
    this.#recordLag = options.recordLag
    this.#batchMs = Math.max(0, options.batchMs ?? 25)
    this.#requeueMs = Math.max(0, options.requeueMs ?? 0)
    this.#random = prng(options.seed ?? 1)
    // Subscribe first, then take what exists: nothing slips between the two (both synchronous).
    this.#unsubscribe.push(host.subscribe("pods", (event) => this.#enqueue("pods", event)))
    this.#unsubscribe.push(host.subscribe("workflows", (event) => this.#enqueue("workflows", event)))
    this.#run(() => {
      for (const pod of host.listPods()) this.#onPod(pod)
      for (const wf of host.listWorkflows()) this.#onWorkflow(wf.metadata.namespace ?? "", wf.metadata.name)
    })
  }

  /** Nodes marked Error "pod deleted" so far. */
  get podDeleted(): ReadonlyArray<PodDeletedRecord> {
    return this.#podDeleted
  }

  /**
   * Work the model has scheduled and not done yet: records waiting for their lag, and workflow
   * operations waiting for their requeue interval (each judges the pods that left the view meanwhile,
   * so `podDeleted` is final only when this is 0). Deadline timers are not counted.
   */
  get pending(): number {
    return this.#timers.size
  }

  /**
   * When the node of pod `namespace/pod` was recorded fulfilled (Date.now()), for latency
   * measurements: recorded Succeeded/Failed with outputs synced, or failed by shutdown/deadline.
   * Undefined while it is not (and for nodes marked Error "pod deleted").
   */
  fulfilledAt(namespace: string, pod: string): number | undefined {
    return this.#fulfilledAt.get(keyOf(namespace, pod))
  }

  /** Stops watching and cancels every timer. Idempotent. */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    for (const u of this.#unsubscribe.splice(0)) u()
    for (const t of this.#timers) clearTimeout(t)
    for (const t of this.#deadlineTimers.values()) clearTimeout(t)
    this.#timers.clear()
    this.#slots.clear()
    this.#deadlineTimers.clear()
    this.#queue.length = 0
  }

  // -----------------------------------------------------------------------------------------
  // plumbing: store events are handled after the write that caused them (never inside the store's
  // listener loop, so our own writes never reorder other watchers' events), and every entry point
  // ends by writing the workflows it changed, once each.

  #enqueue(resource: "pods" | "workflows", event: StoreEvent): void {
    if (this.#stopped) return
    this.#queue.push({ resource, event })
    if (this.#queue.length === 1 && !this.#draining) queueMicrotask(() => this.#drain())
  }

  #drain(): void {
    if (this.#stopped || this.#draining) return
    this.#draining = true
    try {
      this.#run(() => {
        for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) {
          const { resource, event } = item
          if (resource === "pods") {
            if (event.type === "DELETED") this.#podGone(keyOf(event.object.metadata.namespace ?? "", event.object.metadata.name), event.object.metadata.uid ?? "")
            else this.#onPod(event.object as PodJson)
          } else if (event.type === "DELETED") {
            const key = keyOf(event.object.metadata.namespace ?? "", event.object.metadata.name)
            const t = this.#deadlineTimers.get(key)
            if (t !== undefined) clearTimeout(t)
            this.#deadlineTimers.delete(key)
          } else if (!this.#ownWrites.delete(event.object.metadata.resourceVersion ?? "")) {
            this.#onWorkflow(event.object.metadata.namespace ?? "", event.object.metadata.name)
          }
        }
      })
    } finally {
      this.#draining = false
    }
    // Our own writes queued events while draining.
    if (this.#queue.length > 0 && !this.#stopped) queueMicrotask(() => this.#drain())
  }

  #run(body: () => void): void {
    try {
      body()
    } finally {
      this.#flush()
    }
  }

  #later(ms: number, body: () => void): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => {
      this.#timers.delete(t)
      if (!this.#stopped) this.#run(body)
    }, Math.max(0, ms))
    this.#timers.add(t)
    return t
  }

  /**
   * `body` after `ms`; with `requeueMs`, at the workflow's pending operation if that comes no sooner,
   * else at a new one `requeueMs` after it is due; with `batchMs`, the bodies of one workflow due in
   * the same slot run together. Either way one write for all of them.
   */
  #afterForWorkflow(workflowKey: string, ms: number, body: () => void): void {
    if (this.#requeueMs > 0) {
      const due = Date.now() + Math.max(0, ms)
      const pending = this.#pendingOperate.get(workflowKey)
      if (pending !== undefined && pending.at >= due) {
        pending.bodies.push(body)
        return
      }
      if (pending !== undefined) {
        // Due after the pending operation: the change that makes it due enqueues the workflow again.
        this.#later(due - Date.now(), () => this.#afterForWorkflow(workflowKey, 0, body))
        return
      }
      const operate = { at: due + this.#requeueMs, bodies: [body] }
      this.#pendingOperate.set(workflowKey, operate)
      this.#later(operate.at - Date.now(), () => {
        this.#pendingOperate.delete(workflowKey)
        for (const b of operate.bodies) b()
      })
      return
    }
    if (this.#batchMs === 0) {
      this.#later(ms, body)
      return
    }
    const due = Math.ceil((Date.now() + ms) / this.#batchMs) * this.#batchMs
    const key = `${workflowKey}@${due}`
    const slot = this.#slots.get(key)
    if (slot !== undefined) {
      slot.push(body)
      return
    }
    const bodies = [body]
    this.#slots.set(key, bodies)
    this.#later(due - Date.now(), () => {
      this.#slots.delete(key)
      for (const b of bodies) b()
    })
  }

  /** The workflow being edited in this entry point; undefined when absent, completed or undecodable. */
  #draft(namespace: string, name: string): Draft | undefined {
    const key = keyOf(namespace, name)
    const existing = this.#drafts.get(key)
    if (existing !== undefined) return existing ?? undefined
    const stored = this.#host.peekWorkflow(namespace, name)
    let nodes: ArgoNodeMap | undefined
    if (stored !== undefined && !completedWorkflowPhases.has(stored.status?.phase ?? "")) {
      try {
        // What a draft changes is a node's own fields, the status' and metadata.labels: copies of
        // those objects, over the stored workflow's other parts, are a private draft (the store
        // copies what is written). Most entry points change nothing, and a deep copy of a
        // workflow with hundreds of nodes per pod event was most of the simulator's CPU.
        nodes = {}
        for (const [id, node] of Object.entries(this.#host.readNodes(stored))) nodes[id] = { ...node }
      } catch {
        nodes = undefined
      }
    }
    if (stored === undefined || nodes === undefined) {
      this.#drafts.set(key, null)
      return undefined
    }
    const workflow: ArgoWorkflowJson = {
      ...stored,
      metadata: { ...stored.metadata },
      spec: { ...stored.spec },
      status: { ...stored.status }
    }
    const draft: Draft = { workflow, nodes, changed: false }
    this.#drafts.set(key, draft)
    return draft
  }

  #flush(): void {
    const drafts = [...this.#drafts.values()]
    this.#drafts.clear()
    if (this.#stopped) return
    for (const d of drafts) {
      if (d === null) continue
      if (this.#complete(d) || d.changed) {
        const rv = this.#host.writeWorkflow(d.workflow, d.nodes)
        if (rv !== undefined) this.#ownWrites.add(rv)
      }
    }
  }

  // -----------------------------------------------------------------------------------------
  // pods

  #onPod(pod: PodJson): void {
    const namespace = pod.metadata.namespace ?? ""
    const key = keyOf(namespace, pod.metadata.name)
    const before = this.#view.get(key)
    const labels = pod.metadata.labels ?? {}
    const workflow = labels[workflowLabel]
    const inView = workflow !== undefined && labels[completedLabel] === "false"
    if (before !== undefined && (!inView || before.uid !== pod.metadata.uid)) this.#podGone(key, before.uid)
    if (!inView) return
    const v: ViewPod = {
      key,
      uid: pod.metadata.uid ?? "",
      namespace,
      name: pod.metadata.name,
      workflow,
      nodeId: podNodeId(pod, workflow),
      nodeName: pod.metadata.annotations?.["workflows.argoproj.io/node-name"] ?? pod.metadata.name,
      onExit: labels[onExitLabel] !== undefined,
      phase: pod.status?.phase ?? "Pending",
      createdAt: pod.metadata.creationTimestamp
    }
    this.#view.set(key, v)
    const wfKey = keyOf(namespace, workflow)
    let set = this.#byWorkflow.get(wfKey)
    if (set === undefined) this.#byWorkflow.set(wfKey, set = new Set())
    set.add(key)

    const d = this.#draft(namespace, workflow)
    if (d === undefined) return
    const node = d.nodes[v.nodeId]
    if (node === undefined) {
      d.nodes[v.nodeId] = podNode(v.nodeId, v.nodeName, workflow, v.phase, v.createdAt ?? nowIso())
      d.changed = true
    } else if (node.phase === "Pending" && v.phase !== "Pending") {
      node.phase = "Running"
      node.startedAt ??= nowIso()
      d.changed = true
    }
    this.#control(d, v)
    if ((v.phase === "Succeeded" || v.phase === "Failed") && !this.#scheduled.has(v.uid)) this.#scheduleRecord(v)
  }

  /** The pod left Argo's view (deleted, relabelled, or replaced by a new uid). */
  #podGone(key: string, uid: string): void {
    const v = this.#view.get(key)
    if (v === undefined || v.uid !== uid) return
    this.#view.delete(key)
    this.#byWorkflow.get(keyOf(v.namespace, v.workflow))?.delete(key)
    // A pending record finds the pod gone and does nothing.
    this.#scheduled.delete(uid)
    // With `requeueMs` Argo sees the pod gone at the workflow's next operation, like any change.
    if (this.#requeueMs > 0) this.#afterForWorkflow(keyOf(v.namespace, v.workflow), 0, () => this.#judgeGone(v))
    else this.#judgeGone(v)
  }

  /** Argo's podReconciliation for a pod no longer in view: its node, unless fulfilled, is Error "pod deleted". */
  #judgeGone(v: ViewPod): void {
    const d = this.#draft(v.namespace, v.workflow)
    const node = d?.nodes[v.nodeId]
    if (d === undefined || node === undefined) return
    if (node.type !== "Pod" || !node.startedAt || node.phase === "Pending" || nodeFulfilled(node)) return
    const at = Date.now()
    node.phase = "Error"
    node.message = "pod deleted"
    node.finishedAt = nowIso(at)
    d.changed = true
    this.#podDeleted.push({ namespace: v.namespace, workflow: v.workflow, nodeId: v.nodeId, pod: v.name, at })
  }

  #lag(): number {
    const lag = this.#recordLag
    if (lag === undefined) return 0
    if (typeof lag === "number") return lag
    return lag.minMs + this.#random() * Math.max(0, lag.maxMs - lag.minMs)
  }

  #scheduleRecord(v: ViewPod): void {
    this.#scheduled.add(v.uid)
    this.#afterForWorkflow(keyOf(v.namespace, v.workflow), this.#lag(), () => this.#record(v.key, v.uid))
  }

  /** The lag has passed: record the node of the pod, if it is still in view and its node unfulfilled. */
  #record(key: string, uid: string): void {
    const v = this.#view.get(key)
    if (v === undefined || v.uid !== uid) return
    const d = this.#draft(v.namespace, v.workflow)
    const node = d?.nodes[v.nodeId]
    if (d === undefined || node === undefined || nodeFulfilled(node) || node.phase === "Error" || node.phase === "Failed") return
    node.phase = v.phase
    node.finishedAt = nowIso()
    if (v.phase === "Failed") node.message = "Error (exit code 1)"
    d.changed = true
    if (this.#taskResultLagMs === undefined) {
      delete node.taskResultSynced
      this.#fulfilledAt.set(key, Date.now())
      return
    }
    node.taskResultSynced = false
    this.#afterForWorkflow(keyOf(v.namespace, v.workflow), this.#taskResultLagMs, () => {
      const d2 = this.#draft(v.namespace, v.workflow)
      const n = d2?.nodes[v.nodeId]
      if (d2 === undefined || n === undefined || n.taskResultSynced !== false) return
      n.taskResultSynced = true
      d2.changed = true
      if (n.phase !== "Error") this.#fulfilledAt.set(key, Date.now())
    })
  }

  // -----------------------------------------------------------------------------------------
  // workflows

  #onWorkflow(namespace: string, name: string): void {
    const d = this.#draft(namespace, name)
    if (d === undefined) return
    for (const podKey of this.#byWorkflow.get(keyOf(namespace, name)) ?? []) {
      const v = this.#view.get(podKey)
      if (v === undefined) continue
      // A pod seen before its workflow existed gets its node now.
      if (d.nodes[v.nodeId] === undefined) {
        d.nodes[v.nodeId] = podNode(v.nodeId, v.nodeName, name, v.phase, v.createdAt ?? nowIso())
        d.changed = true
      }
      this.#control(d, v)
    }
    this.#armDeadline(namespace, name, d.workflow)
  }

  #deadlineOf(wf: ArgoWorkflowJson): number | undefined {
    const seconds = wf.spec.activeDeadlineSeconds
    const started = wf.status.startedAt
    if (typeof seconds !== "number" || typeof started !== "string") return undefined
    const at = Date.parse(started)
    return Number.isNaN(at) ? undefined : at + seconds * 1000
  }

  #armDeadline(namespace: string, name: string, wf: ArgoWorkflowJson): void {
    const key = keyOf(namespace, name)
    const old = this.#deadlineTimers.get(key)
    if (old !== undefined) clearTimeout(old)
    this.#deadlineTimers.delete(key)
    const deadline = this.#deadlineOf(wf)
    if (deadline === undefined || Date.now() > deadline) return
    const t = this.#later(deadline - Date.now() + 1, () => {
      this.#deadlineTimers.delete(key)
      this.#onWorkflow(namespace, name)
    })
    this.#deadlineTimers.set(key, t)
  }

  /** Argo's applyExecutionControl for a Pending/Running pod: shutdown, then the deadline, fail its node. */
  #control(d: Draft, v: ViewPod): void {
    if (v.phase !== "Pending" && v.phase !== "Running") return
    const node = d.nodes[v.nodeId]
    if (node === undefined || nodeFulfilled(node)) return
    const shutdown = d.workflow.spec.shutdown
    let message: string | undefined
    if ((shutdown === "Stop" || shutdown === "Terminate") && !(shutdown === "Stop" && v.onExit)) {
      // Argo's exact text, two spaces included.
      message = `workflow shutdown with strategy:  ${shutdown}`
    } else {
      const deadline = this.#deadlineOf(d.workflow)
      if (deadline !== undefined && Date.now() > deadline && !v.onExit) message = "Step exceeded its deadline"
    }
    if (message === undefined) return
    node.phase = "Failed"
    node.message = message
    node.finishedAt = nowIso()
    delete node.taskResultSynced
    d.changed = true
    this.#fulfilledAt.set(v.key, Date.now())
  }

  /** Every Pod node fulfilled: the workflow ends (Failed if any node failed). Returns whether it did. */
  #complete(d: Draft): boolean {
    const status = d.workflow.status
    if (status.phase !== "Running" && status.phase !== "Pending" && status.phase !== undefined) return false
    const all = Object.values(d.nodes)
    const podNodes = all.filter((n) => n.type === "Pod")
    if (podNodes.length === 0 || !podNodes.every(nodeFulfilled)) return false
    const failed = podNodes.some((n) => n.phase === "Failed" || n.phase === "Error")
    const phase = failed ? "Failed" : "Succeeded"
    const now = nowIso()
    for (const n of all) {
      if (n.type !== "Pod" && !nodeFulfilled(n)) {
        n.phase = phase
        n.finishedAt = now
      }
    }
    status.phase = phase
    status.finishedAt = status.finishedAt ?? now
    const shutdown = d.workflow.spec.shutdown
    if (shutdown === "Stop" || shutdown === "Terminate") status.message = `Stopped with strategy '${shutdown}'`
    d.workflow.metadata.labels = {
      ...d.workflow.metadata.labels,
      "workflows.argoproj.io/phase": phase,
      "workflows.argoproj.io/completed": "true"
    }
    return true
  }
}
