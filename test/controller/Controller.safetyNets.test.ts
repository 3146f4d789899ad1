/**
 * The service against the simulated cluster: in a dry run it watches and decides as usual, logs
 * and counts every action it would take, and changes nothing (only list, watch and get reach the
 * API server); and `/metrics` serves the standard series under their usual names, pod-cleanup's
 * own under `pod_cleanup_`, with the counters whose labels are known upfront at 0.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Metric } from "effect"
import { ActionNames } from "../../src/domain/Action.ts"
import { dryRunActions } from "../../src/metrics.ts"
import { Outcomes } from "../../src/engine/Outcomes.ts"
import { Controller } from "../../src/controller/Controller.ts"
import { seedWorkflowPods } from "@pod-cleanup/sim"
import { useSim, waitFor } from "../support/sim.ts"
import { httpGet, httpPortOf, serviceAgainst, serviceWithHttpAgainst } from "../support/service.ts"

const sim = useSim()

describe("dry run (shadow mode)", () => {
  it.live("decides every seeded pod, logs and counts what it would do, and changes nothing", () =>
    Effect.gen(function*() {
      const ns = "shadow"
      // Running `wait` (SIGTERM), finished with the status finalizer (delete), finished and never deleted (label).
      const signal = seedWorkflowPods(sim, { pods: 6, nodes: 3, namespace: ns, workflowPrefix: "sig", podGCStrategy: "OnPodCompletion", deleteDelay: "0s" })
      const del = seedWorkflowPods(sim, { pods: 6, nodes: 3, namespace: ns, workflowPrefix: "del", podGCStrategy: "OnPodCompletion", deleteDelay: "0s", finalizer: true })
      const label = seedWorkflowPods(sim, { pods: 6, nodes: 3, namespace: ns, workflowPrefix: "lab", podGCStrategy: "", deleteDelay: "0s" })
      for (const pod of [...del.pods, ...label.pods]) sim.setContainerState(ns, pod.metadata!.name!, "wait", "terminated", 0)
      const all = [...signal.pods, ...del.pods, ...label.pods].map((p) => p.metadata!.name!)
      const firstRequest = sim.requestLog.length
      const before = yield* Effect.forEach(ActionNames, (action) => Metric.value(Metric.withAttributes(dryRunActions, { action })))

      const lines: Array<string> = []
      const services = yield* Layer.build(serviceAgainst(sim, ["--no-leader-elect", "--namespaces", ns, "--dry-run"], { logLines: lines }))
      const outcomes = Context.get(services, Outcomes)
      const decided = (name: string, action: string) =>
        outcomes.forPod(ns, name).some((o) => o.action === action && o.kind === "skipped" && o.reason.startsWith("dry run: would "))
      yield* waitFor(sim, () =>
        signal.pods.every((p) => decided(p.metadata!.name!, "terminateContainers")) &&
        del.pods.every((p) => decided(p.metadata!.name!, "deletePod")) &&
        label.pods.every((p) => decided(p.metadata!.name!, "labelPodCompleted")), 15_000)
      // A SIGKILL follow-up would wait in the queue for the 30 s grace period: there is none.
      const engine = Context.get(services, Controller).engine()
      assert.isDefined(engine)
      assert.strictEqual(engine!.depth().delayed, 0, "no SIGKILL follow-up is scheduled in a dry run")

      const verbs = new Set(sim.requestLog.slice(firstRequest).map((r) => r.verb))
      assert.deepStrictEqual([...verbs].filter((v) => v !== "list" && v !== "watch" && v !== "get"), [], `verbs seen: ${[...verbs].join(", ")}`)
      for (const name of all) {
        const pod = sim.getPod(ns, name)
        assert.isDefined(pod, `${name} still exists`)
        assert.strictEqual(pod!.metadata!.labels!["workflows.argoproj.io/completed"], "false", `${name} is not labelled`)
      }
      for (const pod of del.pods) {
        assert.include(sim.getPod(ns, pod.metadata!.name!)!.metadata!.finalizers ?? [], "workflows.argoproj.io/status")
      }
      for (const pod of signal.pods) {
        const wait = sim.getPod(ns, pod.metadata!.name!)!.status!.containerStatuses!.find((c) => c.name === "wait")
        assert.isDefined(wait?.state?.running, "nothing was signalled")
      }
      // One decision log line per action it would take, naming the pod.
      const wouldLines = lines.filter((l) => l.includes("dry run: would"))
      for (const name of all) assert.isTrue(wouldLines.some((l) => l.includes(`pod=${name}`)), `a dry-run line for ${name}`)
      assert.isTrue(wouldLines.some((l) => l.includes("would send SIGTERM") && l.includes("kill")))
      assert.isTrue(wouldLines.some((l) => l.includes("would remove the status finalizer of and delete pod")))
      assert.isTrue(wouldLines.some((l) => l.includes("would label pod")))
      const after = yield* Effect.forEach(ActionNames, (action) => Metric.value(Metric.withAttributes(dryRunActions, { action })))
      const delta = Object.fromEntries(ActionNames.map((a, i) => [a, after[i]!.count - before[i]!.count]))
      assert.isAtLeast(delta.terminateContainers!, 6)
      assert.isAtLeast(delta.deletePod!, 6)
      assert.isAtLeast(delta.labelPodCompleted!, 6)
    }))
})

describe("/metrics", () => {
  it.live("standard series without the pod_cleanup_ prefix, pod-cleanup's own with it, known counters at 0", () =>
    Effect.gen(function*() {
      const ns = "scrape"
      seedWorkflowPods(sim, { pods: 4, nodes: 2, namespace: ns, workflowPrefix: "scr", podGCStrategy: "OnPodCompletion", deleteDelay: "0s" })
      const flags = ["--http-port", "0", "--namespaces", ns, "--lease-namespace", "default", "--identity", "scraper", "--lease-name", "pod-cleanup-scrape"]
      const services = yield* Layer.build(serviceWithHttpAgainst(sim, flags))
      const port = httpPortOf(services)
      const controller = Context.get(services, Controller)
      yield* waitFor(sim, () => controller.status().leader && controller.status().synced, 15_000)
      yield* waitFor(sim, () => sim.listPods().filter((p) => p.metadata?.namespace === ns).length === 0, 15_000)
      // The engine's sampler refreshes the workqueue gauges every second.
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 1200)))

      const { status, body } = yield* httpGet(port, "/metrics")
      assert.strictEqual(status, 200)
      const names = new Set(body.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]!))
      for (
        const name of [
          "workqueue_adds_total",
          "workqueue_depth",
          "workqueue_queue_duration_seconds",
          "workqueue_work_duration_seconds",
          "workqueue_retries_total",
          "workqueue_unfinished_work_seconds",
          "workqueue_longest_running_processor_seconds",
          "rest_client_requests_total",
          "rest_client_request_duration_seconds",
          "leader_election_master_status",
          "process_cpu_seconds_total",
          "process_resident_memory_bytes",
          "nodejs_heap_size_used_bytes",
          "nodejs_heap_size_total_bytes",
          "nodejs_eventloop_lag_seconds",
          "nodejs_active_handles",
          "pod_cleanup_build_info",
          // Every pod_cleanup_* name the README lists.
          "pod_cleanup_actions_total",
          "pod_cleanup_exec_duration_seconds",
          "pod_cleanup_exec_timeouts_total",
          "pod_cleanup_retries_total",
          "pod_cleanup_queue_depth",
          "pod_cleanup_longest_running_action_seconds",
          "pod_cleanup_workers_busy",
          "pod_cleanup_watch_restarts_total",
          "pod_cleanup_pods_waiting_for_argo",
          "pod_cleanup_dry_run_actions_total",
          "pod_cleanup_destructive_cap_reached_total",
          "pod_cleanup_destructive_paused",
          "pod_cleanup_execs_in_flight"
        ]
      ) assert.isTrue(names.has(name), `${name} is exported`)
      assert.deepStrictEqual([...names].filter((n) => /^pod_cleanup_(workqueue|rest_client|leader_election|process|nodejs)_/.test(n)), [])
      assert.deepStrictEqual([...names].filter((n) => !/^(pod_cleanup|workqueue|rest_client|leader_election|process|nodejs)_/.test(n)), [])

      const value = (series: string) => {
        const line = body.split("\n").find((l) => l.startsWith(`${series} `))
        assert.isDefined(line, `${series} is in /metrics`)
        return Number(line!.slice(series.length + 1))
      }
      // The action queues' series, named as client-go names them: the signal lane and the API lane.
      for (const [name, what] of [["pod_cleanup", "4 SIGTERMs"], ["pod_cleanup_api", "4 deletes"]] as const) {
        assert.isAtLeast(value(`workqueue_adds_total{name="${name}"}`), 4, what)
        assert.strictEqual(value(`workqueue_depth{name="${name}"}`), 0)
        assert.isAtLeast(value(`workqueue_work_duration_seconds_count{name="${name}"}`), 4)
        assert.isAtLeast(value(`workqueue_queue_duration_seconds_count{name="${name}"}`), 4)
        value(`workqueue_retries_total{name="${name}"}`)
        value(`workqueue_unfinished_work_seconds{name="${name}"}`)
        value(`workqueue_longest_running_processor_seconds{name="${name}"}`)
      }
      // API requests by code, method, resource and verb, with latency.
      assert.isAtLeast(value(`rest_client_requests_total{code="200",method="GET",resource="pods",verb="list"}`), 1)
      assert.isAtLeast(value(`rest_client_requests_total{code="200",method="DELETE",resource="pods",verb="delete"}`), 4)
      assert.isAtLeast(value(`rest_client_request_duration_seconds_count{method="GET",resource="pods",verb="list"}`), 1)
      assert.match(body, /rest_client_requests_total\{code="\d+",method="(PUT|POST)",resource="leases",verb="(create|update)"\} \d+/)
      assert.strictEqual(value(`leader_election_master_status{name="pod-cleanup-scrape"}`), 1)
      assert.strictEqual(value(`pod_cleanup_build_info{version="0.1.0",node_version="${process.version}"}`), 1)
      assert.isAbove(value("process_resident_memory_bytes"), 0)
      assert.isAbove(value("process_cpu_seconds_total"), 0)
      assert.isAbove(value("nodejs_heap_size_used_bytes"), 0)
      assert.isAbove(value("nodejs_active_handles"), 0)
      assert.isAtLeast(value("nodejs_eventloop_lag_seconds"), 0)
      // Counters at 0 before their first increment.
      assert.strictEqual(value(`pod_cleanup_actions_total{action="removeFinalizer",outcome="failed"}`), 0)
      assert.strictEqual(value(`pod_cleanup_actions_total{action="deletePodByUID",outcome="done"}`), 0)
      assert.strictEqual(value(`pod_cleanup_exec_timeouts_total{phase="handshake",node=""}`), 0)
      assert.strictEqual(value(`pod_cleanup_retries_total{action="labelPodCompleted",reason="KubeConflictError"}`), 0)
      assert.strictEqual(value(`pod_cleanup_retries_total{action="terminateContainers",reason="exec timeout"}`), 0)
      assert.strictEqual(value(`pod_cleanup_watch_restarts_total{resource="workflows",reason="expired"}`), 0)
      assert.strictEqual(value(`pod_cleanup_dry_run_actions_total{action="deletePodByUID"}`), 0)
      assert.strictEqual(value(`pod_cleanup_destructive_cap_reached_total`), 0)
      assert.strictEqual(value(`pod_cleanup_destructive_paused`), 0)
      assert.isAtLeast(value(`pod_cleanup_actions_total{action="deletePod",outcome="done"}`), 4)
    }))
})
