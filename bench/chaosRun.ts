/**
 * The chaos run: the real service, in-process, against the simulated cluster over real sockets,
 * with the simulator's model of Argo's workflow-controller on (a record lag drawn from the seed),
 * while a seeded plan (chaosPlan.ts) adds pods in waves and throws every fault the simulator has
 * at it: exec faults, refused exec upgrades (429/503 with Retry-After), API errors and latency,
 * bursts of 503 on deletes, watch faults (bookmark-only watches included), expired continue
 * tokens in a relist, a partitioned node, server restarts, and pods re-created under the same name
 * between SIGTERM and SIGKILL. Besides the plan's pods, the run keeps a few hundred live pods
 * (main running, never to be touched; they also make every pod list span two pages).
 *
 * Then: the faults are cleared, the system settles (bounded), a quiet period follows (no fault,
 * no pod event at all: the watches must survive it), one more wave of pods arrives, and the
 * system settles again. The run demands convergence: every expected pod CLEANED (deleted or
 * labelled as its strategy says) and no pod harmed (chaosHarm.ts). It never hides a failure: an
 * uncleaned pod, a harmed one, a leaked socket, an unhandled rejection or a dead loop is reported
 * as such, with the seed to reproduce it.
 */
import { createWriteStream, type WriteStream } from "node:fs"
import { Clock, Context, Duration, Effect, Exit, Fiber, Layer, Logger, Result, Scope } from "effect"
import { Outcomes } from "../src/engine/Outcomes.ts"
import { KubeClient } from "../src/kube/KubeClient.ts"
import { loadKubeConfig } from "../src/kube/KubeConfigSource.ts"
import { parseConfig } from "../src/config/Config.ts"
import { Controller, type ControllerStatus } from "../src/controller/Controller.ts"
import { podCleanupCoreLayer } from "../src/controller/PodCleanup.ts"
import { podNode } from "@pod-cleanup/sim"
import type { ExecCloseInfo, RequestLogEntry } from "@pod-cleanup/sim"
import { argoNodeId, fnv32a, seedWorkflowPods, SimCluster } from "@pod-cleanup/sim"
import { type Harm, watchHarm } from "./chaosHarm.ts"
import { buildLedger, isCleaned, type Ledger, type SeededPod } from "./chaosLedger.ts"
import {
  allFaultKinds,
  type ChaosPlan,
  faultCounts,
  type FaultKind,
  planChaos,
  type PlannedFault,
  plannedPods,
  type PodGroup,
  timedFaultKinds
} from "./chaosPlan.ts"
import { type RecreateRecord, Recreator } from "./chaosRecreate.ts"

export interface ChaosOptions {
  readonly seed: number
  readonly pods: number
  /** The fault window (ms): faults happen inside it, pods arrive in its first 60 %. */
  readonly durationMs: number
  /**
   * The longest each settling period (after the window, after the quiet period) may take (ms).
   * Default 30 s + 2 resync periods: it covers a wedged watch (25 s), and a resync re-deciding
   * the pods whose actions were given up on during the faults.
   */
  readonly settleMaxMs?: number | undefined
  /** The quiet period after the first settling (ms). Default: drawn from the seed in 65..70 s; 0: none. */
  readonly quietMs?: number | undefined
  /** Default 8. */
  readonly nodes?: number | undefined
  /** Default 4. */
  readonly namespaces?: number | undefined
  /** Faults in total (every kind at least once). Default: one per second of the window, at least all kinds + 3. */
  readonly faults?: number | undefined
  /** Pod waves after the initial batch. Default 6. */
  readonly waves?: number | undefined
  /** Live pods (main running) that must never be touched. Default 520 (pod lists then take two pages of 500). */
  readonly livePods?: number | undefined
  /** Service args on top of the chaos defaults (`chaosServiceArgs`). */
  readonly serviceArgs?: ReadonlyArray<string> | undefined
  /** Write the service's log lines (logfmt) to this file. */
  readonly logFile?: string | undefined
  /** Called every few seconds with a one-line status (the CLI prints it to stderr). */
  readonly onProgress?: ((line: string) => void) | undefined
}

export interface ChaosReport {
  readonly seed: number
  /** Pods seeded by the plan (re-created incarnations not included): `requestedPods` and the re-creation victims. */
  readonly pods: number
  /** `options.pods` */
  readonly requestedPods: number
  readonly livePods: number
  readonly nodes: number
  readonly namespaces: ReadonlyArray<string>
  readonly planHash: string
  readonly faultWindowMs: number
  readonly argoRecordLagMs: number
  readonly resyncMs: number
  readonly serviceArgs: ReadonlyArray<string>
  /** Faults injected, by kind (counted as they were applied). */
  readonly faults: Readonly<Record<FaultKind, number>>
  readonly faultsTotal: number
  /** Exec connections the simulator faulted, by fault (partitions show as halfOpen). */
  readonly execFaultsApplied: Readonly<Record<string, number>>
  /** Error answers the simulator sent (injected and real ones), by HTTP status. */
  readonly errorAnswers: Readonly<Record<string, number>>
  /** Exec upgrades refused with 429 or 503. */
  readonly execRefused: number
  /** Pod deletes answered 503. */
  readonly deletes503: number
  /** Continue tokens expired as a relist's first page was answered, and next pages answered 410. */
  readonly continueExpiries: { readonly fired: number; readonly pages410: number }
  readonly requests: number
  readonly restarts: number
  readonly recreates: ReadonlyArray<RecreateRecord>
  readonly ledger: Ledger
  readonly harms: ReadonlyArray<Harm>
  /** "pod deleted" records the run caused itself (removing re-creation victims): not harm. */
  readonly harmsExcused: number
  readonly outcomes: Readonly<Record<"done" | "skipped" | "failed", number>>
  readonly converged: boolean
  /** After the window; after the quiet period. */
  readonly settleMs: { readonly first: number; readonly second: number }
  readonly settleMaxMs: number
  readonly quiet: {
    readonly ms: number
    /** Whether the first settling converged before the quiet period began. */
    readonly startedSettled: boolean
    /** Pod writes (create/update/patch/delete) and execs during the quiet period. */
    readonly podActivity: number
    readonly watchReopens: number
    readonly podsAfter: number
  }
  /** Exec sockets open on the simulator at the end of the settling period, and after the service stopped. */
  readonly execOpenAtEnd: number
  readonly execOpenAfterStop: number
  readonly watchOpenAfterStop: number
  readonly unhandledRejections: ReadonlyArray<string>
  readonly uncaughtExceptions: ReadonlyArray<string>
  readonly health: Pick<ControllerStatus, "alive" | "synced" | "leader" | "detail" | "waitingForArgo">
  /** How long closing the service's scope took; undefined if it did not finish within 30 s. */
  readonly stopMs: number | undefined
  readonly logLines: Readonly<Record<string, number>>
  readonly elapsedMs: number
  /** Failed invariants, one line each; empty = the run passed. */
  readonly failures: ReadonlyArray<string>
}

export const chaosServiceArgs: ReadonlyArray<string> = [
  "--no-leader-elect",
  "--exec-timeout",
  "1s",
  "--breaker-cooldown",
  "3s",
  "--resync-period",
  "10s"
]

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

/** Seeds one group; returns its pods. */
const seedGroup = (sim: SimCluster, group: PodGroup, nodes: number): Array<SeededPod> => {
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
  return result.pods.map((p) => ({
    namespace: group.namespace,
    name: p.metadata!.name!,
    node: p.spec!.nodeName!,
    expect: group.expect
  }))
}

/**
 * Live pods: `main` and `wait` running, in Running workflows (10 pods each) whose nodes are
 * Running: nothing may signal, label or delete them. Spread over the namespaces and nodes.
 */
const seedLivePods = (sim: SimCluster, count: number, plan: ChaosPlan): Set<string> => {
  const keys = new Set<string>()
  const perWorkflow = 10
  for (let w = 0; w * perWorkflow < count; w++) {
    const namespace = plan.namespaces[w % plan.namespaces.length]!
    const name = `live${w}`
    const now = new Date().toISOString()
    const steps = Array.from({ length: Math.min(perWorkflow, count - w * perWorkflow) }, (_, i) => {
      const nodeName = `${name}[${i}].main`
      return { nodeName, nodeId: argoNodeId(name, nodeName), pod: `${name}-main-${fnv32a(nodeName)}`, host: plan.nodes[(w + i) % plan.nodes.length]! }
    })
    const wf = sim.addWorkflow({
      namespace,
      name,
      phase: "Running",
      podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "0s" },
      nodes: Object.fromEntries(steps.map((s) => [s.nodeId, podNode(s.nodeId, s.nodeName, name, "Running", now)]))
    })
    const mount = [{ name: "var-run-argo", mountPath: "/var/run/argo" }]
    for (const s of steps) {
      keys.add(`${namespace}/${s.pod}`)
      sim.addPod({
        namespace,
        name: s.pod,
        nodeName: s.host,
        labels: { "workflows.argoproj.io/workflow": name, "workflows.argoproj.io/completed": "false" },
        annotations: {
          "workflows.argoproj.io/node-name": s.nodeName,
          "workflows.argoproj.io/node-id": s.nodeId,
          "workflows.argoproj.io/pod-gc-strategy": "OnPodCompletion/0s"
        },
        terminationGracePeriodSeconds: 2,
        ownerReferences: [{ apiVersion: "argoproj.io/v1alpha1", kind: "Workflow", name, uid: wf.metadata.uid, controller: true, blockOwnerDeletion: true }],
        containers: [
          { name: "wait", state: "running", volumeMounts: mount },
          { name: "main", state: "running", volumeMounts: mount }
        ]
      })
    }
  }
  return keys
}

interface Step {
  readonly at: number
  readonly run: () => void
}

/** What the timeline's steps act on and record. */
interface RunState {
  readonly sim: SimCluster
  readonly nodes: number
  readonly seeded: Array<SeededPod>
  readonly recreator: Recreator
  /** Open partitions per node (they may overlap): heal when the last one ends. */
  readonly partitions: Map<string, number>
  readonly restarts: Array<Promise<unknown>>
  readonly restartErrors: Array<string>
  readonly injected: Record<FaultKind, number>
  /** A "continue expired" fault is waiting for a relist's first page (Date.now() until which it waits; 0: not armed). */
  expireArmedUntil: number
  expiriesFired: number
}

/** The plan as timed steps: pod waves, fault starts and their ends. */
const timeline = (state: RunState, plan: ChaosPlan): Array<Step> => {
  const steps: Array<Step> = []
  for (const group of plan.groups) {
    if (group.at > 0) steps.push({ at: group.at, run: () => void state.seeded.push(...seedGroup(state.sim, group, state.nodes)) })
  }
  for (const fault of plan.faults) steps.push(...faultSteps(state, fault))
  // A stable sort: steps due at the same time run in plan order.
  return steps.sort((a, b) => a.at - b.at)
}

/** A fault's start (counted as injected when it runs) and, for time-boxed faults, its end. */
const faultSteps = (state: RunState, fault: PlannedFault): Array<Step> => {
  const { sim, partitions } = state
  const action = fault.action
  const start = (run: () => void, counted = true): Step => ({
    at: fault.at,
    run: () => {
      run()
      if (counted) state.injected[fault.kind]++
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
    case "recreate":
      // Counted when the pod is actually re-created (the service's SIGTERM decides when).
      return [start(() => void state.seeded.push(state.recreator.seed(action.spec)), false)]
    case "continueExpired":
      return [
        start(() => {
          // Armed until the end of the window: a silent or wedged pods watch ignores the gone,
          // so the next pods watch opened gets one too; the first relist that follows meets it.
          state.expireArmedUntil = Number.POSITIVE_INFINITY
          sim.faults.watch("gone", { resource: "pods", next: 1 })
          // A watch that ended cleanly in between (its server timeout) may have taken the pending
          // gone without a relist: ask again every 2 s until a relist meets the expiry.
          const rearm = setInterval(() => {
            if (state.expireArmedUntil !== Number.POSITIVE_INFINITY) return clearInterval(rearm)
            sim.faults.watch("gone", { resource: "pods", next: 1 })
          }, 2_000)
          rearm.unref()
        }, false)
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
    const plan = planChaos({
      seed: options.seed,
      pods: options.pods,
      nodes: options.nodes ?? 8,
      namespaces: options.namespaces ?? 4,
      faultWindowMs,
      faults: options.faults ?? Math.max(timedFaultKinds.length + 4, Math.round(faultWindowMs / 1000)),
      initialShare: 0.4,
      waves: options.waves ?? 6,
      quietMs: options.quietMs
    })
    const livePods = options.livePods ?? 520
    const progress = options.onProgress ?? (() => undefined)
    const watched = yield* watchProcess

    const serviceArgs = [...chaosServiceArgs, ...(options.serviceArgs ?? [])]
    const config = parseConfig(serviceArgs, {})
    if (Result.isFailure(config)) return yield* Effect.die(new Error(`chaos: bad service config: ${config.failure.message}`))
    const resyncMs = Duration.toMillis(config.success.resyncPeriod)
    const settleMaxMs = options.settleMaxMs ?? 30_000 + 2 * resyncMs

    const sim = yield* Effect.acquireRelease(
      Effect.promise(() => SimCluster.start({ argo: { recordLag: { minMs: 0, maxMs: plan.argoRecordLagMs }, seed: plan.seed } })),
      (s) => Effect.promise(() => s.close())
    )
    const execFaultsApplied: Record<string, number> = {}
    sim.events.on("exec-close", (info: ExecCloseInfo) => {
      if (info.fault !== undefined) execFaultsApplied[info.fault] = (execFaultsApplied[info.fault] ?? 0) + 1
    })
    const seeded: Array<SeededPod> = []
    const recreator = new Recreator(sim, plan.nodes.length, (record, replacement) => {
      for (const p of seeded) {
        if (p.namespace === record.namespace && p.name === record.pod && p.uid === record.oldUid) p.replaced = true
      }
      seeded.push(replacement)
      state.injected["pod recreate"]++
    })
    let t0 = clock.currentTimeMillisUnsafe()
    const live = new Set<string>()
    const harm = watchHarm(sim, {
      liveAt: (namespace, pod, at) => recreator.liveAt(namespace, pod, at) || live.has(`${namespace}/${pod}`),
      harnessCaused: (record) => recreator.harnessDeleted(record),
      t0: () => t0
    })
    const state: RunState = {
      sim,
      nodes: plan.nodes.length,
      seeded,
      recreator,
      partitions: new Map(),
      restarts: [],
      restartErrors: [],
      injected: faultCounts([]),
      expireArmedUntil: 0,
      expiriesFired: 0
    }
    // "continue expired": the relist's first page of pods is answered, then every token expires.
    sim.events.on("request", (entry: RequestLogEntry) => {
      if (entry.verb !== "list" || entry.resource !== "pods" || entry.status !== 200 || Date.now() > state.expireArmedUntil) return
      state.expireArmedUntil = 0
      sim.expireContinueTokens()
      state.expiriesFired++
      state.injected["continue expired"]++
    })
    for (const key of seedLivePods(sim, livePods, plan)) live.add(key)
    for (const group of plan.groups) if (group.at === 0) seeded.push(...seedGroup(sim, group, plan.nodes.length))

    // ---- the service, in its own scope so it can be stopped (and timed) before the simulator
    const loaded = yield* Effect.orDie(loadKubeConfig({ kubeconfig: sim.writeKubeconfig(), env: {} }))
    const serviceScope = yield* Scope.make()
    // Normally closed (and timed) below; this is for a run that ends early.
    yield* Effect.addFinalizer(() => Scope.close(serviceScope, Exit.void))
    const services = yield* Layer.buildWithScope(
      podCleanupCoreLayer(config.success).pipe(Layer.provide(KubeClient.layerFromLoaded(loaded))),
      serviceScope
    )
    const controller = Context.get(services, Controller)
    const outcomes = Context.get(services, Outcomes)
    yield* pollFor(() => controller.status().synced, 15_000)

    const livePod = (p: SeededPod) => sim.getPod(p.namespace, p.name)
    const ledger = () => buildLedger(seeded, livePod, (p) => outcomes.forPod(p.namespace, p.name))
    const statusLine = (phase: string) => {
      const l = ledger()
      const s = controller.status()
      const q = s.queue
      return `[chaos ${phase} ${((clock.currentTimeMillisUnsafe() - t0) / 1000).toFixed(1)}s] pods cleaned ${l.cleaned}/${l.expected}` +
        ` (seeded ${seeded.filter((p) => p.replaced !== true).length}/${plannedPods(plan)}), waiting for Argo ${s.waitingForArgo}, harmed ${harm.all().length}` +
        ` | queue ${q ? `${q.ready}/${q.delayed}/${q.processing}` : "-"} (ready/delayed/running) | exec open ${sim.stats().execOpen}` +
        ` | ${s.alive ? "alive" : "NOT ALIVE"}`
    }

    // ---- the fault window
    t0 = clock.currentTimeMillisUnsafe()
    const steps = timeline(state, plan)
    let phase = "faults"
    const reporter = yield* Effect.forkChild(
      Effect.forever(Effect.andThen(Effect.sleep("5 seconds"), Effect.sync(() => progress(statusLine(phase)))))
    )
    for (const step of steps) {
      yield* sleepUntil(clock, t0 + step.at)
      step.run()
    }
    yield* sleepUntil(clock, t0 + faultWindowMs)
    sim.faults.clear()
    for (const node of plan.nodes) sim.heal(node)
    recreator.endWindow()
    state.expireArmedUntil = 0
    yield* Effect.promise(() => Promise.all(state.restarts))

    // ---- settling: until every pod is cleaned and the engine is idle (twice in a row), or the bound
    const settle = Effect.gen(function*() {
      const settleStart = clock.currentTimeMillisUnsafe()
      const done = () => {
        const q = controller.status().queue
        return q !== undefined && q.ready + q.processing === 0 && seeded.every((p) => p.replaced === true || isCleaned(p, livePod(p)))
      }
      let polls = 0
      while (clock.currentTimeMillisUnsafe() - settleStart < settleMaxMs) {
        polls = done() ? polls + 1 : 0
        if (polls >= 2) return { converged: true, ms: clock.currentTimeMillisUnsafe() - settleStart }
        yield* Effect.sleep("500 millis")
      }
      return { converged: false, ms: clock.currentTimeMillisUnsafe() - settleStart }
    })
    phase = "settling"
    const first = yield* settle
    progress(statusLine(first.converged ? "settled" : "settle bound reached"))

    // ---- the quiet period: no fault, no pod event; then the last wave
    let podActivity = 0
    let watchReopens = 0
    const countActivity = (entry: RequestLogEntry) => {
      if (entry.resource === "pods" && ["create", "update", "patch", "delete", "exec"].includes(entry.verb)) podActivity++
    }
    const countReopen = () => void watchReopens++
    let second = { converged: true, ms: 0 }
    if (plan.quiet.ms > 0) {
      phase = "quiet"
      sim.events.on("request", countActivity)
      sim.events.on("watch-open", countReopen)
      yield* Effect.sleep(Duration.millis(plan.quiet.ms))
      sim.events.off("request", countActivity)
      sim.events.off("watch-open", countReopen)
      state.injected.quiet++
      for (const group of plan.quiet.groups) seeded.push(...seedGroup(sim, group, plan.nodes.length))
      phase = "settling after quiet"
      second = yield* settle
      progress(statusLine(second.converged ? "settled" : "settle bound reached"))
    }
    const converged = first.converged && second.converged
    recreator.close()
    yield* Fiber.interrupt(reporter)

    const status = controller.status()
    yield* pollFor(() => sim.stats().execOpen === 0, 3_000)
    const execOpenAtEnd = sim.stats().execOpen
    const finalLedger = ledger()
    const outcomeCounts = outcomes.counts()
    const harms = harm.all()

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
    let execRefused = 0
    let deletes503 = 0
    let pages410 = 0
    for (const entry of sim.requestLog) {
      if (entry.status >= 400) errorAnswers[entry.status] = (errorAnswers[entry.status] ?? 0) + 1
      if (entry.verb === "exec" && (entry.status === 429 || entry.status === 503)) execRefused++
      if (entry.verb === "delete" && entry.resource === "pods" && entry.status === 503) deletes503++
      if (entry.verb === "list" && entry.resource === "pods" && entry.status === 410) pages410++
    }

    const pods = seeded.filter((p) => p.uid === undefined || !recreator.records.some((r) => r.newUid === p.uid)).length
    const failures: Array<string> = []
    if (finalLedger.cleaned !== finalLedger.expected) {
      failures.push(`${finalLedger.expected - finalLedger.cleaned} of ${finalLedger.expected} pod(s) not cleaned after settling`)
    }
    if (harms.length > 0) {
      const counts = new Map<string, number>()
      for (const h of harms) counts.set(h.kind, (counts.get(h.kind) ?? 0) + 1)
      failures.push(`${harms.length} pod(s) harmed (${[...counts].map(([k, n]) => `${k} ${n}`).join(", ")})`)
    }
    if (pods !== plannedPods(plan)) failures.push(`only ${pods} of ${plannedPods(plan)} pods were seeded`)
    for (const kind of allFaultKinds) {
      if (state.injected[kind] === 0) failures.push(`fault "${kind}" was never injected`)
    }
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
      pods,
      requestedPods: options.pods,
      livePods,
      nodes: plan.nodes.length,
      namespaces: plan.namespaces,
      planHash: plan.hash,
      faultWindowMs,
      argoRecordLagMs: plan.argoRecordLagMs,
      resyncMs,
      serviceArgs,
      faults: state.injected,
      faultsTotal: Object.values(state.injected).reduce((n, k) => n + k, 0),
      execFaultsApplied,
      errorAnswers,
      execRefused,
      deletes503,
      continueExpiries: { fired: state.expiriesFired, pages410 },
      requests: sim.requestLog.length,
      restarts: state.restarts.length,
      recreates: recreator.records,
      ledger: finalLedger,
      harms,
      harmsExcused: harm.excused(),
      outcomes: outcomeCounts,
      converged,
      settleMs: { first: first.ms, second: second.ms },
      settleMaxMs,
      quiet: {
        ms: plan.quiet.ms,
        startedSettled: first.converged,
        podActivity,
        watchReopens,
        podsAfter: plan.quiet.groups.reduce((n, g) => n + g.pods, 0)
      },
      execOpenAtEnd,
      execOpenAfterStop,
      watchOpenAfterStop,
      unhandledRejections: [...watched.seen.rejections],
      uncaughtExceptions: [...watched.seen.exceptions],
      health: { alive: status.alive, synced: status.synced, leader: status.leader, detail: status.detail, waitingForArgo: status.waitingForArgo },
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
