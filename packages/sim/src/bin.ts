#!/usr/bin/env node
// CLI: `npm run simulate -- --port 18080 --pods 200 --nodes 5 --partition node-2 [--tls]`.
// Starts a simulated cluster, seeds Argo-like pods, prints its URL and a kubeconfig path, and runs
// until SIGINT / SIGTERM. With `--control-port`, also serves the side channel (control.ts) and
// prints one JSON line `{"control":...,"url":...,"kubeconfig":...,"pid":...}` on stdout instead.

import { parseArgs } from "node:util"
import type { NodeStatusFormat } from "./argoNodes.ts"
import { startControl } from "./control.ts"
import type { ControlServer } from "./control.ts"
import { SimCluster } from "./SimCluster.ts"
import { seedWorkflowPods } from "./seed.ts"

const help = `usage: npm run simulate -- [flags]

Starts a simulated Kubernetes API server (pods, leases, Argo workflows) on 127.0.0.1, seeds
Argo-like workflow pods (main exited, wait still running), prints its URL and a kubeconfig path,
and runs until SIGINT / SIGTERM.

The API server:
  --port N                 its port (default 18080; 0: a free port)
  --tls                    serve HTTPS with the test-only certificate (packages/sim/src/tls)
  --token T                require "Authorization: Bearer T" (else 401)
  --kubeconfig PATH        where to write the kubeconfig (default: a temp file, removed at exit)
  --request-log-limit N    request log entries kept in memory (default 100000; counters are kept apart)
  --history-limit N        events kept per resource for watch resumption (default 1000)

What it seeds (seedWorkflowPods):
  --pods N                 pods (default 200; 0 with --control-port)
  --nodes N                nodes node-0..node-(N-1), pods round robin (default 5)
  --workflows N            workflows the pods are spread over (default 1 per 10 pods)
  --namespace NS           (default "default")
  --workflow-phase P       Running, Succeeded, Failed, Error (default Succeeded)
  --node-status F          where workflows keep their node map: nodes, compressed-gzip,
                           compressed-zstd, compressed-brotli, offloaded (default nodes)
  --realistic              real-sized pods (10+ KB: ARGO_TEMPLATE, volumes, managedFields) and
                           workflows (templates, storedTemplates, Steps/StepGroup nodes)
  --finalizer              add Argo's workflows.argoproj.io/status finalizer to each pod
  --wait-term-delay-ms MS  SIGTERM to exit delay of each wait container (default 0)

Faults and models:
  --partition NODE         every exec to the node's pods hangs half-open (repeatable)
  --argo                   run the model of Argo's workflow-controller (node maps, "pod deleted")
  --argo-record-lag-ms MS  its lag from a pod's end to its node being recorded (implies --argo; default 0)
  --argo-seed N            seed of its random lags (default 1)

Side channel:
  --control-port N         serve the control API on 127.0.0.1:N (0: a free port): seed, Argo model,
                           partitions, fault rules, stats (requests by verb, the simulator's CPU),
                           pods cleaned as the simulator saw them, per-pod summaries. GET / lists
                           the endpoints. Prints one JSON line on stdout:
                           {"control":URL,"url":API server URL,"kubeconfig":PATH,"pid":N}
  --exit-on-stdin-close    exit when stdin ends (a parent that spawned it with a pipe died)
  -q, --quiet              print nothing but the JSON line (with --control-port) and errors

  -h, --help               this text`

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "18080" },
    pods: { type: "string" },
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
    "argo-seed": { type: "string" },
    "request-log-limit": { type: "string" },
    "history-limit": { type: "string" },
    "control-port": { type: "string" },
    "exit-on-stdin-close": { type: "boolean", default: false },
    quiet: { type: "boolean", short: "q", default: false },
    help: { type: "boolean", short: "h", default: false }
  }
})

if (values.help) {
  console.log(help)
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

const controlled = values["control-port"] !== undefined
const controlPort = int("control-port", values["control-port"], 0)
// With the side channel, stdout carries only the JSON line; the human lines go to stderr.
const say = (line: string) => {
  if (!values.quiet) (controlled ? console.error : console.log)(line)
}

const sim = await SimCluster.start({
  port: int("port", values.port, 18080),
  tls: values.tls,
  token: values.token,
  ...(values["request-log-limit"] === undefined ? {} : { requestLogLimit: int("request-log-limit", values["request-log-limit"], 100_000) }),
  ...(values["history-limit"] === undefined ? {} : { historyLimit: int("history-limit", values["history-limit"], 1000) }),
  argo: values.argo || values["argo-record-lag-ms"] !== undefined
    ? { recordLag: int("argo-record-lag-ms", values["argo-record-lag-ms"], 0), seed: int("argo-seed", values["argo-seed"], 1) }
    : false
})
const pods = int("pods", values.pods, controlled ? 0 : 200)
const seeded = pods === 0 ? { pods: [], workflows: [] } : seedWorkflowPods(sim, {
  pods,
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

let control: ControlServer | undefined
let stopping = false
const stop = (signal: string) => {
  if (stopping) return
  stopping = true
  say(`\n${signal}: shutting down`)
  Promise.all([control?.close(), sim.close()]).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e)
      process.exit(1)
    }
  )
}
process.on("SIGINT", () => stop("SIGINT"))
process.on("SIGTERM", () => stop("SIGTERM"))
if (values["exit-on-stdin-close"]) {
  process.stdin.on("end", () => stop("stdin closed"))
  process.stdin.on("error", () => stop("stdin closed"))
  process.stdin.resume()
}

if (controlled) {
  control = await startControl(sim, { port: controlPort, kubeconfig, ...(values.token === undefined ? {} : { token: values.token }), onShutdown: () => stop("POST /shutdown") })
}

say(`simulated API server: ${sim.url}`)
say(`kubeconfig: ${kubeconfig}`)
if (seeded.pods.length > 0) {
  say(`seeded ${seeded.pods.length} pods in ${seeded.workflows.length} workflows on ${values.nodes} nodes (namespace ${values.namespace})`)
}
if (sim.argo !== undefined) say("Argo workflow-controller model: on")
if (values.partition.length > 0) say(`partitioned: ${values.partition.join(", ")} (exec to their pods hangs half-open)`)
if (control !== undefined) say(`control API: ${control.url} (GET / lists the endpoints)`)
else say(`try: KUBECONFIG=${kubeconfig} kubectl get pods`)
if (control !== undefined) {
  process.stdout.write(`${JSON.stringify({ control: control.url, url: sim.url, kubeconfig, pid: process.pid })}\n`)
}
