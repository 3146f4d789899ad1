/**
 * The per-node circuit breaker, as pure transitions over an explicit state and the current time.
 * Closed counts consecutive exec timeouts; at the threshold it opens and every exec to the node
 * fails fast for the cooldown; then exactly one probe is let through, whose outcome closes the
 * breaker or opens it again. A threshold of 0 disables the breaker (Argo's behaviour).
 */

export interface BreakerSettings {
  /** Consecutive exec timeouts that open the breaker; 0 disables it. */
  readonly threshold: number
  readonly cooldownMs: number
}

export type BreakerState =
  | { readonly _tag: "Closed"; readonly consecutiveTimeouts: number }
  | { readonly _tag: "Open"; readonly openedAt: number }
  | { readonly _tag: "HalfOpen"; readonly probeInFlight: boolean }

export type BreakerTransition = "opened" | "half-open" | "closed" | "reopened"

export const closed: BreakerState = { _tag: "Closed", consecutiveTimeouts: 0 }

export interface Admission {
  readonly admitted: boolean
  /** This exec is the single probe of a half-open breaker. */
  readonly probe: boolean
  readonly state: BreakerState
  readonly transition?: BreakerTransition | undefined
  /** When admitted is false: how long until a probe may be let through. */
  readonly retryInMs?: number | undefined
}

/** Asks to run one exec against the node at `now`. */
export const admit = (state: BreakerState, now: number, settings: BreakerSettings): Admission => {
  switch (state._tag) {
    case "Closed":
      return { admitted: true, probe: false, state }
    case "Open": {
      const until = state.openedAt + settings.cooldownMs
      if (now < until) return { admitted: false, probe: false, state, retryInMs: until - now }
      return { admitted: true, probe: true, state: { _tag: "HalfOpen", probeInFlight: true }, transition: "half-open" }
    }
    case "HalfOpen":
      return state.probeInFlight
        ? { admitted: false, probe: false, state, retryInMs: settings.cooldownMs }
        : { admitted: true, probe: true, state: { _tag: "HalfOpen", probeInFlight: true } }
  }
}

export interface Recorded {
  readonly state: BreakerState
  readonly transition?: BreakerTransition | undefined
}

/** The node answered (success, non-zero exit or a refusal): it is reachable. */
export const recordAnswer = (state: BreakerState): Recorded =>
  state._tag === "Closed"
    ? { state: closed }
    : { state: closed, transition: "closed" }

/** The exec timed out or lost its connection: the node looks unreachable. */
export const recordTimeout = (state: BreakerState, now: number, settings: BreakerSettings): Recorded => {
  if (settings.threshold <= 0) return { state: closed }
  switch (state._tag) {
    case "Closed": {
      const consecutiveTimeouts = state.consecutiveTimeouts + 1
      return consecutiveTimeouts >= settings.threshold
        ? { state: { _tag: "Open", openedAt: now }, transition: "opened" }
        : { state: { _tag: "Closed", consecutiveTimeouts } }
    }
    case "HalfOpen":
      return { state: { _tag: "Open", openedAt: now }, transition: "reopened" }
    case "Open":
      // An exec admitted before the breaker opened timed out late: already counted as open.
      return { state }
  }
}

/** An admitted probe ended without a verdict (interrupted): let the next one through. */
export const releaseProbe = (state: BreakerState): BreakerState =>
  state._tag === "HalfOpen" ? { _tag: "HalfOpen", probeInFlight: false } : state

/** The state as a gauge value: 0 closed, 1 half-open, 2 open. */
export const stateValue = (state: BreakerState): number =>
  state._tag === "Closed" ? 0 : state._tag === "HalfOpen" ? 1 : 2
