/**
 * Per-node isolation for execs (Argo has none): a cap on concurrent execs per node, and a circuit
 * breaker that, after F consecutive exec timeouts on a node, fails execs to it fast for a cooldown
 * and then lets one probe decide. An exec that cannot run now fails at once with
 * `NodeUnavailableError`, so the caller moves on instead of waiting behind a sick node.
 *
 * Waiting for a busy node is an effect of its own (`acquireSlot`), run off the worker pool: the
 * node's waiters form a line, and a freed slot is handed to the first of them directly (it never
 * becomes free in between, so a newcomer cannot take it and nobody waits twice). A waiter that is
 * interrupted leaves the line (and passes on a slot it was just handed). When the breaker opens,
 * the whole line fails fast. Nothing is polled and no timer stands in for a lost wake-up.
 *
 * Beside the per-node cap, a cluster-wide one (`globalExecCap`): the API server's priority and
 * fairness does not cover exec, so pod-cleanup bounds the execs it holds open itself. An exec that
 * got its node's slot waits, first come first served, for a cluster-wide slot, at most
 * `globalExecWait` (the exec deadline: an exec that waited longer would be late anyway); then it
 * fails with `NodeUnavailableError` ("exec-cap") and its node slot goes back.
 */
import { Clock, Context, Data, Deferred, Duration, Effect, Exit, Layer, Metric } from "effect"
import { classifyExec, type ExecConnectionLostError, type ExecError, type ExecTimeoutError } from "../kube/ExecError.ts"
import * as Breaker from "./breaker.ts"
import { defaultEngineSettings, type EngineSettings } from "./EngineSettings.ts"
import { EventRecorder, EventSubject, type ObjectRef, podRef } from "./EventRecorder.ts"
import { breakerState, breakerTransitions, execCapWaits, execsInFlight } from "../metrics.ts"

export interface NodeGuardSettings {
  /** Concurrent execs per node; 0 means no cap. */
  readonly perNodeExecCap: number
  /** Consecutive exec timeouts that open a node's breaker; 0 disables the breaker. */
  readonly breakerThreshold: number
  readonly breakerCooldown: Duration.Duration
  /** Concurrent execs across all nodes; 0 or unset means no cap. */
  readonly globalExecCap?: number | undefined
  /** How long an exec waits for a cluster-wide slot before it gives up ("exec-cap"); default the exec deadline. */
  readonly globalExecWait?: Duration.Duration | undefined
}

/** The guard's part of the engine's settings: a cluster-wide slot is waited for at most the exec deadline. */
export const nodeGuardSettingsOf = (engine: EngineSettings): NodeGuardSettings => ({
  perNodeExecCap: engine.perNodeExecCap,
  breakerThreshold: engine.breakerThreshold,
  breakerCooldown: engine.breakerCooldown,
  globalExecCap: engine.execCap,
  globalExecWait: engine.execTimeout
})

export const defaultNodeGuardSettings: NodeGuardSettings = nodeGuardSettingsOf(defaultEngineSettings)

/** The exec was not attempted: the node's breaker is open, or all its exec slots are busy. */
export class NodeUnavailableError extends Data.TaggedError("NodeUnavailableError")<{
  readonly node: string
  readonly reason: "breaker-open" | "busy" | "exec-cap"
  /** When it is worth trying again. */
  readonly retryInMs: number
  readonly message: string
}> {}

/**
 * One exec slot of a node, held by an action that waited for it (`acquireSlot`). The first exec the
 * action runs on that node uses it; `release` gives it back if no exec did (idempotent).
 */
export interface Slot {
  readonly node: string
  readonly release: Effect.Effect<void>
  /** @internal Set once an exec has taken the slot over (the exec then releases it). */
  taken: boolean
  /** @internal */
  released: boolean
}

interface NodeState {
  breaker: Breaker.BreakerState
  /** Slots in use: running execs plus slots handed to waiters not yet run. */
  inUse: number
  /** Actions waiting for a slot, first come first served (all fail when the breaker opens). */
  readonly waiters: Array<Waiter>
}

interface Waiter {
  readonly deferred: Deferred.Deferred<Slot, NodeUnavailableError>
  /** The slot handed to it, once handed. */
  slot?: Slot | undefined
}

export class NodeGuard extends Context.Service<NodeGuard, {
  readonly settings: NodeGuardSettings
  /**
   * Runs one exec against `node` under the node's cap and breaker. With `slot` (from
   * `acquireSlot`, for this node, not yet used) the exec runs in that slot instead of taking one.
   */
  readonly exec: <A>(
    node: string | undefined,
    exec: Effect.Effect<A, ExecError>,
    slot?: Slot | undefined
  ) => Effect.Effect<A, ExecError | NodeUnavailableError>
  readonly breakerStates: () => ReadonlyMap<string, Breaker.BreakerState>
  /** Every exec slot of the node is taken or promised to a waiter (and its breaker would let an exec through). */
  readonly isBusy: (node: string | undefined) => boolean
  /**
   * Waits, in line, for a slot of `node` and holds it for the caller; fails with
   * `NodeUnavailableError` ("breaker-open") when the node's breaker opens meanwhile.
   */
  readonly acquireSlot: (node: string) => Effect.Effect<Slot, NodeUnavailableError>
  /** Execs running now, cluster-wide (those waiting for a cluster-wide slot not counted). */
  readonly execsInFlight: () => number
}>()("pod-cleanup/NodeGuard") {
  static readonly layer = (settings: Partial<NodeGuardSettings> = {}): Layer.Layer<NodeGuard> =>
    Layer.effect(NodeGuard, Effect.suspend(() => makeNodeGuard({ ...defaultNodeGuardSettings, ...settings })))
}

export const makeNodeGuard = (settings: NodeGuardSettings) =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const events = yield* EventRecorder
    const nodes = new Map<string, NodeState>()
    const breakerSettings: Breaker.BreakerSettings = {
      threshold: settings.breakerThreshold,
      cooldownMs: Duration.toMillis(settings.breakerCooldown)
    }
    const stateOf = (node: string): NodeState => {
      let state = nodes.get(node)
      if (state === undefined) {
        state = { breaker: Breaker.closed, inUse: 0, waiters: [] }
        nodes.set(node, state)
      }
      return state
    }

    /**
     * Breaker Events go on the pod whose exec moved the breaker, not on the Node: without `get
     * nodes` the Node's UID is unknown (and `kubectl describe node` matches Events by UID), and
     * Events about a cluster-scoped object live in "default", which the single-namespace
     * deployment has no grant for.
     */
    const breakerEvent = (node: string, transition: Breaker.BreakerTransition, about: ObjectRef | undefined) => {
      if (about === undefined || transition === "half-open") return Effect.void
      const cooldown = Duration.format(Duration.millis(breakerSettings.cooldownMs))
      return events.record(
        transition === "closed"
          ? { type: "Normal", reason: "NodeExecBreakerClosed", action: "Exec", regarding: about, note: `node ${node} answered the probe exec: exec breaker closed` }
          : {
            type: "Warning",
            reason: transition === "opened" ? "NodeExecBreakerOpened" : "NodeExecBreakerReopened",
            action: "Exec",
            regarding: about,
            note: transition === "opened"
              ? `node ${node}: exec breaker opened after ${settings.breakerThreshold} consecutive exec timeouts; execs to it fail fast for ${cooldown}`
              : `node ${node}: the probe exec timed out; exec breaker open again for ${cooldown}`
          }
      )
    }

    const publish = (
      node: string,
      state: NodeState,
      transition: Breaker.BreakerTransition | undefined,
      about?: ObjectRef | undefined
    ) =>
      Effect.gen(function*() {
        yield* Metric.update(Metric.withAttributes(breakerState, { node }), Breaker.stateValue(state.breaker))
        if (transition === undefined) return
        yield* Metric.update(Metric.withAttributes(breakerTransitions, { node, transition }), 1)
        // Actions waiting for an unreachable node move on (they fail fast) instead of waiting.
        if (transition === "opened" || transition === "reopened") {
          const error = openError(node, Breaker.admit(state.breaker, clock.currentTimeMillisUnsafe(), breakerSettings).retryInMs)
          for (const waiter of state.waiters.splice(0)) Deferred.doneUnsafe(waiter.deferred, Exit.fail(error))
        }
        yield* breakerEvent(node, transition, about)
        const log = transition === "closed" ? Effect.logInfo : Effect.logWarning
        yield* log(`node ${node}: exec breaker ${transition}`).pipe(
          Effect.annotateLogs({ node, breaker: state.breaker._tag, transition })
        )
      })

    const openError = (node: string, retryInMs: number | undefined) =>
      new NodeUnavailableError({
        node,
        reason: "breaker-open",
        retryInMs: retryInMs ?? breakerSettings.cooldownMs,
        message: `node ${node}: exec breaker open after ${settings.breakerThreshold} consecutive exec timeouts`
      })

    /** Frees one slot of the node: handed to the first waiter in line, else counted free. */
    const freeSlot = (node: string, state: NodeState) => {
      const next = state.waiters.shift()
      if (next === undefined) {
        state.inUse--
        return
      }
      next.slot = makeSlot(node, state)
      Deferred.doneUnsafe(next.deferred, Exit.succeed(next.slot))
    }

    const makeSlot = (node: string, state: NodeState): Slot => {
      const slot: Slot = {
        node,
        taken: false,
        released: false,
        release: Effect.sync(() => {
          if (slot.taken || slot.released) return
          slot.released = true
          freeSlot(node, state)
        })
      }
      return slot
    }

    const capped = () => settings.perNodeExecCap > 0

    // ---- the cluster-wide cap ------------------------------------------------------------------
    const globalCap = Math.max(0, settings.globalExecCap ?? 0)
    const globalWait = settings.globalExecWait ?? defaultNodeGuardSettings.globalExecWait!
    /** Execs holding a cluster-wide slot (running, or handed one and about to run). */
    let inFlight = 0
    const globalWaiters: Array<{ readonly deferred: Deferred.Deferred<void>; handed: boolean }> = []
    const publishInFlight = Effect.suspend(() => Metric.update(execsInFlight, inFlight))
    const releaseGlobal = Effect.suspend(() => {
      const next = globalWaiters.shift()
      if (next === undefined) inFlight--
      else {
        next.handed = true
        Deferred.doneUnsafe(next.deferred, Exit.void)
      }
      return publishInFlight
    })
    /** A cluster-wide slot: true once held, false when none came within `globalWait`. */
    const acquireGlobal: Effect.Effect<boolean> = Effect.suspend(() => {
      if (globalCap === 0 || (inFlight < globalCap && globalWaiters.length === 0)) {
        inFlight++
        return Effect.as(publishInFlight, true)
      }
      const waiter = { deferred: Deferred.makeUnsafe<void>(), handed: false }
      globalWaiters.push(waiter)
      return Deferred.await(waiter.deferred).pipe(
        Effect.timeoutOption(globalWait),
        Effect.onInterrupt(() =>
          Effect.suspend(() => {
            const at = globalWaiters.indexOf(waiter)
            if (at >= 0) globalWaiters.splice(at, 1)
            // Handed a slot just as it was interrupted: pass it on.
            return waiter.handed ? releaseGlobal : Effect.void
          })
        ),
        Effect.flatMap((got) =>
          Effect.suspend(() => {
            if (got._tag === "Some" || waiter.handed) {
              return Effect.as(Metric.update(Metric.withAttributes(execCapWaits, { result: "acquired" }), 1), true)
            }
            const at = globalWaiters.indexOf(waiter)
            if (at >= 0) globalWaiters.splice(at, 1)
            return Effect.as(Metric.update(Metric.withAttributes(execCapWaits, { result: "timeout" }), 1), false)
          })
        )
      )
    })

    const acquireSlot = (node: string): Effect.Effect<Slot, NodeUnavailableError> =>
      Effect.suspend(() => {
        const state = stateOf(node)
        if (state.breaker._tag === "Open") {
          const admission = Breaker.admit(state.breaker, clock.currentTimeMillisUnsafe(), breakerSettings)
          if (!admission.admitted) return Effect.fail(openError(node, admission.retryInMs))
        }
        if (!capped() || (state.inUse < settings.perNodeExecCap && state.waiters.length === 0)) {
          if (capped()) state.inUse++
          return Effect.succeed(makeSlot(node, state))
        }
        const waiter: Waiter = { deferred: Deferred.makeUnsafe<Slot, NodeUnavailableError>() }
        state.waiters.push(waiter)
        return Deferred.await(waiter.deferred).pipe(
          Effect.onInterrupt(() =>
            Effect.suspend(() => {
              const at = state.waiters.indexOf(waiter)
              if (at >= 0) state.waiters.splice(at, 1)
              // Handed a slot just as it was interrupted: pass it on.
              return waiter.slot === undefined ? Effect.void : waiter.slot.release
            })
          )
        )
      })

    /** Fails an exec that got no cluster-wide slot within `globalWait`. */
    const capError = (node: string) =>
      new NodeUnavailableError({
        node,
        reason: "exec-cap",
        retryInMs: 1000,
        message: `all ${globalCap} cluster-wide exec slots (--exec-cap) stayed busy for ${Duration.format(globalWait)}`
      })

    /**
     * Runs `run` in a cluster-wide slot; `giveBack` runs when none came (or the wait was
     * interrupted): the caller's node slot goes back there, with no verdict on the node.
     */
    const underGlobalCap = <A, E>(
      node: string,
      run: Effect.Effect<A, E>,
      giveBack: Effect.Effect<void>
    ): Effect.Effect<A, E | NodeUnavailableError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(Effect.exit(restore(acquireGlobal)), (global): Effect.Effect<A, E | NodeUnavailableError> => {
          if (Exit.isFailure(global)) return Effect.andThen(giveBack, Effect.failCause(global.cause))
          if (!global.value) return Effect.andThen(giveBack, Effect.fail(capError(node)))
          return Effect.ensuring(restore(run), releaseGlobal)
        })
      )

    const exec = <A>(
      node: string | undefined,
      run: Effect.Effect<A, ExecError>,
      slot?: Slot | undefined
    ): Effect.Effect<A, ExecError | NodeUnavailableError> => {
      if (node === undefined || node === "") return underGlobalCap("", run, Effect.void)
      const state = stateOf(node)
      return Effect.gen(function*() {
        const subject = yield* EventSubject
        const admission = Breaker.admit(state.breaker, clock.currentTimeMillisUnsafe(), breakerSettings)
        state.breaker = admission.state
        yield* publish(node, state, admission.transition)
        const own = slot !== undefined && slot.node === node && !slot.taken && !slot.released
        if (!admission.admitted) {
          if (own) yield* slot.release
          return yield* openError(node, admission.retryInMs)
        }
        if (own) {
          slot.taken = true
        } else if (capped() && (state.inUse >= settings.perNodeExecCap || state.waiters.length > 0)) {
          if (admission.probe) state.breaker = Breaker.releaseProbe(state.breaker)
          return yield* new NodeUnavailableError({
            node,
            reason: "busy",
            retryInMs: 0,
            message: `node ${node}: all ${settings.perNodeExecCap} exec slots busy`
          })
        } else if (capped()) {
          state.inUse++
        }
        const release = Effect.sync(() => {
          if (capped()) freeSlot(node, state)
        })
        // onExit, not exit: the verdict must be recorded even when the caller is interrupted.
        const judged = Effect.onExit(run, (exit) => {
          const timeout = Exit.isSuccess(exit)
            ? undefined
            : exit.cause.reasons.flatMap((r) => (r._tag === "Fail" && classifyExec(r.error) === "unreachable" ? [r.error as ExecTimeoutError | ExecConnectionLostError] : []))[0]
          const about = subject ?? (timeout === undefined ? undefined : podRef(timeout.namespace, timeout.pod))
          const recorded: Breaker.Recorded = Exit.isSuccess(exit)
            ? Breaker.recordAnswer(state.breaker)
            : timeout !== undefined
            ? Breaker.recordTimeout(state.breaker, clock.currentTimeMillisUnsafe(), breakerSettings)
            : Exit.hasInterrupts(exit)
            ? { state: Breaker.releaseProbe(state.breaker) }
            : Breaker.recordAnswer(state.breaker)
          state.breaker = recorded.state
          const timedOut = timeout === undefined || about === undefined ? Effect.void : events.record({
            type: "Warning",
            reason: "ExecTimedOut",
            action: "Exec",
            regarding: about,
            note: `kill exec in container ${timeout.container} timed out on node ${node} (phase ${timeout.phase}: ${
              timeout.phase === "handshake" ? "the WebSocket upgrade was not answered" : "connected, but no status came back"
            })`
          })
          // The verdict first: a breaker that opens fails the line before the slot is handed on.
          return Effect.andThen(Effect.andThen(timedOut, publish(node, state, recorded.transition, about)), release)
        })
        // No cluster-wide slot in time: the node's slot (and a half-open probe) go back, no verdict.
        const giveBack = Effect.andThen(
          Effect.sync(() => {
            if (admission.probe) state.breaker = Breaker.releaseProbe(state.breaker)
          }),
          release
        )
        return yield* underGlobalCap(node, judged, giveBack)
      })
    }

    return NodeGuard.of({
      settings,
      exec,
      breakerStates: () => new Map([...nodes].map(([node, s]) => [node, s.breaker])),
      isBusy: (node) => {
        if (node === undefined || node === "" || settings.perNodeExecCap <= 0) return false
        const state = nodes.get(node)
        return state !== undefined && state.breaker._tag !== "Open" &&
          (state.inUse >= settings.perNodeExecCap || state.waiters.length > 0)
      },
      acquireSlot,
      execsInFlight: () => inFlight
    })
  })
