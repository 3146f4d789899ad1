/**
 * `npm run bench`: pod-cleanup against Argo's behaviour and a plain client loop, on a simulated
 * cluster that runs in its own process, over real loopback sockets, as ratios measured in one run.
 * Prints a table and a last line `RESULT <json>` with every figure. `--quick` runs smaller sizes.
 */
import * as os from "node:os"
import { killAllChildrenNow, stopAllChildren } from "./common.ts"
import { labelStorm, nextToArgo, type NextToArgoResult, partitionedNode, scale, type ScaleResult, throughput } from "./scenarios.ts"
import type { SideMeasure } from "./common.ts"

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(
    "usage: npm run bench [-- --quick]\n\n" +
      "Runs the benchmarks (roughly 10 minutes; --quick about 3 on 2 shared cores): healthy throughput against a plain client loop, a partitioned\n" +
      "node against Argo's behaviour, the label storm against a plain label loop and Argo's 10 qps bucket, next to Argo's\n" +
      "controller (record lags of 0 to 15 s), and scale (ready time, CPU and peak RSS, with plain and real-sized objects).\n\n" +
      "The simulator runs in its own process in every scenario and is read over its side channel (npm run simulate --\n" +
      "--control-port); pod-cleanup and the plain loops run in their own processes (the partitioned-node scenario runs the\n" +
      "service in this one). Completion is what the simulator saw: a delete or a label patch answered 200. For each side:\n" +
      "wall time, CPU seconds (/proc utime+stime), requests per pod (the simulator's count), peak RSS (VmHWM).\n" +
      "Prints a table and a last line RESULT <json>; exits 1 if any workflow node was marked 'pod deleted' by pod-cleanup.\n\n" +
      "  --quick     smaller sizes (300 pods of throughput, 800 of storm, scale 1k/5k)\n" +
      "  -h, --help  this text\n"
  )
  process.exit(0)
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

const quick = process.argv.includes("--quick")
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
      `${tp.podCleanup.podsPerSecond} pods/s; ${side(tp.podCleanup)}`,
      `plain loop (exec + patch): ${tp.plainLoop.podsPerSecond} pods/s; ${side(tp.plainLoop)}`,
      `rate ${tp.rateRatio}× the loop's; CPU ${tp.cpuRatio}×`
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

try {
  await main()
} catch (e) {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  process.exitCode = 1
} finally {
  await stopAllChildren(2_000)
}
