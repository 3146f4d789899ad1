/**
 * Per-node isolation for execs (Argo has none): a cap on concurrent execs per node, and a circuit
 * breaker that, after F consecutive exec timeouts on a node, fails execs to it fast for a cooldown
 * and then lets one probe decide. An exec that cannot run now fails at once with
 * `NodeUnavailableError`, so the caller moves on instead of waiting behind a sick node.
 */
import { Clock, Context, Data, Duration, Effect, Exit, Layer, Metric } from "effect"
import type { ExecError } from "../kube/ExecError.ts"
import * as Breaker from "./breaker.ts"
import { breakerState, breakerTransitions } from "./metrics.ts"

export interface NodeGuardSettings {
  /** Concurrent execs per node; 0 means no cap. */
  readonly perNodeExecCap: number
  /**
   * A deferred action waits for a free slot on its node; after this long it is tried again even
   * if no slot was announced (a safety net: slots are normally announced as they free up).
   */
  readonly slotWait: Duration.Duration
  /** Consecutive exec timeouts that open a node's breaker; 0 disables the breaker. */
  readonly breakerThreshold: number
  readonly breakerCooldown: Duration.Duration
}

export const defaultNodeGuardSettings: NodeGuardSettings = {
  perNodeExecCap: 2,
  slotWait: Duration.seconds(5),
  breakerThreshold: 3,
  breakerCooldown: Duration.seconds(60)
}

/** The exec was not attempted: the node's breaker is open, or all its exec slots are busy. */
export class NodeUnavailableError extends Data.TaggedError("NodeUnavailableError")<{
  readonly node: string
  readonly reason: "breaker-open" | "busy"
  /** When it is worth trying again. */
  readonly retryInMs: number
  readonly message: string
}> {}

/** Exec failures that say "this node is unreachable" (they feed the breaker). */
export const isNodeTimeout = (error: ExecError): boolean =>
  error._tag === "ExecTimeoutError" || (error._tag === "ExecConnectionLostError" && error.phase === "stream")

interface NodeState {
  breaker: Breaker.BreakerState
  /** Execs running against the node now. */
  inUse: number
  /** Deferred actions to wake, one per freed slot (all of them when the breaker opens). */
  readonly waiters: Array<() => void>
}

export class NodeGuard extends Context.Service<NodeGuard, {
  readonly settings: NodeGuardSettings
  /** Runs one exec against `node` under the node's cap and breaker. */
  readonly exec: <A>(
    node: string | undefined,
    exec: Effect.Effect<A, ExecError>
  ) => Effect.Effect<A, ExecError | NodeUnavailableError>
  readonly breakerStates: () => ReadonlyMap<string, Breaker.BreakerState>
  /** Every exec slot of the node is taken (and its breaker would let an exec through). */
  readonly isBusy: (node: string | undefined) => boolean
  /** Calls `wake` once, when a slot of the node frees up or its breaker opens. */
  readonly onSlotFree: (node: string, wake: () => void) => void
}>()("pod-cleanup/NodeGuard") {
  static readonly layerWith = (settings: Partial<NodeGuardSettings> = {}): Layer.Layer<NodeGuard> =>
    Layer.effect(NodeGuard, Effect.suspend(() => makeNodeGuard({ ...defaultNodeGuardSettings, ...settings })))
  static readonly layer: Layer.Layer<NodeGuard> = NodeGuard.layerWith()
}

export const makeNodeGuard = (settings: NodeGuardSettings) =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
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

    const publish = (node: string, state: NodeState, transition: Breaker.BreakerTransition | undefined) =>
      Effect.gen(function*() {
        yield* Metric.update(Metric.withAttributes(breakerState, { node }), Breaker.stateValue(state.breaker))
        if (transition === undefined) return
        yield* Metric.update(Metric.withAttributes(breakerTransitions, { node, transition }), 1)
        // Deferred actions for an unreachable node move on (they fail fast) instead of waiting.
        if (transition === "opened" || transition === "reopened") for (const wake of state.waiters.splice(0)) wake()
        const log = transition === "closed" ? Effect.logInfo : Effect.logWarning
        yield* log(`node ${node}: exec breaker ${transition}`).pipe(
          Effect.annotateLogs({ node, breaker: state.breaker._tag, transition })
        )
      })

    const exec = <A>(
      node: string | undefined,
      run: Effect.Effect<A, ExecError>
    ): Effect.Effect<A, ExecError | NodeUnavailableError> => {
      if (node === undefined || node === "") return run
      const state = stateOf(node)
      return Effect.gen(function*() {
        const admission = Breaker.admit(state.breaker, clock.currentTimeMillisUnsafe(), breakerSettings)
        state.breaker = admission.state
        yield* publish(node, state, admission.transition)
        if (!admission.admitted) {
          return yield* new NodeUnavailableError({
            node,
            reason: "breaker-open",
            retryInMs: admission.retryInMs ?? breakerSettings.cooldownMs,
            message: `node ${node}: exec breaker open after ${settings.breakerThreshold} consecutive exec timeouts`
          })
        }
        if (settings.perNodeExecCap > 0 && state.inUse >= settings.perNodeExecCap) {
          if (admission.probe) state.breaker = Breaker.releaseProbe(state.breaker)
          return yield* new NodeUnavailableError({
            node,
            reason: "busy",
            retryInMs: Duration.toMillis(settings.slotWait),
            message: `node ${node}: all ${settings.perNodeExecCap} exec slots busy`
          })
        }
        state.inUse++
        const release = Effect.sync(() => {
          state.inUse--
          state.waiters.shift()?.()
        })
        // onExit, not exit: the verdict must be recorded even when the caller is interrupted.
        return yield* Effect.onExit(run, (exit) => {
          const recorded: Breaker.Recorded = Exit.isSuccess(exit)
            ? Breaker.recordAnswer(state.breaker)
            : exit.cause.reasons.some((r) => r._tag === "Fail" && isNodeTimeout(r.error))
            ? Breaker.recordTimeout(state.breaker, clock.currentTimeMillisUnsafe(), breakerSettings)
            : Exit.hasInterrupts(exit)
            ? { state: Breaker.releaseProbe(state.breaker) }
            : Breaker.recordAnswer(state.breaker)
          state.breaker = recorded.state
          return Effect.andThen(release, publish(node, state, recorded.transition))
        })
      })
    }

    return NodeGuard.of({
      settings,
      exec,
      breakerStates: () => new Map([...nodes].map(([node, s]) => [node, s.breaker])),
      isBusy: (node) => {
        if (node === undefined || node === "" || settings.perNodeExecCap <= 0) return false
        const state = nodes.get(node)
        return state !== undefined && state.breaker._tag !== "Open" && state.inUse >= settings.perNodeExecCap
      },
      onSlotFree: (node, wake) => {
        stateOf(node).waiters.push(wake)
      }
    })
  })
