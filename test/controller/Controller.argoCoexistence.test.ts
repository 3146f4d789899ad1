/**
 * The service next to a model of Argo's workflow-controller that records a pod's node seconds
 * after the pod ends (as on a busy cluster) and marks a node Error "pod deleted" whenever its pod
 * leaves Argo's view before that: pods are signalled at once, wait while Argo has not recorded
 * their node, and are cleaned soon after it has; no node is harmed. Then `pod-cleanup once` on
 * the same kind of cluster.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { runOnce } from "../../src/cli/once.ts"
import { loadKubeConfig } from "../../src/kube/KubeConfigSource.ts"
import type { ServiceConfig } from "../../src/config/Config.ts"
import { Controller } from "../../src/controller/Controller.ts"
import { seedWorkflowPods } from "@pod-cleanup/sim"
import { useSim, waitFor } from "../support/sim.ts"
import { configOf, serviceAgainst } from "../support/service.ts"

const LAG_MS = 3_000

const sim = useSim({ argo: { recordLag: LAG_MS } })

const configFor = (argv: ReadonlyArray<string>): ServiceConfig => configOf(["--no-leader-elect", "--log-level", "error", ...argv])

const labelled = (namespace: string, name: string) =>
  sim.getPod(namespace, name)?.metadata?.labels?.["workflows.argoproj.io/completed"] === "true"

/** When each pod was first seen cleaned (polled every 20 ms), to measure it against its node's record. */
const watchCleaned = (namespace: string, names: ReadonlyArray<string>, deletes: (name: string) => boolean) => {
  const at = new Map<string, number>()
  const timer = setInterval(() => {
    for (const name of names) {
      if (at.has(name)) continue
      const cleaned = deletes(name) ? sim.getPod(namespace, name) === undefined : labelled(namespace, name)
      if (cleaned) at.set(name, Date.now())
    }
  }, 20)
  return { at, stop: () => clearInterval(timer) }
}

describe("next to Argo's controller", () => {
  it.live(`run: with Argo recording nodes ${LAG_MS / 1000} s after their pods end, no node is harmed and every pod is cleaned soon after its node is recorded`, () =>
    Effect.gen(function*() {
      const deleted = seedWorkflowPods(sim, { pods: 24, nodes: 3, namespace: "lag", workflowPrefix: "del", podGCStrategy: "OnPodCompletion", workflowPhase: "Running", workflows: 3 })
      const kept = seedWorkflowPods(sim, { pods: 12, nodes: 3, namespace: "lag", workflowPrefix: "keep", podGCStrategy: "", workflowPhase: "Running", workflows: 2 })
      const names = [...deleted.pods, ...kept.pods].map((p) => p.metadata!.name!)
      const deletes = (name: string) => name.startsWith("del")
      const cleaned = watchCleaned("lag", names, deletes)
      const services = yield* Layer.build(serviceAgainst(sim, configFor(["--namespaces", "lag"])))
      const controller = Context.get(services, Controller)

      // Signalled at once (Argo's record depends on the wait container ending) ...
      const ended = (n: string) => ["Succeeded", "Failed"].includes(sim.getPod("lag", n)?.status?.phase ?? "")
      yield* waitFor(sim, () => names.every(ended), 10_000)
      // ... and then they wait: no node is recorded yet, so nothing is labelled or deleted.
      yield* waitFor(sim, () => (controller.status().waitingForArgo) === names.length, 5_000)
      assert.isTrue(names.every((n) => sim.getPod("lag", n) !== undefined && !labelled("lag", n)), "nothing cleaned before Argo recorded")
      assert.isTrue(names.every((n) => sim.argo!.fulfilledAt("lag", n) === undefined))

      yield* waitFor(sim, () => cleaned.at.size === names.length, LAG_MS + 10_000)
      cleaned.stop()
      assert.deepStrictEqual(sim.argo!.podDeleted, [], "no workflow node marked 'pod deleted'")
      for (const name of names) {
        const recorded = sim.argo!.fulfilledAt("lag", name)
        assert.isDefined(recorded, `${name}: node recorded`)
        const after = cleaned.at.get(name)! - recorded!
        assert.isAtLeast(after, 0, `${name} cleaned after its node was recorded`)
      }
      assert.strictEqual(controller.status().waitingForArgo, 0)
      // Argo completes each workflow once all its nodes are recorded.
      for (const wf of [...deleted.workflows, ...kept.workflows]) {
        assert.oneOf(sim.getWorkflow("lag", wf.metadata.name)?.status.phase, ["Succeeded", "Failed"])
      }
    }))

  it.live("once: waits for Argo to record each node, harms none, and reports what it did", () =>
    Effect.gen(function*() {
      const seeded = seedWorkflowPods(sim, { pods: 12, nodes: 2, namespace: "once-lag", podGCStrategy: "OnPodCompletion", workflowPhase: "Running", workflows: 2 })
      const loaded = yield* loadKubeConfig({ kubeconfig: sim.writeKubeconfig(), env: {} })
      const before = sim.argo!.podDeleted.length
      const report = yield* runOnce(configFor(["--namespaces", "once-lag"]), loaded, { dryRun: false, output: "table" })
      assert.isFalse(report.timedOut)
      assert.strictEqual(report.failed, 0)
      for (const pod of seeded.pods) assert.isUndefined(sim.getPod("once-lag", pod.metadata!.name!), `${pod.metadata!.name} deleted`)
      assert.strictEqual(sim.argo!.podDeleted.length, before, "no workflow node marked 'pod deleted'")
      const deletes = report.rows.filter((r) => r.action === "deletePod" && r.outcome === "done")
      assert.strictEqual(deletes.length, seeded.pods.length)
    }))

  it.live("once --dry-run says which pods wait for Argo, and why", () =>
    Effect.gen(function*() {
      const seeded = seedWorkflowPods(sim, { pods: 2, nodes: 1, namespace: "dry-lag", podGCStrategy: "OnPodCompletion", workflowPhase: "Running", workflows: 1 })
      // main and wait have ended, Argo has not recorded the node yet.
      for (const pod of seeded.pods) sim.setContainerState("dry-lag", pod.metadata!.name!, "wait", "terminated", 0)
      const loaded = yield* loadKubeConfig({ kubeconfig: sim.writeKubeconfig(), env: {} })
      const report = yield* runOnce(configFor(["--namespaces", "dry-lag"]), loaded, { dryRun: true, output: "json" })
      assert.strictEqual(report.rows.length, 2)
      for (const row of report.rows) {
        assert.strictEqual(row.outcome, "waiting")
        assert.match(row.reason, /Argo has not recorded node .* yet/)
      }
      for (const pod of seeded.pods) assert.isDefined(sim.getPod("dry-lag", pod.metadata!.name!))
    }))
})
