/**
 * The chaos suite, small and seeded: the real service against the simulated cluster, with the
 * Argo model on, while every fault kind the simulator has is thrown at it (a short quiet period
 * here; 65-70 s in the CLI's full run). It asserts convergence: every pod cleaned, none harmed, no
 * exec socket left open, no unhandled rejection, a healthy service at the end; never timings.
 * A failure prints the seed; `npm run chaos -- --seed N` replays the same plan at full size.
 */
import { describe, expect, it } from "vitest"
import { allFaultKinds, planChaos, plannedPods, timedFaultKinds } from "../bench/chaosPlan.ts"
import { formatReport } from "../bench/chaosReport.ts"
import { runChaos } from "../bench/chaosRun.ts"

const SEED = 38

const planOptions = {
  seed: SEED,
  pods: 150,
  nodes: 8,
  namespaces: 4,
  faultWindowMs: 8_000,
  faults: 28,
  initialShare: 0.4,
  waves: 6,
  quietMs: 3_000
}

describe("the chaos plan", () => {
  it("is a pure function of the seed: same seed, same plan and hash; another seed, another plan", () => {
    const a = planChaos(planOptions)
    const b = planChaos(planOptions)
    expect(b).toEqual(a)
    expect(a.hash).toMatch(/^[0-9a-f]{12}$/)
    expect(planChaos({ ...planOptions, seed: SEED + 1 }).hash).not.toBe(a.hash)
  })

  it("plans every fault kind, time-boxed inside the window, and every pod", () => {
    for (const seed of [1, 2, 3, SEED]) {
      const plan = planChaos({ ...planOptions, seed })
      expect(new Set(plan.faults.map((f) => f.kind))).toEqual(new Set(timedFaultKinds))
      expect(plan.faults.filter((f) => f.kind === "pod recreate").length).toBeGreaterThanOrEqual(2)
      expect(plan.quiet.ms).toBe(3_000)
      const quietPods = plan.quiet.groups.reduce((n, g) => n + g.pods, 0)
      expect(quietPods).toBeGreaterThanOrEqual(8)
      expect(plan.groups.reduce((n, g) => n + g.pods, 0) + quietPods).toBe(planOptions.pods)
      expect(plannedPods(plan)).toBe(planOptions.pods + plan.faults.filter((f) => f.kind === "pod recreate").length)
      expect(plan.argoRecordLagMs).toBeGreaterThanOrEqual(0)
      expect(plan.argoRecordLagMs).toBeLessThanOrEqual(3_000)
      for (const f of plan.faults) {
        expect(f.at).toBeGreaterThanOrEqual(0)
        expect(f.at + f.durationMs).toBeLessThanOrEqual(planOptions.faultWindowMs)
        if (f.action.type === "recreate") expect(f.action.spec.afterSigtermMs).toBeLessThan(f.action.spec.graceSeconds * 1000)
      }
      // A silent watch is always followed by a restart, which ends it.
      const lastSilent = Math.max(...plan.faults.filter((f) => f.kind === "watch silent").map((f) => f.at))
      const firstRestart = Math.min(...plan.faults.filter((f) => f.kind === "restart").map((f) => f.at))
      expect(lastSilent).toBeLessThan(firstRestart)
    }
    // Without a given length, the quiet period is drawn from the seed: longer than a minute.
    const full = planChaos({ ...planOptions, quietMs: undefined })
    expect(full.quiet.ms).toBeGreaterThanOrEqual(65_000)
    expect(full.quiet.ms).toBeLessThanOrEqual(70_000)
  })
})

describe("the chaos run", () => {
  it(`seed ${SEED}: 150 pods through every fault kind; all cleaned, none harmed, nothing leaked, healthy at the end`, async () => {
    const report = await runChaos({ seed: SEED, pods: 150, durationMs: 8_000, quietMs: 3_000 })
    const text = formatReport(report)
    const context = `\n${text}\n(chaos test seed ${SEED}; at full size: npm run chaos -- --seed ${SEED})`

    expect(report.requestedPods, context).toBe(150)
    for (const kind of allFaultKinds) expect(report.faults[kind], `${kind} was never injected${context}`).toBeGreaterThanOrEqual(1)
    expect(report.restarts, context).toBeGreaterThanOrEqual(1)
    expect(report.recreates.some((r) => r.replacedAt !== undefined), context).toBe(true)
    expect(report.ledger.expected, context).toBe(report.pods)
    expect(report.ledger.cleaned, context).toBe(report.ledger.expected)
    expect(report.harms, context).toEqual([])
    expect(report.execOpenAtEnd, context).toBe(0)
    expect(report.execOpenAfterStop, context).toBe(0)
    expect(report.unhandledRejections, context).toEqual([])
    expect(report.uncaughtExceptions, context).toEqual([])
    expect(report.health.alive, context).toBe(true)
    expect(report.health.synced, context).toBe(true)
    expect(report.failures, context).toEqual([])
  }, 120_000)
})
