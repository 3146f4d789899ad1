/**
 * The chaos plan: which pods appear when, and which faults hit when, all drawn from one seeded
 * PRNG before anything runs. Pure and deterministic: the same seed and sizes give the same plan
 * (and the same hash), whatever the machine does with it later. Every timed fault is time-boxed
 * inside the fault window, so the system can converge once the window is over. After the window
 * comes one more phase, the quiet period (`plan.quiet`): no fault and no pod event at all for
 * `quiet.ms`, then a last wave of pods (`quiet.groups`) that the service must still clean.
 */
import { createHash } from "node:crypto"
import type { ApiFault, ApiScope, ExecFault, WatchFaultKind } from "@pod-cleanup/sim"

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
  /** The workflows' phase when seeded; Running ones are completed by the Argo model once their nodes are recorded. */
  readonly workflowPhase: string
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
  | "pod recreate"
  | "exec 429"
  | "exec 503"
  | "watch bookmarkOnly"
  | "continue expired"
  | "delete 503 burst"
  | "quiet"

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
  "restart",
  "pod recreate",
  "exec 429",
  "exec 503",
  "watch bookmarkOnly",
  "continue expired",
  "delete 503 burst",
  "quiet"
]

/** The kinds planned at a time inside the fault window (all but the quiet period, which follows it). */
export const timedFaultKinds: ReadonlyArray<FaultKind> = allFaultKinds.filter((k) => k !== "quiet")

/**
 * A pod re-created under the same name between SIGTERM and SIGKILL. At `at` the run seeds the
 * victim: one pod in its own Running workflow, `main` done and `wait` ignoring SIGTERM, with a
 * grace period of `graceSeconds`. When the service's SIGTERM reaches its `wait`, the run waits
 * `afterSigtermMs` (less than the grace period, so before the SIGKILL is due), deletes the pod and
 * creates a new one with the same name and a new UID, `main` and `wait` running, for a new node
 * of the same workflow: the service must not touch it. `mainRunsMs` later its `main` ends; from
 * then on it is a pod like any other, expected to end as `expect` says.
 */
export interface RecreateSpec {
  readonly index: number
  readonly namespace: string
  readonly node: string
  readonly strategy: string
  readonly expect: Expectation
  readonly graceSeconds: number
  readonly afterSigtermMs: number
  readonly mainRunsMs: number
}

export type FaultAction =
  | { readonly type: "exec"; readonly node: string; readonly fault: ExecFault; readonly times: number }
  | { readonly type: "api"; readonly scope: ApiScope; readonly fault: ApiFault; readonly times: number }
  | { readonly type: "watch"; readonly fault: WatchFaultKind; readonly resource: "pods" | "workflows"; readonly next: number }
  | { readonly type: "partition"; readonly node: string }
  | { readonly type: "restart"; readonly downMs: number }
  | { readonly type: "recreate"; readonly spec: RecreateSpec }
  /** A watch `gone` on the pods watches (they relist), and every continue token expires as the relist's first page is answered. */
  | { readonly type: "continueExpired" }

export interface PlannedFault {
  readonly at: number
  /** Exec and API rules are cleared, partitions healed, after this long (instantaneous faults: 0). */
  readonly durationMs: number
  readonly kind: FaultKind
  readonly action: FaultAction
}

export interface QuietPeriod {
  /** How long nothing happens after the system has settled (ms; 0: no quiet period). */
  readonly ms: number
  /** The pods that arrive when it is over (their `at` is 0: relative to the end of the quiet period). */
  readonly groups: ReadonlyArray<PodGroup>
}

export interface ChaosPlan {
  readonly seed: number
  readonly nodes: ReadonlyArray<string>
  readonly namespaces: ReadonlyArray<string>
  readonly faultWindowMs: number
  /** The Argo model records a node 0..argoRecordLagMs after its pod finished (drawn per pod). */
  readonly argoRecordLagMs: number
  readonly groups: ReadonlyArray<PodGroup>
  readonly faults: ReadonlyArray<PlannedFault>
  readonly quiet: QuietPeriod
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
  /** The quiet period after the window (ms). Default: drawn from the seed in 65..70 s. 0: none. */
  readonly quietMs?: number | undefined
  /** Share of the pods that arrive after the quiet period. Default 0.05 (at least 8 pods, when there is a quiet period). */
  readonly afterQuietShare?: number | undefined
  /** The highest Argo record lag (ms). Default: drawn from the seed in 0..3000. */
  readonly argoRecordLagMs?: number | undefined
}

interface StrategyProfile {
  readonly strategy: string
  readonly workflowPhase: string
  readonly expect: Expectation
}

const profiles: ReadonlyArray<StrategyProfile> = [
  { strategy: "OnPodCompletion", workflowPhase: "Succeeded", expect: "delete" },
  { strategy: "OnPodCompletion", workflowPhase: "Succeeded", expect: "delete" },
  // Running: Argo records the nodes as their pods finish (after its lag) and then completes the workflow.
  { strategy: "OnPodCompletion", workflowPhase: "Running", expect: "delete" },
  { strategy: "OnWorkflowCompletion", workflowPhase: "Succeeded", expect: "delete" },
  // The workflow is still running when its pods finish; Argo completes it later, then they are deleted.
  { strategy: "OnWorkflowCompletion", workflowPhase: "Running", expect: "delete" },
  { strategy: "OnWorkflowSuccess", workflowPhase: "Failed", expect: "label" },
  { strategy: "", workflowPhase: "Succeeded", expect: "label" },
  { strategy: "", workflowPhase: "Running", expect: "label" }
]

/**
 * What a re-created pod's workflow may use: the workflow ends Failed (its first node was marked
 * "pod deleted" when the run removed the victim), so OnWorkflowSuccess keeps (labels) its pods.
 */
const recreateProfiles: ReadonlyArray<Pick<StrategyProfile, "strategy" | "expect">> = [
  { strategy: "OnPodCompletion", expect: "delete" },
  { strategy: "OnWorkflowCompletion", expect: "delete" },
  { strategy: "OnWorkflowSuccess", expect: "label" },
  { strategy: "", expect: "label" }
]

const drawGroup = (rng: Prng, at: number, prefix: string, pods: number, namespaces: ReadonlyArray<string>): PodGroup => {
  const profile = rng.pick(profiles)
  const ignores = rng.chance(0.3)
  return {
    at,
    namespace: rng.pick(namespaces),
    prefix,
    pods,
    strategy: profile.strategy,
    workflowPhase: profile.workflowPhase,
    deleteDelay: rng.chance(0.25) ? "1s" : "0s",
    finalizer: rng.chance(0.25),
    waitIgnoresSigterm: ignores,
    waitTermDelayMs: ignores ? 0 : rng.chance(0.4) ? rng.int(200, 800) : 0,
    expect: profile.expect
  }
}

const splitGroups = (rng: Prng, at: number, prefix: string, size: number, namespaces: ReadonlyArray<string>): Array<PodGroup> => {
  const groups: Array<PodGroup> = []
  let left = size
  let index = 0
  while (left > 0) {
    const pods = Math.min(left, rng.int(8, 40))
    left -= pods
    groups.push(drawGroup(rng, at, `${prefix}g${index++}`, pods, namespaces))
  }
  return groups
}

const planGroups = (rng: Prng, options: PlanOptions, namespaces: ReadonlyArray<string>, pods: number): Array<PodGroup> => {
  const groups: Array<PodGroup> = []
  const w = options.faultWindowMs
  const initial = Math.round(pods * options.initialShare)
  const waveSizes = [initial]
  const rest = pods - initial
  for (let i = 0; i < options.waves; i++) {
    waveSizes.push(Math.floor(rest / options.waves) + (i < rest % options.waves ? 1 : 0))
  }
  waveSizes.forEach((size, wave) => {
    // Waves land between 5 % and 60 % of the window, so their pods meet the faults.
    const at = wave === 0 ? 0 : Math.round(w * (0.05 + (0.55 * (wave - 1)) / Math.max(1, options.waves - 1)))
    groups.push(...splitGroups(rng, at, `w${wave}`, size, namespaces))
  })
  return groups
}

/** Verbs drawn for API faults, weighted towards the ones the service sends most. */
const apiVerbs = ["get", "get", "get", "patch", "patch", "delete", "delete", "list", "watch", "exec"] as const

const planFault = (
  rng: Prng,
  kind: FaultKind,
  index: number,
  /** The first of its kind: a re-creation victim then comes at the very start (before most faults), so one is surely replaced. */
  early: boolean,
  w: number,
  nodes: ReadonlyArray<string>,
  namespaces: ReadonlyArray<string>
): PlannedFault => {
  // Windows, as shares of the fault window: a silent watch comes early (the restart, always
  // later, ends it if client-node's inactivity timeout has not); restarts come late.
  // A re-created pod must be signalled, replaced and finish inside the window; a wedged watch
  // (bookmarkOnly) lasts until the server's timeout ends it (25 s), so it comes early too.
  const [from, to] = kind === "watch silent" ? [0.05, 0.4] :
    kind === "restart" ? [0.5, 0.85] :
    kind === "pod recreate" ? (early ? [0.01, 0.02] : [0.05, 0.45]) :
    kind === "watch bookmarkOnly" ? [0.05, 0.5] :
    [0.05, 0.85]
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
    case "pod recreate": {
      const profile = rng.pick(recreateProfiles)
      const namespace = rng.pick(namespaces)
      const graceSeconds = rng.int(3, 5)
      const afterSigtermMs = rng.int(200, 1_500)
      const spec: RecreateSpec = {
        index,
        namespace,
        node,
        strategy: profile.strategy,
        expect: profile.expect,
        graceSeconds,
        afterSigtermMs,
        // The new pod's main still runs when the old pod's SIGKILL falls due: a SIGKILL not bound
        // to the old pod's UID would hit it, every time.
        mainRunsMs: graceSeconds * 1000 - afterSigtermMs + rng.int(1_000, 3_000)
      }
      return { at, durationMs: 0, kind, action: { type: "recreate", spec } }
    }
    case "exec 429":
      return api({ kind: "status", code: 429, retryAfterSeconds: rng.int(1, 2) }, ["exec"])
    case "exec 503":
      return api({ kind: "status", code: 503, retryAfterSeconds: rng.int(1, 2) }, ["exec"])
    case "watch bookmarkOnly":
      return { at, durationMs: 0, kind, action: { type: "watch", fault: "bookmarkOnly", resource: rng.chance(0.7) ? "pods" : "workflows", next: 0 } }
    case "continue expired":
      return { at, durationMs: 0, kind, action: { type: "continueExpired" } }
    case "delete 503 burst":
      // Every pod delete fails for a few seconds (times: unbounded; cleared at the end).
      return {
        at,
        durationMs: duration(2_000, 6_000),
        kind,
        action: { type: "api", scope: { verb: "delete", resource: "pods" }, fault: { kind: "status", code: 503, retryAfterSeconds: rng.int(1, 2) }, times: Infinity }
      }
    case "quiet":
      throw new Error("chaos: the quiet period is not a timed fault")
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
  ["restart", 1],
  ["pod recreate", 1],
  ["exec 429", 2],
  ["exec 503", 2],
  ["watch bookmarkOnly", 1],
  ["continue expired", 1],
  ["delete 503 burst", 1]
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

/**
 * A re-creation victim away from the faults that would keep the service's SIGTERM from it in the
 * next seconds (refused exec upgrades in its namespace, exec faults and partitions on its node,
 * which also open the node's breaker), so that it is replaced inside the window. Other faults
 * still meet it. Keeps the drawn place when every one is hit.
 */
const placeVictim = (
  rng: Prng,
  fault: PlannedFault,
  spec: RecreateSpec,
  faults: ReadonlyArray<PlannedFault>,
  nodes: ReadonlyArray<string>,
  namespaces: ReadonlyArray<string>
): PlannedFault => {
  const from = fault.at
  const to = fault.at + 5_000
  const overlapping = faults.filter((f) => f.at <= to && f.at + Math.max(f.durationMs, 1) >= from)
  const badNodes = new Set<string>()
  const badNamespaces = new Set<string>()
  let allNamespacesBad = false
  for (const f of overlapping) {
    const a = f.action
    if (a.type === "exec" || a.type === "partition") badNodes.add(a.node)
    if (a.type === "api" && (a.scope.verb === "exec" || a.scope.verb === undefined)) {
      if (a.scope.namespace === undefined) allNamespacesBad = true
      else badNamespaces.add(a.scope.namespace)
    }
  }
  const okNodes = nodes.filter((n) => !badNodes.has(n))
  const okNamespaces = allNamespacesBad ? [] : namespaces.filter((n) => !badNamespaces.has(n))
  const node = okNodes.length > 0 ? rng.pick(okNodes) : spec.node
  const namespace = okNamespaces.length > 0 ? rng.pick(okNamespaces) : spec.namespace
  return { ...fault, action: { type: "recreate", spec: { ...spec, node, namespace } } }
}

export const planChaos = (options: PlanOptions): ChaosPlan => {
  const rng = mulberry32(options.seed)
  const nodes = Array.from({ length: options.nodes }, (_, i) => `node-${i}`)
  const namespaces = Array.from({ length: options.namespaces }, (_, i) => `chaos-${String.fromCharCode(97 + i)}`)
  // Always drawn, then maybe overridden: the rest of the plan does not depend on the overrides.
  const drawnLag = rng.int(0, 3_000)
  const drawnQuiet = rng.int(65_000, 70_000)
  const argoRecordLagMs = options.argoRecordLagMs ?? drawnLag
  const quietMs = options.quietMs ?? drawnQuiet
  const afterQuiet = quietMs > 0 && options.pods >= 16
    ? Math.max(8, Math.round(options.pods * (options.afterQuietShare ?? 0.05)))
    : 0
  const groups = planGroups(rng, options, namespaces, options.pods - afterQuiet)
  const quiet: QuietPeriod = { ms: quietMs, groups: splitGroups(rng, 0, "q", afterQuiet, namespaces) }
  // Two re-created pods: the first may meet a partition or an exec fault and never be signalled in time.
  const kinds: Array<FaultKind> = [...timedFaultKinds, "pod recreate"]
  while (kinds.length < options.faults) kinds.push(weightedKind(rng))
  const planned = kinds.map((kind, index) => planFault(rng, kind, index, kinds.indexOf(kind) === index, options.faultWindowMs, nodes, namespaces))
  const faults = planned
    .map((f) => (f.action.type === "recreate" ? placeVictim(rng, f, f.action.spec, planned, nodes, namespaces) : f))
    .sort((a, b) => a.at - b.at || a.kind.localeCompare(b.kind))
  const body = { seed: options.seed, nodes, namespaces, faultWindowMs: options.faultWindowMs, argoRecordLagMs, groups, faults, quiet }
  const hash = createHash("sha256").update(JSON.stringify(body)).digest("hex").slice(0, 12)
  return { ...body, hash }
}

/** The planned faults counted by kind. */
export const faultCounts = (faults: ReadonlyArray<PlannedFault>): Record<FaultKind, number> => {
  const counts = Object.fromEntries(allFaultKinds.map((k) => [k, 0])) as Record<FaultKind, number>
  for (const f of faults) counts[f.kind]++
  return counts
}

/** Every pod the plan seeds: the groups, the quiet period's groups and the re-creation victims (not their replacements). */
export const plannedPods = (plan: ChaosPlan): number =>
  plan.groups.reduce((n, g) => n + g.pods, 0) + plan.quiet.groups.reduce((n, g) => n + g.pods, 0) +
  plan.faults.filter((f) => f.action.type === "recreate").length
