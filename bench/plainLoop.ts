/**
 * The benchmarks' baseline: a plain client-node loop, in its own process, that makes only the calls
 * the job needs and nothing else (no watch, no reads, no bookkeeping):
 *
 *   --mode terminate-label   exec `argoexec kill 15 1` in `wait`, then the label merge patch (healthy path)
 *   --mode label             the label merge patch only (the label storm)
 *
 * over every pod of `--namespace` (one paged list first), `--concurrency` at once. Prints one JSON
 * line `{"pods":N,"errors":N,"cpuSeconds":S,"peakRssMiB":M}` and exits; exits at once if its stdin
 * ends (the bench that spawned it died).
 *
 *   node bench/plainLoop.ts --kubeconfig PATH --namespace NS [--concurrency 4] [--mode label]
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
if (values.help || values.kubeconfig === undefined || (values.mode !== "terminate-label" && values.mode !== "label")) {
  process.stdout.write("usage: node bench/plainLoop.ts --kubeconfig PATH --namespace NS [--concurrency 4] [--mode terminate-label|label]\n")
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

const names: Array<string> = []
let cont: string | undefined
do {
  const page = await core.listNamespacedPod({ namespace, limit: 500, _continue: cont })
  for (const p of page.items) names.push(p.metadata!.name!)
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

let next = 0
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < names.length) {
    const name = names[next++]!
    try {
      if (values.mode === "terminate-label") await terminate(name)
      await core.patchNamespacedPod({ namespace, name, body: { metadata: { labels: { "workflows.argoproj.io/completed": "true" } } } }, merge)
    } catch {
      errors += 1
    }
  }
}))

const cpu = process.cpuUsage()
const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0") / 1024
process.stdout.write(`${JSON.stringify({ pods: names.length, errors, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMiB: Math.round(hwm) })}\n`)
process.exit(0)
