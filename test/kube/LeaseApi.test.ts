/**
 * `LeaseApi` against the simulated API server over real HTTP: get/create/replace with MicroTime
 * text kept exactly, 404 and 409 typed, and the per-request deadline: a request gets what is left
 * of the attempt (capped by `perRequestMs`), and one whose attempt deadline has passed is not sent.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { LeaseApi, type LeaseDeadline, localMillis } from "../../src/kube/LeaseApi.ts"
import { clientLayer, useSim } from "../support/sim.ts"

const sim = useSim()

const layer = () => LeaseApi.layer.pipe(Layer.provide(clientLayer(sim, { requestTimeout: "5 seconds" })))

/** A deadline `ms` from now, each request at most `perRequestMs`. */
const within = (ms: number, perRequestMs = 5_000) =>
  Effect.map(localMillis, (now): LeaseDeadline => ({ at: now + ms, perRequestMs }))

const ns = "lease-api"

describe("LeaseApi on loopback", () => {
  it.live("create, get and replace; the MicroTime text round-trips; 404 and a stale replace are typed", () =>
    Effect.gen(function*() {
      const api = yield* LeaseApi
      const ref = { namespace: ns, name: "lock" }
      const missing = yield* Effect.flip(api.get(ref, yield* within(2_000)))
      assert.strictEqual(missing._tag, "KubeNotFoundError")
      assert.strictEqual(missing.resource, "leases")

      const t0 = "2026-11-28T10:00:00.123456Z"
      const created = yield* api.create(ref, {
        holderIdentity: "a",
        leaseDurationSeconds: 15,
        acquireTime: t0,
        renewTime: t0,
        leaseTransitions: 0
      }, yield* within(2_000))
      assert.deepStrictEqual(created.spec, { holderIdentity: "a", leaseDurationSeconds: 15, acquireTime: t0, renewTime: t0, leaseTransitions: 0 })
      assert.strictEqual(created.metadata.name, "lock")

      const read = yield* api.get(ref, yield* within(2_000))
      assert.deepStrictEqual(read.spec, created.spec)

      const t1 = "2026-11-28T10:00:02.000001Z"
      const renewed = yield* api.replace(ref, read, { ...read.spec, renewTime: t1 }, yield* within(2_000))
      assert.strictEqual(renewed.spec.renewTime, t1)
      assert.strictEqual(renewed.spec.acquireTime, t0)
      assert.notStrictEqual(renewed.metadata.resourceVersion, read.metadata.resourceVersion)

      // `read` carries the resourceVersion before the renewal: the server refuses it.
      const stale = yield* Effect.flip(api.replace(ref, read, { ...read.spec, holderIdentity: "b" }, yield* within(2_000)))
      assert.strictEqual(stale._tag, "KubeConflictError")
      assert.strictEqual((yield* api.get(ref, yield* within(2_000))).spec.holderIdentity, "a")
    }).pipe(Effect.provide(layer())))

  it.live("a request past its attempt's deadline is not sent; a hung one is cut at perRequestMs", () =>
    Effect.gen(function*() {
      const api = yield* LeaseApi
      const ref = { namespace: ns, name: "deadline" }
      const sentBefore = sim.requestLog.filter((r) => r.namespace === ns && r.name === "deadline").length
      const late = yield* Effect.flip(api.get(ref, yield* within(-1)))
      assert.strictEqual(late._tag, "KubeTransientError")
      assert.match(late.message, /not sent, the attempt's deadline has passed/)
      assert.strictEqual(sim.requestLog.filter((r) => r.namespace === ns && r.name === "deadline").length, sentBefore)

      const rule = sim.faults.api({ verb: "get", resource: "leases", namespace: ns, name: "deadline" }, { kind: "latency", ms: 10_000 })
      const started = Date.now()
      const hung = yield* Effect.flip(api.get(ref, yield* within(8_000, 300)))
      const took = Date.now() - started
      sim.faults.clear(rule)
      assert.strictEqual(hung._tag, "KubeTransientError")
      assert.strictEqual(hung.reason, "Timeout")
      assert.isAtLeast(took, 250)
      assert.isBelow(took, 2_000, "the per-request cap, not the 8 s attempt deadline nor the 5 s client timeout")

      const cutByAttempt = Date.now()
      sim.faults.api({ verb: "get", resource: "leases", namespace: ns, name: "deadline" }, { kind: "latency", ms: 10_000 }, { times: 1 })
      yield* Effect.flip(api.get(ref, yield* within(300, 5_000)))
      assert.isBelow(Date.now() - cutByAttempt, 2_000, "what is left of the attempt bounds the request")
    }).pipe(Effect.provide(layer())))
})
