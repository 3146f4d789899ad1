import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Stream } from "effect"
import { isRetryable } from "../../src/kube/ApiError.ts"
import { PodApi } from "../../src/kube/PodApi.ts"
import { SimCluster } from "@pod-cleanup/sim"
import { kubeLayer, runningPod, useSim, waitFor } from "../support/sim.ts"

const sim = useSim()

const layer = () => kubeLayer(sim, { client: { requestTimeout: "2 seconds" } })

describe("PodApi on loopback", () => {
  it.live("list (all namespaces, one namespace, label selector) and get", () =>
    Effect.gen(function*() {
      sim.addPod({ ...runningPod("l-a", { namespace: "ns-a" }), labels: { app: "x", tier: "web" } })
      sim.addPod({ ...runningPod("l-b", { namespace: "ns-b" }), labels: { app: "y" } })
      const api = yield* PodApi
      const all = yield* api.list()
      const names = all.items.map((p) => p.metadata?.name)
      assert.includeMembers(names, ["l-a", "l-b"])
      assert.notStrictEqual(all.resourceVersion, "")
      const inA = yield* api.list({ namespace: "ns-a" })
      assert.deepStrictEqual(inA.items.map((p) => p.metadata?.name), ["l-a"])
      const selected = yield* api.list({ labelSelector: "app in (x,z),tier" })
      assert.deepStrictEqual(selected.items.map((p) => p.metadata?.name), ["l-a"])
      const got = yield* api.get("ns-b", "l-b")
      assert.strictEqual(got.metadata?.labels?.app, "y")
    }).pipe(Effect.provide(layer())))

  it.live("getMetadata reads the pod's metadata only (PartialObjectMetadata), and a missing pod is a typed 404", () =>
    Effect.gen(function*() {
      const added = sim.addPod(runningPod("m-a", { namespace: "ns-m" }))
      const api = yield* PodApi
      const meta = yield* api.getMetadata("ns-m", "m-a")
      assert.strictEqual(meta.metadata?.uid, added.metadata?.uid)
      assert.strictEqual(meta.metadata?.resourceVersion, added.metadata?.resourceVersion)
      const answer = meta as Record<string, unknown>
      assert.strictEqual(answer.kind, "PartialObjectMetadata")
      assert.strictEqual(answer.apiVersion, "meta.k8s.io/v1")
      assert.isUndefined(answer.spec, "no spec")
      assert.isUndefined(answer.status, "no status")
      const missing = yield* Effect.flip(api.getMetadata("ns-m", "nope"))
      assert.strictEqual(missing._tag, "KubeNotFoundError")
    }).pipe(Effect.provide(layer())))

  it.live("failures are typed: not found, conflict, forbidden, invalid, transient with Retry-After", () =>
    Effect.gen(function*() {
      const api = yield* PodApi
      const missing = yield* Effect.flip(api.get("default", "nope"))
      assert.strictEqual(missing._tag, "KubeNotFoundError")
      assert.strictEqual(missing.name, "nope")
      assert.isFalse(isRetryable(missing))

      sim.addPod(runningPod("p-conflict"))
      const stale = yield* Effect.flip(
        api.patch("default", "p-conflict", { type: "merge", body: { metadata: { resourceVersion: "1", labels: { a: "b" } } } })
      )
      assert.strictEqual(stale._tag, "KubeConflictError")
      assert.isTrue(isRetryable(stale))

      const invalid = yield* Effect.flip(
        api.patch("default", "p-conflict", { type: "json", body: [{ op: "test", path: "/metadata/name", value: "other" }] })
      )
      assert.strictEqual(invalid._tag, "KubeInvalidError")

      const r429 = sim.faults.api({ verb: "get", name: "p-conflict" }, { kind: "status", code: 429, retryAfterSeconds: 7 }, { times: 1 })
      const limited = yield* Effect.flip(api.get("default", "p-conflict"))
      assert.strictEqual(limited._tag, "KubeTransientError")
      if (limited._tag === "KubeTransientError") {
        assert.strictEqual(limited.code, 429)
        assert.strictEqual(Duration.toMillis(limited.retryAfter!), 7000)
      }
      sim.faults.clear(r429)

      sim.faults.api({ verb: "get", name: "p-conflict" }, { kind: "status", code: 503 }, { times: 1 })
      const unavailable = yield* Effect.flip(api.get("default", "p-conflict"))
      assert.strictEqual(unavailable._tag, "KubeTransientError")
      assert.isTrue(isRetryable(unavailable))

      sim.faults.api({ verb: "delete", name: "p-conflict" }, { kind: "status", code: 403 }, { times: 1 })
      const forbidden = yield* Effect.flip(api.delete("default", "p-conflict"))
      assert.strictEqual(forbidden._tag, "KubeForbiddenError")
      assert.match(forbidden.message, /delete pods default\/p-conflict: 403/)
    }).pipe(Effect.provide(layer())))

  it.live("merge, strategic and JSON patches reach the server with their content types", () =>
    Effect.gen(function*() {
      sim.addPod({ ...runningPod("p-patch"), finalizers: ["workflows.argoproj.io/status", "other/keep"] })
      const api = yield* PodApi
      const current = yield* api.get("default", "p-patch")
      const merged = yield* api.patch("default", "p-patch", {
        type: "merge",
        body: { metadata: { resourceVersion: current.metadata?.resourceVersion, labels: { "workflows.argoproj.io/completed": "true" } } }
      })
      assert.strictEqual(merged.metadata?.labels?.["workflows.argoproj.io/completed"], "true")
      const strategic = yield* api.patch("default", "p-patch", {
        type: "strategic",
        body: { metadata: { "$deleteFromPrimitiveList/finalizers": ["workflows.argoproj.io/status"] } }
      })
      assert.deepStrictEqual(strategic.metadata?.finalizers, ["other/keep"])
      const json = yield* api.patch("default", "p-patch", { type: "json", body: [{ op: "remove", path: "/metadata/finalizers" }] })
      assert.isUndefined(json.metadata?.finalizers?.[0])
    }).pipe(Effect.provide(layer())))

  it.live("patchUnread patches like patch, answers nothing, and types a failed patch the same way", () =>
    Effect.gen(function*() {
      const created = sim.addPod(runningPod("p-unread"))
      const api = yield* PodApi
      const before = sim.stats().requests["patch pods"] ?? 0
      const answer = yield* api.patchUnread("default", "p-unread", {
        type: "merge",
        body: { metadata: { uid: created.metadata!.uid, labels: { "workflows.argoproj.io/completed": "true" } } }
      })
      assert.isUndefined(answer)
      assert.strictEqual((sim.stats().requests["patch pods"] ?? 0) - before, 1, "one patch request, like patch")
      const patched = yield* api.get("default", "p-unread")
      assert.strictEqual(patched.metadata?.labels?.["workflows.argoproj.io/completed"], "true")

      // A UID precondition that no longer holds: the 409's Status is read and typed, as for patch.
      const replaced = yield* Effect.flip(api.patchUnread("default", "p-unread", { type: "merge", body: { metadata: { uid: "another-uid" } } }))
      assert.strictEqual(replaced._tag, "KubeConflictError")
      assert.include(replaced.message, "patch pods default/p-unread: 409")
      const missing = yield* Effect.flip(api.patchUnread("default", "nope", { type: "merge", body: { metadata: { labels: { a: "b" } } } }))
      assert.strictEqual(missing._tag, "KubeNotFoundError")
      // The connection the answers came on is reused afterwards: the pool keeps working.
      const again = yield* api.get("default", "p-unread")
      assert.strictEqual(again.metadata?.name, "p-unread")
    }).pipe(Effect.provide(layer())))

  it.live("delete honours the UID precondition and finalizers", () =>
    Effect.gen(function*() {
      const created = sim.addPod({ ...runningPod("p-del"), finalizers: ["workflows.argoproj.io/status"] })
      const api = yield* PodApi
      const wrongUid = yield* Effect.flip(api.delete("default", "p-del", { uid: "not-the-uid" }))
      assert.strictEqual(wrongUid._tag, "KubeConflictError")
      yield* api.delete("default", "p-del", { uid: created.metadata!.uid!, gracePeriodSeconds: 0 })
      const pending = yield* api.get("default", "p-del")
      assert.isDefined(pending.metadata?.deletionTimestamp, "a pod with finalizers stays, marked for deletion")
      yield* api.patch("default", "p-del", { type: "merge", body: { metadata: { finalizers: null } } })
      const gone = yield* Effect.flip(api.get("default", "p-del"))
      assert.strictEqual(gone._tag, "KubeNotFoundError")
    }).pipe(Effect.provide(layer())))

  it.live("a timed-out API call aborts its HTTP request", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("p-slow"))
      const rule = sim.faults.api({ verb: "get", name: "p-slow" }, { kind: "latency", ms: 10_000 })
      const abortedBefore = sim.stats().requestsAborted
      const api = yield* PodApi
      const error = yield* Effect.flip(api.get("default", "p-slow"))
      assert.strictEqual(error._tag, "KubeTransientError")
      assert.strictEqual(error.reason, "Timeout")
      yield* waitFor(sim, () => sim.stats().requestsAborted > abortedBefore)
      sim.faults.clear(rule)
    }).pipe(Effect.provide(kubeLayer(sim, { client: { requestTimeout: "200 millis" } }))))

  it.live("interrupting a call aborts its HTTP request", () =>
    Effect.gen(function*() {
      const rule = sim.faults.api({ verb: "list" }, { kind: "latency", ms: 10_000 })
      const abortedBefore = sim.stats().requestsAborted
      const api = yield* PodApi
      const fiber = yield* Effect.forkChild(api.list())
      yield* waitFor(sim, () => sim.requestLog.some((r) => r.verb === "list" && r.endedAt === undefined))
      yield* Fiber.interrupt(fiber)
      yield* waitFor(sim, () => sim.stats().requestsAborted > abortedBefore)
      sim.faults.clear(rule)
    }).pipe(Effect.provide(layer())))

  it.live("watch streams events from a resourceVersion, and its request closes with the stream", () =>
    Effect.gen(function*() {
      const api = yield* PodApi
      const start = yield* api.list({ namespace: "watched" })
      const fiber = yield* api.watch({ namespace: "watched", resourceVersion: start.resourceVersion }).pipe(
        Stream.filter((e) => e.type !== "BOOKMARK"),
        Stream.take(3),
        Stream.runCollect,
        Effect.forkChild
      )
      yield* waitFor(sim, () => sim.stats().watchOpen === 1)
      sim.addPod(runningPod("w-1", { namespace: "watched" }))
      yield* api.patch("watched", "w-1", { type: "merge", body: { metadata: { labels: { seen: "yes" } } } })
      yield* api.delete("watched", "w-1", { gracePeriodSeconds: 0 })
      const events = yield* Fiber.join(fiber)
      assert.deepStrictEqual(events.map((e) => e.type), ["ADDED", "MODIFIED", "DELETED"])
      yield* waitFor(sim, () => sim.stats().watchOpen === 0)
    }).pipe(Effect.provide(layer())))

  it.live("a watch from an expired resourceVersion fails with KubeGoneError", () =>
    Effect.gen(function*() {
      const small = yield* Effect.promise(() => SimCluster.start({ historyLimit: 5 }))
      yield* Effect.addFinalizer(() => Effect.promise(() => small.close()))
      for (let i = 0; i < 20; i++) small.addPod(runningPod(`churn-${i}`))
      const error = yield* Effect.flip(
        Stream.runDrain(PodApi.useSync((api) => api.watch({ namespace: "default", resourceVersion: "1" })).pipe(
          Stream.unwrap,
          Stream.provide(kubeLayer(small))
        ))
      )
      assert.strictEqual(error._tag, "KubeGoneError")
      if (error._tag === "KubeGoneError") assert.strictEqual(error.code, 410)
    }))

  it.live("a watch fault 'gone' on an open watch fails it with KubeGoneError", () =>
    Effect.gen(function*() {
      const api = yield* PodApi
      const fiber = yield* Effect.forkChild(Effect.flip(Stream.runDrain(api.watch({ namespace: "default" }))))
      yield* waitFor(sim, () => sim.stats().watchOpen === 1)
      sim.faults.watch({ kind: "gone" }, { resource: "pods" })
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "KubeGoneError")
      yield* waitFor(sim, () => sim.stats().watchOpen === 0)
    }).pipe(Effect.provide(layer())))
})
