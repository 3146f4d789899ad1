/**
 * `pod-cleanup once`: one pass over the pods that exist now. With `--dry-run` it only prints what
 * the policy would do (nothing is changed); otherwise the engine does it and the outcomes are
 * printed. Exits non-zero when any action failed.
 */
import type * as k8s from "@kubernetes/client-node"
import { Effect, Fiber, Layer } from "effect"
import { Engine } from "../engine/Engine.ts"
import { engineLayer } from "../engine/layers.ts"
import { cleanOnce } from "../engine/once.ts"
import { Outcomes } from "../engine/Outcomes.ts"
import { KubeClient } from "../kube/KubeClient.ts"
import type { LoadedKubeConfig } from "../kube/KubeConfigSource.ts"
import { PodApi } from "../kube/PodApi.ts"
import type { ServiceConfig } from "../service/Config.ts"
import { progressLoop } from "./progress.ts"
import { formatJson, formatTable, outcomeRows, plannedRows, type ReportRow } from "./report.ts"

export interface OnceOptions {
  readonly dryRun: boolean
  readonly output: "table" | "json"
}

/** Every pod matching the selector, in the configured namespaces (all when none), page by page. */
export const listAllPods = (namespaces: ReadonlyArray<string>, labelSelector: string) =>
  Effect.gen(function*() {
    const pods = yield* PodApi
    const all: Array<k8s.V1Pod> = []
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

/** Runs the pass; returns the printed report and whether anything failed. */
export const runOnce = (config: ServiceConfig, loaded: LoadedKubeConfig, options: OnceOptions) =>
  Effect.gen(function*() {
    const pods = yield* listAllPods(config.namespaces, config.labelSelector)
    yield* Effect.logInfo(`${pods.length} pods match ${JSON.stringify(config.labelSelector)}`)
    let rows: ReadonlyArray<ReportRow>
    if (options.dryRun) {
      const engine = yield* Engine
      rows = plannedRows(yield* Effect.forEach(pods, (p) => engine.plan(p), { concurrency: config.engine.workers }))
    } else {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      const progress = yield* Effect.forkChild(progressLoop(() => {
        const c = outcomes.counts()
        const d = engine.depth()
        return `pods ${pods.length} | done ${c.done} skipped ${c.skipped} failed ${c.failed} | queue ready ${d.ready} delayed ${d.delayed} running ${d.processing}`
      }))
      const report = yield* cleanOnce(pods)
      yield* Fiber.interrupt(progress)
      rows = [...plannedRows(report.plans).filter((r) => r.outcome === "skipped"), ...outcomeRows(report.outcomes)]
    }
    const text = options.output === "json" ? formatJson(rows) : formatTable(rows)
    const failed = rows.filter((r) => r.outcome === "failed").length
    return { text, failed, rows }
  }).pipe(
    Effect.provide(
      engineLayer(config.engine, { reconcileAfterKill: true, advanceKillOnStop: true }).pipe(
        Layer.provideMerge(KubeClient.fromLoaded(loaded))
      )
    )
  )
