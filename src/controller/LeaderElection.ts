/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics
 * (`tools/leaderelection`): `whileLeader` runs only while this instance holds the lease and is
 * interrupted as soon as it stops holding it (no renewal within `renewDeadline`, or another holder
 * seen). Expiry of someone else's lease is judged by when this instance last SAW the record change,
 * never by the timestamps in it, so clock skew between replicas does not matter. On shutdown the
 * lease is released so a follower takes over at its next try (one jittered retry period).
 */
import { Clock, Context, Duration, Effect, Exit, Layer, Metric, Random, Result } from "effect"
import { leaderElectionStatus } from "../metrics.ts"
import type { KubeApiError } from "../kube/ApiError.ts"
import type { KubeClient } from "../kube/KubeClient.ts"
import { type Lease, LeaseApi, type LeaseDeadline, type LeaseSpec, localMillis } from "../kube/LeaseApi.ts"
import { checkTimings, formatMicroTime, JitterFactor, jittered, leaseDurationSeconds } from "./leaseTime.ts"

export interface LeaderElectionSettings {
  readonly leaseName: string
  readonly leaseNamespace: string
  /** Unique per instance (pod name + random suffix). */
  readonly identity: string
  /** How long followers wait, after last seeing the record change, before taking over (client-go default 15 s). */
  readonly leaseDuration: Duration.Duration
  /** How long the leader keeps failing to renew before it gives up (client-go default 10 s). */
  readonly renewDeadline: Duration.Duration
  /** Interval between attempts to acquire (jittered × 1..2.2) or renew (client-go default 2 s). */
  readonly retryPeriod: Duration.Duration
}

/**
 * ```ts
 * const election = yield* LeaderElection
 * yield* Effect.forkScoped(election.run(cleanupLoop)) // cleanupLoop runs only while leading
 * ```
 */
export class LeaderElection extends Context.Service<LeaderElection, {
  /**
   * Runs `whileLeader` only while this instance holds the lease: it starts once the lease is
   * acquired and is interrupted at once when leadership is lost (renewals failing for
   * `renewDeadline`, or another holder observed); then the instance goes back to trying to acquire.
   * If `whileLeader` completes, the lease is still held and renewed (it is not restarted until the
   * next term). Never returns on its own; a failure of `whileLeader` ends it with that failure.
   * However it ends (interruption on scope close / SIGTERM, or a failure), `whileLeader` is
   * stopped first and then the lease is released (holderIdentity cleared) if held.
   * One `run` at a time per instance.
   */
  readonly run: <E, R>(whileLeader: Effect.Effect<void, E, R>) => Effect.Effect<never, E, R>
  /** True from acquiring the lease until leadership is lost or released. */
  readonly isLeader: () => boolean
  /** The last observed holder (this instance included); undefined when none or not read yet. */
  readonly holder: () => string | undefined
}>()("pod-cleanup/LeaderElection") {
  /** Leader election turned off: this instance always leads (one replica, or embedded). */
  static readonly layerNoop: Layer.Layer<LeaderElection> = Layer.succeed(
    LeaderElection,
    LeaderElection.of({
      run: (whileLeader) => Effect.andThen(whileLeader, Effect.never),
      isLeader: () => true,
      holder: () => undefined
    })
  )

  static readonly layer = (settings: LeaderElectionSettings): Layer.Layer<LeaderElection, never, KubeClient> =>
    Layer.effect(
      LeaderElection,
      Effect.gen(function*() {
        const problem = settings.identity === "" ? "identity must not be empty" : checkTimings(settings)
        if (problem !== undefined) return yield* Effect.die(new Error(`invalid leader election settings: ${problem}`))
        yield* Metric.update(leaderGauge(settings.leaseName), 0)
        return makeLeaderElection(yield* LeaseApi, settings)
      })
    ).pipe(Layer.provide(LeaseApi.layer))
}

/** The election-relevant part of a Lease spec (client-go's `LeaderElectionRecord`), timestamps in wire form. */
interface LeaseRecord {
  readonly holderIdentity: string
  readonly leaseDurationSeconds: number
  readonly acquireTime: string
  readonly renewTime: string
  readonly leaseTransitions: number
}

type Attempt =
  /** We hold the lease (created, taken over or renewed); `at` = local time the attempt started. */
  | { readonly _tag: "Held"; readonly at: number }
  | { readonly _tag: "HeldByOther"; readonly holder: string }
  | { readonly _tag: "Failed"; readonly error: KubeApiError }

const recordOf = (spec: LeaseSpec): LeaseRecord => ({
  holderIdentity: spec.holderIdentity ?? "",
  leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
  acquireTime: spec.acquireTime ?? "",
  renewTime: spec.renewTime ?? "",
  leaseTransitions: spec.leaseTransitions ?? 0
})

const recordKey = (r: LeaseRecord): string =>
  JSON.stringify([r.holderIdentity, r.leaseDurationSeconds, r.acquireTime, r.renewTime, r.leaseTransitions])

/** The record as a spec; the times keep their exact wire text (unset when empty). */
const specOf = (r: LeaseRecord): LeaseSpec => ({
  holderIdentity: r.holderIdentity,
  leaseDurationSeconds: r.leaseDurationSeconds,
  acquireTime: r.acquireTime === "" ? undefined : r.acquireTime,
  renewTime: r.renewTime === "" ? undefined : r.renewTime,
  leaseTransitions: r.leaseTransitions
})

/** `leader_election_master_status{name}`: 1 while this instance holds the lease, else 0. */
const leaderGauge = (name: string) => Metric.withAttributes(leaderElectionStatus, { name })

/** Every expiry and deadline below is judged on `localMillis` (local, monotonic time in milliseconds). */
const makeLeaderElection = (leases: LeaseApi["Service"], settings: LeaderElectionSettings): LeaderElection["Service"] => {
  const { identity, leaseName: name, leaseNamespace: namespace } = settings
  const renewDeadlineMs = Duration.toMillis(settings.renewDeadline)
  const retryMs = Duration.toMillis(settings.retryPeriod)
  // client-go (resourcelock.NewFromKubeconfig): one request may take max(1 s, renewDeadline / 2), so a
  // single hung request cannot use up the whole renew deadline (LeaseApi also caps it by the
  // client's request timeout).
  const requestTimeoutMs = Math.max(1000, renewDeadlineMs / 2)
  const durationSeconds = leaseDurationSeconds(settings.leaseDuration)
  const annotations = { lease: `${namespace}/${name}`, identity }
  const log = (level: "Debug" | "Info" | "Warn", message: string, extra: Record<string, unknown> = {}) =>
    Effect.logWithLevel(level)(message).pipe(Effect.annotateLogs({ ...annotations, ...extra }))

  // ---- state (one `run` at a time) -------------------------------------------------------------
  /** The last record read or written, when it was first seen (local time), and the object itself. */
  let observed: LeaseRecord | undefined
  let observedKey = ""
  let observedAt = 0
  let lease: Lease | undefined
  let reportedLeader: string | undefined
  let leading = false
  let running = false

  const leaseValid = (now: number) => observed !== undefined && observedAt + observed.leaseDurationSeconds * 1000 > now

  const observe = (object: Lease) =>
    Effect.map(localMillis, (now) => {
      lease = object
      const record = recordOf(object.spec)
      const key = recordKey(record)
      if (key !== observedKey) {
        observed = record
        observedKey = key
        observedAt = now
      }
    })

  // ---- API calls: each bounded by the attempt's deadline (and the client's request timeout) ------
  const ref = { namespace, name }
  const within = (deadlineAt: number): LeaseDeadline => ({ at: deadlineAt, perRequestMs: requestTimeoutMs })

  const get = (deadlineAt: number) => leases.get(ref, within(deadlineAt))

  const create = (record: LeaseRecord, deadlineAt: number) => leases.create(ref, specOf(record), within(deadlineAt))

  /** A replace carrying `base`'s resourceVersion: a concurrent change answers 409. */
  const update = (base: Lease, record: LeaseRecord, deadlineAt: number) => leases.replace(ref, base, specOf(record), within(deadlineAt))

  // ---- one try (client-go tryAcquireOrRenew) -----------------------------------------------------
  const tryAcquireOrRenew = Effect.fnUntraced(function*(deadlineAt: number) {
    const startedAt = yield* localMillis
    const now = formatMicroTime(yield* Clock.currentTimeNanos)
    const mine: LeaseRecord = { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 }
    const held: Attempt = { _tag: "Held", at: startedAt }

    // 1. A leader renews optimistically on the object it last wrote.
    if (leading && lease !== undefined && observed !== undefined && observed.holderIdentity === identity && leaseValid(startedAt)) {
      const renewed = yield* Effect.result(
        update(lease, { ...mine, acquireTime: observed.acquireTime, leaseTransitions: observed.leaseTransitions }, deadlineAt)
      )
      if (Result.isSuccess(renewed)) {
        yield* observe(renewed.success)
        return held
      }
      if ((yield* localMillis) >= deadlineAt) return { _tag: "Failed", error: renewed.failure } satisfies Attempt
      yield* log("Debug", "optimistic renewal failed, reading the lease", { error: renewed.failure.message })
    }

    // 2. Read the lease, or create it.
    const got = yield* Effect.result(get(deadlineAt))
    if (Result.isFailure(got)) {
      if (got.failure._tag !== "KubeNotFoundError") return { _tag: "Failed", error: got.failure } satisfies Attempt
      const created = yield* Effect.result(create(mine, deadlineAt))
      if (Result.isFailure(created)) return { _tag: "Failed", error: created.failure } satisfies Attempt
      yield* observe(created.success)
      return held
    }
    yield* observe(got.success)
    const record = recordOf(got.success.spec)
    if (record.holderIdentity !== "" && record.holderIdentity !== identity && leaseValid(startedAt)) {
      return { _tag: "HeldByOther", holder: record.holderIdentity } satisfies Attempt
    }

    // 3. Renew our own lease, or take over an expired or released one (a holder change counts a transition).
    const next: LeaseRecord = record.holderIdentity === identity
      ? { ...mine, acquireTime: record.acquireTime || now, leaseTransitions: record.leaseTransitions }
      : { ...mine, leaseTransitions: record.leaseTransitions + 1 }
    const updated = yield* Effect.result(update(got.success, next, deadlineAt))
    if (Result.isFailure(updated)) return { _tag: "Failed", error: updated.failure } satisfies Attempt
    yield* observe(updated.success)
    return held
  })

  const reportTransition = Effect.suspend(() => {
    if (observed === undefined || observed.holderIdentity === reportedLeader) return Effect.void
    reportedLeader = observed.holderIdentity
    return reportedLeader === ""
      ? log("Info", "the lease has no holder")
      : log("Info", "new leader observed", { leader: reportedLeader })
  })

  const logFailure = (phase: "acquire" | "renew", error: KubeApiError) =>
    error._tag === "KubeConflictError"
      ? log("Debug", `${phase}: the lease changed concurrently; reading it again next time`, { error: error.message })
      : log("Warn", `${phase}: lease request failed`, { error: error.message })

  // ---- the two phases ------------------------------------------------------------------------------
  /** Tries right away, then every retryPeriod × [1, 2.2), until the lease is ours; returns when that attempt started. */
  const acquire = Effect.gen(function*() {
    yield* log("Info", "attempting to acquire the leader lease")
    while (true) {
      const startedAt = yield* localMillis
      const outcome = yield* tryAcquireOrRenew(startedAt + renewDeadlineMs)
      yield* reportTransition
      if (outcome._tag === "Held") return outcome.at
      if (outcome._tag === "Failed") yield* logFailure("acquire", outcome.error)
      yield* Effect.sleep(Duration.millis(jittered(retryMs, JitterFactor, yield* Random.next)))
    }
  })

  /**
   * Renews every retryPeriod; returns (why) when leadership is lost: another holder seen, or no
   * renewal that started within the last renewDeadline succeeded. A renewal in flight at the
   * deadline is cut off by it, so the loss is detected at the deadline itself.
   */
  const holdUntilLost = Effect.fnUntraced(function*(acquiredAt: number) {
    let renewedAt = acquiredAt
    while (true) {
      const deadline = renewedAt + renewDeadlineMs
      const before = yield* localMillis
      if (before < deadline) yield* Effect.sleep(Duration.millis(Math.min(retryMs, deadline - before)))
      if ((yield* localMillis) >= deadline) {
        leading = false
        return `no renewal succeeded within ${Duration.format(settings.renewDeadline)}`
      }
      const outcome = yield* tryAcquireOrRenew(deadline)
      yield* reportTransition
      if (outcome._tag === "Held") renewedAt = outcome.at
      else if (outcome._tag === "HeldByOther") {
        leading = false
        return `the lease is held by ${outcome.holder}`
      } else yield* logFailure("renew", outcome.error)
    }
  })

  /**
   * client-go ReleaseOnCancel: no holder, leaseDurationSeconds 1, so a follower takes over at its
   * next try. A renewal cut off by the shutdown may still have been applied, leaving our
   * resourceVersion stale: on 409 the lease is read again and released if it still names us.
   */
  const release = Effect.gen(function*() {
    if (lease === undefined || observed === undefined || observed.holderIdentity !== identity) return
    const deadlineAt = (yield* localMillis) + renewDeadlineMs
    const now = formatMicroTime(yield* Clock.currentTimeNanos)
    const releasing = (base: Lease) =>
      update(base, {
        holderIdentity: "",
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: recordOf(base.spec).leaseTransitions
      }, deadlineAt)
    const released = yield* Effect.result(
      releasing(lease).pipe(
        Effect.catchTag("KubeConflictError", (conflict) =>
          Effect.flatMap(get(deadlineAt), (current) =>
            current.spec.holderIdentity === identity
              ? releasing(current)
              : Effect.andThen(observe(current), Effect.fail(conflict))))
      )
    )
    if (Result.isSuccess(released)) {
      yield* observe(released.success)
      yield* log("Info", "released the leader lease")
    } else if (observed.holderIdentity === identity) {
      yield* log("Warn", "failed to release the leader lease; followers take over when it expires", { error: released.failure.message })
    }
  })

  const run = <E, R>(whileLeader: Effect.Effect<void, E, R>): Effect.Effect<never, E, R> =>
    Effect.suspend(() => {
      if (running) return Effect.die(new Error("LeaderElection.run is already running for this instance"))
      running = true
      // Finishing early does not give the lease up: the term lasts until leadership is lost.
      const term = Effect.andThen(whileLeader, Effect.never)
      return Effect.gen(function*() {
        while (true) {
          const acquiredAt = yield* acquire
          leading = true
          yield* Metric.update(leaderGauge(name), 1)
          yield* log("Info", "acquired the leader lease", { leaseTransitions: observed?.leaseTransitions })
          const reason = yield* Effect.raceFirst(term, holdUntilLost(acquiredAt))
          yield* Metric.update(leaderGauge(name), 0)
          yield* log("Warn", `lost the leader lease: ${reason}`)
        }
      }).pipe(
        Effect.onExit((exit) =>
          Effect.gen(function*() {
            leading = false
            yield* Metric.update(leaderGauge(name), 0)
            if (Exit.isFailure(exit) && !Exit.hasInterrupts(exit)) {
              yield* log("Warn", "the leader's work failed; giving up the lease")
            }
            yield* release
          }).pipe(Effect.ensuring(Effect.sync(() => running = false)))
        )
      )
    })

  return LeaderElection.of({
    run,
    isLeader: () => leading,
    holder: () => (observed === undefined || observed.holderIdentity === "" ? undefined : observed.holderIdentity)
  })
}
