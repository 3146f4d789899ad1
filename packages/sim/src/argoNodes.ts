// Argo's workflow node map as the API server carries it: node ids (Workflow.NodeID), the
// fulfilled rule (NodePhase.Fulfilled), and the three places the map can live in a Workflow's
// status: `status.nodes`, `status.compressedNodes` (base64 of gzip / zstd / brotli of the JSON map,
// told apart by magic bytes as util/file DecompressContent does), or offloaded (neither field, only
// `status.offloadNodeStatusVersion`). Pure functions; no I/O.

import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from "node:zlib"

/** One entry of `status.nodes` (the fields the simulator writes; Argo has more). */
export interface ArgoNode {
  id: string
  name: string
  displayName: string
  /** Pod | Steps | StepGroup | DAG | Retry | ... */
  type: string
  templateName?: string
  /** Pending | Running | Succeeded | Failed | Error | Skipped | Omitted */
  phase: string
  boundaryID?: string
  message?: string
  startedAt?: string
  finishedAt?: string | null
  children?: Array<string>
  /** Absent: outputs need no syncing (counts as synced). */
  taskResultSynced?: boolean
  [key: string]: unknown
}

export type ArgoNodeMap = Record<string, ArgoNode>

/** Where a workflow keeps its node map. Default "nodes". */
export type NodeStatusFormat = "nodes" | "compressed-gzip" | "compressed-zstd" | "compressed-brotli" | "offloaded"

/** FNV-1a, 32 bit, as Go's hash/fnv New32a; unsigned. */
export const fnv32a = (text: string): number => {
  let h = 0x811c9dc5
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/** Argo's `Workflow.NodeID(name)`: the workflow's name for the root node, else `<wf>-<fnv32a(name)>`. */
export const argoNodeId = (workflowName: string, nodeName: string): string =>
  nodeName === workflowName ? workflowName : `${workflowName}-${fnv32a(nodeName)}`

/** `NodePhase.Fulfilled(taskResultSynced)`. */
export const nodeFulfilled = (node: Pick<ArgoNode, "phase" | "taskResultSynced">): boolean => {
  switch (node.phase) {
    case "Succeeded":
    case "Failed":
    case "Error":
      return node.taskResultSynced === undefined || node.taskResultSynced
    case "Skipped":
    case "Omitted":
      return true
    default:
      return false
  }
}

const gzipMagic = Buffer.from([0x1f, 0x8b])
const zstdMagic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd])

/** base64(compress(JSON)) the way Argo's packer writes `status.compressedNodes`. */
export const compressNodes = (nodes: ArgoNodeMap, algorithm: "gzip" | "zstd" | "brotli"): string => {
  const json = Buffer.from(JSON.stringify(nodes), "utf8")
  const packed = algorithm === "gzip" ? gzipSync(json) : algorithm === "zstd" ? zstdCompressSync(json) : brotliCompressSync(json)
  return packed.toString("base64")
}

/** The inverse of `compressNodes`, algorithm chosen by magic bytes (brotli has none). Throws when corrupt. */
export const decompressNodes = (compressed: string): ArgoNodeMap => {
  const raw = Buffer.from(compressed, "base64")
  const json = raw.subarray(0, 4).equals(zstdMagic)
    ? zstdDecompressSync(raw)
    : raw.subarray(0, 2).equals(gzipMagic)
    ? gunzipSync(raw)
    : brotliDecompressSync(raw)
  const parsed: unknown = JSON.parse(json.toString("utf8"))
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("compressedNodes: not a JSON object")
  return parsed as ArgoNodeMap
}

/** Argo's offload version string for a node map: `fnv:<fnv32a of its JSON>`. */
export const offloadVersion = (nodes: ArgoNodeMap): string => `fnv:${fnv32a(JSON.stringify(nodes))}`

/**
 * Writes `nodes` into a workflow status in the given format (removing the other fields):
 * `nodes` (omitted when empty, as Argo's omitempty does), `compressedNodes`, or `offloadNodeStatusVersion`.
 */
export const storeNodes = (
  status: Record<string, unknown>,
  nodes: ArgoNodeMap,
  format: NodeStatusFormat,
  options: { readonly owned?: boolean } = {}
): void => {
  delete status["nodes"]
  delete status["compressedNodes"]
  delete status["offloadNodeStatusVersion"]
  switch (format) {
    case "nodes":
      if (Object.keys(nodes).length > 0) status["nodes"] = options.owned === true ? nodes : structuredClone(nodes)
      return
    case "compressed-gzip":
      status["compressedNodes"] = compressNodes(nodes, "gzip")
      return
    case "compressed-zstd":
      status["compressedNodes"] = compressNodes(nodes, "zstd")
      return
    case "compressed-brotli":
      status["compressedNodes"] = compressNodes(nodes, "brotli")
      return
    case "offloaded":
      status["offloadNodeStatusVersion"] = offloadVersion(nodes)
      return
  }
}

/**
 * The node map readable from a workflow status (not offloaded ones); throws when `compressedNodes`
 * is corrupt. `owned`: the status is a private copy, so its `nodes` object is returned as is.
 */
export const readStoredNodes = (status: Record<string, unknown> | undefined, options: { readonly owned?: boolean } = {}): ArgoNodeMap => {
  const compressed = status?.["compressedNodes"]
  if (typeof compressed === "string" && compressed !== "") return decompressNodes(compressed)
  const nodes = status?.["nodes"]
  if (typeof nodes !== "object" || nodes === null) return {}
  return options.owned === true ? nodes as ArgoNodeMap : structuredClone(nodes as ArgoNodeMap)
}
