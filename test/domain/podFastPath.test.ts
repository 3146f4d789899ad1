/**
 * The fast path of `decodePod` is held to the Schema: on real-sized pods and on every mutation of
 * every field the Schema reads (removed, null, another type, a Date, an unsafe integer), it either
 * declines or builds exactly what the Schema builds, and it never accepts a pod the Schema rejects.
 */
import { seedWorkflowPods, SimCluster } from "@pod-cleanup/sim"
import { Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { decodePod, decodePodWithSchema } from "../../src/domain/Pod.ts"
import { readPodFast } from "../../src/domain/podFastPath.ts"

type Json = Record<string, unknown>

let pods: Array<Json> = []
let sim: SimCluster
beforeAll(async () => {
  sim = await SimCluster.start()
  seedWorkflowPods(sim, { pods: 3, nodes: 1, namespace: "fast", realistic: true })
  seedWorkflowPods(sim, { pods: 3, nodes: 1, namespace: "fast2", realistic: true, finalizer: true, workflowPhase: "Running" })
  seedWorkflowPods(sim, { pods: 2, nodes: 1, namespace: "fast3" })
  const finished = sim.listPods().find((p) => p.metadata?.namespace === "fast2")!
  sim.setContainerState("fast2", finished.metadata!.name!, "wait", "terminated", 0)
  pods = sim.listPods().map((p) => JSON.parse(JSON.stringify(p)) as Json)
  // A waiting container, a deletion timestamp, a grace period: fields the seeds may not set.
  const extra = structuredClone(pods[0]!) as { metadata: Json; spec: Json; status: { containerStatuses: Array<Json> } }
  extra.metadata.deletionTimestamp = "2026-12-01T10:00:00Z"
  extra.spec.terminationGracePeriodSeconds = 5
  extra.status.containerStatuses.push({ name: "init", state: { waiting: { reason: "PodInitializing" } } })
  pods.push(extra as unknown as Json)
})
afterAll(() => sim.close())

/** Keys the Schema reads, at any depth (below `labels` and `annotations` every key is read). */
const readKeys = new Set([
  "metadata", "spec", "status", "namespace", "name", "uid", "resourceVersion", "labels", "annotations", "finalizers",
  "deletionTimestamp", "creationTimestamp", "nodeName", "terminationGracePeriodSeconds", "containers", "volumeMounts",
  "mountPath", "phase", "containerStatuses", "state", "running", "terminated", "waiting", "startedAt", "exitCode",
  "reason", "finishedAt"
])

/** The paths the Schema reads, found in `pod` (every element of the arrays among them). */
const readPaths = (pod: Json): Array<Array<string | number>> => {
  const out: Array<Array<string | number>> = []
  const walk = (value: unknown, at: Array<string | number>, everyKey: boolean) => {
    if (at.length > 0) out.push(at)
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...at, i], false))
    else if (typeof value === "object" && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        if (everyKey || readKeys.has(k)) walk(v, [...at, k], k === "labels" || k === "annotations")
      }
    }
  }
  walk(pod, [], false)
  return out
}

const setAt = (pod: Json, at: ReadonlyArray<string | number>, value: unknown | typeof REMOVE): Json => {
  const copy = structuredClone(pod)
  let parent: Record<string | number, unknown> = copy
  for (const k of at.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>
  const last = at.at(-1)!
  if (value === REMOVE) {
    if (Array.isArray(parent)) parent.splice(last as number, 1)
    else delete parent[last]
  } else parent[last] = value
  return copy
}
const REMOVE = Symbol("remove")
const replacements: ReadonlyArray<unknown> = [REMOVE, null, undefined, 42, 1.5, 2 ** 60, "x", "", true, [], {}, new Date(0)]

/** The fast path's answer against the Schema's, for one input: declined, or the Schema's own success. */
const expectAgreement = (u: unknown, what: string) => {
  const fast = readPodFast(u)
  if (fast === undefined) return
  const schema = decodePodWithSchema(u)
  expect(Result.isSuccess(schema), `${what}: the Schema rejects what the fast path accepted`).toBe(true)
  expect(fast, what).toStrictEqual(Result.getOrThrow(schema))
}

describe("the fast path of decodePod", () => {
  it("decodes every real-sized pod itself, exactly as the Schema does", () => {
    expect(pods.length).toBeGreaterThanOrEqual(9)
    for (const pod of pods) {
      const fast = readPodFast(pod)
      expect(fast, "the common case takes the fast path").toBeDefined()
      const schema = decodePodWithSchema(pod)
      expect(Result.isSuccess(schema)).toBe(true)
      expect(fast).toStrictEqual(Result.getOrThrow(schema))
      expect(decodePod(pod)).toStrictEqual(schema)
    }
  })

  it("on every mutation of every field read, declines or agrees with the Schema, and never accepts what it rejects", () => {
    let mutations = 0
    let declined = 0
    for (const pod of pods) {
      for (const at of readPaths(pod)) {
        for (const value of replacements) {
          const mutated = setAt(pod, at, value)
          mutations++
          if (readPodFast(mutated) === undefined) declined++
          expectAgreement(mutated, `${at.join(".")} = ${value === REMOVE ? "<removed>" : String(JSON.stringify(value))}`)
          // What decodePod returns is the Schema's answer either way.
          expect(decodePod(mutated)).toStrictEqual(decodePodWithSchema(mutated))
        }
      }
    }
    // Both sides were exercised: many mutations decline (the Schema then decides), many do not.
    expect(mutations).toBeGreaterThan(1000)
    expect(declined).toBeGreaterThan(100)
    expect(mutations - declined).toBeGreaterThan(100)
  })

  it("declines what is not a pod object at all", () => {
    for (const u of [undefined, null, 1, "pod", [], [pods[0]], { metadata: null }, { metadata: [] }]) {
      expect(readPodFast(u)).toBeUndefined()
      expect(Result.isFailure(decodePod(u))).toBe(true)
    }
  })

  it("declines a __proto__ label key and client-node Date timestamps, which the Schema then decodes", () => {
    const withProto = JSON.parse(JSON.stringify(pods[0]).replace('"labels":{', '"labels":{"__proto__":"x",')) as Json
    expect(readPodFast(withProto)).toBeUndefined()
    const withDate = setAt(pods[0]!, ["metadata", "creationTimestamp"], new Date("2026-12-01T10:00:00Z"))
    expect(readPodFast(withDate)).toBeUndefined()
    expect(Result.getOrThrow(decodePod(withDate)).metadata.creationTimestamp).toBe("2026-12-01T10:00:00.000Z")
  })
})
