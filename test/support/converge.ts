/**
 * Test support for convergence tests: move the TestClock forward until a condition holds (real
 * sockets keep pace: the event loop gets a moment after every step), or fail after `maxMs` of
 * virtual time with what was still missing.
 */
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import type { SimCluster } from "@pod-cleanup/sim"
import { realSleep } from "./sim.ts"

export const advanceUntil = (
  predicate: () => boolean,
  options: { readonly maxMs: number; readonly stepMs?: number; readonly realMs?: number; readonly what?: () => string }
) =>
  Effect.gen(function*() {
    const step = options.stepMs ?? 250
    for (let done = 0; ; done += step) {
      // A few real moments at this virtual instant: answers in flight arrive before time moves on.
      for (let i = 0; i < 3 && !predicate(); i++) yield* realSleep(options.realMs ?? 3)
      if (predicate()) return done
      if (done >= options.maxMs) {
        return yield* Effect.die(new Error(`not reached within ${options.maxMs} ms of virtual time${options.what ? `: ${options.what()}` : ""}`))
      }
      yield* TestClock.adjust(step)
    }
  })

/** Exec requests to `pod` logged from index `from` on. */
export const execsSince = (sim: SimCluster, from: number, namespace: string, pod: string) =>
  sim.requestLog.slice(from).filter((r) => r.verb === "exec" && r.namespace === namespace && r.name === pod)

export const containerRunning = (sim: SimCluster, namespace: string, pod: string, container: string) =>
  sim.getPod(namespace, pod)?.status?.containerStatuses?.find((c) => c.name === container)?.state?.running !== undefined
