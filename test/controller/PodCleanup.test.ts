/**
 * The service in-process against the simulated cluster: it watches, decides and cleans on its
 * own (level-based), serves /healthz, /readyz and /metrics, and keeps cleaning through watch faults.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { Controller } from "../../src/controller/Controller.ts"
import { seedWorkflowPods, SimCluster } from "@pod-cleanup/sim"
import { realSleep, useSim, waitFor } from "../support/sim.ts"
import { httpGet, httpPortOf, serviceAgainst, serviceWithHttpAgainst } from "../support/service.ts"

const sim = useSim()

describe("the service", () => {
  it.live("cleans what its watch shows, serves health and readiness, and exposes every metric", () =>
    Effect.gen(function*() {
      const seeded = seedWorkflowPods(sim, { pods: 40, nodes: 4, namespace: "svc", podGCStrategy: "OnPodCompletion" })
      sim.partition("node-3")
      // One retry and one watch restart, so those metrics have something to show.
      sim.faults.api({ verb: "delete", namespace: "svc" }, { kind: "status", code: 503 }, { times: 1 })
      const services = yield* Layer.build(
        serviceWithHttpAgainst(sim, ["--http-port", "0", "--no-leader-elect", "--exec-timeout", "1s", "--namespaces", "svc"])
      )
      const port = httpPortOf(services)
      const controller = Context.get(services, Controller)

      yield* waitFor(sim, () => controller.status().synced)
      const ready = yield* httpGet(port, "/readyz")
      assert.strictEqual(ready.status, 200)
      assert.strictEqual(JSON.parse(ready.body).ready, true)
      const health = yield* httpGet(port, "/healthz")
      assert.strictEqual(health.status, 200)
      assert.deepStrictEqual(JSON.parse(health.body), { alive: true, leader: true, detail: [] })

      // Level-based: nobody told the service about these pods; its watch and policy did.
      const healthy = seeded.pods.filter((p) => p.spec?.nodeName !== "node-3").map((p) => p.metadata!.name!)
      yield* waitFor(sim, () => healthy.every((name) => sim.getPod("svc", name) === undefined), 15_000)
      sim.faults.watch({ kind: "drop" }, { resource: "pods", namespace: "svc" })
      yield* waitFor(sim, () => sim.stats().watchOpen >= 2, 5_000)
      yield* waitFor(sim, () => (controller.engine()?.depth().processing ?? 1) === 0, 10_000)

      // node-3's breaker opens after 3 exec timeouts of 1 s, which may come after the healthy pods
      // are gone (their deletes do not wait behind the execs): wait for it, with a deadline.
      const opened = /pod_cleanup_node_breaker_transitions_total\{node="node-3",transition="opened"\} 1/
      let metrics = yield* httpGet(port, "/metrics")
      for (const deadline = Date.now() + 15_000; !opened.test(metrics.body) && Date.now() < deadline;) {
        yield* realSleep(100)
        metrics = yield* httpGet(port, "/metrics")
      }
      assert.strictEqual(metrics.status, 200)
      for (
        const line of [
          `pod_cleanup_actions_total{action="deletePod",outcome="done"}`,
          `pod_cleanup_actions_total{action="terminateContainers",outcome="done"}`,
          `pod_cleanup_exec_duration_seconds_bucket{`,
          `pod_cleanup_exec_timeouts_total{phase="stream",node="node-3"}`,
          `pod_cleanup_retries_total{action="deletePod",reason="KubeTransientError"}`,
          `pod_cleanup_queue_depth{state="delayed"}`,
          `pod_cleanup_longest_running_action_seconds`,
          `pod_cleanup_workers_busy`,
          `pod_cleanup_node_breaker_state{node="node-3"}`,
          `pod_cleanup_watch_restarts_total{resource="pods",reason="error"}`
        ]
      ) assert.include(metrics.body, line)
      assert.match(metrics.body, opened)
      sim.heal("node-3")
    }))

  it.live("without the Workflow CRD it says so once, and pods follow their pod-gc-strategy annotation", () =>
    Effect.gen(function*() {
      const bare = yield* Effect.promise(() => SimCluster.start({ workflowsCrd: false }))
      yield* Effect.addFinalizer(() => Effect.promise(() => bare.close()))
      const seeded = seedWorkflowPods(bare, { pods: 4, nodes: 2, namespace: "nocrd", podGCStrategy: "OnPodCompletion" })
      const lines: Array<string> = []
      const services = yield* Layer.build(serviceAgainst(bare, ["--no-leader-elect", "--namespaces", "nocrd"], { logLines: lines }))
      const controller = Context.get(services, Controller)
      yield* waitFor(bare, () => seeded.pods.every((p) => bare.getPod("nocrd", p.metadata!.name!) === undefined), 10_000)
      assert.isFalse(controller.status().workflowCrd)
      assert.strictEqual(lines.filter((l) => l.includes("CRD") && l.includes("not installed")).length, 1)
    }))
})
