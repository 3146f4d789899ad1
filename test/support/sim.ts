/**
 * Test support: the project's real layers pointed at a simulated cluster through the kubeconfig
 * file the simulator wrote (the same path a user takes).
 */
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { WorkflowView } from "../../src/domain/policy.ts"
import type { WorkflowRecord } from "../../src/domain/workflow.ts"
import type { EngineSettings } from "../../src/engine/EngineSettings.ts"
import { Engine } from "../../src/engine/Engine.ts"
import { WorkflowSource } from "../../src/engine/WorkflowSource.ts"
import { SimCluster, type SimClusterOptions } from "@pod-cleanup/sim"
import { afterAll, beforeAll } from "vitest"
import { type KubeClientOptions, KubeClient } from "../../src/kube/KubeClient.ts"
import { loadKubeConfig } from "../../src/kube/KubeConfigSource.ts"
import { type ExecSettings, PodExec } from "../../src/kube/PodExec.ts"
import { PodApi } from "../../src/kube/PodApi.ts"

/**
 * A KubeClient for `sim`, loaded from the kubeconfig file it wrote (or `kubeconfig`, another file
 * for it: another token, another identity); its connections close with the layer.
 */
export const clientLayer = (sim: SimCluster, options: KubeClientOptions = {}, kubeconfig?: string) =>
  Layer.unwrap(
    Effect.map(
      Effect.orDie(loadKubeConfig({ kubeconfig: kubeconfig ?? sim.writeKubeconfig(), env: {} })),
      (loaded) => KubeClient.layerFromLoaded(loaded, options)
    )
  )

/** KubeClient + PodApi + PodExec against `sim`. */
export const kubeLayer = (
  sim: SimCluster,
  options: { readonly client?: KubeClientOptions; readonly exec?: Partial<ExecSettings> } = {}
) => Layer.mergeAll(PodApi.layer, PodExec.layer(options.exec)).pipe(Layer.provideMerge(clientLayer(sim, options.client)))

/** A pod with one running container `main` on `node`: the usual exec target. */
export const runningPod = (
  name: string,
  extra: { readonly node?: string; readonly namespace?: string; readonly termDelayMs?: number; readonly ignoreSigterm?: boolean } = {}
) => ({
  namespace: extra.namespace ?? "default",
  name,
  nodeName: extra.node ?? "node-0",
  containers: [{ name: "main", termDelayMs: extra.termDelayMs, ignoreSigterm: extra.ignoreSigterm }]
})

export const waitFor = (sim: SimCluster, predicate: () => boolean, timeoutMs = 5000) =>
  Effect.promise(() => sim.waitFor(predicate, timeoutMs))

export const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))

/**
 * Moves the TestClock forward in steps, giving the real event loop a moment after each, so
 * real sockets (connects, upgrades, server-side timers) keep pace with virtual time.
 */
export const advance = (totalMs: number, stepMs = 250, realMs = 3) =>
  Effect.gen(function*() {
    for (let done = 0; done < totalMs; done += stepMs) {
      yield* TestClock.adjust(Math.min(stepMs, totalMs - done))
      yield* realSleep(realMs)
    }
  })

/** The standalone engine with everything below it against `sim`, workflows given (it reconciles after a kill). */
export const engineAgainst = (
  sim: SimCluster,
  workflows: ReadonlyMap<string, WorkflowView | WorkflowRecord>,
  settings: Partial<EngineSettings> = {}
) =>
  Engine.layerStandalone(settings, { reconcileAfterKill: true }, WorkflowSource.layerStatic(workflows)).pipe(
    Layer.provide(clientLayer(sim))
  )

/** A service-account folder (token, ca.crt, namespace) for `sim`, as the kubelet mounts one. */
export const serviceAccountDir = (sim: SimCluster, token: string, namespace = "pod-cleanup-system"): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pod-cleanup-sa-"))
  fs.writeFileSync(path.join(dir, "token"), token)
  fs.writeFileSync(path.join(dir, "ca.crt"), sim.caPem!)
  fs.writeFileSync(path.join(dir, "namespace"), namespace)
  return dir
}

/**
 * One simulated cluster for a test file: started before its tests, closed after them. The value
 * stands for the running simulator (every property and method is the started one's).
 *
 * @example
 * const sim = useSim()
 * it.live("...", () => Effect.sync(() => sim.addPod(...)))
 */
export const useSim = (options: SimClusterOptions = {}): SimCluster => {
  let started: SimCluster | undefined
  beforeAll(async () => {
    started = await SimCluster.start(options)
  })
  afterAll(async () => {
    await started?.close()
  })
  return new Proxy({} as SimCluster, {
    get: (_target, property) => {
      if (started === undefined) throw new Error("useSim: the simulator is used before beforeAll started it")
      const value = Reflect.get(started, property, started) as unknown
      return typeof value === "function" ? value.bind(started) : value
    }
  })
}

/** The two workflows most engine tests need: one deletes its pods (OnPodCompletion), one labels them. */
export const deleteAndLabelWorkflows: ReadonlyMap<string, WorkflowView> = new Map<string, WorkflowView>([
  ["argo/wf-delete", { phase: "Succeeded", podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "0s" } }],
  ["argo/wf-label", { phase: "Succeeded", podGC: { strategy: "" } }]
])
