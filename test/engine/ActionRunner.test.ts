/**
 * What each action does to the live pod, on loopback: concurrent signalling (and Argo's one at a
 * time), Pending pods deleted instead of signalled, guarded deletes, malformed pods and RBAC
 * failures reported without stopping anything.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import type { WorkflowView } from "../../src/domain/policy.ts"
import type { WorkflowRecord } from "../../src/domain/workflow.ts"
import { recordFromView } from "../../src/engine/WorkflowSource.ts"
import { ActionRunner } from "../../src/engine/ActionRunner.ts"
import { Engine } from "../../src/engine/Engine.ts"
import { argoCompatible, defaultEngineSettings, type EngineSettings } from "../../src/engine/EngineSettings.ts"
import { cleanOnce } from "../../src/engine/cleanOnce.ts"
import type { SimPodInit } from "@pod-cleanup/sim"
import { engineAgainst, useSim } from "../support/sim.ts"
import { workflowPod } from "../support/workflowPods.ts"

const sim = useSim()

const workflows = new Map<string, WorkflowView | WorkflowRecord>([
  ["argo/wf-delete", { phase: "Succeeded", podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "0s" } }],
  ["argo/wf-success", { phase: "Succeeded", podGC: { strategy: "OnPodSuccess", deleteDelayDuration: "0s" } }],
  // Argo marks the unfinished nodes of a workflow being shut down Failed (applyExecutionControl).
  ["argo/wf-stop", {
    ...recordFromView("argo", "wf-stop", { phase: "Running", shutdown: "Terminate" }),
    nodes: { _tag: "Nodes", source: "nodes", pods: new Map([["wf-stop-1", { phase: "Failed", taskResultSynced: undefined, fulfilled: true }]]) }
  }]
])
const engineFor = (settings: Partial<EngineSettings> = {}) => engineAgainst(sim, workflows, settings)

/** Tracks how many execs to `pod` were open at once. */
const concurrencyOf = (pod: string) => {
  const state = { open: 0, max: 0 }
  sim.events.on("exec-open", (e: { pod: string }) => {
    if (e.pod === pod) state.max = Math.max(state.max, ++state.open)
  })
  sim.events.on("exec-close", (e: { pod: string }) => {
    if (e.pod === pod) state.open--
  })
  return state
}

const sidecarPod = (name: string): SimPodInit => ({
  ...workflowPod(name, { graceSeconds: 0 }),
  containers: [
    { name: "main", state: "terminated", exitCode: 0 },
    { name: "wait", volumeMounts: [{ name: "var-run-argo", mountPath: "/var/run/argo" }] },
    { name: "sidecar-a" },
    { name: "sidecar-b" },
    { name: "sidecar-c" }
  ]
})

const run = (action: "terminateContainers" | "deletePod" | "deletePodByUID" | "labelPodCompleted", pod: string, uid?: string) =>
  ActionRunner.use((r) => r.run({ request: { action, namespace: "argo", pod, uid, reason: "test" }, attempt: 1 }))

describe("actions on loopback", () => {
  it.live("terminateContainers signals all running containers concurrently; argoCompatible signals one at a time", () =>
    Effect.gen(function*() {
      for (const pod of ["conc-1", "conc-2", "conc-3"]) {
        sim.faults.exec({ pod }, { kind: "slow", delayMs: 150 })
        sim.addPod({ ...sidecarPod(pod), nodeName: `node-${pod}` })
      }
      const concurrent = concurrencyOf("conc-1")
      const capped = concurrencyOf("conc-2")
      const sequential = concurrencyOf("conc-3")
      const ours = yield* run("terminateContainers", "conc-1").pipe(Effect.provide(engineFor({ perNodeExecCap: 0 })))
      const withCap = yield* run("terminateContainers", "conc-2").pipe(Effect.provide(engineFor()))
      const argo = yield* run("terminateContainers", "conc-3").pipe(Effect.provide(engineFor(argoCompatible(defaultEngineSettings))))
      for (const result of [ours, withCap, argo]) assert.strictEqual(result._tag === "Finished" && result.kind, "done")
      assert.strictEqual(concurrent.max, 4, "wait and three sidecars at once")
      assert.strictEqual(capped.max, 2, "the default per-node cap of 2 bounds it")
      assert.strictEqual(sequential.max, 1, "Argo: one container after another")
      // wait gets argoexec (Argo's rule for its own containers); sidecars get the default shell kill.
      const commands = sim.requestLog.filter((r) => r.verb === "exec" && r.name === "conc-1").map((r) => `${r.container}: ${r.command?.join(" ")}`)
      assert.includeMembers(commands, ["wait: argoexec kill 15 1", "sidecar-a: /bin/sh -c kill -15 1"])
    }))

  it.live("a Pending pod whose step must stop is deleted instead of signalled", () =>
    Effect.gen(function*() {
      const pod = sim.addPod({
        ...workflowPod("pending-1", { workflow: "wf-stop" }),
        annotations: { "workflows.argoproj.io/node-id": "wf-stop-1" },
        phase: "Pending",
        containers: [{ name: "main", state: "waiting" }, { name: "wait", state: "waiting" }]
      })
      const report = yield* cleanOnce([pod])
      assert.strictEqual(report.plans[0]?.decision._tag, "Act")
      const outcome = report.outcomes.find((o) => o.pod === "pending-1")
      assert.strictEqual(outcome?.action, "deletePod")
      assert.strictEqual(outcome?.kind, "done")
      assert.isUndefined(sim.getPod("argo", "pending-1"))
      assert.isFalse(sim.requestLog.some((r) => r.verb === "exec" && r.name === "pending-1"))
    }).pipe(Effect.provide(engineFor())))

  it.live("delete re-reads, strips the status finalizer with a resourceVersion guard, deletes with the UID precondition", () =>
    Effect.gen(function*() {
      sim.addPod(workflowPod("guarded-1", { workflow: "wf-delete", waitRunning: false, finalizers: ["workflows.argoproj.io/status"] }))
      const before = sim.requestLog.length
      const result = yield* run("deletePod", "guarded-1")
      assert.strictEqual(result._tag === "Finished" && result.kind, "done")
      const calls = sim.requestLog.slice(before).filter((r) => r.name === "guarded-1").map((r) => `${r.verb} ${r.status}`)
      assert.deepStrictEqual(calls, ["get 200", "patch 200", "delete 200"])
      assert.isUndefined(sim.getPod("argo", "guarded-1"))
    }).pipe(Effect.provide(engineFor())))

  it.live("a stale resourceVersion (409) is answered by re-reading and deciding again", () =>
    Effect.gen(function*() {
      sim.addPod(workflowPod("conflict-1", { workflow: "wf-delete", waitRunning: false, finalizers: ["workflows.argoproj.io/status"] }))
      sim.faults.api({ verb: "patch", name: "conflict-1" }, { kind: "status", code: 409 }, { times: 1 })
      const result = yield* run("deletePod", "conflict-1")
      assert.strictEqual(result._tag === "Finished" && result.kind, "done")
      const gets = sim.requestLog.filter((r) => r.name === "conflict-1" && r.verb === "get").length
      assert.strictEqual(gets, 2, "read again after the conflict")
      assert.isUndefined(sim.getPod("argo", "conflict-1"))
    }).pipe(Effect.provide(engineFor({ retryBase: Duration.millis(10) }))))

  it.live("deletePodByUID never deletes a re-created pod; deletePod re-checks the policy", () =>
    Effect.gen(function*() {
      sim.addPod(workflowPod("recreated", { workflow: "wf-delete", waitRunning: false }))
      const byUid = yield* run("deletePodByUID", "recreated", "an-older-uid")
      assert.strictEqual(byUid._tag === "Finished" && byUid.kind, "skipped")
      assert.isDefined(sim.getPod("argo", "recreated"))

      // OnPodSuccess on a failed pod means "label", not "delete": the stale delete is skipped.
      sim.addPod({
        ...workflowPod("failed-1", { workflow: "wf-success" }),
        containers: [{ name: "main", state: "terminated", exitCode: 1 }, { name: "wait", state: "terminated", exitCode: 0 }]
      })
      const stale = yield* run("deletePod", "failed-1")
      assert.strictEqual(stale._tag === "Finished" && stale.kind, "skipped")
      if (stale._tag === "Finished") assert.match(stale.reason, /policy no longer deletes/)
      assert.isDefined(sim.getPod("argo", "failed-1"))
    }).pipe(Effect.provide(engineFor())))

  it.live("a malformed pod is skipped with a warning and the others are still cleaned", () =>
    Effect.gen(function*() {
      const good = sim.addPod(workflowPod("good-1", { workflow: "wf-delete", waitRunning: false }))
      const malformed = { metadata: { namespace: "argo", name: "broken-1", labels: "not-a-map" }, spec: {}, status: {} }
      const report = yield* cleanOnce([malformed, good])
      const broken = report.plans.find((p) => p.pod === "broken-1")
      assert.strictEqual(broken?.decision._tag, "Malformed")
      assert.strictEqual(report.outcomes.find((o) => o.pod === "good-1")?.kind, "done")
      assert.isUndefined(sim.getPod("argo", "good-1"))
    }).pipe(Effect.provide(engineFor())))

  it.live("forbidden is reported as failed and not retried", () =>
    Effect.gen(function*() {
      sim.addPod(workflowPod("rbac-1", { workflow: "wf-delete", waitRunning: false }))
      sim.faults.api({ verb: "delete", name: "rbac-1" }, { kind: "status", code: 403 })
      const result = yield* run("deletePod", "rbac-1")
      assert.strictEqual(result._tag === "Finished" && result.kind, "failed")
      assert.strictEqual(sim.requestLog.filter((r) => r.verb === "delete" && r.name === "rbac-1").length, 1)
      sim.faults.clear()
    }).pipe(Effect.provide(engineFor())))

  it.live("the engine's outcomes cover every action of a once pass, with Engine.awaitIdle", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const a = sim.addPod(workflowPod("idle-1", { workflow: "wf-delete", waitRunning: false }))
      yield* engine.reconcile(a)
      yield* engine.awaitIdle
      assert.deepStrictEqual(engine.depth(), { ready: 0, delayed: 0, processing: 0 })
      assert.isUndefined(sim.getPod("argo", "idle-1"))
    }).pipe(Effect.provide(engineFor())))
})
