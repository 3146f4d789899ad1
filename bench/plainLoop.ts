/**
 * The benchmarks' baseline: a plain client-node loop, in its own process, that makes only the calls
 * the job needs and nothing else (no watch, no reads, no bookkeeping):
 *
 *   --mode terminate-label   exec `argoexec kill 15 1` in `wait`, then the label merge patch, at once
 *                            (the healthy path without the wait for Argo: it harms workflow nodes)
 *   --mode terminate-record-label
 *                            exec `argoexec kill 15 1` in `wait`; then, once Argo has recorded the
 *                            pod's node (one workflow watch: `status.nodes[<node-id>]` Succeeded,
 *                            Failed or Error), the label merge patch (the healthy path as the job
 *                            must do it: the fair baseline). `--concurrency` execs and as many
 *                            label patches at once, as pod-cleanup's two lanes.
 *   --mode label             the label merge patch only (the label storm)
 *
 * over every pod of `--namespace` (one paged list first), `--concurrency` at once. Prints one JSON
 * line `{"pods":N,"errors":N,"cpuSeconds":S,"peakRssMiB":M}` and exits; exits at once if its stdin
 * ends (the bench that spawned it died).
 *
 *   node bench/plainLoop.ts --kubeconfig PATH --namespace NS [--concurrency 4] [--mode MODE]
 */
import * as fs from "node:fs"
import { parseArgs } from "node:util"
import * as k8s from "@kubernetes/client-node"

const { values } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    namespace: { type: "string", default: "default" },
    concurrency: { type: "string", default: "4" },
    mode: { type: "string", default: "terminate-label" },
    help: { type: "boolean", short: "h", default: false }
  }
})
const modes = ["terminate-label", "terminate-record-label", "label"]
if (values.help || values.kubeconfig === undefined || !modes.includes(values.mode)) {
  process.stdout.write(`usage: node bench/plainLoop.ts --kubeconfig PATH --namespace NS [--concurrency 4] [--mode ${modes.join("|")}]\n`)
  process.exit(values.help ? 0 : 2)
}
process.stdin.on("end", () => process.exit(3))
process.stdin.on("error", () => process.exit(3))
process.stdin.resume()

const namespace = values.namespace
const concurrency = Math.max(1, Number(values.concurrency))
const kc = new k8s.KubeConfig()
kc.loadFromFile(values.kubeconfig)
const core = kc.makeApiClient(k8s.CoreV1Api)
const exec = new k8s.Exec(kc)
const merge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch)

interface Target {
  readonly name: string
  /** `<workflow>/<node-id>`: the node Argo records for the pod. */
  readonly node: string
}
const targets: Array<Target> = []
let cont: string | undefined
do {
  const page = await core.listNamespacedPod({ namespace, limit: 500, _continue: cont })
  for (const p of page.items) {
    const workflow = p.metadata?.labels?.["workflows.argoproj.io/workflow"] ?? ""
    targets.push({ name: p.metadata!.name!, node: `${workflow}/${p.metadata?.annotations?.["workflows.argoproj.io/node-id"] ?? ""}` })
  }
  cont = page.metadata?._continue || undefined
} while (cont !== undefined)

let errors = 0
const terminate = (name: string) =>
  new Promise<void>((resolve, reject) => {
    exec.exec(namespace, name, "wait", ["argoexec", "kill", "15", "1"], null, null, null, false, () => resolve()).then(
      (ws) => ws.on("close", () => resolve()),
      reject
    )
  })
const label = (name: string) =>
  core.patchNamespacedPod({ namespace, name, body: { metadata: { labels: { "workflows.argoproj.io/completed": "true" } } } }, merge)

/** `concurrency` workers over `take` until it returns undefined. */
const pool = (take: () => Promise<string | undefined>, work: (name: string) => Promise<unknown>) =>
  Promise.all(Array.from({ length: concurrency }, async () => {
    for (let name = await take(); name !== undefined; name = await take()) {
      try {
        await work(name)
      } catch {
        errors += 1
      }
    }
  }))

let next = 0
const nextTarget = async () => targets[next++]?.name
if (values.mode === "label") await pool(nextTarget, label)
if (values.mode === "terminate-label") await pool(nextTarget, async (name) => { await terminate(name); await label(name) })
if (values.mode === "terminate-record-label") {
  // Nodes Argo has recorded, pods signalled and waiting for their node's record, pods to label.
  const recorded = new Set<string>()
  const awaiting = new Map<string, string>()
  const toLabel: Array<string> = []
  /** Pods neither taken for their label yet nor failed (their exec threw). */
  let remaining = targets.length
  const waiters: Array<() => void> = []
  const wakeAll = () => {
    for (const waiter of waiters.splice(0)) waiter()
  }
  const ready = (name: string) => {
    toLabel.push(name)
    wakeAll()
  }
  const onWorkflow = (wf: { metadata?: { name?: string }; status?: { nodes?: Record<string, { phase?: string }>; compressedNodes?: string } }) => {
    if (wf.status?.compressedNodes !== undefined) throw new Error("plainLoop: compressed node status is not read by this loop")
    for (const [id, node] of Object.entries(wf.status?.nodes ?? {})) {
      if (node.phase !== "Succeeded" && node.phase !== "Failed" && node.phase !== "Error") continue
      const key = `${wf.metadata?.name}/${id}`
      if (recorded.has(key)) continue
      recorded.add(key)
      const pod = awaiting.get(key)
      if (pod !== undefined) {
        awaiting.delete(key)
        ready(pod)
      }
    }
  }
  const watching = await new k8s.Watch(kc).watch(
    `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/workflows`,
    { resourceVersion: "0" },
    (_type: string, wf: Parameters<typeof onWorkflow>[0]) => onWorkflow(wf),
    (err: unknown) => {
      if (remaining > 0) {
        process.stderr.write(`plainLoop: the workflow watch ended: ${String(err)}\n`)
        process.exit(4)
      }
    }
  )
  const nodeOf = new Map(targets.map((t) => [t.name, t.node]))
  const signalled = async (name: string) => {
    try {
      await terminate(name)
    } catch (e) {
      remaining -= 1
      wakeAll()
      throw e
    }
    const node = nodeOf.get(name)!
    if (recorded.has(node)) ready(name)
    else awaiting.set(node, name)
  }
  const nextLabel = async (): Promise<string | undefined> => {
    for (;;) {
      const name = toLabel.shift()
      if (name !== undefined) {
        remaining -= 1
        if (remaining === 0) wakeAll()
        return name
      }
      if (remaining === 0) return undefined
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  await Promise.all([pool(nextTarget, signalled), pool(nextLabel, label)])
  watching.abort()
}

const cpu = process.cpuUsage()
const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0") / 1024
process.stdout.write(`${JSON.stringify({ pods: targets.length, errors, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMiB: Math.round(hwm) })}\n`)
process.exit(0)
