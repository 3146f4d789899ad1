/**
 * The chaos plan: which pods appear when, and which faults hit when, all drawn from one seeded
 * PRNG before anything runs. Pure and deterministic: the same seed and sizes give the same plan
 * (and the same hash), whatever the machine does with it later. Every fault is time-boxed inside
 * the fault window, so the system can converge once the window is over.
 */
import { createHash } from "node:crypto"
import type { ApiFault, ApiScope, ExecFault, WatchFaultKind } from "../src/sim/index.ts"

// ---- PRNG ---------------------------------------------------------------------------------------

/** mulberry32: a small, fast 32-bit PRNG; `next()` is uniform in [0, 1). */
export const mulberry32 = (seed: number) => {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1))
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]!
  const chance = (p: number): boolean => next() < p
  return { next, int, pick, chance }
}
export type Prng = ReturnType<typeof mulberry32>

// ---- The plan -----------------------------------------------------------------------------------

/** How a group's pods should end: deleted, or labelled completed=true and kept. */
export type Expectation = "delete" | "label"

export interface PodGroup {
  /** When the pods appear (ms from the start of the fault window; 0 = before the service starts). */
  readonly at: number
  readonly namespace: string
  readonly prefix: string
  readonly pods: number
  readonly strategy: string
  readonly workflowPhase: string
  /** When set, the group's workflows move to Succeeded at this time (ms). */
  readonly completeWorkflowsAt?: number | undefined
  readonly deleteDelay: string
  readonly finalizer: boolean
  readonly waitIgnoresSigterm: boolean
  readonly waitTermDelayMs: number
  readonly expect: Expectation
}

export type FaultKind =
  | "exec noUpgrade"
  | "exec halfOpen"
  | "exec reset"
  | "exec slow"
  | "exec exitCode"
  | "exec reject"
  | "api 500"
  | "api 503"
  | "api 429"
  | "api 409"
  | "api latency"
  | "watch silent"
  | "watch drop"
  | "watch end"
  | "watch gone"
  | "partition"
  | "restart"

export const allFaultKinds: ReadonlyArray<FaultKind> = [
  "exec noUpgrade",
  "exec halfOpen",
  "exec reset",
  "exec slow",
  "exec exitCode",
  "exec reject",
  "api 500",
  "api 503",
  "api 429",
  "api 409",
  "api latency",
  "watch silent",
  "watch drop",
  "watch end",
  "watch gone",
  "partition",
  "restart"
]

export type FaultAction =
  | { readonly type: "exec"; readonly node: string; readonly fault: ExecFault; readonly times: number }
  | { readonly type: "api"; readonly scope: ApiScope; readonly fault: ApiFault; readonly times: number }
  | { readonly type: "watch"; readonly fault: WatchFaultKind; readonly resource: "pods" | "workflows"; readonly next: number }
  | { readonly type: "partition"; readonly node: string }
  | { readonly type: "restart"; readonly downMs: number }

export interface PlannedFault {
  readonly at: number
  /** Exec and API rules are cleared, partitions healed, after this long (instantaneous faults: 0). */
  readonly durationMs: number
  readonly kind: FaultKind
  readonly action: FaultAction
}

export interface ChaosPlan {
  readonly seed: number
  readonly nodes: ReadonlyArray<string>
  readonly namespaces: ReadonlyArray<string>
  readonly faultWindowMs: number
  readonly groups: ReadonlyArray<PodGroup>
  readonly faults: ReadonlyArray<PlannedFault>
  /** A short hash of everything above: equal hashes, equal plans. */
  readonly hash: string
}

export interface PlanOptions {
  readonly seed: number
  readonly pods: number
  readonly nodes: number
  readonly namespaces: number
  readonly faultWindowMs: number
  /** Faults in total; at least one of each kind is always planned. */
  readonly faults: number
  /** Share of the pods that exist before the service starts; the rest arrive in waves. */
  readonly initialShare: number
  readonly waves: number
}

interface StrategyProfile {
  readonly strategy: string
  readonly workflowPhase: string
  readonly completesLater: boolean
  readonly expect: Expectation
}

const profiles: ReadonlyArray<StrategyProfile> = [
  { strategy: "OnPodCompletion", workflowPhase: "Succeeded", completesLater: false, expect: "delete" },
  { strategy: "OnPodCompletion", workflowPhase: "Succeeded", completesLater: false, expect: "delete" },
  { strategy: "OnWorkflowCompletion", workflowPhase: "Succeeded", completesLater: false, expect: "delete" },
  // The workflow is still running when its pods finish; it completes later, then they are deleted.
  { strategy: "OnWorkflowCompletion", workflowPhase: "Running", completesLater: true, expect: "delete" },
  { strategy: "OnWorkflowSuccess", workflowPhase: "Failed", completesLater: false, expect: "label" },
  { strategy: "", workflowPhase: "Succeeded", completesLater: false, expect: "label" }
]

const planGroups = (rng: Prng, options: PlanOptions, namespaces: ReadonlyArray<string>): Array<PodGroup> => {
  const groups: Array<PodGroup> = []
  const w = options.faultWindowMs
  const initial = Math.round(options.pods * options.initialShare)
  const waveSizes = [initial]
  const rest = options.pods - initial
  for (let i = 0; i < options.waves; i++) {
    waveSizes.push(Math.floor(rest / options.waves) + (i < rest % options.waves ? 1 : 0))
  }
  waveSizes.forEach((size, wave) => {
    // Waves land between 5 % and 60 % of the window, so their pods meet the faults.
    const at = wave === 0 ? 0 : Math.round(w * (0.05 + (0.55 * (wave - 1)) / Math.max(1, options.waves - 1)))
    let left = size
    let index = 0
    while (left > 0) {
      const pods = Math.min(left, rng.int(8, 40))
      left -= pods
      const profile = rng.pick(profiles)
      const ignores = rng.chance(0.3)
      groups.push({
        at,
        namespace: rng.pick(namespaces),
        prefix: `w${wave}g${index++}`,
        pods,
        strategy: profile.strategy,
        workflowPhase: profile.workflowPhase,
        completeWorkflowsAt: profile.completesLater ? Math.min(Math.round(w * 0.75), at + rng.int(1_000, 5_000)) : undefined,
        deleteDelay: rng.chance(0.25) ? "1s" : "0s",
        finalizer: rng.chance(0.25),
        waitIgnoresSigterm: ignores,
        waitTermDelayMs: ignores ? 0 : rng.chance(0.4) ? rng.int(200, 800) : 0,
        expect: profile.expect
      })
    }
  })
  return groups
}

/** Verbs drawn for API faults, weighted towards the ones the service sends most. */
const apiVerbs = ["get", "get", "get", "patch", "patch", "delete", "delete", "list", "watch", "exec"] as const

const planFault = (
  rng: Prng,
  kind: FaultKind,
  w: number,
  nodes: ReadonlyArray<string>,
  namespaces: ReadonlyArray<string>
): PlannedFault => {
  // Windows, as shares of the fault window: a silent watch comes early (the restart, always
  // later, ends it if client-node's inactivity timeout has not); restarts come late.
  const [from, to] = kind === "watch silent" ? [0.05, 0.4] : kind === "restart" ? [0.5, 0.85] : [0.05, 0.85]
  const at = Math.round(w * (from + (to - from) * rng.next()))
  const room = Math.max(500, Math.round(w * 0.95) - at)
  const duration = (min: number, max: number) => Math.min(room, rng.int(min, max))
  const node = rng.pick(nodes)
  const exec = (fault: ExecFault): PlannedFault => ({
    at,
    durationMs: duration(1_000, 4_000),
    kind,
    action: { type: "exec", node, fault, times: rng.int(2, 8) }
  })
  const scope = (verbs: ReadonlyArray<string>): ApiScope => {
    const verb = rng.pick(verbs)
    // The service only reads workflows.
    const resource = (verb === "get" || verb === "list" || verb === "watch") && rng.chance(0.2) ? "workflows" : "pods"
    const namespace = verb === "list" || verb === "watch" || rng.chance(0.5) ? undefined : rng.pick(namespaces)
    return { verb, resource, ...(namespace === undefined ? {} : { namespace }) }
  }
  const api = (fault: ApiFault, verbs: ReadonlyArray<string> = apiVerbs): PlannedFault => ({
    at,
    durationMs: duration(1_000, 4_000),
    kind,
    action: { type: "api", scope: scope(verbs), fault, times: rng.int(3, 15) }
  })
  const watch = (fault: WatchFaultKind): PlannedFault => ({
    at,
    durationMs: 0,
    kind,
    action: {
      type: "watch",
      fault,
      resource: rng.chance(0.7) ? "pods" : "workflows",
      // A silent watch is applied to the open watches only (each costs client-node's 30 s inactivity limit).
      next: fault === "silent" ? 0 : rng.int(0, 1)
    }
  })
  switch (kind) {
    case "exec noUpgrade":
      return exec({ kind: "noUpgrade" })
    case "exec halfOpen":
      return exec({ kind: "halfOpen", deliver: rng.chance(0.5) })
    case "exec reset":
      return exec({ kind: "reset", afterMs: rng.int(0, 300), deliver: rng.chance(0.5) })
    case "exec slow":
      return exec({ kind: "slow", delayMs: rng.int(200, 1_500) })
    case "exec exitCode":
      return exec({ kind: "exitCode", code: rng.pick([1, 137]) })
    case "exec reject":
      return exec({ kind: "reject", code: rng.pick([500, 404] as const) })
    case "api 500":
      return api({ kind: "status", code: 500 })
    case "api 503":
      return api({ kind: "status", code: 503, retryAfterSeconds: 1 })
    case "api 429":
      return api({ kind: "status", code: 429, retryAfterSeconds: rng.int(1, 2) })
    case "api 409":
      return api({ kind: "status", code: 409 }, ["patch", "delete"])
    case "api latency":
      return api({ kind: "latency", ms: rng.int(100, 1_500) })
    case "watch silent":
      return watch("silent")
    case "watch drop":
      return watch("drop")
    case "watch end":
      return watch("end")
    case "watch gone":
      return watch("gone")
    case "partition":
      return { at, durationMs: duration(2_000, 6_000), kind, action: { type: "partition", node } }
    case "restart":
      return { at, durationMs: 0, kind, action: { type: "restart", downMs: rng.int(100, 600) } }
  }
}

/** Extra faults are drawn with these weights (restarts and silent watches stay rare). */
const extraWeights: ReadonlyArray<readonly [FaultKind, number]> = [
  ["exec noUpgrade", 3],
  ["exec halfOpen", 3],
  ["exec reset", 3],
  ["exec slow", 3],
  ["exec exitCode", 2],
  ["exec reject", 2],
  ["api 500", 3],
  ["api 503", 3],
  ["api 429", 3],
  ["api 409", 3],
  ["api latency", 3],
  ["watch silent", 1],
  ["watch drop", 2],
  ["watch end", 2],
  ["watch gone", 2],
  ["partition", 2],
  ["restart", 1]
]

const weightedKind = (rng: Prng): FaultKind => {
  const total = extraWeights.reduce((n, [, weight]) => n + weight, 0)
  let roll = rng.next() * total
  for (const [kind, weight] of extraWeights) {
    roll -= weight
    if (roll < 0) return kind
  }
  return extraWeights[extraWeights.length - 1]![0]
}

export const planChaos = (options: PlanOptions): ChaosPlan => {
  const rng = mulberry32(options.seed)
  const nodes = Array.from({ length: options.nodes }, (_, i) => `node-${i}`)
  const namespaces = Array.from({ length: options.namespaces }, (_, i) => `chaos-${String.fromCharCode(97 + i)}`)
  const groups = planGroups(rng, options, namespaces)
  const kinds: Array<FaultKind> = [...allFaultKinds]
  while (kinds.length < options.faults) kinds.push(weightedKind(rng))
  const faults = kinds
    .map((kind) => planFault(rng, kind, options.faultWindowMs, nodes, namespaces))
    .sort((a, b) => a.at - b.at || a.kind.localeCompare(b.kind))
  const body = { seed: options.seed, nodes, namespaces, faultWindowMs: options.faultWindowMs, groups, faults }
  const hash = createHash("sha256").update(JSON.stringify(body)).digest("hex").slice(0, 12)
  return { ...body, hash }
}

/** The planned faults counted by kind. */
export const faultCounts = (faults: ReadonlyArray<PlannedFault>): Record<FaultKind, number> => {
  const counts = Object.fromEntries(allFaultKinds.map((k) => [k, 0])) as Record<FaultKind, number>
  for (const f of faults) counts[f.kind]++
  return counts
}
