/**
 * Kubernetes Events: client-go's correlation rules (pure, table-tested), the recorder on the
 * TestClock (aggregation window, token refill, a full queue, API errors), which outcomes make which
 * Event, and the whole engine against the simulated cluster with a partitioned node: many failures
 * on one pod make a handful of Events with growing series counts, not hundreds of writes.
 */
import * as k8s from "@kubernetes/client-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Metric, Result } from "effect"
import { TestClock } from "effect/testing"
import type { WorkflowView } from "../../src/domain/policy.ts"
import { CombinedPrefix, type EventInput, makeCorrelator } from "../../src/engine/eventCorrelator.ts"
import {
  eventRecorderLayer,
  eventRecorderLayerWith,
  EventRecorder,
  type EventRecorderService,
  eventsDropped,
  eventWriteErrors,
  podRef
} from "../../src/engine/EventRecorder.ts"
import { Engine } from "../../src/engine/Engine.ts"
import type { EngineSettings } from "../../src/engine/EngineSettings.ts"
import { cleanOnce } from "../../src/engine/cleanOnce.ts"
import { outcomeEvent } from "../../src/engine/outcomeEvents.ts"
import { WorkflowSource } from "../../src/engine/WorkflowSource.ts"
import { KubeNotFoundError } from "../../src/kube/ApiError.ts"
import { KubeClient } from "../../src/kube/KubeClient.ts"
import type { EventApi, EventWrite } from "../../src/kube/EventApi.ts"
import { parseConfig } from "../../src/config/Config.ts"
import { clientLayer, useSim } from "../support/sim.ts"
import { workflowPod } from "../support/workflowPods.ts"

const notFound = (namespace: string, name: string) =>
  new KubeNotFoundError({
    verb: "patch",
    resource: "events.events.k8s.io",
    namespace,
    name,
    code: 404,
    reason: "NotFound",
    message: `events.events.k8s.io "${name}" not found`
  })

const source = { reportingController: "pod-cleanup", reportingInstance: "pod-cleanup-0" }
const failure = (pod = "wf-1-a", note = "exec timed out on node node-4 for main"): EventInput => ({
  regarding: podRef("argo", pod, `uid-${pod}`),
  type: "Warning",
  reason: "FailedTerminate",
  action: "Terminating",
  note
})
const minutes = (n: number) => n * 60_000

describe("correlator (client-go's EventCorrelator rules)", () => {
  it("an identical event within 10 minutes grows the series of the Event already written", () => {
    const c = makeCorrelator(source)
    const first = c.observe(failure(), 0)
    assert.deepStrictEqual(first.writes.map((w) => [w._tag, w.count]), [["Create", 1]])
    c.written(first.writes[0]!, first.writes[0]!.name)
    const second = c.observe(failure(), minutes(9))
    assert.deepStrictEqual(second.writes.map((w) => [w._tag, w.count, w.name]), [["Patch", 2, first.writes[0]!.name]])
    c.written(second.writes[0]!, second.writes[0]!.name)
    // 10 minutes after its last observation the series has ended: a new Event.
    const third = c.observe(failure(), minutes(9) + minutes(10) + 1)
    assert.deepStrictEqual(third.writes.map((w) => [w._tag, w.count]), [["Create", 1]])
    assert.notStrictEqual(third.writes[0]!.name, first.writes[0]!.name)
  })

  it("different objects, reasons or types are separate Events; names are unique and start with the object's name", () => {
    const c = makeCorrelator(source)
    const names = [
      c.observe(failure("a"), 0),
      c.observe(failure("b"), 0),
      c.observe({ ...failure("a"), reason: "FailedKill" }, 0),
      c.observe({ ...failure("a"), type: "Normal" }, 0)
    ].map((o) => o.writes[0]!.name)
    assert.strictEqual(new Set(names).size, 4)
    assert.match(names[0]!, /^a\.[0-9a-f]+$/)
  })

  it("10 similar events (same object and reason, different notes) within 10 minutes are combined into one Event", () => {
    const c = makeCorrelator(source)
    const writes = Array.from({ length: 15 }, (_, i) => c.observe(failure("p", `note ${i}`), i * 1000).writes[0]!)
    assert.deepStrictEqual(writes.slice(0, 9).map((w) => w.event.note), Array.from({ length: 9 }, (_, i) => `note ${i}`))
    assert.strictEqual(writes[9]!.event.note, `${CombinedPrefix}note 9`)
    c.written(writes[9]!, writes[9]!.name)
    // Later ones count in the combined Event's series (its note stays: notes are immutable).
    const later = c.observe(failure("p", "note 14b"), 15_000).writes[0]!
    assert.deepStrictEqual([later._tag, later.name, later.event.note], ["Patch", writes[9]!.name, `${CombinedPrefix}note 9`])
  })

  it("spam filter: 25 writes per object at once, then one per 5 minutes; other objects are not affected", () => {
    const c = makeCorrelator(source)
    const observed = Array.from({ length: 40 }, () => c.observe(failure("p"), 0))
    for (const o of observed) for (const w of o.writes) c.written(w, w.name)
    assert.strictEqual(observed.filter((o) => !o.rateLimited).length, 25)
    assert.strictEqual(observed.filter((o) => o.rateLimited).length, 15)
    assert.isFalse(c.observe(failure("other"), 0).rateLimited)
    assert.isTrue(c.observe(failure("p"), minutes(5) - 1).rateLimited)
    const refilled = c.observe(failure("p"), minutes(5))
    assert.isFalse(refilled.rateLimited)
    // The write carries every observation so far, the rate-limited ones included.
    assert.deepStrictEqual(refilled.writes.map((w) => [w._tag, w.count]), [["Patch", 42]])
  })

  it("a series that ends with the server behind gets one final write (no token needed); then it is forgotten", () => {
    const c = makeCorrelator(source)
    for (let i = 0; i < 30; i++) for (const w of c.observe(failure("p"), 0).writes) c.written(w, w.name)
    assert.deepStrictEqual(c.sweep(minutes(10)), [])
    const final = c.sweep(minutes(10) + 1)
    assert.deepStrictEqual(final.map((w) => [w._tag, w.count]), [["Patch", 30]])
    assert.strictEqual(c.size().series, 0)
    assert.deepStrictEqual(c.sweep(minutes(30)), [])
  })

  it("memory is bounded: at most maxEntries series, similar groups and buckets", () => {
    const c = makeCorrelator(source, { maxEntries: 100 })
    for (let i = 0; i < 1000; i++) c.observe(failure(`p-${i}`), i)
    const size = c.size()
    assert.isAtMost(size.series, 100)
    assert.isAtMost(size.similar, 100)
    assert.isAtMost(size.buckets, 100)
  })
})

/** An EventApi keeping what it was asked to write; `fail` makes every call fail that way. */
const fakeApi = () => {
  const creates: Array<EventWrite> = []
  const patches: Array<{ readonly name: string; readonly count: number; readonly lastObservedTime: number }> = []
  const state = { fail: undefined as undefined | "notFound" | "hang", calls: 0 }
  const api: EventApi = {
    create: (event) =>
      Effect.suspend(() => {
        state.calls++
        if (state.fail === "hang") return Effect.never
        creates.push(event)
        return Effect.succeed({ name: event.name, resourceVersion: String(creates.length) })
      }),
    patchSeries: (namespace, name, series) =>
      Effect.suspend(() => {
        state.calls++
        if (state.fail === "hang") return Effect.never
        if (state.fail === "notFound") {
          state.fail = undefined
          return Effect.fail(notFound(namespace, name))
        }
        patches.push({ name, ...series })
        return Effect.succeed({ name, resourceVersion: "1" })
      })
  }
  return { api, creates, patches, state }
}

const counter = (metric: typeof eventsDropped, attributes: Record<string, string>) =>
  Effect.map(Metric.value(Metric.withAttributes(metric, attributes)), (s) => s.count)

const withRecorder = <A, E>(api: EventApi, f: (r: EventRecorderService) => Effect.Effect<A, E>, queueCapacity?: number) =>
  Effect.flatMap(Effect.service(EventRecorder), f).pipe(
    Effect.provide(eventRecorderLayerWith(api, { reportingInstance: "pod-cleanup-0", queueCapacity }))
  )

describe("EventRecorder (TestClock)", () => {
  it.effect("300 failures on one pod over 10 minutes: one Event, 25 writes at first, one more per 5 minutes, the final count at the end", () =>
    Effect.gen(function*() {
      const fake = fakeApi()
      yield* withRecorder(fake.api, (recorder) =>
        Effect.gen(function*() {
          for (let i = 0; i < 300; i++) {
            yield* recorder.record(failure())
            yield* recorder.flush
            yield* TestClock.adjust("2 seconds")
          }
          assert.strictEqual(fake.creates.length, 1)
          // 25 at once, then one more once 5 minutes have refilled a token (the last is at 9m58s).
          assert.strictEqual(fake.creates.length + fake.patches.length, 26)
          const created = fake.creates[0]!
          assert.deepStrictEqual(
            [created.reportingController, created.reportingInstance, created.type, created.reason, created.action, created.regarding],
            ["pod-cleanup", "pod-cleanup-0", "Warning", "FailedTerminate", "Terminating", podRef("argo", "wf-1-a", "uid-wf-1-a")]
          )
          assert.strictEqual(created.eventTime, 0)
          const counts = fake.patches.map((p) => p.count)
          assert.deepStrictEqual(counts, [...counts].sort((a, b) => a - b), "the series count only grows")
          // The series ends 10 minutes after its last observation; the sweep writes its final count.
          yield* TestClock.adjust("11 minutes")
          yield* recorder.flush
          const last = fake.patches.at(-1)!
          assert.strictEqual(last.count, 300)
          assert.strictEqual(last.lastObservedTime, 299 * 2000)
        }))
    }))

  it.effect("recording never blocks: with the API hanging and the queue full, events are dropped and counted", () =>
    Effect.gen(function*() {
      const fake = fakeApi()
      fake.state.fail = "hang"
      const before = yield* counter(eventsDropped, { reason: "queue-full" })
      const run = yield* Effect.forkChild(withRecorder(fake.api, (recorder) =>
        Effect.gen(function*() {
          for (let i = 0; i < 50; i++) yield* recorder.record(failure(`p-${i}`))
        }), 10))
      // Closing the recorder gives queued events 2 s (virtual here), then lets go.
      for (let i = 0; i < 5; i++) {
        yield* Effect.yieldNow
        yield* TestClock.adjust("1 second")
      }
      yield* Fiber.join(run)
      const dropped = (yield* counter(eventsDropped, { reason: "queue-full" })) - before
      // The writer holds one (its create hangs), ten wait in the queue, the rest are dropped.
      assert.isAtLeast(dropped, 39)
      assert.isAtMost(dropped, 40)
    }))

  it.effect("a patch of an Event deleted on the server (404) creates a new Event carrying the whole count", () =>
    Effect.gen(function*() {
      const fake = fakeApi()
      const errorsBefore = yield* counter(eventWriteErrors, { verb: "patch", error: "KubeNotFoundError" })
      yield* withRecorder(fake.api, (recorder) =>
        Effect.gen(function*() {
          yield* recorder.record(failure())
          yield* recorder.flush
          fake.state.fail = "notFound"
          yield* recorder.record(failure())
          yield* recorder.flush
        }))
      assert.strictEqual(fake.creates.length, 2)
      assert.deepStrictEqual(fake.creates[1]!.series, { count: 2, lastObservedTime: 0 })
      assert.notStrictEqual(fake.creates[1]!.name, fake.creates[0]!.name)
      // Handled, not an error.
      assert.strictEqual(yield* counter(eventWriteErrors, { verb: "patch", error: "KubeNotFoundError" }), errorsBefore)
    }))

  it.effect("the default EventRecorder records nothing (the engine and node guard need no layer)", () =>
    Effect.gen(function*() {
      const recorder = yield* EventRecorder
      assert.isFalse(recorder.enabled)
      yield* recorder.record(failure())
    }))

  it("POD_CLEANUP_EVENTS / --events: default true, false turns Events off", () => {
    const events = (argv: Array<string>, env: Record<string, string> = {}) => Result.getOrThrow(parseConfig(argv, env)).events
    assert.isTrue(events([]))
    assert.isFalse(events([], { POD_CLEANUP_EVENTS: "false" }))
    assert.isFalse(events(["--no-events"]))
    assert.isTrue(events(["--events"], { POD_CLEANUP_EVENTS: "false" }))
    assert.isFalse(events(["--events=false"]))
  })
})

describe("outcomeEvent", () => {
  const cases: ReadonlyArray<[Parameters<typeof outcomeEvent>[0], [string, string, string] | undefined]> = [
    [{ action: "terminateContainers", kind: "done", reason: "SIGTERM sent to wait, main" }, ["Normal", "SentSIGTERM", "Terminating"]],
    [{ action: "killContainers", kind: "done", reason: "SIGKILL sent to wait" }, ["Normal", "SentSIGKILL", "Killing"]],
    [{ action: "terminateContainers", kind: "done", reason: "SIGTERM sent to none (already stopped: wait exit code 1)" }, undefined],
    [{ action: "terminateContainers", kind: "done", reason: "no container is running" }, undefined],
    [{ action: "deletePod", kind: "done", reason: "deleted (status finalizer removed first)" }, ["Normal", "Deleted", "Deleting"]],
    [{ action: "deletePod", kind: "done", reason: "pod already gone" }, undefined],
    [{ action: "labelPodCompleted", kind: "done", reason: "labelled workflows.argoproj.io/completed=true" }, undefined],
    [{ action: "labelPodCompleted", kind: "done", reason: "already labelled" }, undefined],
    [{ action: "removeFinalizer", kind: "done", reason: "status finalizer removed" }, ["Normal", "FinalizerRemoved", "RemovingFinalizer"]],
    [{ action: "deletePod", kind: "skipped", reason: "policy no longer deletes the pod: labelPodCompleted" }, ["Normal", "Skipped", "Deleting"]],
    [{ action: "terminateContainers", kind: "skipped", reason: "node n: exec breaker open", retrying: true }, ["Warning", "SkippedNodeUnavailable", "Terminating"]],
    [{ action: "terminateContainers", kind: "skipped", reason: "pod replaced: argo/p now has uid b, not a; left untouched" }, undefined],
    [{ action: "terminateContainers", kind: "skipped", reason: "not run: the engine is shutting down" }, undefined],
    [{ action: "terminateContainers", kind: "failed", reason: "exec timed out", retrying: true }, ["Warning", "FailedTerminate", "Terminating"]],
    [{ action: "deletePod", kind: "failed", reason: "KubeForbiddenError: forbidden" }, ["Warning", "FailedDelete", "Deleting"]]
  ]
  it("maps outcomes to Events: Warning for failures and give-ups, Normal otherwise, none for no-ops and bookkeeping", () => {
    for (const [outcome, expected] of cases) {
      const e = outcomeEvent(outcome)
      assert.deepStrictEqual(e === undefined ? undefined : [e.type, e.reason, e.action], expected, outcome.reason)
    }
    assert.strictEqual(
      outcomeEvent({ action: "deletePod", kind: "failed", reason: "x", gaveUp: true })?.note,
      "giving up after retries: x"
    )
  })
})

// ---- against the simulated cluster ---------------------------------------------------------------

const sim = useSim()

const listEvents = (namespace: string) =>
  Effect.gen(function*() {
    const client = yield* KubeClient
    const api = client.loaded.config.makeApiClient(k8s.EventsV1Api)
    const list = yield* Effect.promise(() => api.listNamespacedEvent({ namespace }))
    return list.items
  })

const engineWithEvents = (settings: Partial<EngineSettings>, workflows: ReadonlyMap<string, WorkflowView>) =>
  Engine.layerStandalone(settings, { reconcileAfterKill: true }, WorkflowSource.layerStatic(workflows)).pipe(
    Layer.provideMerge(eventRecorderLayer({ reportingInstance: "pod-cleanup-test" })),
    Layer.provideMerge(clientLayer(sim))
  )

describe("Events from the engine, against the simulator", () => {
  it.live("a healthy pod: SentSIGTERM on the pod, with its UID, reportingController and instance, and no Event for the routine label", () =>
    Effect.gen(function*() {
      sim.addPod(workflowPod("ev-ok", { namespace: "ev-ok", workflow: "wf-ok", graceSeconds: 1 }))
      const pod = sim.getPod("ev-ok", "ev-ok")!
      yield* cleanOnce([pod])
      const recorder = yield* EventRecorder
      yield* recorder.flush
      const events = yield* listEvents("ev-ok")
      const reasons = events.map((e) => e.reason).sort()
      assert.includeMembers(reasons, ["SentSIGTERM"])
      assert.notInclude(reasons, "LabelledCompleted")
      assert.isTrue(sim.getPod("ev-ok", "ev-ok")?.metadata?.labels?.["workflows.argoproj.io/completed"] === "true", "the pod was labelled")
      for (const e of events) {
        assert.strictEqual(e.type, "Normal")
        assert.strictEqual(e.reportingController, "pod-cleanup")
        assert.strictEqual(e.reportingInstance, "pod-cleanup-test")
        assert.deepInclude(e.regarding, { kind: "Pod", apiVersion: "v1", namespace: "ev-ok", name: "ev-ok", uid: pod.metadata!.uid })
        assert.isNotEmpty(e.metadata?.resourceVersion)
      }
    }).pipe(Effect.provide(engineWithEvents({ workers: 2 }, new Map([["ev-ok/wf-ok", { phase: "Succeeded", podGC: { strategy: "" } }]])))))

  it.live("a partitioned node: dozens of failures on one pod make a handful of Events with growing series counts", () =>
    Effect.gen(function*() {
      sim.partition("node-p")
      // No grace period: SIGTERM only, no SIGKILL follow-up to retry as well.
      sim.addPod(workflowPod("ev-part", { namespace: "ev-part", node: "node-p", workflow: "wf-p", graceSeconds: 0 }))
      const before = sim.stats().requests
      const report = yield* cleanOnce([sim.getPod("ev-part", "ev-part")!]).pipe(
        // Closing the engine's layers closes the recorder: what the spam filter held back is
        // written once, as each series' final count.
        Effect.provide(engineWithEvents({
          workers: 2,
          execTimeout: Duration.millis(150),
          execRetries: 0,
          perNodeExecCap: 2,
          breakerThreshold: 3,
          breakerCooldown: Duration.millis(200),
          actionRetries: 40,
          actionRetryBase: Duration.millis(10),
          actionRetryMax: Duration.millis(20)
        }, new Map([["ev-part/wf-p", { phase: "Succeeded", podGC: { strategy: "" } }]])))
      )
      const events = yield* listEvents("ev-part")
      const after = sim.stats().requests
      const writes = ["create events", "patch events"].reduce((n, k) => n + (after[k] ?? 0) - (before[k] ?? 0), 0)
      const observed = events.reduce((n, e) => n + (e.series?.count ?? 1), 0)
      const byReason = Object.fromEntries(events.map((e) => [e.reason, e.series?.count ?? 1]))

      assert.strictEqual(report.outcomes.find((o) => o.action === "terminateContainers")?.kind === "done", false)
      assert.isAtLeast(observed, 30, `many observations: ${JSON.stringify(byReason)}`)
      assert.isAtMost(events.length, 8, `a handful of Event objects: ${JSON.stringify(byReason)}`)
      // One token bucket per object and type: 25 writes, plus at most one final write per series.
      assert.isAtMost(writes, 25 + events.length, `writes ${writes}`)
      assert.isAtLeast(Math.max(...events.map((e) => e.series?.count ?? 1)), 10, JSON.stringify(byReason))
      assert.includeMembers(Object.keys(byReason), ["ExecTimedOut", "NodeExecBreakerOpened", "SkippedNodeUnavailable"])
      for (const e of events) assert.strictEqual(e.type, e.reason === "NodeExecBreakerClosed" ? "Normal" : "Warning", e.reason)
      const timedOut = events.find((e) => e.reason === "ExecTimedOut")!
      assert.include(timedOut.note, "node node-p")
      assert.include(timedOut.note, "phase stream")
    }).pipe(Effect.provide(clientLayer(sim))), 30_000)
})
