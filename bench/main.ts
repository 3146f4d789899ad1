/**
 * `npm run bench`: pod-cleanup against Argo's behaviour and a plain client loop, on a simulated
 * cluster that runs in its own process, over real loopback sockets, as ratios measured in one run.
 * Prints a table and a last line `RESULT <json>` with every figure. `--quick` runs smaller sizes.
 */
import * as os from "node:os"
import { killAllChildrenNow, root, setDefaultRuntime, stopAllChildren } from "./common.ts"
import { type RuntimeName, runtimeNames, serviceRuntime } from "./runtime.ts"
import { ArgoRequeueMs, labelStorm, nextToArgo, type NextToArgoResult, partitionedNode, scale, type ScaleResult, throughput } from "./scenarios.ts"
import type { SideMeasure } from "./common.ts"

const usage =
  "usage: npm run bench [-- --quick] [-- --runtime src|dist]\n" +
  "       npm run bench -- --only scale [--sizes 1000,10000,100000] [--runtime src,dist] [--realistic]\n\n" +
  "Runs the benchmarks (roughly 11 minutes; --quick about 3 on 2 shared cores): healthy throughput against a client loop that\n" +
  "waits for Argo's record as the job must (and one that does not, as an upper bound), a partitioned\n" +
  "node against Argo's behaviour, the label storm against a plain label loop and Argo's 10 qps bucket, next to Argo's\n" +
  "controller (record lags of 0 to 15 s), and scale (ready time, CPU and peak RSS, with plain and real-sized objects).\n\n" +
  "The simulator runs in its own process in every scenario and is read over its side channel (npm run simulate --\n" +
  "--control-port); pod-cleanup and the plain loops run in their own processes (the partitioned-node scenario runs the\n" +
  "service in this one). Completion is what the simulator saw: a delete or a label patch answered 200. For each side:\n" +
  "wall time, CPU seconds (/proc utime+stime), requests per pod (the simulator's count), peak RSS (VmHWM).\n" +
  "Prints a table and a last line RESULT <json>; exits 1 if any workflow node was marked 'pod deleted' by pod-cleanup.\n\n" +
  "  --quick            smaller sizes (300 pods of throughput, 800 of storm, scale 1k/5k)\n" +
  "  --runtime R[,R]    how the service runs: src (node src/main.ts, type stripping, no flags; the default) or dist\n" +
  "                     (the Dockerfile's ENV and ENTRYPOINT: node <flags> dist/main.js, built first when stale; a heap\n" +
  "                     sized as a percentage of the memory limit gets deploy/base's limit). Several (and by default\n" +
  "                     src,dist) only with --only scale.\n" +
  "  --only scale       only the scale scenario, for each size and runtime (default: 1000,10000,100000 and src,dist):\n" +
  "                     time to ready, µs per pod with the start-up left out, peak RSS, heap, then the time until every\n" +
  "                     pod was decided and the peak RSS then; ratios dist/src and against the smallest size\n" +
  "  --sizes N[,N]      pod counts for --only scale\n" +
  "  --realistic        --only scale with real-sized pods in running workflows of 100 steps\n" +
  "  -h, --help         this text\n"

const argv = process.argv.slice(2)
if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(usage)
  process.exit(0)
}
const valueOf = (flag: string): string | undefined => {
  const i = argv.indexOf(flag)
  if (i < 0) return undefined
  const value = argv[i + 1]
  if (value === undefined || value.startsWith("--")) {
    process.stderr.write(`bench: ${flag} needs a value\n\n${usage}`)
    process.exit(2)
  }
  return value
}
const known = new Set(["--quick", "--realistic", "--only", "--sizes", "--runtime"])
for (const [i, a] of argv.entries()) {
  if (a.startsWith("--") && !known.has(a) || !a.startsWith("--") && !["--only", "--sizes", "--runtime"].includes(argv[i - 1] ?? "")) {
    process.stderr.write(`bench: unknown argument ${a}\n\n${usage}`)
    process.exit(2)
  }
}
const only = valueOf("--only")
if (only !== undefined && only !== "scale") {
  process.stderr.write(`bench: --only takes "scale", not ${only}\n`)
  process.exit(2)
}
const runtimesAsked = (valueOf("--runtime") ?? (only === "scale" ? "src,dist" : "src")).split(",")
for (const r of runtimesAsked) {
  if (!runtimeNames.includes(r as RuntimeName)) {
    process.stderr.write(`bench: --runtime takes src, dist or src,dist, not ${r}\n`)
    process.exit(2)
  }
}
if (only === undefined && runtimesAsked.length > 1) {
  process.stderr.write("bench: several runtimes only with --only scale\n")
  process.exit(2)
}
const scaleSizes = (valueOf("--sizes") ?? "1000,10000,100000").split(",").map(Number)
if (scaleSizes.some((n) => !Number.isInteger(n) || n <= 0)) {
  process.stderr.write("bench: --sizes takes positive integers separated by commas\n")
  process.exit(2)
}

// Ctrl-C / SIGTERM: stop every child (simulators, services, loops) before leaving.
let interrupted = false
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupted) return
  interrupted = true
  process.stderr.write(`\n${signal}: stopping the child processes\n`)
  stopAllChildren(1_000).finally(() => process.exit(signal === "SIGINT" ? 130 : 143))
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)
process.on("exit", killAllChildrenNow)

const quick = argv.includes("--quick")
const sizes = quick
  ? { throughput: 300, partition: 100, storm: 800, scale: [1_000, 5_000] }
  : { throughput: 2_000, partition: 200, storm: 8_000, scale: [1_000, 10_000, 100_000] }
const argoRuns: ReadonlyArray<readonly ["run" | "once", number, { minMs: number; maxMs: number }]> = quick
  ? [["run", 100, { minMs: 0, maxMs: 0 }], ["run", 100, { minMs: 0, maxMs: 15_000 }], ["once", 100, { minMs: 0, maxMs: 15_000 }]]
  : [
    ["run", 300, { minMs: 0, maxMs: 0 }],
    ["run", 300, { minMs: 0, maxMs: 5_000 }],
    ["run", 300, { minMs: 0, maxMs: 15_000 }],
    ["once", 300, { minMs: 0, maxMs: 0 }],
    ["once", 300, { minMs: 0, maxMs: 15_000 }]
  ]
const realisticScale = quick ? [1_000] : [1_000, 10_000]
const workers = 4
const partitionScale = 20

const log = (line: string) => process.stderr.write(`${line}\n`)

const main = async () => {
  log(`pod-cleanup benchmarks${quick ? " (--quick)" : ""} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}`)
  log("1/5 healthy throughput ...")
  const tp = await throughput(sizes.throughput, workers)
  log("2/5 a partitioned node ...")
  const part = await partitionedNode(sizes.partition, partitionScale)
  log("3/5 the label storm ...")
  const storm = await labelStorm(sizes.storm, workers)
  log("4/5 next to Argo's controller ...")
  const argo: Array<NextToArgoResult> = []
  for (const [mode, pods, lag] of argoRuns) argo.push(await nextToArgo(mode, pods, lag))
  log("5/5 scale ...")
  const scaled: Array<ScaleResult> = []
  for (const n of sizes.scale) scaled.push(await scale(n))
  for (const n of realisticScale) scaled.push(await scale(n, true))

  const side = (m: SideMeasure) =>
    `wall ${m.wallSeconds} s, CPU ${m.cpuSeconds} s, ${m.requestsPerPod} req/pod, RSS ${m.peakRssMiB} MiB (sim CPU ${m.simCpuSeconds} s)`
  const rows: Array<[string, string, string, string]> = [
    ["scenario", "pod-cleanup", "baseline", "ratio"],
    [
      `1. healthy: ${tp.pods} real-sized pods in ${tp.workflows} running workflows, terminate then label, ${tp.workers} workers`,
      `${tp.podCleanup.podsPerSecond} pods/s, each label p50 ${tp.podCleanup.afterRecordMs.p50} ms / p99 ${tp.podCleanup.afterRecordMs.p99} ms after Argo's record (Argo operates a workflow every ${ArgoRequeueMs / 1000} s); ${side(tp.podCleanup)}`,
      `record-aware loop (exec, then patch once Argo recorded the node; ${tp.workers} + ${tp.workers} at once): ${tp.recordLoop.podsPerSecond} pods/s; ${side(tp.recordLoop)}; ` +
      `plain loop (exec + patch, no wait for Argo: ${tp.plainLoop.nodesMarkedPodDeleted} nodes marked "pod deleted"): ${tp.plainLoop.podsPerSecond} pods/s; ${side(tp.plainLoop)}`,
      `rate ${tp.rateRatio}× the record-aware loop's (${tp.rateRatioNoWait}× the plain loop's); CPU ${tp.cpuRatio}×`
    ],
    [
      `2. ${part.pods} pods on ${part.nodes} nodes, one partitioned (durations ÷${part.scale})`,
      `${part.podCleanupSeconds} s (CPU ${part.podCleanupCpuSeconds} s in-process, sim ${part.podCleanupSimCpuSeconds} s)`,
      `Argo-equivalent: ${part.argoSeconds} s (CPU ${part.argoCpuSeconds} s, sim ${part.argoSimCpuSeconds} s)`,
      `${part.speedup}× sooner`
    ],
    [
      `3. label storm: ${storm.pods} real-sized completed pods, default settings`,
      `${side(storm.podCleanup)}`,
      `plain label loop (${workers}): ${side(storm.plainLoop)}; Argo's 10 qps bucket: ≥ ${storm.argoBucketSeconds} s`,
      `time ${storm.timeRatio}× the loop's, CPU ${storm.cpuRatio}×; ${Math.round((storm.argoBucketSeconds / storm.podCleanup.wallSeconds) * 10) / 10}× sooner than Argo`
    ],
    ...argo.map((a): [string, string, string, string] => [
      `4. next to Argo (${a.mode}): ${a.pods} pods, nodes recorded ${a.lagMs.minMs / 1000}–${a.lagMs.maxMs / 1000} s after their pods end`,
      `cleaned ${a.cleaned}/${a.pods}; after the record p50 ${a.afterRecordMs.p50} ms, p99 ${a.afterRecordMs.p99} ms, max ${a.afterRecordMs.max} ms; CPU ${a.cpuSeconds} s, ${a.requestsPerPod} req/pod`,
      `workflow nodes marked 'pod deleted': ${a.nodesMarkedPodDeleted}`,
      `${a.seconds} s in all`
    ]),
    ...scaled.map((s): [string, string, string, string] => [
      `5. scale: ${s.pods} pods known${s.realistic ? ` (real-sized, in ${s.workflows} running workflows of ${Math.round(s.pods / s.workflows)} steps)` : ""}`,
      `ready in ${s.secondsToReady} s (${s.microsPerPod} µs/pod), CPU ${s.cpuSeconds} s`,
      `peak RSS ${s.peakRssMiB} MiB`,
      `sim CPU ${s.simCpuSeconds} s`
    ])
  ]
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const [i, row] of rows.entries()) {
    console.log(row.map((c, j) => c.padEnd(widths[j]!)).join(" | "))
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("-|-"))
  }
  const harmed = argo.reduce((n, a) => n + a.nodesMarkedPodDeleted, 0) + tp.podCleanup.nodesMarkedPodDeleted
  console.log(`workflow nodes marked 'pod deleted' by pod-cleanup: ${harmed} (by the healthy-path plain loop, which does not wait for Argo's record: ${tp.plainLoop.nodesMarkedPodDeleted})`)
  console.log(`RESULT ${JSON.stringify({ quick, workers, throughput: tp, partition: part, labelStorm: storm, nextToArgo: argo, scale: scaled, nodesMarkedPodDeleted: harmed })}`)
  if (harmed > 0) process.exitCode = 1
}

/** `--only scale`: each size with each runtime, interleaved so that drift on a shared machine hits both alike. */
const scaleOnly = async () => {
  const realistic = argv.includes("--realistic")
  const runtimes = runtimesAsked.map((r) => serviceRuntime(root, r as RuntimeName, log))
  log(`pod-cleanup scale on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}${realistic ? ", real-sized pods" : ""}`)
  for (const r of runtimes) log(`  ${r.name}: ${r.describe}`)
  const results: Array<ScaleResult> = []
  for (const n of scaleSizes) {
    for (const r of runtimes) {
      log(`scale: ${n} pods, ${r.name} ...`)
      results.push(await scale(n, realistic, r))
    }
  }
  const rows: Array<Array<string>> = [[
    "pods",
    "runtime",
    "ready s",
    "start-up s",
    "µs/pod",
    "peak RSS MiB",
    "heap used/total MiB",
    "decided +s",
    "peak RSS decided",
    "CPU s (decided)",
    "µs/pod ÷ smallest"
  ]]
  const smallest = new Map<RuntimeName, number>()
  for (const s of results) {
    if (!smallest.has(s.runtime)) smallest.set(s.runtime, s.listMicrosPerPod)
    rows.push([
      String(s.pods),
      s.runtime,
      String(s.secondsToReady),
      String(s.startupSeconds),
      String(s.listMicrosPerPod),
      String(s.peakRssMiB),
      `${s.heapUsedMiB}/${s.heapTotalMiB}`,
      s.decided === undefined ? "did not settle" : String(s.decided.secondsAfterReady),
      s.decided === undefined ? "-" : String(s.decided.peakRssMiB),
      s.decided === undefined ? String(s.cpuSeconds) : String(s.decided.cpuSeconds),
      String(Math.round((s.listMicrosPerPod / Math.max(1, smallest.get(s.runtime)!)) * 100) / 100)
    ])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const [i, row] of rows.entries()) {
    console.log(row.map((c, j) => c.padEnd(widths[j]!)).join(" | "))
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("-|-"))
  }
  const ratios = scaleSizes.flatMap((n) => {
    const src = results.find((s) => s.pods === n && s.runtime === "src")
    const dist = results.find((s) => s.pods === n && s.runtime === "dist")
    if (src === undefined || dist === undefined) return []
    const r = (a: number, b: number) => Math.round((a / Math.max(1e-9, b)) * 100) / 100
    return [{
      pods: n,
      peakRss: r(dist.decided?.peakRssMiB ?? dist.peakRssMiB, src.decided?.peakRssMiB ?? src.peakRssMiB),
      listMicrosPerPod: r(dist.listMicrosPerPod, src.listMicrosPerPod),
      startup: r(dist.startupSeconds, src.startupSeconds),
      cpu: r(dist.decided?.cpuSeconds ?? dist.cpuSeconds, src.decided?.cpuSeconds ?? src.cpuSeconds)
    }]
  })
  // The per-pod cost beyond what a list costs whatever its size (start-up is already left out):
  // flat when it is the same between each pair of sizes.
  for (const r of runtimes) {
    const mine = results.filter((s) => s.runtime === r.name)
    const steps = mine.slice(1).map((b, i) => {
      const a = mine[i]!
      const listMs = (s: ScaleResult) => (s.listMicrosPerPod * s.pods) / 1000
      return `${a.pods}→${b.pods}: ${Math.round(((listMs(b) - listMs(a)) * 1000) / (b.pods - a.pods))}`
    })
    if (steps.length > 0) console.log(`${r.name}: marginal µs/pod ${steps.join(", ")}`)
  }
  for (const q of ratios) {
    console.log(`dist ÷ src at ${q.pods} pods: peak RSS ${q.peakRss}×, µs/pod ${q.listMicrosPerPod}×, start-up ${q.startup}×, CPU ${q.cpu}×`)
  }
  console.log(`RESULT ${JSON.stringify({ only: "scale", realistic, runtimes: runtimes.map((r) => ({ name: r.name, command: r.describe })), scale: results, ratios })}`)
}

try {
  if (only === "scale") await scaleOnly()
  else {
    setDefaultRuntime(serviceRuntime(root, runtimesAsked[0] as RuntimeName, log))
    await main()
  }
} catch (e) {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  process.exitCode = 1
} finally {
  await stopAllChildren(2_000)
}
