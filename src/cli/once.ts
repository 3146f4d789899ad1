/**
 * `pod-cleanup once`: one pass over the pods that exist now. It runs the same controller as the
 * service (informers, the engine, Argo's recorded-node gate, follow-ups from the pod watch), with
 * leadership always held, restricted to the pods listed at the start, until each of them is
 * settled (gone, nothing left to do, or an outcome after its last decision) or the deadline
 * passes. `--dry-run` only prints what the decision is for each pod now (nothing is changed).
 * Exits non-zero when any action failed or the deadline passed with pods unsettled.
 */
import { Clock, Context, Duration, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { Engine, type PlanResult } from "../engine/Engine.ts"
import { NodeGuard } from "../engine/NodeGuard.ts"
import { Outcomes } from "../engine/Outcomes.ts"
import { KubeClient } from "../kube/KubeClient.ts"
import type { LoadedKubeConfig } from "../kube/KubeConfigSource.ts"
import { PodApi, type PodObject } from "../kube/PodApi.ts"
import type { ServiceConfig } from "../config/Config.ts"
import { Controller } from "../controller/Controller.ts"
import { podCleanupCoreLayer } from "../controller/PodCleanup.ts"
import { progressLoop } from "./progress.ts"
import { formatJson, formatTable, outcomeRows, plannedRows, type ReportRow } from "./report.ts"

export interface OnceOptions {
  readonly dryRun: boolean
  readonly output: "table" | "json"
  /** The whole pass's deadline (default 10 minutes). */
  readonly timeout?: Duration.Duration | undefined
}

/** Every pod matching the selector, in the configured namespaces (all when none), page by page. */
export const listAllPods = (namespaces: ReadonlyArray<string>, labelSelector: string) =>
  Effect.gen(function*() {
    const pods = yield* PodApi
    const all: Array<PodObject> = []
    for (const namespace of namespaces.length === 0 ? [undefined] : namespaces) {
      let cont: string | undefined
      do {
        const page = yield* pods.list({ namespace, labelSelector, limit: 500, continue: cont })
        all.push(...page.items)
        cont = page.continue
      } while (cont !== undefined)
    }
    return all
  })

const keyOf = (pod: PodObject) => `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`

/** What the dry run prints: the decision for each listed pod, with workflows read from the API. */
const dryRun = (config: ServiceConfig, loaded: LoadedKubeConfig) =>
  Effect.gen(function*() {
    const pods = yield* listAllPods(config.namespaces, config.labelSelector)
    yield* Effect.logInfo(`${pods.length} pods match ${JSON.stringify(config.labelSelector)}`)
    const engine = yield* Engine
    return plannedRows(yield* Effect.forEach(pods, (p) => engine.plan(p), { concurrency: config.engine.workers }))
  }).pipe(Effect.provide(Engine.layerStandalone(config.engine).pipe(Layer.provideMerge(KubeClient.layerFromLoaded(loaded)))))

/** The pass itself: the controller over the listed pods until each is settled or the deadline. */
const clean = (config: ServiceConfig, loaded: LoadedKubeConfig, timeout: Duration.Duration) =>
  Effect.gen(function*() {
    const client = Layer.fresh(KubeClient.layerFromLoaded(loaded))
    const pods = yield* listAllPods(config.namespaces, config.labelSelector).pipe(
      Effect.provide(PodApi.layer.pipe(Layer.provide(client)))
    )
    yield* Effect.logInfo(`${pods.length} pods match ${JSON.stringify(config.labelSelector)}`)
    const keys = new Set(pods.map(keyOf))
    /** The latest decision per pod and when it was made (an outcome after it settles the pod). */
    const decided = new Map<string, { readonly result: PlanResult; readonly at: number }>()
    const clock = yield* Clock.Clock
    const scope = yield* Scope.make()
    const services = yield* Layer.buildWithScope(
      podCleanupCoreLayer(
        { ...config, leaderElection: { ...config.leaderElection, enabled: false } },
        {
          podFilter: (key) => keys.has(key),
          onDecision: (result) => void decided.set(`${result.namespace}/${result.pod}`, { result, at: clock.currentTimeMillisUnsafe() })
        }
      ).pipe(
        Layer.provide(client),
        // The pass reads the outcomes of all its pods: keep them (about 4 actions a pod).
        Layer.provide(Layer.succeed(Outcomes.Capacity, Math.max(Outcomes.defaultCapacity, 8 * keys.size)))
      ),
      scope
    )
    const controller = Context.get(services, Controller)
    const outcomes = Context.get(services, Outcomes)
    const guard = Context.get(services, NodeGuard)

    const unsettled = (): ReadonlyArray<string> => {
      const engine = controller.engine()
      if (engine === undefined || !controller.status().synced) return [...keys]
      const active = engine.activePods()
      const out: Array<string> = []
      for (const key of keys) {
        const last = decided.get(key)
        if (last === undefined) {
          // Never decided: settled only once the informer no longer holds it (gone, or labelled
          // and so out of the selector).
          if (controller.knowsPod(key)) out.push(key)
          continue
        }
        if (active.has(key) || engine.waiting().has(key)) {
          out.push(key)
          continue
        }
        const d = last.result.decision
        if (d._tag === "Skip" || d._tag === "Malformed" || !controller.knowsPod(key)) continue
        const [namespace, name] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)]
        const after = outcomes.forPod(namespace, name).some((o) => o.at >= last.at)
        if (!after) out.push(key)
      }
      return out
    }

    const progress = yield* Effect.forkChild(progressLoop(() => {
      const c = outcomes.counts()
      const s = controller.status()
      const left = unsettled().length
      const waiting = s.waitingForArgo
      const d = s.queue
      const open = [...guard.breakerStates()].filter(([, b]) => b._tag !== "Closed").map(([node]) => node)
      const why = [
        waiting > 0 ? `${waiting} waiting for Argo to record their node` : "",
        open.length > 0 ? `exec breaker open on ${open.slice(0, 3).join(", ")}${open.length > 3 ? ` and ${open.length - 3} more` : ""} (waiting for its cooldown)` : "",
        d !== undefined && d.delayed > 0 ? `${d.delayed} actions due later (grace periods, delete delays, backoffs, busy or open-breaker nodes)` : ""
      ].filter((x) => x !== "").join("; ")
      return `pods ${keys.size}, ${left} not settled | done ${c.done} skipped ${c.skipped} failed ${c.failed}${why ? ` | ${why}` : ""}`
    }))
    const settled = yield* Effect.gen(function*() {
      // Two quiet looks in a row: a watch event that just arrived gets its chance to be decided.
      let quiet = 0
      while (quiet < 2) {
        yield* Effect.sleep("250 millis")
        quiet = unsettled().length === 0 ? quiet + 1 : 0
      }
      return true
    }).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.succeed(false) }))
    yield* Fiber.interrupt(progress)

    const left = unsettled()
    const touched = (o: { readonly namespace: string; readonly pod: string }) => keys.has(`${o.namespace}/${o.pod}`)
    const waitingRows: Array<ReportRow> = []
    const engine = controller.engine()
    for (const key of left) {
      const reason = engine?.waiting().get(key)
      if (reason === undefined) continue
      const slash = key.indexOf("/")
      waitingRows.push({ namespace: key.slice(0, slash), pod: key.slice(slash + 1), action: "-", reason, outcome: "waiting" })
    }
    const skipped = plannedRows([...decided.values()].map((d) => d.result)).filter((r) => r.outcome === "skipped")
    const rows = [...skipped, ...outcomeRows(outcomes.all().filter(touched)), ...waitingRows]
    yield* Scope.close(scope, Exit.void)
    if (!settled) {
      yield* Effect.logWarning(`once: ${left.length} of ${keys.size} pods not settled within ${Duration.format(timeout)}`)
    }
    return { rows, timedOut: !settled, unsettled: left.length }
  })

/** Runs the pass; returns the printed report and whether anything failed. */
export const runOnce = (config: ServiceConfig, loaded: LoadedKubeConfig, options: OnceOptions) =>
  Effect.gen(function*() {
    const timeout = options.timeout ?? Duration.minutes(10)
    const { rows, timedOut } = options.dryRun
      ? { rows: yield* dryRun(config, loaded), timedOut: false }
      : yield* clean(config, loaded, timeout)
    const text = options.output === "json" ? formatJson(rows) : formatTable(rows)
    const failed = rows.filter((r) => r.outcome === "failed").length
    return { text, failed, rows, timedOut }
  })
