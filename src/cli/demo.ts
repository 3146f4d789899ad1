/**
 * `pod-cleanup demo`: the real service against the built-in simulated cluster, over real sockets.
 * A few hundred finished workflow pods on six nodes; node-4 is partitioned (every exec hangs
 * half-open) and node-5 is slow; a model of Argo's workflow-controller records each pod's node up
 * to 2 s after the pod ends, and marks a node "pod deleted" if its pod is taken away before that.
 * It shows live progress, prints the /metrics URL, and ends on its own with a per-node summary once
 * every pod is cleaned or accounted for, and the count of workflow nodes harmed (it must be 0).
 */
import { Clock, Context, Duration, Effect, Fiber, Layer, Metric, Scope } from "effect"
import { HttpServer } from "effect/http"
import { breakerTransitions, execTimeouts } from "../metrics.ts"
import { Outcomes } from "../engine/Outcomes.ts"
import { KubeClient } from "../kube/KubeClient.ts"
import { loadKubeConfig } from "../kube/KubeConfigSource.ts"
import type { ServiceConfig } from "../config/Config.ts"
import { Controller } from "../controller/Controller.ts"
import { podCleanupLayer } from "../controller/PodCleanup.ts"
import { seedWorkflowPods, SimCluster } from "@pod-cleanup/sim"
import { fitSegments, progressLoop, terminalColumns } from "./progress.ts"
import { defaultDemoOptions, type DemoOptions } from "./demoOptions.ts"
import { formatReasons, topReasons } from "./report.ts"

interface NodeRow {
  pods: number
  cleaned: number
  accounted: number
}

/** What the demo's progress line shows. */
export interface DemoProgress {
  readonly elapsedMs: number
  readonly cleaned: number
  readonly total: number
  readonly done: number
  readonly skipped: number
  readonly failed: number
  /** Actions ready to run or running. */
  readonly ready: number
  /** Actions due later (grace periods, delete delays, backoffs, busy nodes). */
  readonly delayed: number
  readonly waitingForArgo: number
}

/**
 * The progress line, for a terminal `columns` wide: the most important parts first, and the parts
 * that do not fit left out (80 columns show the first three). Pure.
 */
export const demoProgressLine = (p: DemoProgress, columns: number): string =>
  fitSegments([
    `${(p.elapsedMs / 1000).toFixed(1)}s cleaned ${p.cleaned}/${p.total}`,
    `done ${p.done} skipped ${p.skipped} failed ${p.failed}`,
    `queue ${p.ready} later ${p.delayed}`,
    `${p.waitingForArgo} waiting for Argo`
  ], columns)

export const runDemo = (config: ServiceConfig, options: DemoOptions = defaultDemoOptions) =>
  Effect.gen(function*() {
    const sim = yield* Effect.acquireRelease(
      Effect.promise(() => SimCluster.start({ argo: { recordLag: { minMs: 200, maxMs: 2_000 } } })),
      (s) => Effect.promise(() => s.close())
    )
    // Running workflows: Argo records each pod's node only after the pod has ended.
    const deleted = seedWorkflowPods(sim, {
      pods: Math.ceil((options.pods * 2) / 3),
      nodes: options.nodes,
      namespace: "argo",
      podGCStrategy: "OnPodCompletion",
      workflowPrefix: "etl",
      workflowPhase: "Running"
    })
    const labelled = seedWorkflowPods(sim, {
      pods: Math.floor(options.pods / 3),
      nodes: options.nodes,
      namespace: "argo",
      podGCStrategy: "",
      workflowPrefix: "report",
      workflowPhase: "Running"
    })
    sim.partition(options.partitioned)
    sim.faults.exec({ node: options.slow }, { kind: "slow", delayMs: 200 })
    const seeded = [...deleted.pods, ...labelled.pods].map((p) => ({
      name: p.metadata!.name!,
      node: p.spec!.nodeName!,
      deletes: p.metadata!.name!.startsWith("etl")
    }))

    const loaded = yield* loadKubeConfig({ kubeconfig: sim.writeKubeconfig(), env: {} })
    const scope = yield* Scope.Scope
    const clock = yield* Clock.Clock
    const services = yield* Layer.buildWithScope(
      podCleanupLayer(config).pipe(
        Layer.provide(KubeClient.layerFromLoaded(loaded)),
        // The summary reads every pod's outcomes.
        Layer.provide(Layer.succeed(Outcomes.Capacity, Math.max(Outcomes.defaultCapacity, 8 * options.pods)))
      ),
      scope
    )
    const outcomes = Context.get(services, Outcomes)
    const controller = Context.get(services, Controller)
    const address = Context.get(services, HttpServer.HttpServer).address
    const port = address._tag === "UnixPathAddress" ? 0 : address.port
    process.stderr.write(
      `pod-cleanup demo: ${seeded.length} finished workflow pods on ${options.nodes} nodes; ` +
        `${options.partitioned} is partitioned (execs hang half-open), ${options.slow} is slow.\n` +
        `simulated API server: ${sim.url}\nmetrics while it runs: http://127.0.0.1:${port}/metrics\n` +
        `exec timeout ${Duration.format(config.engine.execTimeout)}, ${config.engine.workers} workers\n\n`
    )

    const tally = () => {
      const rows = new Map<string, NodeRow>()
      for (const pod of seeded) {
        const row = rows.get(pod.node) ?? { pods: 0, cleaned: 0, accounted: 0 }
        rows.set(pod.node, row)
        row.pods++
        const live = sim.getPod("argo", pod.name)
        const cleaned = pod.deletes ? live === undefined : live?.metadata?.labels?.["workflows.argoproj.io/completed"] === "true"
        if (cleaned) row.cleaned++
        const recorded = outcomes.forPod("argo", pod.name).some((o) => o.action === "terminateContainers" && o.kind !== "done")
        if (cleaned || recorded) row.accounted++
      }
      return rows
    }
    const start = yield* Clock.currentTimeMillis
    const progress = yield* Effect.forkChild(progressLoop((columns) => {
      const rows = [...tally().values()]
      const s = controller.status()
      return demoProgressLine({
        elapsedMs: clock.currentTimeMillisUnsafe() - start,
        cleaned: rows.reduce((n, r) => n + r.cleaned, 0),
        total: rows.reduce((n, r) => n + r.pods, 0),
        ...outcomes.counts(),
        ready: s.queue ? s.queue.ready + s.queue.processing : 0,
        delayed: s.queue?.delayed ?? 0,
        waitingForArgo: s.waitingForArgo
      }, columns)
    }, { interval: Duration.millis(500) }))

    const finished = () => [...tally().values()].every((r) => r.accounted === r.pods)
    const completed = yield* Effect.gen(function*() {
      while (!finished()) yield* Effect.sleep("200 millis")
      return true
    }).pipe(Effect.timeoutOrElse({ duration: options.deadline, orElse: () => Effect.succeed(false) }))
    yield* Fiber.interrupt(progress)
    const elapsed = (yield* Clock.currentTimeMillis) - start

    const rows = tally()
    const lines: Array<string> = [
      "",
      `${completed ? "done" : "stopped at the deadline"} in ${(elapsed / 1000).toFixed(1)} s`,
      "",
      "NODE     PODS  CLEANED  EXEC-TIMEOUTS  BREAKER-OPENINGS  NOTE"
    ]
    for (const [node, row] of [...rows].sort(([a], [b]) => a.localeCompare(b))) {
      let timeouts = 0
      for (const phase of ["handshake", "stream"]) {
        timeouts += (yield* Metric.value(Metric.withAttributes(execTimeouts, { phase, node }))).count
      }
      const openings = (yield* Metric.value(Metric.withAttributes(breakerTransitions, { node, transition: "opened" }))).count +
        (yield* Metric.value(Metric.withAttributes(breakerTransitions, { node, transition: "reopened" }))).count
      const note = node === options.partitioned ? "partitioned: every pod has a recorded reason" : node === options.slow ? "slow exec" : ""
      lines.push(
        `${node.padEnd(8)} ${String(row.pods).padStart(4)}  ${String(row.cleaned).padStart(7)}  ${String(timeouts).padStart(13)}  ${
          String(openings).padStart(16)
        }  ${note}`
      )
    }
    const c = outcomes.counts()
    const harmed = sim.argo?.podDeleted.length ?? 0
    lines.push(
      "",
      `actions: ${c.done} done, ${c.skipped} skipped, ${c.failed} failed; open exec sockets: ${sim.stats().execOpen}`,
      `workflow nodes marked 'pod deleted': ${harmed}`,
      "",
      ...formatReasons(
        topReasons(outcomes.all()),
        outcomes.all().filter((o) => o.kind !== "done").length,
        process.stdout.isTTY ? terminalColumns(process.stdout) : Number.POSITIVE_INFINITY
      )
    )
    process.stdout.write(lines.join("\n") + "\n")
    const healthyCleaned = harmed === 0 && [...rows].every(([node, r]) => node === options.partitioned || r.cleaned === r.pods)
    return { completed, healthyCleaned, harmed, elapsedMs: elapsed }
  })
