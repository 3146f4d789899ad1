/**
 * What pod-cleanup keeps of an Argo `Workflow` (`argoproj.io/v1alpha1`): a compact `WorkflowRecord`
 * decoded once when the object arrives (phase, podGC, shutdown, deadline, and the state of its
 * Pod-type nodes), never the object itself: workflows can be megabytes (thousands of nodes, stored
 * templates). Pure and forgiving: a field of the wrong type is treated as absent, so a malformed
 * workflow never stops the cleanup of its pods; node status that cannot be read is recorded as
 * unreadable (with the reason), which the decision treats as "not recorded yet", never as "go".
 *
 * Sources (argoproj/argo-workflows v4): `Workflow.NodeID` (FNV-32a of the node name),
 * `NodePhase.Fulfilled(taskResultSynced)` (what `queuePodsForCleanup` requires before it cleans a
 * pod), `packer.DecompressWorkflow` and `util/file.DecompressContent` (base64 of gzip, zstd or
 * brotli, told apart by magic bytes; anything else is tried as brotli), `offloadNodeStatusVersion`.
 */
import { brotliDecompressSync, gunzipSync, zstdDecompressSync } from "node:zlib"
import { isPodGCStrategy, isWorkflowCompleted, type ShutdownStrategy, ShutdownStrategies, type WorkflowPhase, WorkflowPhases } from "./argo.ts"
import type { LabelSelector } from "./labelSelector.ts"
import type { PodGCView, WorkflowView } from "./policy.ts"

const record = (u: unknown): Record<string, unknown> | undefined =>
  u !== null && typeof u === "object" && !Array.isArray(u) ? (u as Record<string, unknown>) : undefined

const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)

// ---- Nodes --------------------------------------------------------------------------------------

/** The state of one Pod-type node, as far as cleanup cares. Instances are shared (interned). */
export interface NodeState {
  /** `status.nodes[id].phase` ("" when absent). */
  readonly phase: string
  /** `taskResultSynced`: undefined when absent. */
  readonly taskResultSynced: boolean | undefined
  /** `NodePhase.Fulfilled(taskResultSynced)`: Argo has recorded the node's result. */
  readonly fulfilled: boolean
}

const completedNodePhases = new Set(["Succeeded", "Failed", "Error"])

/**
 * Argo's `NodePhase.Fulfilled(synced)`: Succeeded, Failed or Error with `taskResultSynced` absent
 * or true, or Skipped, or Omitted. (Argo's `NodeStatus.Fulfilled` also counts a daemoned node that
 * is not Pending, but `queuePodsForCleanup` and `podReconciliation` use the phase rule: a daemoned
 * Running node whose pod vanishes is marked "pod deleted", so the phase rule is the safe one.)
 */
export const isNodeFulfilled = (phase: string, taskResultSynced: boolean | undefined): boolean =>
  (completedNodePhases.has(phase) && taskResultSynced !== false) || phase === "Skipped" || phase === "Omitted"

const nodeStates = new Map<string, NodeState>()
const nodeState = (phase: string, taskResultSynced: boolean | undefined): NodeState => {
  const key = `${phase}/${String(taskResultSynced)}`
  let state = nodeStates.get(key)
  if (state === undefined) {
    state = Object.freeze({ phase, taskResultSynced, fulfilled: isNodeFulfilled(phase, taskResultSynced) })
    nodeStates.set(key, state)
  }
  return state
}

/** Where the workflow's node map is, and what could be read of it. */
export type NodeStatus =
  /** `status.nodes` or a decoded `status.compressedNodes`: the Pod-type nodes by node ID. */
  | { readonly _tag: "Nodes"; readonly pods: ReadonlyMap<string, NodeState>; readonly source: "nodes" | "compressedNodes" }
  /** `status.offloadNodeStatusVersion`: the nodes are in Argo's database, not in the object. */
  | { readonly _tag: "Offloaded"; readonly version: string }
  /** The node map is there but cannot be read (corrupt base64, an unknown compression, bad JSON). */
  | { readonly _tag: "Unreadable"; readonly reason: string }

const podNodes = (nodes: unknown): Map<string, NodeState> => {
  const out = new Map<string, NodeState>()
  const map = record(nodes)
  if (map === undefined) return out
  for (const [key, value] of Object.entries(map)) {
    const node = record(value)
    if (node === undefined || node.type !== "Pod") continue
    const id = str(node.id) ?? key
    const synced = typeof node.taskResultSynced === "boolean" ? node.taskResultSynced : undefined
    out.set(id, nodeState(str(node.phase) ?? "", synced))
  }
  return out
}

const GZIP = [0x1f, 0x8b]
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd]
const startsWith = (buf: Buffer, magic: ReadonlyArray<number>) => magic.every((b, i) => buf[i] === b)

/**
 * The most a decompressed node map may take. `status.compressedNodes` is written by whoever can
 * update the Workflow, and a few KB of gzip, zstd or brotli can expand to gigabytes: a map larger
 * than this is unreadable, never decoded in full (its pods wait for the workflow to complete).
 * Real ones are far smaller: Argo offloads a workflow before it outgrows etcd's object limit.
 */
export const MaxNodeStatusBytes = 64 * 1024 * 1024

/** `DecompressContent`: gzip and zstd by their magic bytes, anything else as brotli. */
const decompress = (buf: Buffer): { readonly text: string; readonly format: string } => {
  const limit = { maxOutputLength: MaxNodeStatusBytes }
  const format = startsWith(buf, GZIP) ? "gzip" : startsWith(buf, ZSTD) ? "zstd" : "brotli"
  try {
    const out = format === "gzip" ? gunzipSync(buf, limit) : format === "zstd" ? zstdDecompressSync(buf, limit) : brotliDecompressSync(buf, limit)
    return { text: out.toString("utf8"), format }
  } catch (e) {
    if ((e as { readonly code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") throw new TooLarge(format)
    throw e
  }
}

class TooLarge extends Error {
  readonly format: string
  constructor(format: string) {
    super(`${format} content larger than ${MaxNodeStatusBytes / 1024 / 1024} MiB`)
    this.format = format
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** Reads the node map from `status`: plain, compressed, offloaded, or unreadable. */
export const nodeStatusOf = (status: Record<string, unknown>): NodeStatus => {
  const nodes = record(status.nodes)
  if (nodes !== undefined && Object.keys(nodes).length > 0) return { _tag: "Nodes", pods: podNodes(nodes), source: "nodes" }
  const compressed = str(status.compressedNodes)
  if (compressed !== undefined && compressed !== "") {
    const clean = compressed.replace(/\s+/g, "")
    if (!BASE64.test(clean) || clean.length % 4 !== 0) {
      return { _tag: "Unreadable", reason: "status.compressedNodes is not valid base64" }
    }
    let decoded: { readonly text: string; readonly format: string }
    try {
      decoded = decompress(Buffer.from(clean, "base64"))
    } catch (e) {
      if (e instanceof TooLarge) return { _tag: "Unreadable", reason: `status.compressedNodes (${e.format}) is larger than ${MaxNodeStatusBytes / 1024 / 1024} MiB decompressed: not read` }
      return { _tag: "Unreadable", reason: `status.compressedNodes cannot be decompressed (not gzip, zstd or brotli: ${message(e)})` }
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(decoded.text)
    } catch (e) {
      return { _tag: "Unreadable", reason: `status.compressedNodes (${decoded.format}) is not a JSON node map: ${message(e)}` }
    }
    if (record(parsed) === undefined) {
      return { _tag: "Unreadable", reason: `status.compressedNodes (${decoded.format}) is not a JSON node map` }
    }
    return { _tag: "Nodes", pods: podNodes(parsed), source: "compressedNodes" }
  }
  const offloaded = str(status.offloadNodeStatusVersion)
  if (offloaded !== undefined && offloaded !== "") return { _tag: "Offloaded", version: offloaded }
  return { _tag: "Nodes", pods: new Map(), source: "nodes" }
}

// ---- Node IDs -----------------------------------------------------------------------------------

/** FNV-32a of the UTF-8 bytes of `text`, as an unsigned 32-bit integer (Go's `hash/fnv.New32a`). */
export const fnv32a = (text: string): number => {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(text, "utf8")) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash >>> 0
}

/** `Workflow.NodeID(name)`: the workflow's name for its root, else `<workflow>-<fnv32a(name)>`. */
export const argoNodeId = (workflowName: string, nodeName: string): string =>
  nodeName === workflowName ? workflowName : `${workflowName}-${fnv32a(nodeName)}`

// ---- The record ---------------------------------------------------------------------------------

/** Everything cleanup reads of a workflow, decoded once. */
export interface WorkflowRecord {
  /** Kept in the shape informers read (`metadata.namespace/name/resourceVersion`). */
  readonly metadata: { readonly namespace: string; readonly name: string; readonly uid: string; readonly resourceVersion: string }
  /** `status.phase`; absent for a workflow that has not started. */
  readonly phase: WorkflowPhase | undefined
  readonly podGC: PodGCView | undefined
  readonly shutdown: ShutdownStrategy | undefined
  /** `status.startedAt` + `spec.activeDeadlineSeconds`, epoch ms; undefined when either is missing. */
  readonly deadlineAt: number | undefined
  readonly nodes: NodeStatus
}

/** Decodes a raw Workflow object (API JSON) into its record. Never throws. */
export const workflowRecord = (raw: unknown): WorkflowRecord => {
  const wf = record(raw) ?? {}
  const metadata = record(wf.metadata) ?? {}
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
  const deadlineAt = deadline === undefined || Number.isNaN(started) ? undefined : started + deadline * 1000

  return {
    metadata: {
      namespace: str(metadata.namespace) ?? "",
      name: str(metadata.name) ?? "",
      uid: str(metadata.uid) ?? "",
      resourceVersion: str(metadata.resourceVersion) ?? ""
    },
    phase,
    podGC,
    shutdown,
    deadlineAt,
    nodes: nodeStatusOf(status)
  }
}

/** The policy's view of a workflow at `nowMillis` (the deadline is judged against it). */
export const viewOf = (wf: WorkflowRecord, nowMillis: number): WorkflowView => ({
  phase: wf.phase,
  podGC: wf.podGC,
  shutdown: wf.shutdown,
  deadlineExceeded: wf.deadlineAt !== undefined && !isWorkflowCompleted(wf.phase) && nowMillis > wf.deadlineAt
})

/**
 * Reads the parts of a raw Workflow the policy needs, at `nowMillis` (whether
 * `spec.activeDeadlineSeconds` has passed since `status.startedAt`).
 */
export const workflowView = (raw: unknown, nowMillis: number): WorkflowView => viewOf(workflowRecord(raw), nowMillis)

// ---- Change detection ---------------------------------------------------------------------------

const sameNodeStatus = (a: NodeStatus, b: NodeStatus): boolean => {
  if (a._tag !== b._tag) return false
  switch (a._tag) {
    case "Offloaded":
      return true
    case "Unreadable":
      return a.reason === (b as typeof a).reason
    case "Nodes": {
      const other = (b as typeof a).pods
      if (a.pods.size !== other.size) return false
      for (const [id, state] of a.pods) if (other.get(id) !== state) return false
      return true
    }
  }
}

/**
 * Whether two records of a workflow differ in anything the decision reads (every field of the
 * record but `metadata`): the one list of what the policy reads, so a change filter cannot drift.
 */
export const workflowInputsEqual = (a: WorkflowRecord, b: WorkflowRecord): boolean =>
  workflowFieldsEqual(a, b) && sameNodeStatus(a.nodes, b.nodes)

/** Whether two records agree on everything the decision reads but the node status. */
export const workflowFieldsEqual = (a: WorkflowRecord, b: WorkflowRecord): boolean =>
  a.phase === b.phase &&
  a.shutdown === b.shutdown &&
  a.deadlineAt === b.deadlineAt &&
  JSON.stringify(a.podGC) === JSON.stringify(b.podGC)

/**
 * The node IDs whose state differs between two records (all of them when the node status changed
 * kind). Pods waiting on other nodes need not be reconsidered.
 */
export const changedNodeIds = (a: WorkflowRecord, b: WorkflowRecord): ReadonlySet<string> | "all" => {
  if (a.nodes._tag !== "Nodes" || b.nodes._tag !== "Nodes") return "all"
  const changed = new Set<string>()
  for (const [id, state] of a.nodes.pods) if (b.nodes.pods.get(id) !== state) changed.add(id)
  for (const id of b.nodes.pods.keys()) if (!a.nodes.pods.has(id)) changed.add(id)
  return changed
}
