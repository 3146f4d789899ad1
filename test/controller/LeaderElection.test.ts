/**
 * Leader election against the simulated cluster: two instances, each with its own KubeClient (and
 * its own loopback proxy, so one instance alone can be cut off from the API server), contend for
 * one Lease. Loopback tests use short real durations; the crash tests use client-go's defaults
 * (15 s / 10 s / 2 s) in virtual time, with real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Clock, Context, Duration, Effect, Exit, Fiber, Layer, Logger, Scope } from "effect"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll } from "vitest"
import { KubeClient, makeKubeClient } from "../../src/kube/KubeClient.ts"
import { loadKubeConfig } from "../../src/kube/KubeConfigSource.ts"
import { LeaderElection, type LeaderElectionSettings } from "../../src/controller/LeaderElection.ts"
import {
  checkTimings,
  formatMicroTime,
  isMicroTime,
  JitterFactor,
  jittered,
  leaseDurationSeconds,
  parseMicroTime
} from "../../src/controller/leaseTime.ts"
import { type RequestLogEntry, SimCluster } from "@pod-cleanup/sim"
import { clientLayer, realSleep, waitFor } from "../support/sim.ts"
import { http } from "@pod-cleanup/sim/testing"

const namespace = "le"

// ---- a loopback TCP proxy that can black-hole one instance's traffic -----------------------------

interface Proxy {
  readonly kubeconfig: string
  /** Drop every byte both ways: requests hang as behind a partition (or a frozen process). */
  block(): void
  /** Forward requests but drop every answer: the server applies what the client never hears back about. */
  dropAnswers(): void
  heal(): void
  close(): Promise<void>
}

let sim: SimCluster
let dir: string
const proxies: Array<Proxy> = []

const startProxy = async (): Promise<Proxy> => {
  const target = new URL(sim.url)
  const sockets = new Set<Socket>()
  let blocked: "none" | "both" | "answers" = "none"
  const server: Server = createServer((downstream) => {
    const upstream = connect(Number(target.port), target.hostname)
    const end = () => {
      downstream.destroy()
      upstream.destroy()
      sockets.delete(downstream)
      sockets.delete(upstream)
    }
    sockets.add(downstream).add(upstream)
    downstream.on("data", (d) => void (blocked === "both" || upstream.write(d)))
    upstream.on("data", (d) => void (blocked !== "none" || downstream.write(d)))
    for (const s of [downstream, upstream]) s.on("close", end).on("error", end)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const kubeconfig = join(dir, `kubeconfig-${proxies.length}`)
  writeFileSync(kubeconfig, sim.kubeconfigYaml().replace(sim.url, url))
  const proxy: Proxy = {
    kubeconfig,
    block: () => void (blocked = "both"),
    dropAnswers: () => void (blocked = "answers"),
    heal: () => void (blocked = "none"),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
  proxies.push(proxy)
  return proxy
}

beforeAll(async () => {
  sim = await SimCluster.start()
  dir = mkdtempSync(join(tmpdir(), "pod-cleanup-le-"))
})
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()))
  await sim?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

// ---- instances -----------------------------------------------------------------------------------

/** Short real durations for loopback tests: the holder writes leaseDurationSeconds 1. */
const fast = { leaseDuration: Duration.seconds(1), renewDeadline: Duration.millis(600), retryPeriod: Duration.millis(150) }
/** client-go's defaults, for virtual time. */
const defaults = { leaseDuration: Duration.seconds(15), renewDeadline: Duration.seconds(10), retryPeriod: Duration.seconds(2) }
type Timings = typeof fast

/** One leadership term of one instance, in Clock time. */
interface Term {
  readonly id: string
  readonly start: number
  end: number | undefined
}

interface LogLine {
  readonly message: unknown
  readonly level: string
  readonly annotations: Record<string, unknown>
}

const logs: Array<LogLine> = []
const captureLogs = Logger.layer([Logger.map(Logger.formatStructured, (line) => void logs.push(line))])

const member = Effect.fnUntraced(function*(id: string, leaseName: string, timings: Timings, terms: Array<Term>) {
  const proxy = yield* Effect.promise(() => startProxy())
  const client = Layer.effect(
    KubeClient,
    Effect.map(Effect.orDie(loadKubeConfig({ kubeconfig: proxy.kubeconfig, env: {} })), (loaded) => makeKubeClient(loaded))
  )
  const settings: LeaderElectionSettings = { leaseName, leaseNamespace: namespace, identity: id, ...timings }
  const election = Context.get(yield* Layer.build(LeaderElection.layer(settings).pipe(Layer.provide(client))), LeaderElection)
  const whileLeader = Effect.gen(function*() {
    const term: Term = { id, start: yield* Clock.currentTimeMillis, end: undefined }
    terms.push(term)
    return yield* Effect.never.pipe(Effect.onExit(() => Effect.map(Clock.currentTimeMillis, (t) => void (term.end = t))))
  })
  let scope: Scope.Closeable | undefined
  let fiber: Fiber.Fiber<never> | undefined
  /** Closes the scope `run` runs in (what SIGTERM does to the service): whileLeader stops, then the lease is released. */
  const stop = Effect.suspend(() => (scope === undefined ? Effect.void : Scope.close(scope, Exit.void)))
  yield* Effect.addFinalizer(() => stop) // whatever the test's outcome
  return {
    id,
    election,
    proxy,
    /** Starts `run` in a scope of its own. */
    start: Effect.gen(function*() {
      scope = yield* Scope.make()
      fiber = yield* Effect.forkIn(election.run(whileLeader), scope)
    }),
    stop,
    running: () => fiber !== undefined && fiber.pollUnsafe() === undefined
  }
})
type Member = Effect.Success<ReturnType<typeof member>>

interface LeaseJson {
  readonly metadata: { readonly resourceVersion: string }
  readonly spec: {
    readonly holderIdentity?: string
    readonly leaseDurationSeconds?: number
    readonly acquireTime?: string
    readonly renewTime?: string
    readonly leaseTransitions?: number
  }
}

/** The test's own reads, so they are not mistaken for an instance's. */
const ownReads = new Set<RequestLogEntry>()

/** The Lease as the server stores it (raw JSON, not through client-node). */
const readLease = (name: string) =>
  Effect.promise(async () => {
    const from = sim.requestLog.length
    const res = await http(sim, "GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`)
    for (const r of sim.requestLog.slice(from)) if (r.verb === "get" && r.name === name) ownReads.add(r)
    return res.status === 200 ? (res.json as LeaseJson) : undefined
  })

/** The first read of lease `name` by an instance that started after `after` (real time) ended. */
const firstReadAfter = (name: string, after: RequestLogEntry) =>
  sim.requestLog.find((r) =>
    r.name === name && r.verb === "get" && r.status === 200 && !ownReads.has(r) && r.at >= (after.endedAt ?? Infinity)
  )

const leaders = (members: ReadonlyArray<Member>) => members.filter((m) => m.election.isLeader())

/** Every pair of terms of different instances is disjoint (an open term lasts until now). */
const assertNoOverlap = (terms: ReadonlyArray<Term>, now: number) => {
  for (const a of terms) {
    for (const b of terms) {
      if (a.id === b.id) continue
      const overlap = a.start < (b.end ?? now) && b.start < (a.end ?? now)
      assert.isFalse(overlap, `terms overlap: ${a.id} [${a.start}, ${a.end}] and ${b.id} [${b.start}, ${b.end}]`)
    }
  }
}

const ms = Duration.toMillis

// ---- virtual time with real sockets ----------------------------------------------------------------

/** Waits (in real time) until no request to the simulator is open and none has started meanwhile. */
const quiesce = Effect.gen(function*() {
  let seen = -1
  while (true) {
    yield* realSleep(2)
    const log = sim.requestLog
    if (log.length === seen && log.every((r) => r.endedAt !== undefined)) return
    seen = log.length
  }
})

const STEP = 200

/** Advances the TestClock in steps while `more()` holds (at most `maxMs`), letting sockets keep pace. */
const stepWhile = (more: () => boolean, maxMs: number) =>
  Effect.gen(function*() {
    for (let t = 0; t < maxMs && more(); t += STEP) {
      yield* TestClock.adjust(STEP)
      yield* quiesce
    }
  })

const stepFor = (totalMs: number) => stepWhile(() => true, totalMs)

const stepUntil = (done: () => boolean, maxMs: number) =>
  Effect.gen(function*() {
    yield* stepWhile(() => !done(), maxMs)
    assert.isTrue(done(), `condition not met within ${maxMs} virtual ms`)
  })

/** Records, for each finished request to the lease `name`, the virtual time it finished at. */
const recordVirtualTimes = (name: string) =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const times = new Map<RequestLogEntry, number>()
    const onRequest = (e: RequestLogEntry) => {
      if (e.resource === "leases" && e.name === name) times.set(e, clock.currentTimeMillisUnsafe())
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => sim.events.on("request", onRequest)),
      () => Effect.sync(() => sim.events.off("request", onRequest))
    )
    return times
  })

describe("LeaderElection", () => {
  it.live("one instance acquires, the other does not; the Lease names the leader with MicroTime timestamps", () =>
    Effect.gen(function*() {
      const terms: Array<Term> = []
      const a = yield* member("a-1", "one", fast, terms)
      const b = yield* member("b-1", "one", fast, terms)
      yield* Effect.all([a.start, b.start])
      yield* waitFor(sim, () => leaders([a, b]).length === 1, 3000)
      // Long enough for the follower to poll again and the leader to renew twice.
      yield* realSleep(ms(fast.retryPeriod) * (1 + JitterFactor) + 100)

      const [leader] = leaders([a, b])
      const follower = leader === a ? b : a
      assert.lengthOf(leaders([a, b]), 1)
      assert.deepStrictEqual(terms.map((t) => t.id), [leader.id])
      assert.strictEqual(follower.election.holder(), leader.id)
      assert.strictEqual(leader.election.holder(), leader.id)
      assert.isTrue(a.running() && b.running())

      const lease = yield* readLease("one")
      assert.strictEqual(lease?.spec.holderIdentity, leader.id)
      assert.strictEqual(lease?.spec.leaseDurationSeconds, 1)
      assert.strictEqual(lease?.spec.leaseTransitions, 0)
      assert.isTrue(isMicroTime(lease?.spec.acquireTime), `acquireTime ${lease?.spec.acquireTime}`)
      assert.isTrue(isMicroTime(lease?.spec.renewTime), `renewTime ${lease?.spec.renewTime}`)
      assert.match(lease?.spec.renewTime ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
      // Renewed while we waited; the acquire time stays.
      assert.isAbove(parseMicroTime(lease?.spec.renewTime)!, parseMicroTime(lease?.spec.acquireTime)!)
      // No request was rejected for its body.
      assert.isFalse(sim.requestLog.some((r) => r.resource === "leases" && (r.status === 400 || r.status === 422)))
    }).pipe(Effect.provide(captureLogs)))

  it.live("closing the leader's scope releases the lease; the other instance leads within one (jittered) retry period", () =>
    Effect.gen(function*() {
      const terms: Array<Term> = []
      const a = yield* member("a-2", "handover", fast, terms)
      const b = yield* member("b-2", "handover", fast, terms)

      // Alone: acquire, then release on shutdown (ReleaseOnCancel: no holder, 1 s).
      yield* a.start
      yield* waitFor(sim, () => a.election.isLeader(), 3000)
      yield* a.stop
      const released = yield* readLease("handover")
      assert.strictEqual(released?.spec.holderIdentity, "")
      assert.strictEqual(released?.spec.leaseDurationSeconds, 1)
      assert.isTrue(isMicroTime(released?.spec.renewTime))
      assert.isFalse(a.election.isLeader())
      assert.isUndefined(a.election.holder())
      assert.isDefined(terms[0]?.end, "whileLeader was stopped")

      // Both: a leads (it takes the released lease at once), then hands over.
      yield* a.start
      yield* waitFor(sim, () => a.election.isLeader(), 3000)
      yield* b.start
      yield* waitFor(sim, () => b.election.holder() === "a-2", 3000)
      const stoppedAt = yield* Clock.currentTimeMillis
      yield* a.stop
      yield* waitFor(sim, () => b.election.isLeader(), 3000)
      const bTerm = terms.find((t) => t.id === "b-2")!
      const handover = bTerm.start - stoppedAt
      // A follower polls every retryPeriod × [1, 1 + JitterFactor): one poll after the release.
      assert.isBelow(handover, ms(fast.retryPeriod) * (1 + JitterFactor) + 250)
      assert.isBelow(handover, ms(fast.leaseDuration), "well before the lease could have expired")
      const lease = yield* readLease("handover")
      assert.strictEqual(lease?.spec.holderIdentity, "b-2")
      assert.strictEqual(lease?.spec.leaseTransitions, (released?.spec.leaseTransitions ?? 0) + 2)
      assertNoOverlap(terms, yield* Clock.currentTimeMillis)

      const mine = logs.filter((l) => l.annotations["identity"] === "a-2" && l.annotations["lease"] === `${namespace}/handover`)
      const messages = mine.map((l) => String(l.message))
      assert.include(messages, "acquired the leader lease")
      assert.include(messages, "released the leader lease")
      assert.isTrue(logs.some((l) => l.annotations["identity"] === "b-2" && l.annotations["leader"] === "a-2"))
    }).pipe(Effect.provide(captureLogs)))

  it.effect("a leader cut off from the API server stops at its renew deadline; the follower takes over only a lease duration after it last saw a change", () =>
    Effect.gen(function*() {
      const times = yield* recordVirtualTimes("crash")
      const terms: Array<Term> = []
      const a = yield* member("a-3", "crash", defaults, terms)
      const b = yield* member("b-3", "crash", defaults, terms)
      yield* a.start
      yield* waitFor(sim, () => a.election.isLeader())
      yield* quiesce
      yield* b.start
      yield* stepUntil(() => b.election.holder() === "a-3", 1000)
      yield* stepFor(5_000) // a few renewals

      const updates = () => sim.requestLog.filter((r) => r.name === "crash" && r.verb === "update")
      assert.isAtLeast(updates().length, 2, "the leader renewed")
      const lastRenewal = updates().at(-1)!
      const lastRenewTime = parseMicroTime((yield* readLease("crash"))?.spec.renewTime)!
      a.proxy.block()
      const blockedAt = yield* Clock.currentTimeMillis

      yield* stepUntil(() => b.election.isLeader(), 30_000)
      const aTerm = terms.find((t) => t.id === "a-3")!
      const bTerm = terms.find((t) => t.id === "b-3")!

      // The old leader's whileLeader ended exactly when no renewal had succeeded for renewDeadline.
      assert.isDefined(aTerm.end)
      assert.isAtLeast(aTerm.end! - lastRenewTime, ms(defaults.renewDeadline))
      assert.isAtMost(aTerm.end! - lastRenewTime, ms(defaults.renewDeadline) + STEP)
      assert.isFalse(a.election.isLeader())

      // The follower first saw that last change on its first read after it.
      const sawAt = times.get(firstReadAfter("crash", lastRenewal)!)!
      assert.isAtMost(sawAt - blockedAt, ms(defaults.retryPeriod) * (1 + JitterFactor) + STEP)
      const waited = bTerm.start - sawAt
      assert.isAtLeast(waited, ms(defaults.leaseDuration), "no takeover before the lease duration")
      assert.isAtMost(waited, ms(defaults.leaseDuration) + ms(defaults.retryPeriod) * (1 + JitterFactor) + 2 * STEP)
      assert.isAbove(bTerm.start, aTerm.end!)
      assertNoOverlap(terms, yield* Clock.currentTimeMillis)

      yield* quiesce
      const lease = yield* readLease("crash")
      assert.strictEqual(lease?.spec.holderIdentity, "b-3")
      assert.strictEqual(lease?.spec.leaseTransitions, 1)

      // Healed, the old leader reads the new holder and stays a follower.
      a.proxy.heal()
      yield* stepUntil(() => a.election.holder() === "b-3", 10_000)
      yield* stepFor(3_000)
      assert.deepStrictEqual(leaders([a, b]).map((m) => m.id), ["b-3"])
      assert.strictEqual(terms.length, 2)
    }).pipe(Effect.provide(captureLogs)))

  it.effect("a leader that dies without releasing (the release fails): the follower waits the full lease duration", () =>
    Effect.gen(function*() {
      const times = yield* recordVirtualTimes("dies")
      const terms: Array<Term> = []
      const a = yield* member("a-4", "dies", defaults, terms)
      const b = yield* member("b-4", "dies", defaults, terms)
      yield* a.start
      yield* waitFor(sim, () => a.election.isLeader())
      yield* quiesce
      yield* b.start
      yield* stepUntil(() => b.election.holder() === "a-4", 1000)
      yield* stepFor(3_000)

      const before = sim.requestLog.length
      sim.faults.api({ verb: "update", resource: "leases", name: "dies" }, { kind: "status", code: 500 }, { times: 1 })
      yield* a.stop
      yield* quiesce
      const release = sim.requestLog.slice(before).find((r) => r.name === "dies" && r.verb === "update")
      assert.strictEqual(release?.status, 500, "the release was attempted and failed")
      assert.isFalse(a.running())
      assert.strictEqual((yield* readLease("dies"))?.spec.holderIdentity, "a-4")

      const lastChange = sim.requestLog.filter((r) => r.name === "dies" && r.verb === "update" && r.status === 200).at(-1)!
      yield* stepUntil(() => b.election.isLeader(), 30_000)
      const sawAt = times.get(firstReadAfter("dies", lastChange)!)!
      const bTerm = terms.find((t) => t.id === "b-4")!
      assert.isAtLeast(bTerm.start - sawAt, ms(defaults.leaseDuration))
      assert.isAtMost(bTerm.start - sawAt, ms(defaults.leaseDuration) + ms(defaults.retryPeriod) * (1 + JitterFactor) + 2 * STEP)
      assert.isTrue(logs.some((l) => l.annotations["identity"] === "a-4" && String(l.message).startsWith("failed to release")))
    }).pipe(Effect.provide(captureLogs)))

  it.live("two contenders racing for a released lease: one gets 409 and stays a follower; exactly one leader", () =>
    Effect.gen(function*() {
      const terms: Array<Term> = []
      const a = yield* member("a-5", "race", fast, terms)
      const b = yield* member("b-5", "race", fast, terms)
      // A released lease: its holder is empty, so both may take it at once.
      yield* a.start
      yield* waitFor(sim, () => a.election.isLeader(), 3000)
      yield* a.stop
      terms.length = 0
      const released = yield* readLease("race")
      assert.strictEqual(released?.spec.holderIdentity, "")

      // Both read it, then both replace it with that resourceVersion: the later one gets 409.
      const before = sim.requestLog.length
      sim.faults.api({ verb: "update", resource: "leases", name: "race" }, { kind: "latency", ms: 250 }, { times: 2 })
      yield* Effect.all([a.start, b.start])
      yield* waitFor(sim, () => leaders([a, b]).length === 1, 3000)
      yield* realSleep(2 * ms(fast.retryPeriod))

      const updates = sim.requestLog.slice(before).filter((r) => r.name === "race" && r.verb === "update")
      assert.deepStrictEqual(updates.slice(0, 2).map((r) => r.status).sort(), [200, 409])
      const [leader] = leaders([a, b])
      assert.lengthOf(leaders([a, b]), 1)
      assert.deepStrictEqual(terms.map((t) => t.id), [leader.id])
      assert.isTrue(a.running() && b.running(), "the 409 is not an error")
      const lease = yield* readLease("race")
      assert.strictEqual(lease?.spec.holderIdentity, leader.id)
      assert.strictEqual(lease?.spec.leaseTransitions, (released?.spec.leaseTransitions ?? 0) + 1)
      // The loser learns the holder on its next attempt, within one jittered retry period (≤ 2.2×).
      yield* waitFor(sim, () => [a, b].every((m) => m.election.holder() !== undefined), 3 * ms(fast.retryPeriod) + 500)
      for (const m of [a, b]) assert.strictEqual(m.election.holder(), leader.id)
    }).pipe(Effect.provide(captureLogs)))

  it.live("whileLeader never runs in both instances at once, through releases and partitions", () =>
    Effect.gen(function*() {
      const terms: Array<Term> = []
      const a = yield* member("a-6", "exclusive", fast, terms)
      const b = yield* member("b-6", "exclusive", fast, terms)
      const both = [a, b]
      yield* Effect.all([a.start, b.start])
      const leaderNow = Effect.gen(function*() {
        yield* waitFor(sim, () => leaders(both).length === 1, 5000)
        return leaders(both)[0]
      })
      const other = (m: Member) => (m === a ? b : a)

      /** A release hands over at once. */
      const releaseHandover = Effect.gen(function*() {
        const l = yield* leaderNow
        yield* waitFor(sim, () => other(l).election.holder() === l.id, 3000)
        yield* l.stop
        yield* waitFor(sim, () => other(l).election.isLeader(), 3000)
        yield* l.start
      })
      /** A partitioned leader stops at its renew deadline; the other takes over after the lease duration. */
      const partitionHandover = Effect.gen(function*() {
        const l = yield* leaderNow
        yield* waitFor(sim, () => other(l).election.holder() === l.id, 3000)
        l.proxy.block()
        yield* waitFor(sim, () => other(l).election.isLeader(), 5000)
        l.proxy.heal()
      })
      yield* releaseHandover
      yield* partitionHandover
      yield* releaseHandover
      yield* Effect.all([a.stop, b.stop])

      assert.isAtLeast(terms.length, 4)
      assert.isTrue(terms.some((t) => t.id === "a-6") && terms.some((t) => t.id === "b-6"))
      assert.isTrue(terms.every((t) => t.end !== undefined))
      assertNoOverlap(terms, yield* Clock.currentTimeMillis)
    }).pipe(Effect.provide(captureLogs)))

  it.live("shutdown stays bounded when the API server does not answer: the release gives up at the renew deadline", () =>
    Effect.gen(function*() {
      const timings = { ...fast, renewDeadline: Duration.millis(300), retryPeriod: Duration.millis(100) }
      const a = yield* member("a-7", "unreachable", timings, [])
      yield* a.start
      yield* waitFor(sim, () => a.election.isLeader(), 3000)
      a.proxy.block()
      const t0 = yield* Clock.currentTimeMillis
      yield* a.stop
      const took = (yield* Clock.currentTimeMillis) - t0
      a.proxy.heal()
      assert.isBelow(took, ms(timings.renewDeadline) + 400)
      assert.isFalse(a.election.isLeader())
      assert.strictEqual((yield* readLease("unreachable"))?.spec.holderIdentity, "a-7", "not released: followers wait for expiry")
      assert.isTrue(logs.some((l) => l.annotations["identity"] === "a-7" && String(l.message).startsWith("failed to release")))
    }).pipe(Effect.provide(captureLogs)))

  it.live("a renewal the server applied but never answered does not prevent the release (409, re-read, release)", () =>
    Effect.gen(function*() {
      const a = yield* member("a-9", "stale", fast, [])
      yield* a.start
      yield* waitFor(sim, () => a.election.isLeader(), 3000)
      const before = sim.requestLog.length
      a.proxy.dropAnswers()
      yield* waitFor(sim, () => sim.requestLog.slice(before).some((r) => r.name === "stale" && r.verb === "update" && r.status === 200), 2000)
      a.proxy.heal()
      yield* a.stop // interrupts the renewal still waiting for its answer
      const calls = sim.requestLog.slice(before).filter((r) => r.name === "stale" && !ownReads.has(r)).map((r) => `${r.verb} ${r.status}`)
      assert.deepStrictEqual(calls, ["update 200", "update 409", "get 200", "update 200"])
      const lease = yield* readLease("stale")
      assert.strictEqual(lease?.spec.holderIdentity, "")
      assert.strictEqual(lease?.spec.leaseDurationSeconds, 1)
    }).pipe(Effect.provide(captureLogs)))

  it.live("whileLeader finishing early keeps the lease (renewed, not restarted); failing ends run with its error and releases", () =>
    Effect.gen(function*() {
      const a = yield* member("a-8", "work", fast, [])
      let starts = 0
      const fiber = yield* Effect.forkChild(a.election.run(Effect.sync(() => void starts++)))
      yield* waitFor(sim, () => a.election.isLeader(), 3000)
      const first = yield* readLease("work")
      yield* realSleep(3 * ms(fast.retryPeriod))
      const later = yield* readLease("work")
      assert.isTrue(a.election.isLeader())
      assert.strictEqual(starts, 1)
      assert.isAbove(parseMicroTime(later?.spec.renewTime)!, parseMicroTime(first?.spec.renewTime)!)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual((yield* readLease("work"))?.spec.holderIdentity, "")

      const exit = yield* Effect.exit(a.election.run(Effect.fail("boom" as const)))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.strictEqual(Cause.squash(exit.cause), "boom")
      assert.isFalse(a.election.isLeader())
      assert.strictEqual((yield* readLease("work"))?.spec.holderIdentity, "", "released after the failure")
    }).pipe(Effect.provide(captureLogs)))

  it.effect("invalid timings are rejected when the layer is built (client-go's checks)", () =>
    Effect.gen(function*() {
      const base = { leaseName: "bad", leaseNamespace: namespace, identity: "x", ...defaults }
      for (const bad of [
        { ...base, renewDeadline: Duration.seconds(15) },
        { ...base, retryPeriod: Duration.seconds(9) },
        { ...base, identity: "" }
      ]) {
        const exit = yield* Effect.exit(Layer.build(LeaderElection.layer(bad).pipe(Layer.provide(clientLayer(sim)))))
        assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      }
    }))
})

describe("lease time", () => {
  it("formats MicroTime with exactly six fractional digits in UTC", () => {
    const at = BigInt(Date.parse("2026-11-28T10:00:00.123Z")) * 1_000_000n + 456_789n
    assert.strictEqual(formatMicroTime(at), "2026-11-28T10:00:00.123456Z")
    assert.strictEqual(formatMicroTime(0n), "1970-01-01T00:00:00.000000Z")
    assert.isTrue(isMicroTime(formatMicroTime(at)))
    assert.isFalse(isMicroTime("2026-11-28T10:00:00.123Z"))
    assert.isFalse(isMicroTime(new Date().toISOString()))
  })

  it("parses what servers send back, keeping microseconds", () => {
    const base = Date.parse("2026-11-28T10:00:00Z")
    assert.strictEqual(parseMicroTime("2026-11-28T10:00:00.123456Z"), base + 123.456)
    assert.strictEqual(parseMicroTime("2026-11-28T12:00:00.000001+02:00"), base + 0.001)
    assert.strictEqual(parseMicroTime("2026-11-28T10:00:00Z"), base)
    assert.strictEqual(parseMicroTime(new Date(base)), base)
    assert.isUndefined(parseMicroTime("yesterday"))
    assert.isUndefined(parseMicroTime(undefined))
  })

  it("leaseDurationSeconds rounds up; jitter stays within [1, 1 + JitterFactor) periods; client-go's timing checks", () => {
    assert.strictEqual(leaseDurationSeconds(Duration.seconds(15)), 15)
    assert.strictEqual(leaseDurationSeconds(Duration.millis(1500)), 2)
    assert.strictEqual(leaseDurationSeconds(Duration.millis(200)), 1)
    assert.strictEqual(jittered(2000, JitterFactor, 0), 2000)
    assert.isBelow(jittered(2000, JitterFactor, 0.9999), 4400)
    assert.isUndefined(checkTimings(defaults))
    assert.isUndefined(checkTimings(fast))
    assert.include(checkTimings({ ...defaults, renewDeadline: Duration.seconds(15) }), "leaseDuration must be greater")
    assert.include(checkTimings({ ...defaults, retryPeriod: Duration.seconds(9) }), "renewDeadline must be greater")
    assert.include(checkTimings({ ...defaults, retryPeriod: Duration.zero }), "greater than zero")
  })
})
