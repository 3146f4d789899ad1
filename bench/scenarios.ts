/**
 * The four benchmark scenarios. Each runs on a fresh simulated cluster over real loopback
 * sockets and reports ratios measured in the same run.
 */
import * as k8s from "@kubernetes/client-node"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { Duration } from "effect"
import { argoCompatible } from "../src/engine/EngineSettings.ts"
import type { ServiceConfig } from "../src/service/Config.ts"
import { type RequestLogEntry, seedWorkflowPods, SimCluster } from "../src/sim/index.ts"
import { configFrom, isCleaned, runOnceAgainst, startService, until } from "./common.ts"

const root = path.resolve(import.meta.dirname, "..")

/** Runs `task` over `items` with at most `concurrency` at once. */
const pool = async <A>(items: ReadonlyArray<A>, concurrency: number, task: (a: A) => Promise<void>) => {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await task(items[next++]!)
  }))
}

// ---- 1. healthy throughput and overhead ---------------------------------------------------------

export interface ThroughputResult {
  readonly pods: number
  readonly workers: number
  readonly podCleanupPodsPerSecond: number
  readonly plainLoopPodsPerSecond: number
  /** pod-cleanup / plain loop: 1 means no overhead. */
  readonly ratio: number
}

/** The same client-node calls as pod-cleanup makes for "terminate, then label", in a plain loop. */
const plainLoop = async (sim: SimCluster, namespace: string, concurrency: number) => {
  const kc = new k8s.KubeConfig()
  kc.loadFromFile(sim.writeKubeconfig())
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
  await pool(names, concurrency, async (name) => {
    await core.readNamespacedPod({ namespace, name })
    await new Promise<void>((resolve, reject) => {
      exec.exec(namespace, name, "wait", ["argoexec", "kill", "15", "1"], null, null, null, false, () => resolve()).catch(reject)
    })
    await core.readNamespacedPod({ namespace, name })
    await core.patchNamespacedPod({
      namespace,
      name,
      body: { metadata: { labels: { "workflows.argoproj.io/completed": "true" } } }
    }, merge)
  })
}

export const throughput = async (pods: number, workers: number): Promise<ThroughputResult> => {
  const time = async (run: (sim: SimCluster) => Promise<void>) => {
    const sim = await SimCluster.start()
    try {
      seedWorkflowPods(sim, { pods, nodes: 10, namespace: "tp", podGCStrategy: "", workflows: 20 })
      const start = performance.now()
      await run(sim)
      return performance.now() - start
    } finally {
      await sim.close()
    }
  }
  const ours = await time(async (sim) => {
    const service = await startService(sim, configFrom(["--workers", String(workers), "--namespaces", "tp"]))
    try {
      const names = sim.listPods().map((p) => p.metadata!.name!)
      await until("every pod labelled", () => names.every((n) => isCleaned(sim, "tp", n, false)), 300_000)
    } finally {
      await service.stop()
    }
  })
  const plain = await time((sim) => plainLoop(sim, "tp", workers))
  return {
    pods,
    workers,
    podCleanupPodsPerSecond: Math.round(pods / (ours / 1000)),
    plainLoopPodsPerSecond: Math.round(pods / (plain / 1000)),
    ratio: Math.round((plain / ours) * 100) / 100
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
}

/**
 * Every duration is divided by `scale` so the scenario runs in seconds: Argo's 2-minute exec
 * timeout becomes 120/scale s, pod-cleanup's 30 s becomes 30/scale s, and so on.
 */
export const partitionedNode = async (pods: number, scale: number): Promise<PartitionResult> => {
  const scaled = (d: Duration.Duration) => Duration.millis(Duration.toMillis(d) / scale)
  const graceSeconds = Math.max(1, Math.round(30 / scale))
  const run = async (config: ServiceConfig) => {
    const sim = await SimCluster.start()
    try {
      const seeded = seedWorkflowPods(sim, {
        pods,
        nodes: 10,
        namespace: "part",
        podGCStrategy: "OnPodCompletion",
        terminationGracePeriodSeconds: graceSeconds
      })
      sim.partition("node-7")
      const healthy = seeded.pods.filter((p) => p.spec?.nodeName !== "node-7").map((p) => p.metadata!.name!)
      const start = performance.now()
      const service = await startService(sim, config)
      try {
        await until("every healthy pod cleaned", () => healthy.every((n) => isCleaned(sim, "part", n, true)), 600_000)
        return performance.now() - start
      } finally {
        await service.stop()
      }
    } finally {
      await sim.close()
    }
  }
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
    argoSeconds: Math.round(argo) / 1000,
    podCleanupSeconds: Math.round(ours) / 1000,
    speedup: Math.round((argo / ours) * 10) / 10
  }
}

// ---- 3. the label storm (Argo issue #13212) -----------------------------------------------------

export interface LabelStormResult {
  readonly pods: number
  readonly podCleanupSeconds: number
  /** What Argo's 10 qps queue bucket needs at best for the same number of pods. */
  readonly argoBucketSeconds: number
}

export const labelStorm = async (pods: number): Promise<LabelStormResult> => {
  const sim = await SimCluster.start({ requestLogLimit: 1000 })
  try {
    sim.addWorkflow({ namespace: "storm", name: "big", phase: "Succeeded", podGC: { strategy: "" } })
    for (let i = 0; i < pods; i++) {
      sim.addPod({
        namespace: "storm",
        name: `big-${i}`,
        nodeName: `node-${i % 20}`,
        labels: { "workflows.argoproj.io/workflow": "big", "workflows.argoproj.io/completed": "false" },
        containers: [{ name: "wait", state: "terminated", exitCode: 0 }, { name: "main", state: "terminated", exitCode: 0 }]
      })
    }
    const start = performance.now()
    const service = await startService(sim, configFrom(["--namespaces", "storm"]))
    try {
      await until(
        "every pod labelled",
        () => {
          for (let i = 0; i < pods; i++) if (!isCleaned(sim, "storm", `big-${i}`, false)) return false
          return true
        },
        600_000,
        200
      )
      return { pods, podCleanupSeconds: Math.round(performance.now() - start) / 1000, argoBucketSeconds: pods / 10 }
    } finally {
      await service.stop()
    }
  } finally {
    await sim.close()
  }
}

// ---- 4. scale: pods known to the service --------------------------------------------------------

export interface ScaleResult {
  readonly pods: number
  /** Real-sized pods (ARGO_TEMPLATE, volumes, managedFields) and workflows (a node per step, stored templates). */
  readonly realistic: boolean
  readonly workflows: number
  readonly secondsToReady: number
  readonly microsPerPod: number
  readonly peakRssMiB: number
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

/** Peak resident memory of a process (Linux: VmHWM). */
const peakRss = (child: ChildProcess): number => {
  const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8")
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? "0") / 1024
}

/**
 * The service in its own process (so its memory is measured alone) knowing `pods` running workflow
 * pods: the time until it has listed and decided every one of them (ready), and its peak RSS.
 */
export const scale = async (pods: number, realistic = false): Promise<ScaleResult> => {
  const sim = await SimCluster.start({ requestLogLimit: 1000, historyLimit: realistic ? 100 : 1000 })
  let workflows = 0
  try {
    if (realistic) {
      // Running workflows of 100 steps each: their pods still run, their nodes are Running.
      const seeded = seedWorkflowPods(sim, { pods, nodes: 50, namespace: "scale", podGCStrategy: "OnPodCompletion", workflowPhase: "Running", workflows: Math.ceil(pods / 100), realistic: true })
      workflows = seeded.workflows.length
      for (const pod of seeded.pods) sim.setContainerState("scale", pod.metadata!.name!, "main", "running")
    } else {
      for (let i = 0; i < pods; i++) {
        sim.addPod({
          namespace: "scale",
          name: `p-${i}`,
          nodeName: `node-${i % 50}`,
          labels: { "workflows.argoproj.io/workflow": `wf-${i % 1000}`, "workflows.argoproj.io/completed": "false" },
          containers: [{ name: "wait" }, { name: "main" }]
        })
      }
    }
    const port = await freePort()
    const start = performance.now()
    const child = spawn(process.execPath, [path.join(root, "src/main.ts"), "run", "--no-leader-elect", "--http-port", String(port), "--log-level", "error"], {
      env: { PATH: process.env.PATH ?? "", KUBECONFIG: sim.writeKubeconfig() },
      stdio: ["ignore", "ignore", "inherit"]
    })
    try {
      const deadline = performance.now() + 600_000
      while ((await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) !== 200) {
        if (performance.now() > deadline || child.exitCode !== null) throw new Error("benchmark: the service never became ready")
        await new Promise((r) => setTimeout(r, 50))
      }
      const elapsed = performance.now() - start
      const rss = peakRss(child)
      return {
        pods,
        realistic,
        workflows,
        secondsToReady: Math.round(elapsed) / 1000,
        microsPerPod: Math.round((elapsed * 1000) / pods),
        peakRssMiB: Math.round(rss)
      }
    } finally {
      child.kill("SIGTERM")
      await new Promise((r) => child.once("exit", r))
    }
  } finally {
    await sim.close()
  }
}

// ---- 5. next to Argo's controller --------------------------------------------------------------

export interface NextToArgoResult {
  readonly mode: "run" | "once"
  readonly pods: number
  /** The model's lag from a pod's end to its node being recorded, uniform in [minMs, maxMs]. */
  readonly lagMs: { readonly minMs: number; readonly maxMs: number }
  readonly cleaned: number
  /** Workflow nodes Argo's model marked Error "pod deleted": must be 0. */
  readonly nodesMarkedPodDeleted: number
  /** From a node being recorded to its pod being cleaned (labelled or deleted), in ms. */
  readonly afterRecordMs: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly seconds: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

/**
 * The service (`run`) or one pass (`once`) next to a model of Argo's workflow-controller that
 * records each pod's node `lag` after the pod ends: how long after the record each pod is cleaned,
 * and how many nodes were harmed.
 */
export const nextToArgo = async (
  mode: "run" | "once",
  pods: number,
  lagMs: { readonly minMs: number; readonly maxMs: number }
): Promise<NextToArgoResult> => {
  const sim = await SimCluster.start({ argo: { recordLag: lagMs, seed: 7 } })
  try {
    const half = Math.ceil(pods / 2)
    const deleted = seedWorkflowPods(sim, { pods: half, nodes: 10, namespace: "argo", workflowPrefix: "del", podGCStrategy: "OnPodCompletion", workflowPhase: "Running", workflows: Math.ceil(half / 20) })
    const kept = seedWorkflowPods(sim, { pods: pods - half, nodes: 10, namespace: "argo", workflowPrefix: "keep", podGCStrategy: "", workflowPhase: "Running", workflows: Math.ceil((pods - half) / 20) })
    const names = [...deleted.pods, ...kept.pods].map((p) => p.metadata!.name!)
    // Observed from outside the service: the simulator's answer to the delete or label patch.
    const cleanedAt = new Map<string, number>()
    const wanted = new Set(names)
    const onRequest = (entry: RequestLogEntry) => {
      const name = entry.name
      if (name === undefined || !wanted.has(name) || cleanedAt.has(name) || entry.status !== 200) return
      const deletes = name.startsWith("del")
      if ((deletes && entry.verb === "delete") || (!deletes && entry.verb === "patch" && isCleaned(sim, "argo", name, false))) {
        cleanedAt.set(name, entry.endedAt ?? Date.now())
      }
    }
    sim.events.on("request", onRequest)
    const timer = { stop: () => sim.events.off("request", onRequest) }
    const start = performance.now()
    const config = configFrom(["--namespaces", "argo"])
    try {
      if (mode === "run") {
        const service = await startService(sim, config)
        try {
          await until("every pod cleaned", () => cleanedAt.size === names.length, 120_000 + lagMs.maxMs * 2)
        } finally {
          await service.stop()
        }
      } else {
        await runOnceAgainst(sim, config)
      }
    } finally {
      timer.stop()
    }
    const after = names
      .map((n) => (cleanedAt.get(n) ?? Number.NaN) - (sim.argo!.fulfilledAt("argo", n) ?? Number.NaN))
      .filter((ms) => Number.isFinite(ms))
      .sort((a, b) => a - b)
    return {
      mode,
      pods,
      lagMs,
      cleaned: cleanedAt.size,
      nodesMarkedPodDeleted: sim.argo!.podDeleted.length,
      afterRecordMs: { p50: Math.round(percentile(after, 50)), p99: Math.round(percentile(after, 99)), max: Math.round(after.at(-1) ?? 0) },
      seconds: Math.round(performance.now() - start) / 1000
    }
  } finally {
    await sim.close()
  }
}
