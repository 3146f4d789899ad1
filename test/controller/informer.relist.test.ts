/**
 * The informer's cache through a relist, against the simulated cluster: pages are applied as they
 * arrive, each object moving from the cache as it was to the one being listed, so a reader finds
 * every object (the old version or the new) and the cache never holds one twice; a list that fails
 * part-way puts back what it moved. Lookups by namespace and name and by key agree.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import type { Pod } from "../../src/domain/Pod.ts"
import { PodApi } from "../../src/kube/PodApi.ts"
import { type InformerCache, makeInformer } from "../../src/controller/informer.ts"
import { podListWatch } from "../../src/controller/sources.ts"
import { SimCluster } from "@pod-cleanup/sim"
import { kubeLayer, runningPod, waitFor } from "../support/sim.ts"

let sim: SimCluster
beforeAll(async () => {
  sim = await SimCluster.start()
})
afterAll(async () => {
  await sim?.close()
})

const names = Array.from({ length: 9 }, (_, i) => `p-${i}`)

/** What a reader of the cache saw when a list page was asked for (before it was applied). */
interface Seen {
  readonly size: number
  /** Pods the cache did not find. */
  readonly missing: number
  /** Pods the cache answered with an object other than the one it held before the relist. */
  readonly replaced: number
  readonly unique: number
}

const look = (cache: InformerCache<Pod>, ns: string, before: ReadonlyMap<string, Pod>): Seen => {
  const found = names.map((n) => cache.getByName(ns, n))
  return {
    size: cache.size(),
    missing: found.filter((p) => p === undefined).length,
    replaced: found.filter((p, i) => p !== undefined && p !== before.get(names[i])).length,
    unique: new Set(cache.values()).size
  }
}

/**
 * An informer over `ns` (pages of 3) whose list calls, once `relisting()` holds, record what the
 * cache looked like; `beforeList` runs first and may arm a fault for that very call.
 */
const relistProbe = (ns: string, beforeList: (call: number) => void = () => {}) =>
  Effect.gen(function*() {
    const pods = yield* PodApi
    const source = podListWatch(pods, ns, "")
    const seen: Array<Seen> = []
    const state = { relisting: false, before: new Map<string, Pod>() }
    const informer = makeInformer<Pod>({
      resource: "pods",
      ...source,
      list: (options) =>
        Effect.suspend(() => {
          if (state.relisting) {
            seen.push(look(informer.cache, ns, state.before))
            beforeList(seen.length)
          }
          return source.list(options)
        }),
      onUpsert: () => Effect.void,
      onDelete: () => Effect.void,
      backoffBase: Duration.millis(100),
      backoffMax: Duration.millis(200),
      pageSize: 3
    })
    yield* Effect.forkScoped(informer.run)
    yield* waitFor(sim, () => informer.cache.synced() && sim.requestLog.some((r) => r.verb === "watch" && r.namespace === ns && r.endedAt === undefined))
    for (const n of names) state.before.set(n, informer.cache.getByName(ns, n)!)
    const relist = () => {
      state.relisting = true
      sim.faults.watch({ kind: "gone" }, { resource: "pods", namespace: ns })
    }
    return { informer, seen, relist, before: state.before }
  })

describe("informer cache through a relist", () => {
  it.live("pages are applied as they arrive; mid-list every object is found once, old or new", () =>
    Effect.gen(function*() {
      const ns = "relist-moves"
      for (const n of names) sim.addPod(runningPod(n, { namespace: ns }))
      const { informer, seen, relist, before } = yield* relistProbe(ns)
      assert.strictEqual(informer.cache.size(), 9)
      relist()
      yield* waitFor(sim, () => seen.length >= 3 && look(informer.cache, ns, before).replaced === 9, 5000)
      // Before page 1, 2 and 3: 0, 3 and 6 objects of the new list applied; nothing missing or doubled.
      assert.deepStrictEqual(seen.slice(0, 3), [
        { size: 9, missing: 0, replaced: 0, unique: 9 },
        { size: 9, missing: 0, replaced: 3, unique: 9 },
        { size: 9, missing: 0, replaced: 6, unique: 9 }
      ])
      assert.deepStrictEqual(look(informer.cache, ns, before), { size: 9, missing: 0, replaced: 9, unique: 9 })
    }).pipe(Effect.provide(kubeLayer(sim))))

  it.live("a list that fails part-way puts the objects it moved back, and the next list completes", () =>
    Effect.gen(function*() {
      const ns = "relist-fails"
      for (const n of names) sim.addPod(runningPod(n, { namespace: ns }))
      // The relist's second page is refused once (403: not retried by the client).
      const { informer, seen, relist, before } = yield* relistProbe(ns, (call) => {
        if (call === 2) sim.faults.api({ verb: "list", resource: "pods", namespace: ns }, { kind: "status", code: 403 }, { times: 1 })
      })
      relist()
      yield* waitFor(sim, () => seen.length >= 5 && look(informer.cache, ns, before).replaced === 9, 5000)
      // Call 3 is the next list's first page, after the failure: the first page's 3 objects were
      // put back (the new ones), the rest never left.
      assert.deepStrictEqual(seen.slice(0, 3), [
        { size: 9, missing: 0, replaced: 0, unique: 9 },
        { size: 9, missing: 0, replaced: 3, unique: 9 },
        { size: 9, missing: 0, replaced: 3, unique: 9 }
      ])
      assert.deepStrictEqual(look(informer.cache, ns, before), { size: 9, missing: 0, replaced: 9, unique: 9 })
    }).pipe(Effect.provide(kubeLayer(sim))))

  it.live("pods vanished while the watch was down are deleted after the complete list; lookups by name and by key agree", () =>
    Effect.gen(function*() {
      const ns = "relist-vanished"
      for (const n of names) sim.addPod(runningPod(n, { namespace: ns }))
      const { informer, seen, relist } = yield* relistProbe(ns, (call) => {
        // Gone before the relist reads the pages that held them.
        if (call === 1) for (const n of ["p-4", "p-8"]) sim.deletePod(ns, n)
      })
      relist()
      yield* waitFor(sim, () => seen.length >= 3 && informer.cache.size() === 7, 5000)
      for (const n of names) {
        const pod = informer.cache.getByName(ns, n)
        assert.strictEqual(pod === undefined, n === "p-4" || n === "p-8", n)
        assert.strictEqual(informer.cache.get(`${ns}/${n}`), pod)
      }
      assert.isUndefined(informer.cache.get("no-slash"))
      assert.isUndefined(informer.cache.getByName("elsewhere", "p-0"))
    }).pipe(Effect.provide(kubeLayer(sim))))
})
