/**
 * `npm run bench`: pod-cleanup against Argo's behaviour and a plain client loop, on the simulated
 * cluster over real sockets, as ratios measured in one run. Prints a table and a last line
 * `RESULT <json>` with every figure. `--quick` runs smaller sizes (for CI).
 */
import * as os from "node:os"
import { labelStorm, partitionedNode, scale, throughput } from "./scenarios.ts"

const quick = process.argv.includes("--quick")
const sizes = quick
  ? { throughput: 300, partition: 100, storm: 800, scale: [1_000, 5_000] }
  : { throughput: 2_000, partition: 200, storm: 8_000, scale: [1_000, 10_000, 100_000] }
const workers = 4
const partitionScale = 20

const log = (line: string) => process.stderr.write(`${line}\n`)
log(`pod-cleanup benchmarks${quick ? " (--quick)" : ""} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}`)

log("1/4 healthy throughput ...")
const tp = await throughput(sizes.throughput, workers)
log("2/4 a partitioned node ...")
const part = await partitionedNode(sizes.partition, partitionScale)
log("3/4 the label storm ...")
const storm = await labelStorm(sizes.storm)
log("4/4 scale ...")
const scaled = []
for (const n of sizes.scale) scaled.push(await scale(n))

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
  ...scaled.map((s): [string, string, string, string] => [
    `4. scale: ${s.pods} pods known`,
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
console.log(`RESULT ${JSON.stringify({ quick, workers, throughput: tp, partition: part, labelStorm: storm, scale: scaled })}`)
