/**
 * The engine on loopback against the simulated cluster, in real time: 200 finished pods on 5
 * nodes with one partitioned and one slow, and interruption of the pool mid-run.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Scope } from "effect"
import type { WorkflowView } from "../../src/domain/policy.ts"
import { Engine } from "../../src/engine/Engine.ts"
import { defaultEngineSettings, type EngineSettings, workerCount } from "../../src/engine/EngineSettings.ts"
import { cleanOnce } from "../../src/engine/cleanOnce.ts"
import { Outcomes } from "../../src/engine/Outcomes.ts"
import { realSleep, engineAgainst, waitFor, useSim } from "../support/sim.ts"
import { workflowPod } from "../support/workflowPods.ts"

const sim = useSim()

const workflows = new Map<string, WorkflowView>([
  ["argo/wf-delete", { phase: "Succeeded", podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "0s" } }],
  ["argo/wf-label", { phase: "Succeeded", podGC: { strategy: "" } }]
])

const engineFor = (settings: Partial<EngineSettings> = {}) => engineAgainst(sim, workflows, settings)

describe("engine on loopback", () => {
  const settings = {
    workers: 4,
    execTimeout: Duration.seconds(1),
    execRetries: 1,
    execRetryBackoff: Duration.millis(200),
    perNodeExecCap: 2,
    breakerThreshold: 3,
    breakerCooldown: Duration.seconds(2),
    // One pass: what fails on the partitioned node is reported, not tried again (engine.retries.test.ts).
    actionRetries: 0
  } satisfies Partial<EngineSettings>
  const graceSeconds = 1
  const slowMs = 100

  it.live("200 pods on 5 nodes, node-2 partitioned and node-3 slow: healthy pods cleaned, the rest accounted for", () =>
    Effect.gen(function*() {
      sim.partition("node-2")
      sim.faults.exec({ node: "node-3" }, { kind: "slow", delayMs: slowMs })
      for (let i = 0; i < 200; i++) {
        sim.addPod(workflowPod(`big-${i}`, {
          node: `node-${i % 5}`,
          workflow: i % 2 === 0 ? "wf-delete" : "wf-label",
          graceSeconds
        }))
      }
      const pods = sim.listPods().filter((p) => p.metadata?.name?.startsWith("big-"))
      const started = Date.now()
      const report = yield* cleanOnce(pods)
      const elapsedMs = Date.now() - started

      // Every pod on a healthy node was signalled, then labelled or deleted per its strategy.
      for (let i = 0; i < 200; i++) {
        const name = `big-${i}`
        const node = `node-${i % 5}`
        const outcomes = Object.fromEntries(report.outcomes.filter((o) => o.pod === name).map((o) => [o.action, o]))
        if (node === "node-2") {
          assert.isDefined(outcomes.terminateContainers, `${name}: the signal has an outcome`)
          assert.oneOf(outcomes.terminateContainers!.kind, ["failed", "skipped"], name)
          assert.isNotEmpty(outcomes.terminateContainers!.reason)
          continue
        }
        assert.strictEqual(outcomes.terminateContainers?.kind, "done", `${name}: ${outcomes.terminateContainers?.reason}`)
        if (i % 2 === 0) {
          assert.strictEqual(outcomes.deletePod?.kind, "done", name)
          assert.isUndefined(sim.getPod("argo", name), `${name} deleted`)
        } else {
          assert.strictEqual(outcomes.labelPodCompleted?.kind, "done", name)
          assert.strictEqual(sim.getPod("argo", name)?.metadata?.labels?.["workflows.argoproj.io/completed"], "true")
        }
      }
      assert.isTrue(report.outcomes.every((o) => o.reason.length > 0), "every outcome carries a reason")
      yield* waitFor(sim, () => sim.stats().execOpen === 0)

      // The bound, from the deadlines: the partitioned node costs at most two rounds of
      // (exec timeout + backoff) before its breaker opens (cap 2, threshold 3), the slow node's
      // 40 signals go 2 at a time, each pod waits one grace period before its SIGKILL step, and
      // a SIGKILL waits out the open breaker's cooldown at most twice, and the 2-core machine gets
      // 10 s for the healthy work itself.
      const bound = 2 * (1000 * (settings.execRetries + 1) + 200) + graceSeconds * 1000 + (40 / 2) * slowMs +
        2 * Duration.toMillis(settings.breakerCooldown) + 10_000
      assert.isBelow(elapsedMs, bound)
      sim.heal("node-2")
      sim.faults.clear()
    }).pipe(Effect.provide(engineFor(settings))))

  it.live("interrupting the pool mid-run closes every socket, leaves no worker running, and records what did not run", () =>
    Effect.gen(function*() {
      sim.partition("node-x")
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(engineFor({ ...settings, execTimeout: Duration.seconds(30) }), scope)
      const eng = Context.get(context, Engine)
      for (let i = 0; i < 10; i++) yield* eng.reconcile(sim.addPod(workflowPod(`int-${i}`, { node: "node-x", graceSeconds: 30 })))
      yield* waitFor(sim, () => sim.stats().execOpen === 2)
      assert.strictEqual(eng.workersAlive(), workerCount({ ...defaultEngineSettings, ...settings }))
      yield* Scope.close(scope, Exit.void)
      yield* waitFor(sim, () => sim.stats().execOpen === 0)
      assert.strictEqual(eng.workersAlive(), 0)
      const requests = sim.requestLog.length
      yield* realSleep(300)
      assert.strictEqual(sim.requestLog.length, requests, "nothing runs after the scope closed")
      const outcomes = Context.get(context, Outcomes)
      const ours = outcomes.all().filter((o) => o.pod.startsWith("int-"))
      assert.strictEqual(new Set(ours.map((o) => o.pod)).size, 10, "every submitted action has an outcome")
      assert.isTrue(ours.every((o) => o.kind === "skipped" && /interrupted|not run/.test(o.reason)))
      sim.heal("node-x")
    }))
})
