/**
 * The chaos suite, small and seeded: the real service against the simulated cluster, with the
 * Argo model on, while every fault kind the simulator has is thrown at it (a short quiet period
 * here; 65-70 s in the CLI's full run). It asserts convergence: every pod cleaned, none harmed, no
 * exec socket left open, no unhandled rejection, a healthy service at the end; never timings.
 * A failure prints the seed; `npm run chaos -- --seed N` replays the same plan at full size.
 */
import { afterEach, describe, expect, it } from "vitest"
import { watchHarm } from "../bench/chaosHarm.ts"
import { isCleaned } from "../bench/chaosLedger.ts"
import { Recreator } from "../bench/chaosRecreate.ts"
import { SimCluster } from "@pod-cleanup/sim"
import { execPath, http, rawExec, sleep } from "@pod-cleanup/sim/testing"
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
    // Giving the quiet period's length changes nothing else: `--quiet-period 3` replays the faults of a full run.
    expect(planChaos({ ...planOptions, quietMs: 3_000 }).faults).toEqual(full.faults)
  })
})

describe("the chaos run's detectors", () => {
  let sim: SimCluster | undefined
  afterEach(async () => {
    await sim?.close()
    sim = undefined
  })

  const livePod = (s: SimCluster, name: string, main: "running" | "terminated") =>
    s.addPod({
      namespace: "ns",
      name,
      labels: { "workflows.argoproj.io/workflow": "wf", "workflows.argoproj.io/completed": "false" },
      annotations: { "workflows.argoproj.io/node-id": `wf-${name}` },
      containers: [{ name: "wait", state: "running" }, { name: "main", state: main }]
    })

  it("counts a signal, a label and a delete of live pods, and a node Argo marked pod deleted; not a signal to a finished pod", async () => {
    const s = sim = await SimCluster.start({ argo: {} })
    s.addWorkflow({ namespace: "ns", name: "wf", phase: "Running" })
    livePod(s, "live", "running")
    livePod(s, "done", "terminated")
    livePod(s, "done2", "terminated")
    livePod(s, "live2", "running")
    await sleep(50)
    const harm = watchHarm(s, { liveAt: () => false, harnessCaused: () => false, t0: () => Date.now() })

    const toDone = rawExec(s, execPath("ns", "done2", ["argoexec", "kill", "15", "1"], { container: "wait" }))
    await toDone.closed
    expect(harm.all()).toEqual([])

    const toLive = rawExec(s, execPath("ns", "live", ["argoexec", "kill", "15", "1"], { container: "wait" }))
    await toLive.closed
    const patched = await http(s, "PATCH", "/api/v1/namespaces/ns/pods/live2", { metadata: { labels: { "workflows.argoproj.io/completed": "true" } } }, {
      "Content-Type": "application/merge-patch+json"
    })
    expect(patched.status).toBe(200)
    // The finished pod's node is not recorded (its wait still ran): deleting it is Argo's "pod deleted".
    expect((await http(s, "DELETE", "/api/v1/namespaces/ns/pods/done?gracePeriodSeconds=0")).status).toBe(200)
    await sleep(50)
    // Labelling live2 also took it out of Argo's view: its node is "pod deleted" too.
    expect(harm.all().map((h) => `${h.kind} ${h.pod}`).sort()).toEqual(["patch live2", "pod deleted done", "pod deleted live2", "signal live"])
  })

  it("re-creates a victim between its SIGTERM and SIGKILL: new UID, main running, then main ends; its own pod deleted is excused", async () => {
    const s = sim = await SimCluster.start({ argo: {} })
    const replaced: Array<string> = []
    const recreator = new Recreator(s, 8, (_record, replacement) => void replaced.push(replacement.uid ?? ""))
    const spec = { index: 1, namespace: "ns", node: "node-3", strategy: "OnPodCompletion", expect: "delete" as const, graceSeconds: 3, afterSigtermMs: 100, mainRunsMs: 300 }
    const victim = recreator.seed(spec)
    const harm = watchHarm(s, {
      liveAt: (ns, pod, at) => recreator.liveAt(ns, pod, at),
      harnessCaused: (r) => recreator.harnessDeleted(r),
      t0: () => Date.now()
    })
    expect(s.getPod("ns", victim.name)?.spec?.nodeName).toBe("node-3")
    await rawExec(s, execPath("ns", victim.name, ["argoexec", "kill", "15", "1"], { container: "wait" })).closed
    await sleep(250)
    const fresh = s.getPod("ns", victim.name)
    expect(fresh?.metadata?.uid).toBe(replaced[0])
    expect(fresh?.metadata?.uid).not.toBe(victim.uid)
    expect(fresh?.status?.containerStatuses?.find((c) => c.name === "main")?.state?.running).toBeDefined()
    expect(recreator.liveAt("ns", victim.name, Date.now())).toBe(true)
    expect(isCleaned(victim, fresh)).toBe(true) // the first incarnation is gone
    expect(isCleaned({ expect: "delete", uid: replaced[0] }, fresh)).toBe(false)
    // Argo marked the victim's node "pod deleted": the run did it, it is excused.
    expect(s.argo?.podDeleted.length).toBe(1)
    expect(harm.all()).toEqual([])
    expect(harm.excused()).toBe(1)
    // A signal now would hit the live replacement.
    await rawExec(s, execPath("ns", victim.name, ["argoexec", "kill", "9", "1"], { container: "wait" })).closed
    expect(harm.all().map((h) => h.kind)).toEqual(["signal"])
    await sleep(400)
    expect(s.getPod("ns", victim.name)?.status?.containerStatuses?.find((c) => c.name === "main")?.state?.terminated).toBeDefined()
    expect(recreator.liveAt("ns", victim.name, Date.now())).toBe(false)
    recreator.endWindow()
    recreator.close()
    expect(recreator.replaced).toBe(1)
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
