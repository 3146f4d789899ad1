/**
 * The chaos run: the real service, in-process, against the simulated cluster over real sockets,
 * while a seeded plan (chaosPlan.ts) adds pods in waves and throws every fault the simulator has
 * at it: exec faults, API errors and latency, watch faults, a partitioned node, server restarts.
 * After the fault window it lets the system settle (bounded), reads the ledger and the invariants,
 * and stops the service and the simulator. It never hides a failure: a lost pod, a leaked socket,
 * an unhandled rejection or a dead loop is reported as such, with the seed to reproduce it.
 */
import { createWriteStream, type WriteStream } from "node:fs"
import { Clock, Context, Duration, Effect, Exit, Fiber, Layer, Logger, Result, Scope } from "effect"
import { Outcomes } from "../src/engine/Outcomes.ts"
import { KubeClient } from "../src/kube/KubeClient.ts"
import { loadKubeConfig } from "../src/kube/KubeConfigSource.ts"
import { parseConfig } from "../src/service/Config.ts"
import { Controller, type ControllerStatus } from "../src/service/Controller.ts"
import { podCleanupCoreLayer } from "../src/service/PodCleanup.ts"
import type { ExecCloseInfo } from "../src/sim/index.ts"
import { seedWorkflowPods, SimCluster } from "../src/sim/index.ts"
import { buildLedger, isCleaned, type Ledger, type SeededPod } from "./chaosLedger.ts"
import { allFaultKinds, type ChaosPlan, faultCounts, type FaultKind, planChaos, type PlannedFault, type PodGroup } from "./chaosPlan.ts"

export interface ChaosOptions {
  readonly seed: number
  readonly pods: number
  /** The fault window (ms): faults happen inside it, pods arrive in its first 60 %. */
  readonly durationMs: number
  /** The longest the system may take to converge after the window (ms). Default max(15 s, durationMs). */
  readonly settleMaxMs?: number | undefined
  /** Default 8. */
  readonly nodes?: number | undefined
  /** Default 4. */
  readonly namespaces?: number | undefined
  /** Faults in total (every kind at least once). Default: one per second of the window, at least 17 + 3. */
  readonly faults?: number | undefined
  /** Pod waves after the initial batch. Default 6. */
  readonly waves?: number | undefined
  /** Service args on top of the chaos defaults (`--no-leader-elect --exec-timeout 1s --breaker-cooldown 3s`). */
  readonly serviceArgs?: ReadonlyArray<string> | undefined
  /** Write the service's log lines (logfmt) to this file. */
  readonly logFile?: string | undefined
  /** Called every few seconds with a one-line status (the CLI prints it to stderr). */
  readonly onProgress?: ((line: string) => void) | undefined
}

export interface ChaosReport {
  readonly seed: number
  readonly pods: number
  readonly nodes: number
  readonly namespaces: ReadonlyArray<string>
  readonly planHash: string
  readonly faultWindowMs: number
  /** Faults injected, by kind (counted as they were applied). */
  readonly faults: Readonly<Record<FaultKind, number>>
  readonly faultsTotal: number
  /** Exec connections the simulator faulted, by fault (partitions show as halfOpen). */
  readonly execFaultsApplied: Readonly<Record<string, number>>
  /** Error answers the simulator sent (injected and real ones), by HTTP status. */
  readonly errorAnswers: Readonly<Record<string, number>>
  readonly requests: number
  readonly restarts: number
  readonly ledger: Ledger
  readonly outcomes: Readonly<Record<"done" | "skipped" | "failed", number>>
  readonly converged: boolean
  readonly settleMs: number
  /** Exec sockets open on the simulator at the end of the settling period, and after the service stopped. */
  readonly execOpenAtEnd: number
  readonly execOpenAfterStop: number
  readonly watchOpenAfterStop: number
  readonly unhandledRejections: ReadonlyArray<string>
  readonly uncaughtExceptions: ReadonlyArray<string>
  readonly health: Pick<ControllerStatus, "alive" | "synced" | "leader" | "detail">
  /** How long closing the service's scope took; undefined if it did not finish within 30 s. */
  readonly stopMs: number | undefined
  readonly logLines: Readonly<Record<string, number>>
  readonly elapsedMs: number
  /** Failed invariants, one line each; empty = the run passed. */
  readonly failures: ReadonlyArray<string>
}

export const chaosServiceArgs: ReadonlyArray<string> = ["--no-leader-elect", "--exec-timeout", "1s", "--breaker-cooldown", "3s"]

// ---- the process-level watchers -----------------------------------------------------------------

const watchProcess = Effect.acquireRelease(
  Effect.sync(() => {
    const seen = { rejections: [] as Array<string>, exceptions: [] as Array<string> }
    const describe = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).slice(0, 300)
    const onRejection = (reason: unknown) => seen.rejections.push(describe(reason))
    // A monitor only observes: an uncaught exception still ends the process as it would anyway.
    const onException = (error: unknown) => seen.exceptions.push(describe(error))
    process.on("unhandledRejection", onRejection)
    process.on("uncaughtExceptionMonitor", onException)
    return { seen, onRejection, onException }
  }),
  ({ onRejection, onException }) =>
    Effect.sync(() => {
      process.off("unhandledRejection", onRejection)
      process.off("uncaughtExceptionMonitor", onException)
    })
)

/** The service's logs: counted by level, and written to `file` when given. */
const chaosLogger = (counts: Record<string, number>, file: WriteStream | undefined) =>
  Logger.make((options) => {
    counts[options.logLevel] = (counts[options.logLevel] ?? 0) + 1
    if (file !== undefined) file.write(`${Logger.formatLogFmt.log(options)}\n`)
  })

// ---- the run ------------------------------------------------------------------------------------

/** Seeds one group; returns its pods and records its workflows' names (for a later completion). */
const seedGroup = (sim: SimCluster, group: PodGroup, nodes: number, workflows: Map<string, Array<string>>): Array<SeededPod> => {
  const result = seedWorkflowPods(sim, {
    pods: group.pods,
    nodes,
    namespace: group.namespace,
    workflowPrefix: group.prefix,
    podGCStrategy: group.strategy,
    workflowPhase: group.workflowPhase,
    deleteDelay: group.deleteDelay,
    finalizer: group.finalizer,
    waitIgnoresSigterm: group.waitIgnoresSigterm,
    waitTermDelayMs: group.waitTermDelayMs,
    terminationGracePeriodSeconds: 2
  })
  workflows.set(group.prefix, result.workflows.map((wf) => wf.metadata.name))
  return result.pods.map((p) => ({
    namespace: group.namespace,
    name: p.metadata!.name!,
    node: p.spec!.nodeName!,
    expect: group.expect
  }))
}

interface Step {
  readonly at: number
  readonly run: () => void
}

/** What the timeline's steps act on and record. */
interface RunState {
  readonly sim: SimCluster
  readonly seeded: Array<SeededPod>
  /** Workflow names by group prefix, for their later completion. */
  readonly workflows: Map<string, Array<string>>
  /** Open partitions per node (they may overlap): heal when the last one ends. */
  readonly partitions: Map<string, number>
  readonly restarts: Array<Promise<unknown>>
  readonly restartErrors: Array<string>
  readonly injected: Record<FaultKind, number>
}

/** The plan as timed steps: pod waves, workflow completions, fault starts and their ends. */
const timeline = (state: RunState, plan: ChaosPlan): Array<Step> => {
  const { sim } = state
  const steps: Array<Step> = []
  for (const group of plan.groups) {
    if (group.at > 0) {
      steps.push({ at: group.at, run: () => void state.seeded.push(...seedGroup(sim, group, plan.nodes.length, state.workflows)) })
    }
    if (group.completeWorkflowsAt !== undefined) {
      steps.push({
        at: group.completeWorkflowsAt,
        run: () => {
          for (const wf of state.workflows.get(group.prefix) ?? []) sim.setWorkflowPhase(group.namespace, wf, "Succeeded")
        }
      })
    }
  }
  for (const fault of plan.faults) steps.push(...faultSteps(state, fault))
  // A stable sort: steps due at the same time run in plan order.
  return steps.sort((a, b) => a.at - b.at)
}

/** A fault's start (counted as injected when it runs) and, for time-boxed faults, its end. */
const faultSteps = (state: RunState, fault: PlannedFault): Array<Step> => {
  const { sim, partitions } = state
  const action = fault.action
  const start = (run: () => void): Step => ({
    at: fault.at,
    run: () => {
      run()
      state.injected[fault.kind]++
    }
  })
  const end = (run: () => void): Step => ({ at: fault.at + fault.durationMs, run })
  switch (action.type) {
    case "exec": {
      let id = ""
      return [
        start(() => void (id = sim.faults.exec({ node: action.node }, action.fault, { times: action.times }))),
        end(() => sim.faults.clear(id))
      ]
    }
    case "api": {
      let id = ""
      return [
        start(() => void (id = sim.faults.api(action.scope, action.fault, { times: action.times }))),
        end(() => sim.faults.clear(id))
      ]
    }
    case "watch":
      return [start(() => sim.faults.watch(action.fault, { resource: action.resource, next: action.next }))]
    case "partition":
      return [
        start(() => {
          partitions.set(action.node, (partitions.get(action.node) ?? 0) + 1)
          sim.partition(action.node)
        }),
        end(() => {
          const left = (partitions.get(action.node) ?? 1) - 1
          partitions.set(action.node, left)
          if (left <= 0) sim.heal(action.node)
        })
      ]
    case "restart":
      return [
        start(() =>
          void state.restarts.push(
            sim.restart({ downMs: action.downMs }).catch((e: unknown) => void state.restartErrors.push(String(e)))
          )
        )
      ]
  }
}

const sleepUntil = (clock: Clock.Clock, at: number) =>
  Effect.suspend(() => Effect.sleep(Duration.millis(Math.max(0, at - clock.currentTimeMillisUnsafe()))))

/** Polls `predicate` every 50 ms until it holds or `ms` pass; returns whether it held. */
const pollFor = (predicate: () => boolean, ms: number) =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const until = clock.currentTimeMillisUnsafe() + ms
    while (!predicate() && clock.currentTimeMillisUnsafe() < until) yield* Effect.sleep("50 millis")
    return predicate()
  })

/** A log file that is flushed and closed with the run's scope. */
const logFile = (path: string | undefined) =>
  path === undefined
    ? Effect.succeed(undefined)
    : Effect.acquireRelease(
      Effect.sync(() => createWriteStream(path)),
      (file) => Effect.promise(() => new Promise<void>((resolve) => file.end(() => resolve())))
    )

/** The chaos run as an Effect (`runChaos` is the Promise form). */
export const chaos = (options: ChaosOptions): Effect.Effect<ChaosReport> =>
  Effect.gen(function*() {
    const logLines: Record<string, number> = {}
    const file = yield* logFile(options.logFile)
    return yield* run(options, logLines).pipe(Effect.provide(Logger.layer([chaosLogger(logLines, file)])))
  }).pipe(Effect.scoped)

const run = (options: ChaosOptions, logLines: Readonly<Record<string, number>>): Effect.Effect<ChaosReport> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const startedAt = clock.currentTimeMillisUnsafe()
    const faultWindowMs = options.durationMs
    const settleMaxMs = options.settleMaxMs ?? Math.max(15_000, faultWindowMs)
    const plan = planChaos({
      seed: options.seed,
      pods: options.pods,
      nodes: options.nodes ?? 8,
      namespaces: options.namespaces ?? 4,
      faultWindowMs,
      faults: options.faults ?? Math.max(allFaultKinds.length + 3, Math.round(faultWindowMs / 1000)),
      initialShare: 0.4,
      waves: options.waves ?? 6
    })
    const progress = options.onProgress ?? (() => undefined)
    const watched = yield* watchProcess

    const sim = yield* Effect.acquireRelease(Effect.promise(() => SimCluster.start()), (s) => Effect.promise(() => s.close()))
    const execFaultsApplied: Record<string, number> = {}
    sim.events.on("exec-close", (info: ExecCloseInfo) => {
      if (info.fault !== undefined) execFaultsApplied[info.fault] = (execFaultsApplied[info.fault] ?? 0) + 1
    })
    const seeded: Array<SeededPod> = []
    const workflows = new Map<string, Array<string>>()
    for (const group of plan.groups) if (group.at === 0) seeded.push(...seedGroup(sim, group, plan.nodes.length, workflows))

    // ---- the service, in its own scope so it can be stopped (and timed) before the simulator
    const config = parseConfig([...chaosServiceArgs, ...(options.serviceArgs ?? [])], {})
    if (Result.isFailure(config)) return yield* Effect.die(new Error(`chaos: bad service config: ${config.failure.message}`))
    const loaded = yield* Effect.orDie(loadKubeConfig({ kubeconfig: sim.writeKubeconfig(), env: {} }))
    const serviceScope = yield* Scope.make()
    // Normally closed (and timed) below; this is for a run that ends early.
    yield* Effect.addFinalizer(() => Scope.close(serviceScope, Exit.void))
    const services = yield* Layer.buildWithScope(
      podCleanupCoreLayer(config.success).pipe(Layer.provide(KubeClient.fromLoaded(loaded))),
      serviceScope
    )
    const controller = Context.get(services, Controller)
    const outcomes = Context.get(services, Outcomes)
    yield* pollFor(() => controller.status().synced, 15_000)

    const livePod = (p: SeededPod) => sim.getPod(p.namespace, p.name)
    const ledger = () => buildLedger(seeded, livePod, (p) => outcomes.forPod(p.namespace, p.name))
    const statusLine = (phase: string, t0: number) => {
      const l = ledger()
      const s = controller.status()
      const q = s.queue
      return `[chaos ${phase} ${((clock.currentTimeMillisUnsafe() - t0) / 1000).toFixed(1)}s] pods ${seeded.length}/${options.pods}: ` +
        `cleaned ${l.cleaned}, accounted ${l.accounted}, not yet ${l.lost} | queue ${q ? `${q.ready}/${q.delayed}/${q.processing}` : "-"} ` +
        `(ready/delayed/running) | exec open ${sim.stats().execOpen} | ${s.alive ? "alive" : "NOT ALIVE"}`
    }

    // ---- the fault window
    const t0 = clock.currentTimeMillisUnsafe()
    const state: RunState = {
      sim,
      seeded,
      workflows,
      partitions: new Map(),
      restarts: [],
      restartErrors: [],
      injected: faultCounts([])
    }
    const steps = timeline(state, plan)
    const reporter = yield* Effect.forkChild(
      Effect.forever(Effect.andThen(Effect.sleep("5 seconds"), Effect.sync(() => progress(statusLine("faults", t0)))))
    )
    for (const step of steps) {
      yield* sleepUntil(clock, t0 + step.at)
      step.run()
    }
    yield* sleepUntil(clock, t0 + faultWindowMs)
    sim.faults.clear()
    for (const node of plan.nodes) sim.heal(node)
    yield* Effect.promise(() => Promise.all(state.restarts))

    // ---- settling: until nothing is lost and the engine is idle (twice in a row), or the bound
    const settleStart = clock.currentTimeMillisUnsafe()
    const quiet = () => {
      const l = ledger()
      const q = controller.status().queue
      if (l.lost > 0 || q === undefined || q.ready + q.processing > 0) return false
      return q.delayed === 0 || seeded.every((p) => isCleaned(p.expect, livePod(p)))
    }
    let converged = false
    let quietPolls = 0
    while (clock.currentTimeMillisUnsafe() - settleStart < settleMaxMs) {
      quietPolls = quiet() ? quietPolls + 1 : 0
      if (quietPolls >= 2) {
        converged = true
        break
      }
      yield* Effect.sleep("500 millis")
    }
    const settleMs = clock.currentTimeMillisUnsafe() - settleStart
    yield* Fiber.interrupt(reporter)
    progress(statusLine(converged ? "settled" : "settle bound reached", t0))

    const status = controller.status()
    yield* pollFor(() => sim.stats().execOpen === 0, 3_000)
    const execOpenAtEnd = sim.stats().execOpen
    const finalLedger = ledger()
    const outcomeCounts = outcomes.counts()

    // ---- stop the service; it must let go of every socket
    const stopStart = clock.currentTimeMillisUnsafe()
    const stopped = yield* Effect.timeoutOption(Scope.close(serviceScope, Exit.void), "30 seconds")
    const stopMs = stopped._tag === "Some" ? clock.currentTimeMillisUnsafe() - stopStart : undefined
    yield* pollFor(() => sim.stats().execOpen === 0 && sim.stats().watchOpen === 0, 3_000)
    const execOpenAfterStop = sim.stats().execOpen
    const watchOpenAfterStop = sim.stats().watchOpen
    // A rejection from the teardown surfaces a tick later.
    yield* Effect.sleep("100 millis")

    const errorAnswers: Record<string, number> = {}
    for (const entry of sim.requestLog) {
      if (entry.status >= 400) errorAnswers[entry.status] = (errorAnswers[entry.status] ?? 0) + 1
    }

    const failures: Array<string> = []
    if (finalLedger.lost > 0) failures.push(`${finalLedger.lost} pod(s) lost: neither cleaned nor given a failed/skipped outcome`)
    if (seeded.length !== options.pods) failures.push(`only ${seeded.length} of ${options.pods} pods were seeded`)
    if (execOpenAtEnd > 0) failures.push(`${execOpenAtEnd} exec socket(s) still open at the end of the settling period`)
    if (execOpenAfterStop > 0) failures.push(`${execOpenAfterStop} exec socket(s) still open after the service stopped`)
    if (watchOpenAfterStop > 0) failures.push(`${watchOpenAfterStop} watch(es) still open after the service stopped`)
    if (watched.seen.rejections.length > 0) failures.push(`${watched.seen.rejections.length} unhandled promise rejection(s)`)
    if (watched.seen.exceptions.length > 0) failures.push(`${watched.seen.exceptions.length} uncaught exception(s)`)
    if (!status.alive || !status.synced) {
      failures.push(`service unhealthy at the end of settling (alive ${status.alive}, synced ${status.synced}: ${status.detail.join("; ")})`)
    }
    if (stopMs === undefined) failures.push("the service did not stop within 30 s")
    for (const e of state.restartErrors) failures.push(`simulator restart failed: ${e}`)

    return {
      seed: options.seed,
      pods: seeded.length,
      nodes: plan.nodes.length,
      namespaces: plan.namespaces,
      planHash: plan.hash,
      faultWindowMs,
      faults: state.injected,
      faultsTotal: Object.values(state.injected).reduce((n, k) => n + k, 0),
      execFaultsApplied,
      errorAnswers,
      requests: sim.requestLog.length,
      restarts: state.restarts.length,
      ledger: finalLedger,
      outcomes: outcomeCounts,
      converged,
      settleMs,
      execOpenAtEnd,
      execOpenAfterStop,
      watchOpenAfterStop,
      unhandledRejections: [...watched.seen.rejections],
      uncaughtExceptions: [...watched.seen.exceptions],
      health: { alive: status.alive, synced: status.synced, leader: status.leader, detail: status.detail },
      stopMs,
      logLines,
      elapsedMs: clock.currentTimeMillisUnsafe() - startedAt,
      failures
    } satisfies ChaosReport
  }).pipe(Effect.scoped)

/**
 * Runs the chaos suite and resolves with its report (it never rejects for a failed invariant:
 * read `report.failures`).
 *
 * @example
 * const report = await runChaos({ seed: 42, pods: 150, durationMs: 8_000 })
 * if (report.failures.length > 0) console.error(report.failures.join("\n"))
 */
export const runChaos = (options: ChaosOptions): Promise<ChaosReport> => Effect.runPromise(chaos(options))
