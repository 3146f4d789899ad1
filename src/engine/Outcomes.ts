/**
 * The ledger: every action that enters the engine ends here with an outcome (done, skipped with a
 * reason, failed with a reason), so nothing is silently lost. It feeds `actions_total` and keeps
 * per-kind counts for the life of the process; it also keeps the latest outcome per action key for
 * the most recent `capacity` keys, which is what tests, `pod-cleanup once`, the demo summary and
 * the chaos suite read (`all`, `forPod`).
 *
 * Memory is bounded by what is used: the long-running service reads only the counts (metrics come
 * from `actions_total`), so by default only the last {@link Outcomes.defaultCapacity} outcomes are
 * kept, for debugging (about 0.5 KiB of heap each, measured: about 2.5 MiB; the old default of
 * 200 000 held about 100 MiB that nothing read). A caller that reads outcomes of more
 * actions than that asks for more: `Outcomes.layer(n)`, or, without rebuilding the layers it
 * gets from `Engine.layerServices`, by providing `Outcomes.Capacity`, e.g.
 * `layer.pipe(Layer.provide(Layer.succeed(Outcomes.Capacity, 4 * pods)))`
 * (`once`: its pass's pods × the actions a pod can have; chaos and the demo: their seeded pods).
 */
import { Context, Effect, Layer, Metric } from "effect"
import type { ActionName } from "../domain/Action.ts"
import { actionsTotalOf } from "../metrics.ts"

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

/** Latest outcomes kept when nobody asks for more: enough to debug the last minutes of a busy service. */
const defaultCapacity = 5_000

/**
 * How many action keys the ledger keeps the latest outcome of, read when `Outcomes.layer()` is built.
 * Provide it (`Layer.succeed(Outcomes.Capacity, n)`) to keep more.
 */
const Capacity = Context.Reference<number>("pod-cleanup/Outcomes/Capacity", { defaultValue: () => defaultCapacity })

const podKey = (namespace: string, pod: string) => `${namespace}/${pod}`

const make = (capacity: number) => {
  const limit = Math.max(1, Math.floor(capacity))
  /** Insertion order = recording order (a key recorded again moves to the end). */
  const latest = new Map<string, Outcome>()
  /** The keys in `latest` of each pod (a pod has a handful of actions: an array beats a Set). */
  const byPod = new Map<string, Array<string>>()
  const counts: Record<OutcomeKind, number> = { done: 0, skipped: 0, failed: 0 }
  const unindex = (outcome: Outcome) => {
    const pk = podKey(outcome.namespace, outcome.pod)
    const keys = byPod.get(pk)
    if (keys === undefined) return
    const i = keys.indexOf(outcome.key)
    if (i >= 0) keys.splice(i, 1)
    if (keys.length === 0) byPod.delete(pk)
  }
  return Outcomes.of({
    record: (outcome) =>
      Effect.suspend(() => {
        counts[outcome.kind]++
        const previous = latest.get(outcome.key)
        if (previous !== undefined) {
          latest.delete(outcome.key)
          // Same key, same pod (the key names it): the index already holds it.
        } else {
          const pk = podKey(outcome.namespace, outcome.pod)
          const keys = byPod.get(pk)
          if (keys === undefined) byPod.set(pk, [outcome.key])
          else keys.push(outcome.key)
        }
        latest.set(outcome.key, outcome)
        while (latest.size > limit) {
          const oldest = latest.values().next().value!
          latest.delete(oldest.key)
          unindex(oldest)
        }
        return Metric.update(actionsTotalOf(outcome.action, outcome.kind), 1)
      }),
    all: () => [...latest.values()],
    forPod: (namespace, pod) =>
      (byPod.get(podKey(namespace, pod)) ?? []).flatMap((k) => {
        const o = latest.get(k)
        return o === undefined ? [] : [o]
      }),
    counts: () => ({ ...counts })
  })
}

export class Outcomes extends Context.Service<Outcomes, {
  readonly record: (outcome: Outcome) => Effect.Effect<void>
  /** The latest outcome per action key, oldest first (at most the capacity's worth). */
  readonly all: () => ReadonlyArray<Outcome>
  readonly forPod: (namespace: string, pod: string) => ReadonlyArray<Outcome>
  /** Every outcome ever recorded, by kind (never evicted). */
  readonly counts: () => Readonly<Record<OutcomeKind, number>>
}>()("pod-cleanup/Outcomes") {
  /** Latest outcomes kept by `Outcomes.layer()` unless `Outcomes.Capacity` is provided. */
  static readonly defaultCapacity = defaultCapacity
  static readonly Capacity = Capacity
  /** A ledger keeping the latest outcome of the `capacity` most recent keys (default: `Outcomes.Capacity`). */
  static readonly layer = (capacity?: number): Layer.Layer<Outcomes> =>
    capacity === undefined
      ? Layer.effect(Outcomes, Effect.gen(function*() {
        return make(yield* Capacity)
      }))
      : Layer.sync(Outcomes, () => make(capacity))
}
