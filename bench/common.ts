/**
 * Shared pieces of the benchmarks: start the real service in-process against a simulated cluster,
 * wait on conditions with a deadline, and time things. Benchmarks are an edge of the program, so
 * they run Effects with `Effect.runPromise`.
 */
import { Context, Effect, Exit, Layer, Result, Scope } from "effect"
import { runOnce } from "../src/cli/once.ts"
import { Outcomes } from "../src/engine/Outcomes.ts"
import { KubeClient } from "../src/kube/KubeClient.ts"
import { loadKubeConfig } from "../src/kube/KubeConfigSource.ts"
import { parseConfig, type ServiceConfig } from "../src/service/Config.ts"
import { Controller } from "../src/service/Controller.ts"
import { loggingLayer } from "../src/service/logging.ts"
import { podCleanupCoreLayer } from "../src/service/PodCleanup.ts"
import type { SimCluster } from "../src/sim/index.ts"

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

/** The whole service (watches, engine) in this process, against `sim`. */
export const startService = async (sim: SimCluster, config: ServiceConfig): Promise<RunningService> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const loaded = yield* loadKubeConfig({ kubeconfig: sim.writeKubeconfig(), env: {} })
      const services = yield* Layer.buildWithScope(
        podCleanupCoreLayer(config).pipe(
          Layer.provide(KubeClient.fromLoaded(loaded)),
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

/** Polls `predicate` every `everyMs` until it holds; throws after `timeoutMs`. */
export const until = async (what: string, predicate: () => boolean, timeoutMs: number, everyMs = 20): Promise<void> => {
  const deadline = performance.now() + timeoutMs
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`benchmark: ${what} did not happen within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export const seconds = (ms: number) => Math.round(ms) / 1000

export const isCleaned = (sim: SimCluster, namespace: string, name: string, deletes: boolean) => {
  const pod = sim.getPod(namespace, name)
  return deletes ? pod === undefined : pod?.metadata?.labels?.["workflows.argoproj.io/completed"] === "true"
}

/** `pod-cleanup once` in this process, against `sim`. */
export const runOnceAgainst = async (sim: SimCluster, config: ServiceConfig) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const loaded = yield* loadKubeConfig({ kubeconfig: sim.writeKubeconfig(), env: {} })
      return yield* runOnce(config, loaded, { dryRun: false, output: "json" })
    }).pipe(Effect.provide(loggingLayer(config.logFormat, config.logLevel)))
  )
