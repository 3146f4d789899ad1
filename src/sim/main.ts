// CLI: `npm run simulate -- --port 18080 --pods 200 --nodes 5 --partition node-2 [--tls]`.
// Starts a simulated cluster, seeds Argo-like pods, prints its URL and a kubeconfig path, and runs
// until SIGINT / SIGTERM.

import { parseArgs } from "node:util"
import type { NodeStatusFormat } from "./argoNodes.ts"
import { SimCluster } from "./SimCluster.ts"
import { seedWorkflowPods } from "./seed.ts"

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "18080" },
    pods: { type: "string", default: "200" },
    nodes: { type: "string", default: "5" },
    workflows: { type: "string" },
    namespace: { type: "string", default: "default" },
    partition: { type: "string", multiple: true, default: [] },
    tls: { type: "boolean", default: false },
    token: { type: "string" },
    kubeconfig: { type: "string" },
    "wait-term-delay-ms": { type: "string" },
    finalizer: { type: "boolean", default: false },
    realistic: { type: "boolean", default: false },
    "workflow-phase": { type: "string" },
    "node-status": { type: "string" },
    argo: { type: "boolean", default: false },
    "argo-record-lag-ms": { type: "string" },
    help: { type: "boolean", short: "h", default: false }
  }
})

if (values.help) {
  console.log(`usage: npm run simulate -- [--port 18080] [--pods 200] [--nodes 5] [--workflows N]
    [--namespace default] [--partition node-2]... [--tls] [--token T] [--kubeconfig PATH]
    [--wait-term-delay-ms MS] [--finalizer] [--realistic] [--workflow-phase Running]
    [--node-status nodes|compressed-gzip|compressed-zstd|compressed-brotli|offloaded]
    [--argo [--argo-record-lag-ms MS]]   (run the model of Argo's workflow-controller)`)
  process.exit(0)
}

const int = (name: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got ${raw}`)
    process.exit(2)
  }
  return n
}

const nodeStatusFormats: ReadonlyArray<NodeStatusFormat> = ["nodes", "compressed-gzip", "compressed-zstd", "compressed-brotli", "offloaded"]
const nodeStatus = values["node-status"] as NodeStatusFormat | undefined
if (nodeStatus !== undefined && !nodeStatusFormats.includes(nodeStatus)) {
  console.error(`--node-status must be one of ${nodeStatusFormats.join(", ")}, got ${nodeStatus}`)
  process.exit(2)
}

const sim = await SimCluster.start({
  port: int("port", values.port, 18080),
  tls: values.tls,
  token: values.token,
  argo: values.argo || values["argo-record-lag-ms"] !== undefined
    ? { recordLag: int("argo-record-lag-ms", values["argo-record-lag-ms"], 0) }
    : false
})
const seeded = seedWorkflowPods(sim, {
  pods: int("pods", values.pods, 200),
  nodes: int("nodes", values.nodes, 5),
  namespace: values.namespace,
  ...(values.workflows === undefined ? {} : { workflows: int("workflows", values.workflows, 1) }),
  ...(values["wait-term-delay-ms"] === undefined ? {} : { waitTermDelayMs: int("wait-term-delay-ms", values["wait-term-delay-ms"], 0) }),
  finalizer: values.finalizer,
  realistic: values.realistic,
  ...(values["workflow-phase"] === undefined ? {} : { workflowPhase: values["workflow-phase"] }),
  ...(nodeStatus === undefined ? {} : { nodeStatus })
})
for (const node of values.partition) sim.partition(node)
const kubeconfig = sim.writeKubeconfig(values.kubeconfig, { namespace: values.namespace })

console.log(`simulated API server: ${sim.url}`)
console.log(`kubeconfig: ${kubeconfig}`)
console.log(`seeded ${seeded.pods.length} pods in ${seeded.workflows.length} workflows on ${values.nodes} nodes (namespace ${values.namespace})`)
if (sim.argo !== undefined) console.log("Argo workflow-controller model: on")
if (values.partition.length > 0) console.log(`partitioned: ${values.partition.join(", ")} (exec to their pods hangs half-open)`)
console.log(`try: KUBECONFIG=${kubeconfig} kubectl get pods`)

let stopping = false
const stop = (signal: string) => {
  if (stopping) return
  stopping = true
  console.log(`\n${signal}: shutting down`)
  sim.close().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e)
      process.exit(1)
    }
  )
}
process.on("SIGINT", () => stop("SIGINT"))
process.on("SIGTERM", () => stop("SIGTERM"))
