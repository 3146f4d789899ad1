import { describe, expect, it } from "vitest"
import { admit, type BreakerState, closed, recordAnswer, recordTimeout, releaseProbe } from "../../src/engine/breaker.ts"

const settings = { threshold: 3, cooldownMs: 60_000 }

describe("breaker transitions", () => {
  it("opens after F consecutive timeouts, and an answer in between resets the count", () => {
    let s: BreakerState = closed
    s = recordTimeout(s, 0, settings).state
    s = recordTimeout(s, 1, settings).state
    s = recordAnswer(s).state
    expect(s).toEqual(closed)
    s = recordTimeout(s, 2, settings).state
    s = recordTimeout(s, 3, settings).state
    const third = recordTimeout(s, 4, settings)
    expect(third.transition).toBe("opened")
    expect(third.state).toEqual({ _tag: "Open", openedAt: 4 })
  })

  it("fails fast while open, then lets exactly one probe through after the cooldown", () => {
    const open: BreakerState = { _tag: "Open", openedAt: 1000 }
    const early = admit(open, 60_999, settings)
    expect(early).toMatchObject({ admitted: false, retryInMs: 1 })
    const probe = admit(open, 61_000, settings)
    expect(probe).toMatchObject({ admitted: true, probe: true, transition: "half-open" })
    const second = admit(probe.state, 61_001, settings)
    expect(second.admitted).toBe(false)
  })

  it("a successful probe closes it; a timed-out probe reopens it; an interrupted probe frees the slot", () => {
    const halfOpen: BreakerState = { _tag: "HalfOpen", probeInFlight: true }
    expect(recordAnswer(halfOpen)).toEqual({ state: closed, transition: "closed" })
    expect(recordTimeout(halfOpen, 5, settings)).toEqual({ state: { _tag: "Open", openedAt: 5 }, transition: "reopened" })
    const freed = releaseProbe(halfOpen)
    expect(admit(freed, 0, settings)).toMatchObject({ admitted: true, probe: true })
  })

  it("threshold 0 disables the breaker (Argo's behaviour)", () => {
    let s: BreakerState = closed
    for (let i = 0; i < 100; i++) s = recordTimeout(s, i, { threshold: 0, cooldownMs: 1 }).state
    expect(admit(s, 100, { threshold: 0, cooldownMs: 1 }).admitted).toBe(true)
  })
})
