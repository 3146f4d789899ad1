/**
 * The ledger: every action that enters the engine ends here with an outcome (done, skipped with a
 * reason, failed with a reason), so nothing is silently lost. It feeds `actions_total` and is what
 * tests, `pod-cleanup once` and the demo summary read. Memory is bounded: the latest outcome per
 * action key is kept for the most recent `capacity` keys.
 */
import { Context, Effect, Layer, Metric } from "effect"
import type { ActionName } from "../domain/Action.ts"
import { actionsTotal } from "./metrics.ts"

export type OutcomeKind = "done" | "skipped" | "failed"

export interface Outcome {
  readonly key: string
  readonly action: ActionName
  readonly namespace: string
  readonly pod: string
  readonly node?: string | undefined
  readonly kind: OutcomeKind
  readonly reason: string
  /** Attempts it took (requeues for an exec retry or a busy node count). */
  readonly attempts: number
  /** When it was recorded (epoch ms, from Clock). */
  readonly at: number
}

export class Outcomes extends Context.Service<Outcomes, {
  readonly record: (outcome: Outcome) => Effect.Effect<void>
  /** The latest outcome per action key, oldest first. */
  readonly all: () => ReadonlyArray<Outcome>
  readonly forPod: (namespace: string, pod: string) => ReadonlyArray<Outcome>
  readonly counts: () => Readonly<Record<OutcomeKind, number>>
}>()("pod-cleanup/Outcomes") {
  static readonly layerWith = (capacity = 200_000): Layer.Layer<Outcomes> =>
    Layer.sync(Outcomes, () => {
      const latest = new Map<string, Outcome>()
      const byPod = new Map<string, Set<string>>()
      const counts: Record<OutcomeKind, number> = { done: 0, skipped: 0, failed: 0 }
      const podKey = (namespace: string, pod: string) => `${namespace}/${pod}`
      return Outcomes.of({
        record: (outcome) =>
          Effect.flatMap(
            Effect.sync(() => {
              counts[outcome.kind]++
              latest.delete(outcome.key)
              latest.set(outcome.key, outcome)
              const pk = podKey(outcome.namespace, outcome.pod)
              let keys = byPod.get(pk)
              if (keys === undefined) byPod.set(pk, keys = new Set())
              keys.add(outcome.key)
              if (latest.size > capacity) {
                const oldest = latest.values().next().value!
                latest.delete(oldest.key)
                const opk = podKey(oldest.namespace, oldest.pod)
                byPod.get(opk)?.delete(oldest.key)
                if (byPod.get(opk)?.size === 0) byPod.delete(opk)
              }
            }),
            () => Metric.update(Metric.withAttributes(actionsTotal, { action: outcome.action, outcome: outcome.kind }), 1)
          ),
        all: () => [...latest.values()],
        forPod: (namespace, pod) =>
          [...(byPod.get(podKey(namespace, pod)) ?? [])].flatMap((k) => {
            const o = latest.get(k)
            return o === undefined ? [] : [o]
          }),
        counts: () => ({ ...counts })
      })
    })
  static readonly layer: Layer.Layer<Outcomes> = Outcomes.layerWith()
}
