/**
 * The list+watch loop against the simulated cluster: drops, silent watches, clean ends and 410s
 * never lose a pod, and the cache always converges to the server's state.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Metric } from "effect"
import { watchRestarts } from "../../src/metrics.ts"
import { PodApi } from "../../src/kube/PodApi.ts"
import { makeInformer } from "../../src/controller/informer.ts"
import { objectKey, podListWatch } from "../../src/controller/sources.ts"
import { SimCluster } from "@pod-cleanup/sim"
import { kubeLayer, realSleep, runningPod, useSim, waitFor } from "../support/sim.ts"

const sim = useSim()

const serverKeys = (namespace: string) =>
  new Set(sim.listPods().filter((p) => p.metadata?.namespace === namespace).map((p) => objectKey(p)))

describe("informer", () => {
  it.live("converges through a dropped watch, a clean end, a silent watch and a 410", () =>
    Effect.gen(function*() {
      const ns = "inf"
      for (let i = 0; i < 10; i++) sim.addPod(runningPod(`before-${i}`, { namespace: ns }))
      const pods = yield* PodApi
      const upserts = new Set<string>()
      const deletes = new Set<string>()
      const informer = makeInformer({
        resource: "pods",
        ...podListWatch(pods, ns, ""),
        onUpsert: (pod) => Effect.sync(() => void upserts.add(objectKey(pod))),
        onDelete: (pod) => Effect.sync(() => void deletes.add(objectKey(pod))),
        silenceLimit: Duration.millis(400),
        backoffBase: Duration.millis(20),
        backoffMax: Duration.millis(100),
        pageSize: 3
      })
      const cacheKeys = () => new Set([...informer.cache.values()].map((p) => objectKey(p)))
      const converged = () => {
        const a = cacheKeys()
        const b = serverKeys(ns)
        return a.size === b.size && [...a].every((k) => b.has(k))
      }
      yield* Effect.forkScoped(informer.run)
      yield* waitFor(sim, () => informer.cache.synced() && informer.cache.size() === 10)
      yield* waitFor(sim, () => sim.stats().watchOpen >= 1)

      sim.addPod(runningPod("live-1", { namespace: ns }))
      yield* waitFor(sim, () => upserts.has(`${ns}/live-1`))

      // Dropped connection: resumes from the last resourceVersion, nothing in between is lost.
      sim.faults.watch({ kind: "drop" }, { resource: "pods", namespace: ns })
      sim.addPod(runningPod("after-drop", { namespace: ns }))
      yield* waitFor(sim, () => upserts.has(`${ns}/after-drop`))

      // Clean end of the response: resumes as well.
      sim.faults.watch({ kind: "end" }, { resource: "pods", namespace: ns })
      sim.addPod(runningPod("after-end", { namespace: ns }))
      yield* waitFor(sim, () => upserts.has(`${ns}/after-end`))

      // Silent watch: the server keeps the connection but sends nothing; restarted past the limit.
      sim.faults.watch({ kind: "silent" }, { resource: "pods", namespace: ns })
      sim.addPod(runningPod("during-silence", { namespace: ns }))
      yield* waitFor(sim, () => upserts.has(`${ns}/during-silence`), 5000)

      // 410: the watch is expired; the loop lists again and reconciles deletions it missed.
      sim.faults.watch({ kind: "gone" }, { resource: "pods", namespace: ns, next: 1 })
      sim.faults.watch({ kind: "drop" }, { resource: "pods", namespace: ns })
      sim.addPod(runningPod("after-gone", { namespace: ns }))
      yield* waitFor(sim, () => upserts.has(`${ns}/after-gone`), 5000)

      yield* waitFor(sim, converged, 5000)
      assert.isTrue(converged())
      for (const reason of ["error", "closed", "silent", "expired"]) {
        const restarts = yield* Metric.value(Metric.withAttributes(watchRestarts, { resource: "pods", reason }))
        assert.isAtLeast(restarts.count, 1, `a watch restart for reason ${reason}`)
      }
    }).pipe(Effect.provide(kubeLayer(sim))))

  it.live("a relist after 410 reports pods deleted while the watch was down", () =>
    Effect.gen(function*() {
      // A short event history, so a watch resumed after a gap is answered with 410.
      const small = yield* Effect.promise(() => SimCluster.start({ historyLimit: 5 }))
      yield* Effect.addFinalizer(() => Effect.promise(() => small.close()))
      const ns = "inf-del"
      for (let i = 0; i < 5; i++) small.addPod(runningPod(`d-${i}`, { namespace: ns }))
      const deletes = new Set<string>()
      const informer = yield* PodApi.useSync((pods) =>
        makeInformer({
          resource: "pods",
          ...podListWatch(pods, ns, ""),
          onUpsert: () => Effect.void,
          onDelete: (pod) => Effect.sync(() => void deletes.add(objectKey(pod))),
          // A long backoff after the drop leaves time to change the cluster behind its back.
          backoffBase: Duration.millis(1500)
        })
      ).pipe(Effect.provide(yield* Layer.build(kubeLayer(small))))
      yield* Effect.forkScoped(informer.run)
      yield* waitFor(small, () => informer.cache.synced() && small.stats().watchOpen >= 1)
      small.faults.watch({ kind: "drop" }, { resource: "pods", namespace: ns })
      yield* waitFor(small, () => small.stats().watchOpen === 0)
      small.updatePod(ns, "d-0", (p) => {
        p.metadata = { ...p.metadata, finalizers: [] }
      })
      yield* Effect.promise(() => fetch(`${small.url}/api/v1/namespaces/${ns}/pods/d-0`, { method: "DELETE" }).then((r) => r.text()))
      for (let i = 0; i < 20; i++) small.addPod(runningPod(`churn-${i}`, { namespace: ns }))
      yield* waitFor(small, () => deletes.has(`${ns}/d-0`), 5000)
      yield* waitFor(small, () => informer.cache.size() === 24, 5000)
      assert.isUndefined(informer.cache.get(`${ns}/d-0`))
      assert.isTrue((small.requestLog.filter((r) => r.verb === "list").length) >= 2, "listed again after the 410")
    }))
})

const restartCount = (resource: string, reason: string) =>
  Effect.map(Metric.value(Metric.withAttributes(watchRestarts, { resource, reason })), (v) => v.count)

describe("informer on a quiet cluster", () => {
  // Scaled 1:20 from a real cluster: bookmarks every 3 s (60 s), the client's inactivity limit
  // 1.5 s (client-node's 30 s), the server-side watch timeout 1 s (25 s), 9 s of quiet (3 minutes).
  it.live("watches end cleanly and resume at once: no error restarts, a late pod is seen promptly", () =>
    Effect.gen(function*() {
      const quiet = yield* Effect.promise(() => SimCluster.start({ bookmarkIntervalMs: 3000 }))
      yield* Effect.addFinalizer(() => Effect.promise(() => quiet.close()))
      const ns = "quiet"
      const resource = "pods-quiet"
      quiet.addPod(runningPod("old", { namespace: ns }))
      const seenAt = new Map<string, number>()
      const informer = yield* PodApi.useSync((pods) =>
        makeInformer({
          resource,
          ...podListWatch(pods, ns, ""),
          onUpsert: (pod) => Effect.sync(() => void seenAt.set(objectKey(pod), Date.now())),
          onDelete: () => Effect.void,
          watchInactivityLimit: Duration.millis(1500),
          backoffBase: Duration.millis(50),
          backoffMax: Duration.millis(1500)
        })
      ).pipe(Effect.provide(yield* Layer.build(kubeLayer(quiet))))
      yield* Effect.forkScoped(informer.run)
      yield* waitFor(quiet, () => informer.cache.synced() && quiet.stats().watchOpen >= 1)
      yield* realSleep(9000)

      const created = Date.now()
      quiet.addPod(runningPod("late", { namespace: ns }))
      yield* waitFor(quiet, () => seenAt.has(`${ns}/late`), 5000)
      const latency = seenAt.get(`${ns}/late`)! - created
      assert.isBelow(latency, 1000, `the late pod was seen after ${latency} ms`)

      assert.strictEqual(yield* restartCount(resource, "error"), 0, "no watch ended in an error")
      assert.isAtLeast(yield* restartCount(resource, "closed"), 5, "the server ended the watches cleanly")
      const watches = quiet.requestLog.filter((r) => r.verb === "watch" && r.namespace === ns && r.endedAt !== undefined)
      assert.isAtLeast(watches.length, 5)
      assert.isTrue(watches.every((w) => !w.aborted), "no watch was aborted by the client's inactivity limit")
      const health = yield* informer.cache.health()
      assert.isTrue(health.synced)
      assert.isFalse(health.stale)
    }))
})

describe("informer against a wedged watch, expiring continue tokens and malformed events", () => {
  it.live("a bookmark-only watch is re-established with a relist check past eventSilenceLimit, and health shows it", () =>
    Effect.gen(function*() {
      const wedged = yield* Effect.promise(() => SimCluster.start({ bookmarkIntervalMs: 100 }))
      yield* Effect.addFinalizer(() => Effect.promise(() => wedged.close()))
      const ns = "wedged"
      const resource = "pods-wedged"
      for (let i = 0; i < 2; i++) wedged.addPod(runningPod(`old-${i}`, { namespace: ns }))
      const informer = yield* PodApi.useSync((pods) =>
        makeInformer({
          resource,
          ...podListWatch(pods, ns, ""),
          onUpsert: () => Effect.void,
          onDelete: () => Effect.void,
          eventSilenceLimit: Duration.millis(1500),
          watchInactivityLimit: Duration.millis(1500),
          backoffBase: Duration.millis(50),
          backoffMax: Duration.millis(200)
        })
      ).pipe(Effect.provide(yield* Layer.build(kubeLayer(wedged))))
      yield* Effect.forkScoped(informer.run)
      yield* waitFor(wedged, () => informer.cache.synced() && wedged.stats().watchOpen >= 1)
      const fresh = yield* informer.cache.health()
      assert.deepInclude(fresh, { synced: true, stale: false, relistsAfterSilence: 0, driftFound: 0 })

      // The watch cache wedges: every watch (this one and the next ones) sends bookmarks only.
      wedged.faults.watch("bookmarkOnly", { resource: "pods", namespace: ns, next: 1_000_000 })
      // Lists fail for now, so the informer stays stale for a while.
      const listDown = wedged.faults.api({ verb: "list", resource: "pods", namespace: ns }, { kind: "status", code: 500 })
      for (let i = 0; i < 5; i++) wedged.addPod(runningPod(`new-${i}`, { namespace: ns }))
      yield* realSleep(300)
      assert.strictEqual(informer.cache.size(), 2, "the wedged watch delivered nothing")
      yield* Effect.promise(async () => {
        const deadline = Date.now() + 5000
        while (!(await Effect.runPromise(informer.cache.health())).stale) {
          if (Date.now() > deadline) throw new Error("never reported stale")
          await new Promise((r) => setTimeout(r, 50))
        }
      })
      const stale = yield* informer.cache.health()
      assert.isAtLeast(stale.lastEventAgeMs ?? 0, 1500)

      wedged.faults.clear(listDown)
      yield* waitFor(wedged, () => informer.cache.size() === 7, 5000)
      const healed = yield* informer.cache.health()
      assert.isFalse(healed.stale)
      assert.isAtLeast(healed.relistsAfterSilence, 1)
      assert.isAtLeast(healed.driftFound, 1)
      assert.isAtLeast(yield* restartCount(resource, "stale"), 1)
      assert.strictEqual(yield* restartCount(resource, "error"), 0)
    }))

  it.live("a paginated list whose continue tokens keep expiring still syncs (one full list, as client-go's pager)", () =>
    Effect.gen(function*() {
      const ns = "expiring"
      const resource = "pods-expiring"
      for (let i = 0; i < 300; i++) sim.addPod(runningPod(`p-${String(i).padStart(3, "0")}`, { namespace: ns }))
      // Each page takes 20 ms and every token expires within 150 ms: no paginated list can finish.
      const slow = sim.faults.api({ verb: "list", resource: "pods", namespace: ns }, { kind: "latency", ms: 20 })
      const expirer = setInterval(() => sim.expireContinueTokens(), 150)
      yield* Effect.addFinalizer(() => Effect.sync(() => {
        clearInterval(expirer)
        sim.faults.clear(slow)
      }))
      const informer = yield* PodApi.useSync((pods) =>
        makeInformer({
          resource,
          ...podListWatch(pods, ns, ""),
          onUpsert: () => Effect.void,
          onDelete: () => Effect.void,
          backoffBase: Duration.millis(50),
          backoffMax: Duration.millis(200),
          pageSize: 10
        })
      )
      yield* Effect.forkScoped(informer.run)
      yield* waitFor(sim, () => informer.cache.synced(), 10_000)
      assert.strictEqual(informer.cache.size(), 300)
      assert.deepStrictEqual(new Set([...informer.cache.values()].map(objectKey)), serverKeys(ns))
      assert.isAtLeast(yield* restartCount(resource, "continue-expired"), 1)
    }).pipe(Effect.provide(kubeLayer(sim))))

  it.live("malformed watch events are skipped: they never enter the cache nor restart the watch", () =>
    Effect.gen(function*() {
      const ns = "malformed"
      const resource = "pods-malformed"
      sim.addPod(runningPod("good-0", { namespace: ns }))
      const upserted: Array<unknown> = []
      const informer = yield* PodApi.useSync((pods) =>
        makeInformer({
          resource,
          ...podListWatch(pods, ns, ""),
          onUpsert: (pod) => Effect.sync(() => void upserted.push(pod)),
          onDelete: () => Effect.void,
          backoffBase: Duration.millis(50)
        })
      )
      yield* Effect.forkScoped(informer.run)
      yield* waitFor(sim, () => informer.cache.synced() && sim.requestLog.some((r) => r.verb === "watch" && r.namespace === ns && r.endedAt === undefined))
      for (
        const line of [
          `{"type":"ADDED","object":null}`,
          `{"type":"MODIFIED","object":"a string"}`,
          `{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1"}}`,
          `{"type":"DELETED","object":[1,2]}`,
          `{"type":"ADDED","object":null}`
        ]
      ) sim.faults.watch({ kind: "raw", line }, { resource: "pods", namespace: ns })
      sim.addPod(runningPod("good-1", { namespace: ns }))
      yield* waitFor(sim, () => informer.cache.size() === 2)
      assert.deepStrictEqual([...informer.cache.values()].map(objectKey).sort(), [`${ns}/good-0`, `${ns}/good-1`])
      assert.isTrue(upserted.every((p) => typeof p === "object" && p !== null && "metadata" in p))
      assert.strictEqual(yield* restartCount(resource, "error"), 0)
      assert.strictEqual(yield* restartCount(resource, "closed"), 0)
    }).pipe(Effect.provide(kubeLayer(sim))))
})
