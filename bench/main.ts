/**
 * `npm run bench`: pod-cleanup against Argo's behaviour and a plain client loop, on the simulated
 * cluster over real sockets, as ratios measured in one run. Prints a table and a last line
 * `RESULT <json>` with every figure. `--quick` runs smaller sizes (for CI).
 */
import * as os from "node:os"
import { labelStorm, nextToArgo, type NextToArgoResult, partitionedNode, scale, throughput } from "./scenarios.ts"

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(
    "usage: npm run bench [-- --quick]\n\n" +
      "Runs the benchmarks (about 6 minutes; --quick about 1): healthy throughput against a plain client loop, a partitioned\n" +
      "node against Argo's behaviour, the label storm, next to Argo's controller (record lags of 0 to 15 s), and scale (ready\n" +
      "time and peak RSS, with plain and real-sized objects). Prints a table and a last line RESULT <json>.\n"
  )
  process.exit(0)
}
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
log(`pod-cleanup benchmarks${quick ? " (--quick)" : ""} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}`)

log("1/5 healthy throughput ...")
const tp = await throughput(sizes.throughput, workers)
log("2/5 a partitioned node ...")
const part = await partitionedNode(sizes.partition, partitionScale)
log("3/5 the label storm ...")
const storm = await labelStorm(sizes.storm)
log("4/5 next to Argo's controller ...")
const argo: Array<NextToArgoResult> = []
for (const [mode, pods, lag] of argoRuns) argo.push(await nextToArgo(mode, pods, lag))
log("5/5 scale ...")
const scaled = []
for (const n of sizes.scale) scaled.push(await scale(n))
for (const n of realisticScale) scaled.push(await scale(n, true))

const rows: Array<[string, string, string, string]> = [
  ["scenario", "pod-cleanup", "baseline", "ratio"],
  [
    `1. healthy: ${tp.pods} pods, terminate then label, ${tp.workers} workers`,
    `${tp.podCleanupPodsPerSecond} pods/s`,
    `plain client-node loop: ${tp.plainLoopPodsPerSecond} pods/s`,
    `${tp.ratio} of the loop's rate`
  ],
  [
    `2. ${part.pods} pods on ${part.nodes} nodes, one partitioned (durations ÷${part.scale})`,
    `${part.podCleanupSeconds} s`,
    `Argo-equivalent: ${part.argoSeconds} s`,
    `${part.speedup}× sooner`
  ],
  [
    `3. label storm: ${storm.pods} completed pods`,
    `${storm.podCleanupSeconds} s`,
    `Argo's 10 qps bucket: ≥ ${storm.argoBucketSeconds} s`,
    `${Math.round((storm.argoBucketSeconds / storm.podCleanupSeconds) * 10) / 10}× sooner`
  ],
  ...argo.map((a): [string, string, string, string] => [
    `4. next to Argo (${a.mode}): ${a.pods} pods, nodes recorded ${a.lagMs.minMs / 1000}–${a.lagMs.maxMs / 1000} s after their pods end`,
    `cleaned ${a.cleaned}/${a.pods}; after the record p50 ${a.afterRecordMs.p50} ms, p99 ${a.afterRecordMs.p99} ms, max ${a.afterRecordMs.max} ms`,
    `workflow nodes marked 'pod deleted': ${a.nodesMarkedPodDeleted}`,
    `${a.seconds} s in all`
  ]),
  ...scaled.map((s): [string, string, string, string] => [
    `5. scale: ${s.pods} pods known${s.realistic ? ` (real-sized, in ${s.workflows} running workflows of ${Math.round(s.pods / s.workflows)} steps)` : ""}`,
    `ready in ${s.secondsToReady} s (${s.microsPerPod} µs/pod)`,
    `peak RSS ${s.peakRssMiB} MiB`,
    ""
  ])
]
const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)))
for (const [i, row] of rows.entries()) {
  console.log(row.map((c, j) => c.padEnd(widths[j]!)).join(" | "))
  if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("-|-"))
}
const harmed = argo.reduce((n, a) => n + a.nodesMarkedPodDeleted, 0)
console.log(`workflow nodes marked 'pod deleted': ${harmed}`)
console.log(`RESULT ${JSON.stringify({ quick, workers, throughput: tp, partition: part, labelStorm: storm, nextToArgo: argo, scale: scaled, nodesMarkedPodDeleted: harmed })}`)
if (harmed > 0) process.exitCode = 1
