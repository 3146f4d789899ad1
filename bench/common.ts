/**
 * Shared pieces of the benchmarks: the simulator in its own process, driven and read over its side
 * channel (packages/sim/src/control.ts); the service (or a plain loop) in its own process, its CPU and peak
 * RSS read from /proc; the service in-process where a scenario needs Effect-level settings; waits
 * with deadlines; and every child process killed on every exit path. Benchmarks are an edge of the
 * program, so they run Effects with `Effect.runPromise`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import * as readline from "node:readline"
import { Context, Effect, Exit, Layer, Result, Scope } from "effect"
import { serviceRuntime, type ServiceRuntime } from "./runtime.ts"
import { Outcomes } from "../src/engine/Outcomes.ts"
import { KubeClient } from "../src/kube/KubeClient.ts"
import { loadKubeConfig } from "../src/kube/KubeConfigSource.ts"
import { parseConfig, type ServiceConfig } from "../src/config/Config.ts"
import { Controller } from "../src/controller/Controller.ts"
import { loggingLayer } from "../src/controller/logging.ts"
import { podCleanupCoreLayer } from "../src/controller/PodCleanup.ts"
import type { ControlArgo, ControlCleaned, ControlPodSummary, ControlSeedRequest, ControlSeedResponse, ControlStats } from "@pod-cleanup/sim"

export const root = path.resolve(import.meta.dirname, "..")

// ---- child processes ----------------------------------------------------------------------------

const children = new Set<ChildProcess>()

/** Spawns `node <args>` (this very Node binary) and remembers the child until it exits. */
export const spawnNode = (args: ReadonlyArray<string>, options: Parameters<typeof spawn>[2] = {}): ChildProcess => {
  const child = spawn(process.execPath, [...args], options)
  children.add(child)
  child.once("exit", () => children.delete(child))
  child.once("error", () => children.delete(child))
  return child
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

/** Resolves when `child` has exited, or false after `timeoutMs`. */
export const waitExit = (child: ChildProcess, timeoutMs: number): Promise<boolean> =>
  exited(child)
    ? Promise.resolve(true)
    : new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.off("exit", onExit)
        resolve(false)
      }, timeoutMs)
      const onExit = () => {
        clearTimeout(timer)
        resolve(true)
      }
      child.once("exit", onExit)
    })

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
export const stopChild = async (child: ChildProcess, graceMs = 5_000): Promise<void> => {
  if (exited(child)) return
  child.kill("SIGTERM")
  if (await waitExit(child, graceMs)) return
  child.kill("SIGKILL")
  await waitExit(child, 5_000)
}

/** Every child still running: SIGTERM, then SIGKILL after `graceMs` (for signal handlers). */
export const stopAllChildren = async (graceMs = 2_000): Promise<void> => {
  await Promise.all([...children].map((c) => stopChild(c, graceMs)))
}

/** Synchronous last resort (process "exit"): SIGKILL whatever is left. */
export const killAllChildrenNow = (): void => {
  for (const c of children) if (!exited(c)) c.kill("SIGKILL")
}

// ---- /proc ----------------------------------------------------------------------------------------

let clockTicks: number | undefined
const ticksPerSecond = (): number => {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/** A live process's CPU time so far (utime + stime, every thread), in seconds (Linux /proc). */
export const procCpuSeconds = (pid: number): number => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond()
}

/** A live process's peak resident memory (VmHWM), in MiB. */
export const procPeakRssMiB = (pid: number): number => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? "0") / 1024
}

// ---- waiting ----------------------------------------------------------------------------------------

/** Polls `predicate` every `everyMs` until it holds; throws after `timeoutMs`. */
export const until = async (what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> => {
  const deadline = performance.now() + timeoutMs
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`benchmark: ${what} did not happen within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export const seconds = (ms: number) => Math.round(ms) / 1000
export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

/** The first line of `child`'s stdout that parses as a JSON object; rejects after `timeoutMs` or at exit. */
export const firstJsonLine = <A>(child: ChildProcess, what: string, timeoutMs: number): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    if (child.stdout === null) return reject(new Error(`benchmark: ${what} has no stdout pipe`))
    const lines = readline.createInterface({ input: child.stdout })
    const done = (f: () => void) => {
      clearTimeout(timer)
      child.off("exit", onExit)
      lines.off("line", onLine)
      f()
    }
    const onLine = (line: string) => {
      if (!line.startsWith("{")) return
      try {
        const value = JSON.parse(line) as A
        done(() => resolve(value))
      } catch {
        // not ours
      }
    }
    const onExit = (code: number | null, signal: string | null) =>
      done(() => reject(new Error(`benchmark: ${what} exited (${signal ?? code}) before printing its JSON line`)))
    const timer = setTimeout(() => done(() => reject(new Error(`benchmark: ${what} printed no JSON line within ${timeoutMs} ms`))), timeoutMs)
    lines.on("line", onLine)
    child.once("exit", onExit)
  })

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
    server.once("error", reject)
  })

// ---- the simulator in its own process -------------------------------------------------------------

export interface SimProcess {
  /** The simulated API server. */
  readonly url: string
  readonly kubeconfig: string
  readonly pid: number
  readonly control: <A>(method: "GET" | "POST", path: string, body?: unknown, timeoutMs?: number) => Promise<A>
  readonly seed: (options: ControlSeedRequest) => Promise<ControlSeedResponse>
  readonly stats: () => Promise<ControlStats>
  readonly cleaned: (namespace?: string, times?: boolean) => Promise<ControlCleaned>
  readonly argo: (times?: boolean) => Promise<ControlArgo>
  readonly pods: (namespace?: string) => Promise<ControlPodSummary[]>
  /** Shuts the simulator down (SIGTERM, then SIGKILL). Idempotent. */
  readonly stop: () => Promise<void>
}

/**
 * `packages/sim/src/bin.ts --control-port 0 --port 0` in its own process (plus `args`), once it has printed
 * its JSON line. It exits when this process dies (its stdin is a pipe from us).
 */
export const startSim = async (args: ReadonlyArray<string> = []): Promise<SimProcess> => {
  const child = spawnNode(
    [path.join(root, "packages/sim/src/bin.ts"), "--control-port", "0", "--port", "0", "--exit-on-stdin-close", "--quiet", "--request-log-limit", "1000", ...args],
    { stdio: ["pipe", "pipe", "inherit"], env: { PATH: process.env.PATH ?? "" } }
  )
  try {
    const line = await firstJsonLine<{ control: string; url: string; kubeconfig: string; pid: number }>(child, "the simulator", 30_000)
    const control = async <A>(method: "GET" | "POST", p: string, body?: unknown, timeoutMs = 120_000): Promise<A> => {
      const res = await fetch(`${line.control}${p}`, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }),
        signal: AbortSignal.timeout(timeoutMs)
      })
      const json = (await res.json()) as A & { error?: string }
      if (!res.ok) throw new Error(`simulator control ${method} ${p}: ${res.status} ${json.error ?? ""}`)
      return json
    }
    return {
      url: line.url,
      kubeconfig: line.kubeconfig,
      pid: line.pid,
      control,
      seed: (options) => control<ControlSeedResponse>("POST", "/seed", options, 600_000),
      stats: () => control<ControlStats>("GET", "/stats"),
      cleaned: (namespace, times = false) =>
        control<ControlCleaned>("GET", `/cleaned?${new URLSearchParams({ ...(namespace === undefined ? {} : { namespace }), times: times ? "1" : "0" })}`),
      argo: (times = false) => control<ControlArgo>("GET", `/argo?times=${times ? 1 : 0}`),
      pods: (namespace) => control<ControlPodSummary[]>("GET", `/pods${namespace === undefined ? "" : `?namespace=${namespace}`}`),
      stop: () => stopChild(child)
    }
  } catch (e) {
    await stopChild(child)
    throw e
  }
}

/** Runs `body` with a fresh simulator, which is stopped however `body` ends. */
export const withSim = async <A>(args: ReadonlyArray<string>, body: (sim: SimProcess) => Promise<A>): Promise<A> => {
  const sim = await startSim(args)
  try {
    return await body(sim)
  } finally {
    await sim.stop()
  }
}

/**
 * The Argo model's view once it has run everything it scheduled (`pending` 0). A pod that left
 * Argo's view too early is judged at its workflow's next operation, up to the requeue interval
 * later, so `podDeleted` read any sooner can miss harm that is already done.
 */
export const settledArgo = async (sim: SimProcess, times = false, timeoutMs = 60_000): Promise<ControlArgo> => {
  let argo = await sim.argo(times)
  await until("the Argo model's scheduled work done", async () => (argo = await sim.argo(times)).pending === 0, timeoutMs, 200)
  return argo
}

/** The simulator's CPU and request counters between two `stats()` readings. */
export const simDelta = (before: ControlStats, after: ControlStats) => ({
  firstRequestAt: after.firstRequestAt,
  cpuSeconds: round(after.cpuSeconds.total - before.cpuSeconds.total),
  requests: after.totalRequests - before.totalRequests,
  byVerb: Object.fromEntries(
    Object.entries(after.byVerb).map(([verb, n]) => [verb, n - (before.byVerb[verb] ?? 0)]).filter(([, n]) => (n as number) > 0)
  ) as Record<string, number>
})

// ---- the service (or a plain loop) in its own process ---------------------------------------------

let defaultRuntime: ServiceRuntime | undefined

/** The runtime `spawnService` uses when given none (`src` until set: `npm run bench -- --runtime`). */
export const setDefaultRuntime = (runtime: ServiceRuntime): void => {
  defaultRuntime = runtime
}
export const defaultServiceRuntime = (): ServiceRuntime => defaultRuntime ??= serviceRuntime(root, "src")

/** `<runtime's entry> <command>` against `kubeconfig`, with the bench's fixed flags before `args`. */
export const spawnService = (
  command: "run" | "once",
  kubeconfig: string,
  args: ReadonlyArray<string>,
  stdout: "ignore" | "pipe" = "ignore",
  stderr: "inherit" | "pipe" = "inherit",
  runtime: ServiceRuntime = defaultServiceRuntime()
): ChildProcess =>
  spawnNode(
    // `once` elects no leader and serves no HTTP (it refuses those flags).
    [
      ...runtime.nodeArgs,
      runtime.entry,
      command,
      ...(command === "run" ? ["--no-leader-elect", "--http-port", "0"] : []),
      "--log-level",
      "error",
      ...args
    ],
    { env: { ...runtime.env, PATH: process.env.PATH ?? "", KUBECONFIG: kubeconfig }, stdio: ["ignore", stdout, stderr] }
  )

/** CPU seconds and peak RSS of a live child, read just before it is stopped. */
export const childUsage = (child: ChildProcess): { cpuSeconds: number; peakRssMiB: number } => {
  if (child.pid === undefined || exited(child)) throw new Error("benchmark: the process under test exited before it was measured")
  return { cpuSeconds: round(procCpuSeconds(child.pid)), peakRssMiB: Math.round(procPeakRssMiB(child.pid)) }
}

/** What a side (pod-cleanup or its baseline) cost, observed from outside it. */
export interface SideMeasure {
  /** From spawning the process to the simulator answering the last clean. */
  readonly wallSeconds: number
  /** pods / (last clean − the side's first API request): its process start-up excluded. */
  readonly podsPerSecond: number
  /** From spawning the process to its first API request (Node, modules, config). */
  readonly startupSeconds: number
  readonly cpuSeconds: number
  readonly peakRssMiB: number
  /** Requests the simulator counted / pods. */
  readonly requestsPerPod: number
  readonly requestsByVerb: Record<string, number>
  /** The simulator's own CPU meanwhile (not charged to the side). */
  readonly simCpuSeconds: number
}

export const sideMeasure = (
  pods: number,
  startedAt: number,
  cleaned: ControlCleaned,
  usage: { cpuSeconds: number; peakRssMiB: number },
  sim: ReturnType<typeof simDelta>
): SideMeasure => {
  const firstRequestAt = sim.firstRequestAt ?? startedAt
  const span = (cleaned.lastAt ?? Date.now()) - firstRequestAt
  return {
    wallSeconds: seconds((cleaned.lastAt ?? Date.now()) - startedAt),
    podsPerSecond: span > 0 ? Math.round((cleaned.count * 1000) / span) : 0,
    startupSeconds: seconds(firstRequestAt - startedAt),
    cpuSeconds: usage.cpuSeconds,
    peakRssMiB: usage.peakRssMiB,
    requestsPerPod: round(sim.requests / Math.max(1, pods)),
    requestsByVerb: sim.byVerb,
    simCpuSeconds: sim.cpuSeconds
  }
}

// ---- the service in-process (scenarios that need Effect-level settings) ---------------------------

export const configFrom = (argv: ReadonlyArray<string>): ServiceConfig => {
  const parsed = parseConfig(["--no-leader-elect", "--log-level", "error", ...argv], {})
  if (Result.isFailure(parsed)) throw new Error(parsed.failure.message)
  return parsed.success
}

export interface RunningService {
  readonly controller: Controller["Service"]
  readonly outcomes: Outcomes["Service"]
  readonly stop: () => Promise<void>
}

/** The whole service (watches, engine) in this process, against the cluster of `kubeconfig`. */
export const startService = async (kubeconfig: string, config: ServiceConfig): Promise<RunningService> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const loaded = yield* loadKubeConfig({ kubeconfig, env: {} })
      const services = yield* Layer.buildWithScope(
        podCleanupCoreLayer(config).pipe(
          Layer.provide(KubeClient.layerFromLoaded(loaded)),
          Layer.provide(loggingLayer(config.logFormat, config.logLevel))
        ),
        scope
      )
      return {
        controller: Context.get(services, Controller),
        outcomes: Context.get(services, Outcomes),
        stop: () => Effect.runPromise(Scope.close(scope, Exit.void))
      }
    })
  )
