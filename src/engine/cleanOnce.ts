/**
 * The one-shot pass (`pod-cleanup once`): decide for each given pod with a bounded
 * `Effect.forEach`, let the engine's worker pool run what was queued (follow-ups and delays
 * included), and return the plans and the outcomes of every action that ran.
 */
import { Effect } from "effect"
import { Engine, type PlanResult } from "./Engine.ts"
import { EngineConfig } from "./EngineSettings.ts"
import { type Outcome, Outcomes } from "./Outcomes.ts"

export interface OnceReport {
  readonly plans: ReadonlyArray<PlanResult>
  readonly outcomes: ReadonlyArray<Outcome>
}

export const cleanOnce = Effect.fn("cleanOnce")(function*(pods: ReadonlyArray<unknown>) {
  const engine = yield* Engine
  const settings = yield* EngineConfig
  const outcomes = yield* Outcomes
  const plans = yield* Effect.forEach(pods, (pod) => engine.reconcile(pod), { concurrency: Math.max(1, settings.workers) })
  yield* engine.awaitIdle
  const touched = new Set(plans.map((p) => `${p.namespace}/${p.pod}`))
  return {
    plans,
    outcomes: outcomes.all().filter((o) => touched.has(`${o.namespace}/${o.pod}`))
  } satisfies OnceReport
})
