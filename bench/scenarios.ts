/**
 * The benchmark scenarios. Each runs on a fresh simulated cluster in its own process (so its CPU is
 * charged to neither side), over real loopback sockets, and reads the simulator's accounting over
 * its side channel. Completion is observed by the simulator (a delete or a label patch answered
 * 200), never on the event loop of the side being measured. The service runs in its own process,
 * except in the partitioned-node scenario, which needs Effect-level engine settings.
 */
import * as path from "node:path"
import { Duration } from "effect"
import { argoCompatible } from "../src/engine/EngineSettings.ts"
import type { ServiceConfig } from "../src/config/Config.ts"
import {
  childUsage,
  configFrom,
  defaultServiceRuntime,
  firstJsonLine,
  freePort,
  root,
  round,
  seconds,
  settledArgo,
  type SideMeasure,
  sideMeasure,
  simDelta,
  type SimProcess,
  spawnNode,
  spawnService,
  startService,
  stopChild,
  until,
  waitExit,
  withSim
} from "./common.ts"
import type { ChildProcess } from "node:child_process"
import { ActionQueueName } from "../src/metrics.ts"
import type { RuntimeName, ServiceRuntime } from "./runtime.ts"

const exitedEarly = (child: ChildProcess, what: string) => {
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`benchmark: ${what} exited (${child.signalCode ?? child.exitCode}) before the job was done`)
  }
}

/** Waits until the simulator has seen `pods` pods of `namespace` cleaned, while `child` lives. */
const untilCleaned = (sim: SimProcess, namespace: string, pods: number, child: ChildProcess, what: string, timeoutMs: number) =>
  until(
    `every pod of ${namespace} cleaned by ${what}`,
    async () => {
      exitedEarly(child, what)
      return (await sim.cleaned(namespace)).count >= pods
    },
    timeoutMs,
    100
  )

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

/** From a node being recorded by Argo's model to its pod being cleaned, in ms (pods with both times). */
const afterRecord = (
  cleaned: { readonly times?: Readonly<Record<string, number>> | undefined },
  argo: { readonly fulfilledAt?: Readonly<Record<string, number>> | undefined }
) => {
  const fulfilledAt = argo.fulfilledAt ?? {}
  const latencies = Object.entries(cleaned.times ?? {})
    .map(([key, at]) => at - (fulfilledAt[key] ?? Number.NaN))
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b)
  return { p50: Math.round(percentile(latencies, 50)), p99: Math.round(percentile(latencies, 99)), max: Math.round(latencies.at(-1) ?? 0) }
}

/** pod-cleanup `run` in its own process until the simulator has seen every pod of `namespace` cleaned. */
const measureService = async (sim: SimProcess, namespace: string, pods: number, args: ReadonlyArray<string>, timeoutMs: number) => {
  const before = await sim.stats()
  const startedAt = Date.now()
  const child = spawnService("run", sim.kubeconfig, ["--namespaces", namespace, ...args])
  try {
    await untilCleaned(sim, namespace, pods, child, "pod-cleanup", timeoutMs)
    const usage = childUsage(child)
    const [cleaned, after] = await Promise.all([sim.cleaned(namespace, true), sim.stats()])
    const argo = await settledArgo(sim, true)
    return {
      ...sideMeasure(pods, startedAt, cleaned, usage, simDelta(before, after)),
      nodesMarkedPodDeleted: argo.podDeleted.length,
      afterRecordMs: afterRecord(cleaned, argo)
    }
  } finally {
    await stopChild(child)
  }
}

/** bench/plainLoop.ts in its own process over every pod of `namespace`. */
const measurePlainLoop = async (
  sim: SimProcess,
  namespace: string,
  pods: number,
  mode: "terminate-label" | "terminate-record-label" | "label",
  concurrency: number,
  timeoutMs: number
) => {
  const before = await sim.stats()
  const startedAt = Date.now()
  const child = spawnNode(
    [path.join(root, "bench/plainLoop.ts"), "--kubeconfig", sim.kubeconfig, "--namespace", namespace, "--concurrency", String(concurrency), "--mode", mode],
    { stdio: ["pipe", "pipe", "inherit"], env: { PATH: process.env.PATH ?? "" } }
  )
  try {
    const report = await firstJsonLine<{ pods: number; errors: number; cpuSeconds: number; peakRssMiB: number }>(child, "the plain loop", timeoutMs)
    await until(`every pod of ${namespace} cleaned by the plain loop`, async () => (await sim.cleaned(namespace)).count >= pods, 10_000, 50)
    const [cleaned, after] = await Promise.all([sim.cleaned(namespace), sim.stats()])
    const argo = await settledArgo(sim)
    return {
      ...sideMeasure(pods, startedAt, cleaned, { cpuSeconds: round(report.cpuSeconds), peakRssMiB: report.peakRssMiB }, simDelta(before, after)),
      errors: report.errors,
      nodesMarkedPodDeleted: argo.podDeleted.length
    }
  } finally {
    await stopChild(child)
  }
}

// ---- 1. healthy throughput and overhead ---------------------------------------------------------

export interface ThroughputResult {
  readonly pods: number
  readonly workers: number
  readonly workflows: number
  readonly podCleanup: SideMeasure & {
    readonly nodesMarkedPodDeleted: number
    /** From Argo's record of a node to its pod's label: what pod-cleanup adds once Argo allows the clean. */
    readonly afterRecordMs: { readonly p50: number; readonly p99: number; readonly max: number }
  }
  /**
   * The baseline: exec SIGTERM to `wait`, then, once Argo's model has recorded the pod's node (one
   * workflow watch), the label patch; as many execs and patches at once as pod-cleanup's workers
   * and API workers. The job as it must be done, with nothing else.
   */
  readonly recordLoop: SideMeasure & { readonly errors: number; readonly nodesMarkedPodDeleted: number }
  /** exec SIGTERM to `wait`, then the label patch at once: no wait for Argo's record (so it harms nodes). */
  readonly plainLoop: SideMeasure & { readonly errors: number; readonly nodesMarkedPodDeleted: number }
  /** pod-cleanup's steady rate / the record-aware loop's: 1 means no overhead. */
  readonly rateRatio: number
  /** pod-cleanup's steady rate / the loop that does not wait for Argo (an upper bound no safe job reaches). */
  readonly rateRatioNoWait: number
  /** pod-cleanup's CPU seconds / the record-aware loop's. */
  readonly cpuRatio: number
}

/**
 * Argo's `DEFAULT_REQUEUE_TIME` (10 s): a workflow whose pods change is operated (and written) about
 * once per interval, its nodes recorded up to that long after their pods end. Modelled in the
 * throughput scenario: a model that wrote each workflow once per pod would charge both sides with
 * watch traffic Argo does not make (a 200-node workflow written 2 000 times).
 */
export const ArgoRequeueMs = 10_000

/**
 * Real-sized running workflow pods (main exited, wait running) of Running workflows, with Argo's
 * controller model recording nodes as Argo does (at its requeue interval, `ArgoRequeueMs`):
 * pod-cleanup and the record-aware loop terminate `wait`, wait for the record, then label; the
 * plain loop terminates and labels at once (and so harms nodes).
 */
export const throughput = async (pods: number, workers: number, serviceArgs: ReadonlyArray<string> = []): Promise<ThroughputResult> => {
  const workflows = Math.max(1, Math.ceil(pods / 100))
  const prepare = async (sim: SimProcess) => {
    await sim.seed({ pods, nodes: 10, namespace: "tp", podGCStrategy: "", workflowPhase: "Running", workflows, realistic: true, names: false })
    await sim.control("POST", "/argo", { recordLag: 0, requeueMs: ArgoRequeueMs })
  }
  const ours = await withSim([], async (sim) => {
    await prepare(sim)
    return measureService(sim, "tp", pods, ["--workers", String(workers), ...serviceArgs], 600_000)
  })
  const recordAware = await withSim([], async (sim) => {
    await prepare(sim)
    return measurePlainLoop(sim, "tp", pods, "terminate-record-label", workers, 600_000)
  })
  const plain = await withSim([], async (sim) => {
    await prepare(sim)
    return measurePlainLoop(sim, "tp", pods, "terminate-label", workers, 600_000)
  })
  return {
    pods,
    workers,
    workflows,
    podCleanup: ours,
    recordLoop: recordAware,
    plainLoop: plain,
    rateRatio: round(ours.podsPerSecond / Math.max(1, recordAware.podsPerSecond)),
    rateRatioNoWait: round(ours.podsPerSecond / Math.max(1, plain.podsPerSecond)),
    cpuRatio: round(ours.cpuSeconds / Math.max(0.01, recordAware.cpuSeconds), 1)
  }
}

// ---- 2. a partitioned node ----------------------------------------------------------------------

export interface PartitionResult {
  readonly pods: number
  readonly nodes: number
  readonly scale: number
  readonly argoSeconds: number
  readonly podCleanupSeconds: number
  /** How many times sooner pod-cleanup had every healthy pod cleaned. */
  readonly speedup: number
  /** CPU of this process (the service runs in it here) and of the simulator, per run. */
  readonly argoCpuSeconds: number
  readonly podCleanupCpuSeconds: number
  readonly argoSimCpuSeconds: number
  readonly podCleanupSimCpuSeconds: number
}

/**
 * Every duration is divided by `scale` so the scenario runs in seconds: Argo's 2-minute exec
 * timeout becomes 120/scale s, pod-cleanup's 30 s becomes 30/scale s, and so on. The service runs
 * in this process (its engine settings are Effect values); the simulator in its own.
 */
export const partitionedNode = async (pods: number, scale: number): Promise<PartitionResult> => {
  const scaled = (d: Duration.Duration) => Duration.millis(Duration.toMillis(d) / scale)
  const graceSeconds = Math.max(1, Math.round(30 / scale))
  const run = (config: ServiceConfig) =>
    withSim([], async (sim) => {
      const seeded = await sim.seed({
        pods,
        nodes: 10,
        namespace: "part",
        podGCStrategy: "OnPodCompletion",
        terminationGracePeriodSeconds: graceSeconds
      })
      await sim.control("POST", "/partition", { node: "node-7" })
      const healthy = (seeded.podList ?? []).filter((p) => p.node !== "node-7").map((p) => `part/${p.name}`)
      const before = await sim.stats()
      const cpu = process.cpuUsage()
      const start = performance.now()
      const service = await startService(sim.kubeconfig, config)
      try {
        await until(
          "every healthy pod cleaned",
          async () => {
            const times = (await sim.cleaned("part", true)).times ?? {}
            return healthy.every((key) => times[key] !== undefined)
          },
          600_000,
          100
        )
        const ms = performance.now() - start
        const used = process.cpuUsage(cpu)
        return { ms, cpuSeconds: round((used.user + used.system) / 1e6), simCpuSeconds: simDelta(before, await sim.stats()).cpuSeconds }
      } finally {
        await service.stop()
      }
    })
  const base = configFrom(["--namespaces", "part", "--workers", "4"])
  const argoEngine = argoCompatible(base.engine)
  const argo = await run({
    ...base,
    engine: { ...argoEngine, execTimeout: scaled(argoEngine.execTimeout), actionTimeout: scaled(argoEngine.actionTimeout) }
  })
  const ours = await run({
    ...base,
    engine: {
      ...base.engine,
      execTimeout: scaled(base.engine.execTimeout),
      execRetryBackoff: scaled(base.engine.execRetryBackoff),
      breakerCooldown: scaled(base.engine.breakerCooldown),
      actionTimeout: scaled(base.engine.actionTimeout)
    }
  })
  return {
    pods,
    nodes: 10,
    scale,
    argoSeconds: seconds(argo.ms),
    podCleanupSeconds: seconds(ours.ms),
    speedup: round(argo.ms / ours.ms, 1),
    argoCpuSeconds: argo.cpuSeconds,
    podCleanupCpuSeconds: ours.cpuSeconds,
    argoSimCpuSeconds: argo.simCpuSeconds,
    podCleanupSimCpuSeconds: ours.simCpuSeconds
  }
}

// ---- 3. the label storm (Argo issue #13212) -----------------------------------------------------

export interface LabelStormResult {
  readonly pods: number
  readonly workflows: number
  readonly podCleanup: SideMeasure
  /** A plain client loop that only patches the same labels, at the same concurrency. */
  readonly plainLoop: SideMeasure & { readonly errors: number }
  /** What Argo's 10 qps queue bucket needs at best for the same number of pods (computed). */
  readonly argoBucketSeconds: number
  /** pod-cleanup's wall time / the loop's. */
  readonly timeRatio: number
  /** pod-cleanup's CPU seconds / the loop's. */
  readonly cpuRatio: number
}

/**
 * Real-sized completed pods (every container exited) of Succeeded workflows whose nodes are
 * recorded, all still labelled completed=false: the backlog Argo's 10 qps bucket drains slowly.
 */
export const labelStorm = async (pods: number, workers: number): Promise<LabelStormResult> => {
  const workflows = Math.max(1, Math.ceil(pods / 100))
  const prepare = (sim: SimProcess) =>
    sim.seed({
      pods,
      nodes: 20,
      namespace: "storm",
      podGCStrategy: "",
      workflowPhase: "Succeeded",
      workflows,
      realistic: true,
      containerStates: [{ container: "wait", state: "terminated", exitCode: 0 }],
      names: false
    })
  const ours = await withSim([], async (sim) => {
    await prepare(sim)
    // Default settings: pod-cleanup's workers are its default (4).
    return measureService(sim, "storm", pods, [], 900_000)
  })
  const plain = await withSim([], async (sim) => {
    await prepare(sim)
    return measurePlainLoop(sim, "storm", pods, "label", workers, 900_000)
  })
  return {
    pods,
    workflows,
    podCleanup: ours,
    plainLoop: plain,
    argoBucketSeconds: pods / 10,
    timeRatio: round(ours.wallSeconds / plain.wallSeconds),
    cpuRatio: round(ours.cpuSeconds / Math.max(0.01, plain.cpuSeconds), 1)
  }
}

// ---- 4. scale: pods known to the service --------------------------------------------------------

export interface ScaleResult {
  readonly pods: number
  /** Real-sized pods (ARGO_TEMPLATE, volumes, managedFields) and workflows (a node per step, stored templates). */
  readonly realistic: boolean
  readonly workflows: number
  /** How the service ran: `src` (type stripping) or `dist` (compiled, the image's Node flags). */
  readonly runtime: RuntimeName
  /** From spawning the process to ready (caches synced). */
  readonly secondsToReady: number
  readonly microsPerPod: number
  /** From spawning the process to its first API request (Node, modules, config). */
  readonly startupSeconds: number
  /** (ready − first API request) / pods: the per-pod cost with the start-up left out. */
  readonly listMicrosPerPod: number
  /** VmHWM at ready. */
  readonly peakRssMiB: number
  /** V8's heap at ready (`nodejs_heap_size_used_bytes` / `_total_bytes` from /metrics). */
  readonly heapUsedMiB: number
  readonly heapTotalMiB: number
  readonly cpuSeconds: number
  readonly simCpuSeconds: number
  /**
   * After ready the leader decides every known pod: the time until its intake queue has taken all
   * of them and is empty, and the peak RSS (VmHWM) and heap then. Undefined when it did not
   * settle within the deadline.
   */
  readonly decided: {
    readonly secondsAfterReady: number
    readonly peakRssMiB: number
    readonly heapUsedMiB: number
    readonly cpuSeconds: number
  } | undefined
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20)

/** The service's /metrics as `series → value` (series: the name with its labels as printed). */
const scrape = async (port: number): Promise<Map<string, number>> => {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text())
  const values = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line === "") continue
    const space = line.lastIndexOf(" ")
    values.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return values
}

/** Whether the intake queue (`pod_cleanup_intake`) has taken `pods` pods and holds none. */
const intakeDrained = (metrics: Map<string, number>, pods: number) =>
  (metrics.get(`workqueue_adds_total{name="${ActionQueueName}_intake"}`) ?? 0) >= pods &&
  metrics.get(`workqueue_depth{name="${ActionQueueName}_intake"}`) === 0

/**
 * The service in its own process knowing `pods` running workflow pods: the time until it has
 * listed every one of them (ready), its CPU, peak RSS and heap; then the time until it has decided
 * every one, and its peak RSS then.
 */
export const scale = async (pods: number, realistic = false, runtime?: ServiceRuntime): Promise<ScaleResult> =>
  withSim(realistic ? ["--history-limit", "100"] : [], async (sim) => {
    let workflows = 0
    if (realistic) {
      // Running workflows of 100 steps each: their pods still run, their nodes are Running.
      const seeded = await sim.seed({
        pods,
        nodes: 50,
        namespace: "scale",
        podGCStrategy: "OnPodCompletion",
        workflowPhase: "Running",
        workflows: Math.ceil(pods / 100),
        realistic: true,
        containerStates: [{ container: "main", state: "running" }],
        names: false
      })
      workflows = seeded.workflows
    } else {
      await sim.control("POST", "/pods/bulk", { namespace: "scale", count: pods, namePrefix: "p-", nodes: 50, workflows: 1000 }, 600_000)
    }
    const port = await freePort()
    const before = await sim.stats()
    const startedAt = Date.now()
    const start = performance.now()
    const child = spawnService("run", sim.kubeconfig, ["--http-port", String(port)], "ignore", "inherit", runtime)
    try {
      await until(
        "the service ready",
        async () => {
          exitedEarly(child, "pod-cleanup")
          return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0)) === 200
        },
        600_000,
        50
      )
      const elapsed = performance.now() - start
      const readyAt = Date.now()
      const usage = childUsage(child)
      const atReady = await scrape(port)
      const sim1 = simDelta(before, await sim.stats())
      const firstRequestAt = sim1.firstRequestAt ?? startedAt
      let decided: ScaleResult["decided"]
      try {
        let metrics = atReady
        await until("every pod decided", async () => {
          exitedEarly(child, "pod-cleanup")
          metrics = await scrape(port)
          return intakeDrained(metrics, pods)
        }, Math.max(60_000, pods * 3), 500)
        const after = childUsage(child)
        decided = {
          secondsAfterReady: seconds(Date.now() - readyAt),
          peakRssMiB: after.peakRssMiB,
          heapUsedMiB: mib(metrics.get("nodejs_heap_size_used_bytes") ?? 0),
          cpuSeconds: after.cpuSeconds
        }
      } catch {
        decided = undefined
      }
      return {
        pods,
        realistic,
        workflows,
        runtime: (runtime ?? defaultServiceRuntime()).name,
        secondsToReady: seconds(elapsed),
        microsPerPod: Math.round((elapsed * 1000) / pods),
        startupSeconds: seconds(firstRequestAt - startedAt),
        listMicrosPerPod: Math.round(((readyAt - firstRequestAt) * 1000) / pods),
        peakRssMiB: usage.peakRssMiB,
        heapUsedMiB: mib(atReady.get("nodejs_heap_size_used_bytes") ?? 0),
        heapTotalMiB: mib(atReady.get("nodejs_heap_size_total_bytes") ?? 0),
        cpuSeconds: usage.cpuSeconds,
        simCpuSeconds: sim1.cpuSeconds,
        decided
      }
    } finally {
      await stopChild(child)
    }
  })

// ---- 5. next to Argo's controller --------------------------------------------------------------

export interface NextToArgoResult {
  readonly mode: "run" | "once"
  readonly pods: number
  /** The model's lag from a pod's end to its node being recorded, uniform in [minMs, maxMs]. */
  readonly lagMs: { readonly minMs: number; readonly maxMs: number }
  readonly cleaned: number
  /** Workflow nodes Argo's model marked Error "pod deleted": must be 0. */
  readonly nodesMarkedPodDeleted: number
  /** From a node being recorded to its pod being cleaned (labelled or deleted), in ms, both seen by the simulator. */
  readonly afterRecordMs: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly seconds: number
  readonly cpuSeconds: number
  readonly simCpuSeconds: number
  readonly requestsPerPod: number
  /** `once` only: its exit code (0: every pod settled, nothing failed). */
  readonly exitCode?: number
}

/**
 * The service (`run`) or one pass (`once`), each in its own process, next to a model of Argo's
 * workflow-controller that records each pod's node `lag` after the pod ends: how long after the
 * record each pod is cleaned, and how many nodes were harmed.
 */
export const nextToArgo = async (
  mode: "run" | "once",
  pods: number,
  lagMs: { readonly minMs: number; readonly maxMs: number }
): Promise<NextToArgoResult> =>
  withSim([], async (sim) => {
    const half = Math.ceil(pods / 2)
    await sim.seed({ pods: half, nodes: 10, namespace: "argo", workflowPrefix: "del", podGCStrategy: "OnPodCompletion", workflowPhase: "Running", workflows: Math.ceil(half / 20), names: false })
    await sim.seed({ pods: pods - half, nodes: 10, namespace: "argo", workflowPrefix: "keep", podGCStrategy: "", workflowPhase: "Running", workflows: Math.ceil((pods - half) / 20), names: false })
    await sim.control("POST", "/argo", { recordLag: lagMs, seed: 7 })
    const before = await sim.stats()
    const start = performance.now()
    const timeoutMs = 120_000 + lagMs.maxMs * 2
    let usage: { cpuSeconds: number; peakRssMiB: number } = { cpuSeconds: 0, peakRssMiB: 0 }
    let exitCode: number | undefined
    if (mode === "run") {
      const child = spawnService("run", sim.kubeconfig, ["--namespaces", "argo"])
      try {
        await untilCleaned(sim, "argo", pods, child, "pod-cleanup", timeoutMs)
        usage = childUsage(child)
      } finally {
        await stopChild(child)
      }
    } else {
      const child = spawnService("once", sim.kubeconfig, ["--namespaces", "argo", "--output", "json"], "pipe", "pipe")
      child.stdout?.resume()
      // Its progress lines go to stderr: kept, and shown only if the pass fails.
      let stderr = ""
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
        stderr = (stderr + chunk).slice(-4_000)
      })
      child.once("exit", (code) => {
        if (code !== 0) process.stderr.write(stderr)
      })
      try {
        // `once` exits by itself; its CPU is sampled just before, while it is still alive.
        let last = usage
        const sampler = setInterval(() => {
          try {
            last = childUsage(child)
          } catch {
            // exited meanwhile
          }
        }, 100)
        try {
          if (!(await waitExit(child, timeoutMs))) throw new Error(`benchmark: pod-cleanup once did not finish within ${timeoutMs} ms`)
        } finally {
          clearInterval(sampler)
        }
        usage = last
        exitCode = child.exitCode ?? undefined
      } finally {
        await stopChild(child)
      }
    }
    const elapsed = performance.now() - start
    const [cleaned, after] = await Promise.all([sim.cleaned("argo", true), sim.stats()])
    const argo = await settledArgo(sim, true)
    const delta = simDelta(before, after)
    return {
      mode,
      pods,
      lagMs,
      cleaned: cleaned.count,
      nodesMarkedPodDeleted: argo.podDeleted.length,
      afterRecordMs: afterRecord(cleaned, argo),
      seconds: seconds(elapsed),
      cpuSeconds: usage.cpuSeconds,
      simCpuSeconds: delta.cpuSeconds,
      requestsPerPod: round(delta.requests / pods),
      ...(exitCode === undefined ? {} : { exitCode })
    }
  })
