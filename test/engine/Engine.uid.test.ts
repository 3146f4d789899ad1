/**
 * Every queued action is bound to the UID of the pod it was decided for. `argo retry` deletes a
 * pod and creates a new one under the same name: an action decided for the old pod must never
 * reach the new one (no exec, no delete, no label), whether it waited in the queue (a SIGKILL
 * after the grace period, a delayed delete) or was in flight when the pod was replaced (the UID
 * precondition of the patch / delete answers 409). Real sockets, virtual time.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import type { WorkflowView } from "../../src/domain/policy.ts"
import { Engine } from "../../src/engine/Engine.ts"
import { Outcomes } from "../../src/engine/Outcomes.ts"
import type { SimPodInit } from "@pod-cleanup/sim"
import { advanceUntil, containerRunning, execsSince } from "../support/converge.ts"
import { advance, engineAgainst, waitFor, useSim } from "../support/sim.ts"
import { workflowPod } from "../support/workflowPods.ts"

const sim = useSim()

const workflows = new Map<string, WorkflowView>([
  ["argo/wf-delete", { phase: "Succeeded", podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "0s" } }],
  ["argo/wf-delay", { phase: "Succeeded", podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "10s" } }],
  ["argo/wf-label", { phase: "Succeeded", podGC: { strategy: "" } }]
])

/** The pod `argo retry` creates in place of the old one: same name, new UID, main and a sidecar running. */
const retriedPod = (name: string, workflow: string): SimPodInit => ({
  namespace: "argo",
  name,
  nodeName: "node-0",
  labels: { "workflows.argoproj.io/workflow": workflow, "workflows.argoproj.io/completed": "false" },
  terminationGracePeriodSeconds: 30,
  containers: [{ name: "main" }, { name: "sidecar" }]
})

/** Deletes the pod (it has no finalizer: gone at once) and creates another under its name. */
const replace = (name: string, init: SimPodInit) => {
  const old = sim.getPod("argo", name)?.metadata?.uid
  assert.isTrue(sim.deletePod("argo", name, { gracePeriodSeconds: 0 }))
  assert.isUndefined(sim.getPod("argo", name))
  const fresh = sim.addPod(init)
  assert.notStrictEqual(fresh.metadata?.uid, old)
  return { old: old!, fresh: fresh.metadata!.uid! }
}

const outcomeOf = (outcomes: Outcomes["Service"], pod: string, action: string) =>
  outcomes.forPod("argo", pod).find((o) => o.action === action)

const writesSince = (from: number, pod: string) =>
  sim.requestLog.slice(from).filter((r) => r.name === pod && (r.verb === "patch" || r.verb === "delete" || r.verb === "update"))

describe("actions bound to the pod's UID (a pod re-created under the same name is never touched)", () => {
  it.effect("the SIGKILL queued after SIGTERM ends skipped 'pod replaced' when the pod was re-created meanwhile: no exec reaches the new pod, its containers still run", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      const pod = sim.addPod(workflowPod("uid-kill", { workflow: "wf-delete", ignoreSigterm: true, graceSeconds: 30 }))
      yield* engine.reconcile(pod)
      yield* advanceUntil(() => outcomeOf(outcomes, "uid-kill", "terminateContainers") !== undefined, { maxMs: 1_000, stepMs: 50 })
      assert.strictEqual(outcomeOf(outcomes, "uid-kill", "terminateContainers")?.kind, "done")
      assert.isTrue(containerRunning(sim, "argo", "uid-kill", "wait"), "wait ignores SIGTERM")
      assert.isTrue(engine.depth().delayed >= 1, "the SIGKILL waits for the grace period")

      const uids = replace("uid-kill", retriedPod("uid-kill", "wf-delete"))
      const mark = sim.requestLog.length
      yield* advance(30_500)
      yield* advanceUntil(() => outcomeOf(outcomes, "uid-kill", "killContainers") !== undefined, { maxMs: 2_000 })

      const kill = outcomeOf(outcomes, "uid-kill", "killContainers")!
      assert.strictEqual(kill.kind, "skipped", kill.reason)
      assert.match(kill.reason, /pod replaced/)
      assert.include(kill.reason, uids.fresh)
      assert.deepStrictEqual(execsSince(sim, mark, "argo", "uid-kill").map((e) => `${e.container}: ${e.command?.join(" ")}`), [])
      assert.isTrue(containerRunning(sim, "argo", "uid-kill", "main"))
      assert.isTrue(containerRunning(sim, "argo", "uid-kill", "sidecar"))
      assert.strictEqual(sim.getPod("argo", "uid-kill")?.metadata?.uid, uids.fresh)
    }).pipe(Effect.provide(engineAgainst(sim, workflows))))

  it.effect("the old pod's pending SIGKILL does not hold back the new pod's own SIGTERM, nor take the place of its SIGKILL", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      const pod = sim.addPod(workflowPod("uid-next", { workflow: "wf-delete", ignoreSigterm: true, graceSeconds: 30 }))
      yield* engine.reconcile(pod)
      yield* advanceUntil(() => outcomeOf(outcomes, "uid-next", "terminateContainers") !== undefined, { maxMs: 1_000, stepMs: 50 })
      yield* advance(5_000)

      // argo retry: the new pod's main has finished too, its wait (ignoring SIGTERM) still runs.
      const uids = replace("uid-next", workflowPod("uid-next", { workflow: "wf-delete", ignoreSigterm: true, graceSeconds: 30 }))
      const mark = sim.requestLog.length
      const plan = yield* engine.reconcile(sim.getPod("argo", "uid-next"))
      assert.strictEqual(plan.decision._tag, "Act")
      yield* advanceUntil(() => execsSince(sim, mark, "argo", "uid-next").length > 0, { maxMs: 2_000, stepMs: 50 })
      assert.deepStrictEqual(
        execsSince(sim, mark, "argo", "uid-next").map((e) => e.command?.join(" ")),
        ["argoexec kill 15 1"],
        "the new pod gets SIGTERM first, as any pod does"
      )
      // Its own SIGKILL comes 30 s after its own SIGTERM, and kills it.
      yield* advanceUntil(() => !containerRunning(sim, "argo", "uid-next", "wait"), { maxMs: 40_000 })
      assert.deepStrictEqual(execsSince(sim, mark, "argo", "uid-next").map((e) => e.command?.join(" ")), ["argoexec kill 15 1", "argoexec kill 9 1"])
      assert.strictEqual(sim.getPod("argo", "uid-next")?.metadata?.uid, uids.fresh)
    }).pipe(Effect.provide(engineAgainst(sim, workflows))))

  it.effect("a delete queued for deleteDelayDuration (10 s) ends skipped 'pod replaced': the new pod of the same name is not deleted, even though it is finished too", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      const pod = sim.addPod(workflowPod("uid-delete", { workflow: "wf-delay", waitRunning: false }))
      const plan = yield* engine.reconcile(pod)
      assert.strictEqual(plan.decision._tag, "Act")
      yield* advance(1_000)
      assert.isDefined(sim.getPod("argo", "uid-delete"), "not before the delay")

      // The new pod is finished as well: the policy alone would delete it; only the UID stops it.
      const uids = replace("uid-delete", workflowPod("uid-delete", { workflow: "wf-delay", waitRunning: false }))
      const mark = sim.requestLog.length
      yield* advance(9_500)
      yield* advanceUntil(() => outcomeOf(outcomes, "uid-delete", "deletePod") !== undefined, { maxMs: 2_000 })

      const del = outcomeOf(outcomes, "uid-delete", "deletePod")!
      assert.strictEqual(del.kind, "skipped", del.reason)
      assert.match(del.reason, /pod replaced/)
      assert.strictEqual(sim.getPod("argo", "uid-delete")?.metadata?.uid, uids.fresh, "the new pod is still there")
      assert.deepStrictEqual(writesSince(mark, "uid-delete").map((r) => r.verb), [], "no patch or delete was sent")
    }).pipe(Effect.provide(engineAgainst(sim, workflows))))

  it.effect("a label queued behind a failed read ends skipped 'pod replaced': the new pod is not labelled", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      // The label's first read of the pod is refused (503, Retry-After 2 s): it waits to try again.
      sim.faults.api({ verb: "get", resource: "pods", name: "uid-label" }, { kind: "status", code: 503, retryAfterSeconds: 2 }, { times: 1 })
      const pod = sim.addPod(workflowPod("uid-label", { workflow: "wf-label", waitRunning: false }))
      yield* engine.reconcile(pod)
      yield* waitFor(sim, () => sim.requestLog.some((r) => r.verb === "get" && r.name === "uid-label" && r.status === 503))

      const uids = replace("uid-label", workflowPod("uid-label", { workflow: "wf-label", waitRunning: false }))
      const mark = sim.requestLog.length
      yield* advanceUntil(() => outcomeOf(outcomes, "uid-label", "labelPodCompleted") !== undefined, { maxMs: 5_000 })

      const label = outcomeOf(outcomes, "uid-label", "labelPodCompleted")!
      assert.strictEqual(label.kind, "skipped", label.reason)
      assert.match(label.reason, /pod replaced/)
      const fresh = sim.getPod("argo", "uid-label")
      assert.strictEqual(fresh?.metadata?.uid, uids.fresh)
      assert.strictEqual(fresh?.metadata?.labels?.["workflows.argoproj.io/completed"], "false", "the new pod is not labelled")
      assert.deepStrictEqual(writesSince(mark, "uid-label").map((r) => r.verb), [])
    }).pipe(Effect.provide(engineAgainst(sim, workflows))))

  it.effect("a label patch in flight when the pod is re-created is refused by its UID precondition (409), then the action ends skipped 'pod replaced'", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      // The patch is held 300 ms (real time) by the server: the pod is replaced while it travels.
      sim.faults.api({ verb: "patch", name: "uid-inflight" }, { kind: "latency", ms: 300 }, { times: 1 })
      const pod = sim.addPod(workflowPod("uid-inflight", { workflow: "wf-label", waitRunning: false }))
      yield* engine.reconcile(pod)
      yield* waitFor(sim, () => sim.requestLog.some((r) => r.verb === "patch" && r.name === "uid-inflight"))
      const uids = replace("uid-inflight", workflowPod("uid-inflight", { workflow: "wf-label", waitRunning: false }))
      yield* waitFor(sim, () => sim.requestLog.some((r) => r.verb === "patch" && r.name === "uid-inflight" && r.status !== 0))
      const patches = sim.requestLog.filter((r) => r.verb === "patch" && r.name === "uid-inflight")
      assert.deepStrictEqual(patches.map((p) => p.status), [409], "the UID precondition refused the patch")
      yield* advanceUntil(() => outcomeOf(outcomes, "uid-inflight", "labelPodCompleted") !== undefined, { maxMs: 2_000, stepMs: 50 })

      const label = outcomeOf(outcomes, "uid-inflight", "labelPodCompleted")!
      assert.strictEqual(label.kind, "skipped", label.reason)
      assert.match(label.reason, /pod replaced/)
      const fresh = sim.getPod("argo", "uid-inflight")
      assert.strictEqual(fresh?.metadata?.uid, uids.fresh)
      assert.strictEqual(fresh?.metadata?.labels?.["workflows.argoproj.io/completed"], "false")
    }).pipe(Effect.provide(engineAgainst(sim, workflows))))

  it.effect("a delete in flight when the pod is re-created is refused by its UID precondition (409): the new pod survives", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      sim.faults.api({ verb: "delete", name: "uid-del-inflight" }, { kind: "latency", ms: 300 }, { times: 1 })
      const pod = sim.addPod(workflowPod("uid-del-inflight", { workflow: "wf-delete", waitRunning: false }))
      yield* engine.reconcile(pod)
      yield* waitFor(sim, () => sim.requestLog.some((r) => r.verb === "delete" && r.name === "uid-del-inflight"))
      const uids = replace("uid-del-inflight", workflowPod("uid-del-inflight", { workflow: "wf-delete", waitRunning: false }))
      yield* waitFor(sim, () => sim.requestLog.some((r) => r.verb === "delete" && r.name === "uid-del-inflight" && r.status !== 0))
      assert.deepStrictEqual(
        sim.requestLog.filter((r) => r.verb === "delete" && r.name === "uid-del-inflight").map((r) => r.status),
        [409]
      )
      yield* advanceUntil(() => outcomeOf(outcomes, "uid-del-inflight", "deletePod") !== undefined, { maxMs: 2_000, stepMs: 50 })
      const del = outcomeOf(outcomes, "uid-del-inflight", "deletePod")!
      assert.strictEqual(del.kind, "skipped", del.reason)
      assert.match(del.reason, /pod replaced/)
      assert.strictEqual(sim.getPod("argo", "uid-del-inflight")?.metadata?.uid, uids.fresh)
    }).pipe(Effect.provide(engineAgainst(sim, workflows, { retryBase: Duration.millis(100) }))))
})

describe("a pending SIGKILL follows the pod's state", () => {
  it.effect("reconciled while its SIGKILL is pending, a pod still running gets no second SIGTERM; once nothing runs, the SIGKILL is dropped and never sent", () =>
    Effect.gen(function*() {
      const engine = yield* Engine
      const outcomes = yield* Outcomes
      const pod = sim.addPod(workflowPod("kill-pending", { workflow: "wf-label", ignoreSigterm: true, graceSeconds: 30 }))
      yield* engine.reconcile(pod)
      yield* advanceUntil(() => outcomeOf(outcomes, "kill-pending", "terminateContainers") !== undefined, { maxMs: 1_000, stepMs: 50 })
      yield* advance(2_000)
      yield* engine.reconcile(sim.getPod("argo", "kill-pending"))
      yield* advance(2_000)
      const execs = () => sim.requestLog.filter((r) => r.verb === "exec" && r.name === "kill-pending").map((e) => e.command?.join(" "))
      assert.deepStrictEqual(execs(), ["argoexec kill 15 1"], "SIGTERM is not sent again while its SIGKILL is pending")

      // wait stops on its own (late, but before the grace period ends); the pod is reconciled.
      sim.setContainerState("argo", "kill-pending", "wait", "terminated", 0)
      yield* engine.reconcile(sim.getPod("argo", "kill-pending"))
      const kill = outcomeOf(outcomes, "kill-pending", "killContainers")
      assert.strictEqual(kill?.kind, "done")
      assert.match(kill!.reason, /nothing left to kill/)
      assert.isBelow(kill!.at, 30_000)
      yield* advance(30_000)
      assert.deepStrictEqual(execs(), ["argoexec kill 15 1"], "no SIGKILL was sent")
    }).pipe(Effect.provide(engineAgainst(sim, workflows))))
})
