/**
 * Memory soak: the real service (`run`) in a child process against the simulated cluster (with the
 * model of Argo's workflow-controller) in this one, under a steady churn of real-sized workflow
 * pods, sampling the child's RSS and CPU every 10 s. `--runtime dist` (the default) runs it as the
 * image does (`node <the ENTRYPOINT's flags> dist/main.js`, the heap sized from the Deployment's
 * memory limit; bench/runtime.ts), `--runtime src` as `npm start` does (`node src/main.ts`).
 *
 *   npm run soak -- [--minutes 10] [--pods-per-minute 300] [--idle-seconds 30] [--runtime dist|src] [--max-old-space-size MiB]
 *
 * Every few seconds a batch of pods arrives as two Running workflows (one deletes its pods
 * (OnPodCompletion), one keeps them: labelled completed=true). Each pod's `main` has exited and its
 * `wait` still runs: the service signals it, Argo's model records the node (after 0-2 s), the
 * service deletes or labels the pod. Workflows that completed (and their labelled pods) are deleted
 * a little later, as Argo's TTL would, so the simulator stays bounded. Prints one row per sample
 * and a last line `SOAK <json>`: idle RSS (ready, before churn), steady RSS (median of the samples
 * after the first two minutes of churn), peak RSS (VmHWM), RSS at the end, CPU and pods cleaned.
 *
 * The child runs with `--trace-gc` (its stdout, parsed here, not printed): the heap left after each
 * full (mark-compact) collection is what is live, so a leak shows as that figure rising over the
 * churn, whatever RSS does (V8 lets the heap grow with garbage between full collections, up to a
 * limit set from the machine's or the container's memory; `--max-old-space-size` emulates a
 * container's).
 */
import { type RuntimeName, runtimeNames, serviceRuntime } from "./runtime.ts"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { type RequestLogEntry, seedWorkflowPods, SimCluster } from "@pod-cleanup/sim"

const root = path.resolve(import.meta.dirname, "..")
const namespace = "soak"

const usage =
  "usage: npm run soak -- [--minutes 10] [--pods-per-minute 300] [--idle-seconds 30] [--sample-seconds 10] [--runtime dist|src] [--max-old-space-size MiB]"

const parseArgs = (argv: ReadonlyArray<string>) => {
  const opts = {
    minutes: 10,
    podsPerMinute: 300,
    idleSeconds: 30,
    sampleSeconds: 10,
    maxOldSpaceSize: undefined as number | undefined,
    runtime: "dist" as RuntimeName
  }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split("=", 2) as [string, string | undefined]
    if (flag === "--help" || flag === "-h") {
      console.log(usage)
      process.exit(0)
    }
    if (flag === "--runtime") {
      const name = inline ?? argv[++i]
      if (!runtimeNames.includes(name as RuntimeName)) {
        console.error(`--runtime: expected dist or src\n${usage}`)
        process.exit(2)
      }
      opts.runtime = name as RuntimeName
      continue
    }
    const value = Number(inline ?? argv[++i])
    if (!Number.isFinite(value) || value < 0) {
      console.error(`${flag}: expected a number\n${usage}`)
      process.exit(2)
    }
    switch (flag) {
      case "--minutes": opts.minutes = value; break
      case "--pods-per-minute": opts.podsPerMinute = value; break
      case "--idle-seconds": opts.idleSeconds = value; break
      case "--sample-seconds": opts.sampleSeconds = Math.max(1, value); break
      case "--max-old-space-size": opts.maxOldSpaceSize = value; break
      default:
        console.error(`unknown flag ${flag}\n${usage}`)
        process.exit(2)
    }
  }
  return opts
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer().on("error", reject).listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

const mib = (kb: number) => Math.round(kb / 102.4) / 10

/** VmRSS and VmHWM of a process, in MiB (Linux). */
const memoryOf = (pid: number) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? "0")
  return { rss: mib(field("VmRSS")), hwm: mib(field("VmHWM")) }
}

/** User + system CPU seconds of a process (Linux; clock ticks of 1/100 s, as on every common kernel). */
const cpuSecondsOf = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // After "pid (comm) ": state is fields[0], utime is field 14 of the whole line = fields[11].
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** The value of a metric in Prometheus text (summed over its label sets). */
const metricSum = (text: string, name: string, match = "") =>
  text.split("\n")
    .filter((line) => line.startsWith(name) && (line[name.length] === "{" || line[name.length] === " ") && line.includes(match))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0)

const median = (xs: ReadonlyArray<number>) => {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

interface Sample {
  readonly t: number
  readonly phase: "idle" | "churn" | "drain"
  readonly rss: number
  readonly cpuPercent: number
  readonly live: number
  readonly cleaned: number
  readonly actions: number
  /** Heap (MiB) after the latest mark-compact, and how many there were so far. */
  readonly liveHeap: number | undefined
  readonly fullGcs: number
}

const main = async () => {
  const opts = parseArgs(process.argv.slice(2))
  const sim = await SimCluster.start({ argo: { recordLag: { minMs: 0, maxMs: 2000 }, seed: 11 }, requestLogLimit: 1000, historyLimit: 1000 })
  let child: ChildProcess | undefined
  const killChild = () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
  process.once("exit", killChild)
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killChild()
      process.exit(130)
    })
  }
  let churn: ReturnType<typeof setInterval> | undefined
  try {
    // ---- the service --------------------------------------------------------------------------
    const port = await freePort()
    const runtime = serviceRuntime(root, opts.runtime, (line) => console.log(line))
    console.log(`the service: ${runtime.describe}`)
    // A later --max-old-space-size wins over the runtime's.
    const nodeArgs = [...runtime.nodeArgs, ...(opts.maxOldSpaceSize !== undefined ? [`--max-old-space-size=${opts.maxOldSpaceSize}`] : [])]
    const spawned = spawn(process.execPath, [...nodeArgs, "--trace-gc", runtime.entry, "run", "--no-leader-elect", "--http-port", String(port), "--log-level", "warn", "--log-format", "json", "--namespaces", namespace], {
      env: { ...runtime.env, PATH: process.env.PATH ?? "", KUBECONFIG: sim.writeKubeconfig() },
      stdio: ["ignore", "pipe", "pipe"]
    })
    child = spawned
    const pid = spawned.pid!
    const logTail: Array<string> = []
    let logLines = 0
    let partial = ""
    spawned.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n")
      partial = lines.pop()!
      for (const line of lines) {
        logLines++
        logTail.push(line.length > 300 ? `${line.slice(0, 300)}…` : line)
        if (logTail.length > 5) logTail.shift()
      }
    })
    const spawnedAt = Date.now()
    /** Heap after each mark-compact: [Date.now() of it (from the child's ms since start), MiB]. */
    const fullGcs: Array<readonly [number, number]> = []
    let gcPartial = ""
    spawned.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (gcPartial + chunk).split("\n")
      gcPartial = lines.pop()!
      for (const line of lines) {
        const m = /\s(\d+) ms: Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/.exec(line)
        if (m !== null) fullGcs.push([spawnedAt + Number(m[1]), Number(m[2])])
      }
    })
    const alive = () => spawned.exitCode === null && spawned.signalCode === null
    const base = `http://127.0.0.1:${port}`
    const readyBy = Date.now() + 60_000
    while ((await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0)) !== 200) {
      if (!alive()) throw new Error(`the service exited (${spawned.exitCode ?? spawned.signalCode}) before it was ready:\n${logTail.join("\n")}`)
      if (Date.now() > readyBy) throw new Error("the service was not ready within 60 s")
      await sleep(100)
    }
    const metrics = () => fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) }).then((r) => r.text(), () => "")

    // ---- what the simulator sees: pods cleaned ------------------------------------------------
    let seeded = 0
    let cleaned = 0
    const open = new Map<string, boolean>() // pod -> deletes
    sim.events.on("request", (entry: RequestLogEntry) => {
      const name = entry.name
      if (name === undefined || entry.status !== 200) return
      const deletes = open.get(name)
      if (deletes === undefined) return
      const pod = sim.getPod(namespace, name)
      if (deletes ? entry.verb === "delete" && pod === undefined : entry.verb === "patch" && pod?.metadata?.labels?.["workflows.argoproj.io/completed"] === "true") {
        open.delete(name)
        cleaned++
      }
    })

    // ---- samples --------------------------------------------------------------------------------
    const start = Date.now()
    const samples: Array<Sample> = []
    let phase: Sample["phase"] = "idle"
    let lastCpu = cpuSecondsOf(pid)
    let lastAt = Date.now()
    const cpuStart = lastCpu
    console.log(`pod-cleanup soak: ${opts.minutes} min at ${opts.podsPerMinute} pods/min after ${opts.idleSeconds} s idle; service pid ${pid}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), node ${process.version}${nodeArgs.length > 0 ? `, child ${nodeArgs.join(" ")}` : ""}`)
    console.log("   t(s)  phase   RSS MiB  CPU %   sim pods  seeded  cleaned  actions  live heap MiB (full GCs)")
    const sample = async () => {
      if (!alive()) throw new Error(`the service exited (${spawned.exitCode ?? spawned.signalCode}):\n${logTail.join("\n")}`)
      const { rss } = memoryOf(pid)
      const cpu = cpuSecondsOf(pid)
      const now = Date.now()
      const cpuPercent = Math.round((1000 * (cpu - lastCpu)) / ((now - lastAt) / 1000)) / 10
      lastCpu = cpu
      lastAt = now
      const actions = metricSum(await metrics(), "pod_cleanup_actions_total")
      const s: Sample = { t: Math.round((now - start) / 1000), phase, rss, cpuPercent, live: sim.listPods().length, cleaned, actions, liveHeap: fullGcs.at(-1)?.[1], fullGcs: fullGcs.length }
      samples.push(s)
      console.log(
        `${String(s.t).padStart(7)}  ${s.phase.padEnd(6)}${String(s.rss.toFixed(1)).padStart(9)}${String(s.cpuPercent.toFixed(1)).padStart(7)}${String(s.live).padStart(11)}${String(seeded).padStart(8)}${String(cleaned).padStart(9)}${String(s.actions).padStart(9)}${String(s.liveHeap?.toFixed(1) ?? "-").padStart(10)} (${s.fullGcs})`
      )
    }
    const sampleFor = async (ms: number) => {
      const until = Date.now() + ms
      while (Date.now() < until) {
        await sleep(Math.min(opts.sampleSeconds * 1000, until - Date.now()))
        await sample()
      }
    }

    await sample()
    await sampleFor(opts.idleSeconds * 1000)
    const idleRss = samples.at(-1)!.rss

    // ---- churn ----------------------------------------------------------------------------------
    phase = "churn"
    const batchMs = 5000
    const perBatch = Math.max(2, Math.round((opts.podsPerMinute * batchMs) / 60_000))
    let batch = 0
    /** Completed workflows, and when they were first seen completed. */
    const completedSince = new Map<string, number>()
    const workflowPods = new Map<string, Array<string>>()
    const tick = () => {
      batch++
      for (const [suffix, deletes] of [["d", true], ["k", false]] as const) {
        const pods = suffix === "d" ? Math.ceil(perBatch / 2) : Math.floor(perBatch / 2)
        if (pods === 0) continue
        const result = seedWorkflowPods(sim, {
          pods,
          nodes: 10,
          namespace,
          workflows: 1,
          workflowPrefix: `b${batch}${suffix}`,
          podGCStrategy: deletes ? "OnPodCompletion" : "",
          workflowPhase: "Running",
          realistic: true
        })
        seeded += pods
        for (const pod of result.pods) open.set(pod.metadata!.name!, deletes)
        for (const wf of result.workflows) workflowPods.set(wf.metadata.name, result.pods.map((p) => p.metadata!.name!))
      }
      // Argo's TTL, shortened: a workflow completed for 20 s goes, with the pods it kept.
      const now = Date.now()
      for (const wf of sim.listWorkflows(namespace)) {
        const name = wf.metadata.name
        if (wf.status?.phase !== "Succeeded" && wf.status?.phase !== "Failed" && wf.status?.phase !== "Error") continue
        const since = completedSince.get(name) ?? now
        completedSince.set(name, since)
        if (now - since < 20_000) continue
        for (const pod of workflowPods.get(name) ?? []) {
          if (sim.getPod(namespace, pod) !== undefined) sim.deletePod(namespace, pod, { gracePeriodSeconds: 0 })
          open.delete(pod)
        }
        sim.deleteWorkflow(namespace, name)
        workflowPods.delete(name)
        completedSince.delete(name)
      }
    }
    const churnStartedAt = Date.now()
    tick()
    churn = setInterval(tick, batchMs)
    await sampleFor(opts.minutes * 60_000)
    clearInterval(churn)
    churn = undefined
    const churnEndedAt = Date.now()

    // ---- drain: the last pods cleaned, then a quiet minute ----------------------------------------
    phase = "drain"
    const drainBy = Date.now() + 120_000
    while (open.size > 0 && Date.now() < drainBy) await sampleFor(Math.min(opts.sampleSeconds * 1000, drainBy - Date.now()))
    const uncleaned = open.size
    await sampleFor(30_000)

    const { rss: endRss, hwm } = memoryOf(pid)
    const cpuTotal = cpuSecondsOf(pid) - cpuStart
    const churnSamples = samples.filter((s) => s.phase === "churn")
    const steadySamples = churnSamples.filter((s) => s.t - churnSamples[0]!.t >= 120)
    const churnSeconds = churnSamples.length > 0 ? churnSamples.at(-1)!.t - churnSamples[0]!.t + opts.sampleSeconds : 0
    const cpuChurn = churnSamples.length > 0 ? churnSamples.reduce((sum, s) => sum + s.cpuPercent, 0) / churnSamples.length : 0
    // A leak shows as a trend: RSS of the last fifth of the churn against the fifth after minute 2.
    const fifth = Math.max(1, Math.floor(steadySamples.length / 5))
    const early = median(steadySamples.slice(0, fifth).map((s) => s.rss))
    const late = median(steadySamples.slice(-fifth).map((s) => s.rss))
    // Live heap after the full GCs of the churn past minute 2 (the start-up's are not steady state).
    const steadyGcs = fullGcs.filter(([at]) => at >= churnStartedAt + 120_000 && at <= churnEndedAt)
    const text = await metrics()
    const result = {
      runtime: runtime.describe,
      minutes: opts.minutes,
      podsPerMinute: opts.podsPerMinute,
      seeded,
      cleaned,
      uncleaned,
      nodesMarkedPodDeleted: sim.argo?.podDeleted.length ?? 0,
      actions: metricSum(text, "pod_cleanup_actions_total"),
      failedActions: metricSum(text, "pod_cleanup_actions_total", 'outcome="failed"'),
      idleRssMiB: idleRss,
      steadyRssMiB: median(steadySamples.map((s) => s.rss)),
      peakRssMiB: hwm,
      endRssMiB: endRss,
      rssTrendMiB: Math.round((late - early) * 10) / 10,
      cpuSeconds: Math.round(cpuTotal * 10) / 10,
      cpuChurnPercentMean: Math.round(cpuChurn * 10) / 10,
      cpuChurnPercentMax: Math.max(0, ...churnSamples.map((s) => s.cpuPercent)),
      churnSeconds,
      fullGcs: fullGcs.length,
      liveHeapAfterFullGcMiB: steadyGcs.map(([, mb]) => mb),
      serviceLogLines: logLines
    }
    console.log(
      `idle RSS ${result.idleRssMiB} MiB, steady ${result.steadyRssMiB} MiB, peak ${result.peakRssMiB} MiB (VmHWM), end ${result.endRssMiB} MiB; ` +
        `trend ${result.rssTrendMiB} MiB over the churn after minute 2; CPU ${result.cpuChurnPercentMean} % mean, ${result.cpuChurnPercentMax} % max of a core; ` +
        `live heap after full GCs past minute 2 of the churn: ${steadyGcs.map(([, mb]) => mb).join(", ") || "none"} MiB; ` +
        `${cleaned} of ${seeded} pods cleaned (${uncleaned} not), ${result.nodesMarkedPodDeleted} nodes marked 'pod deleted', ${logLines} warn/error log lines`
    )
    if (logTail.length > 0) console.log(`last service log lines:\n${logTail.join("\n")}`)
    console.log(`SOAK ${JSON.stringify(result)}`)
    return uncleaned === 0 && result.nodesMarkedPodDeleted === 0 ? 0 : 1
  } finally {
    if (churn !== undefined) clearInterval(churn)
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve))
      child.kill("SIGTERM")
      await Promise.race([exited, sleep(25_000)])
      killChild()
    }
    await Promise.race([sim.close(), sleep(10_000)])
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`soak failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    process.exit(1)
  }
)
