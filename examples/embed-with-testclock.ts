/**
 * Embedding pod-cleanup in an Effect app, with time driven by TestClock.
 *
 * The app provides pod-cleanup with one `Layer.provide` (here against the built-in simulated
 * cluster; in production `KubeClient.layer({ env: process.env })`). A pod on it has a sidecar that
 * ignores SIGTERM: pod-cleanup signals it, waits the pod's 30 s grace period (virtual time: it
 * passes in milliseconds), SIGKILLs it, and deletes the pod per its PodGC strategy.
 *
 * Run it: `npm run example` (or `node examples/embed-with-testclock.ts` on Node 24)
 */
import { Duration, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Controller, defaultConfig, KubeClient, loadKubeConfig, Outcomes, podCleanupCoreLayer } from "../src/index.ts"
import { SimCluster } from "@pod-cleanup/sim"

const realPause = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** The app's own logic: it reads pod-cleanup's services like any other. */
const app = (sim: SimCluster) =>
  Effect.gen(function*() {
    const controller = yield* Controller
    const outcomes = yield* Outcomes
    // Real sockets need real time to connect; the controller watches and signals on its own.
    yield* Effect.promise(() => sim.waitFor(() => controller.status().synced && sim.requestLog.some((r) => r.verb === "exec"), 10_000))
    // The grace period passes on the TestClock, a second at a time (real sockets get a moment each
    // step; on a loaded machine more steps than the 30 s grace may be needed).
    for (let s = 0; s < 300 && sim.getPod("argo", "stubborn") !== undefined; s++) {
      yield* TestClock.adjust(Duration.seconds(1))
      yield* realPause(10)
    }
    // The pod is gone the moment the API server answers the delete; its outcome is recorded just after.
    yield* Effect.promise(() => sim.waitFor(() => outcomes.forPod("argo", "stubborn").some((o) => o.action === "deletePod"), 5_000))
    return outcomes.forPod("argo", "stubborn").map((o) => `${o.action}: ${o.kind} (${o.reason})`)
  })

export const program = Effect.gen(function*() {
  const sim = yield* Effect.acquireRelease(Effect.promise(() => SimCluster.start()), (s) => Effect.promise(() => s.close()))
  sim.addWorkflow({ namespace: "argo", name: "wf", phase: "Succeeded", podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "0s" } })
  sim.addPod({
    namespace: "argo",
    name: "stubborn",
    labels: { "workflows.argoproj.io/workflow": "wf", "workflows.argoproj.io/completed": "false" },
    terminationGracePeriodSeconds: 30,
    containers: [
      { name: "main", state: "terminated", exitCode: 0 },
      { name: "sidecar", ignoreSigterm: true }
    ]
  })
  const config = { ...defaultConfig, leaderElection: { ...defaultConfig.leaderElection, enabled: false } }
  const loaded = yield* loadKubeConfig({ kubeconfig: sim.writeKubeconfig(), env: {} })
  const podCleanup = podCleanupCoreLayer(config).pipe(Layer.provide(KubeClient.layerFromLoaded(loaded)))
  const lines = yield* app(sim).pipe(Effect.provide(podCleanup))
  return { lines, deleted: sim.getPod("argo", "stubborn") === undefined }
})

if (import.meta.main) {
  const result = await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(TestClock.layer())))
  for (const line of result.lines) console.log(line)
  console.log(result.deleted ? "the pod was deleted" : "the pod is still there")
  process.exitCode = result.deleted ? 0 : 1
}
