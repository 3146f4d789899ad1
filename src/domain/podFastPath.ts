/**
 * The fast path of `decodePod`: a hand-written reader of the pod shape in `Pod.ts` for the common
 * case, a well-formed pod as the API sends it (plain JSON, timestamps as text). It reads exactly
 * what the Schema reads and builds the same value, and it declines (returns `undefined`) whenever
 * anything differs from the plain case: a missing or mistyped field, a `Date`, an integer past
 * `Number.MAX_SAFE_INTEGER`, an unknown phase, a `__proto__` key. `decodePod` then runs the Schema,
 * which decodes what the fast path declined or explains why the pod is malformed. So the fast
 * path never accepts what the Schema rejects; `test/domain/podFastPath.test.ts` holds it to the
 * Schema's answers.
 *
 * Why: the Schema (with every issue collected) was about a tenth of the service's CPU on the
 * healthy path, where every pod is decoded at the informer's edge for each event, and once more
 * when it is read before a signal.
 */
import { PodPhases } from "./argo.ts"
import type { Container, ContainerState, ContainerStatus, Pod, PodMetadata, PodSpec, PodStatus, VolumeMount } from "./Pod.ts"

/** The fast path declined: the Schema decides. */
class Decline {}
const decline = new Decline()
const fail = (): never => {
  throw decline
}

type Json = Readonly<Record<string, unknown>>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)
const object = (u: unknown): Json => isObject(u) ? u : fail()
const string = (u: unknown): string => typeof u === "string" ? u : fail()
const int = (u: unknown): number => Number.isSafeInteger(u) ? u as number : fail()
const absent = (u: unknown): boolean => u === undefined || u === null
const phases: ReadonlySet<unknown> = new Set(PodPhases)

/** `Record(String, String)`: a new object with the same keys, every value a string. */
const stringMap = (u: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const key in object(u)) {
    if (!Object.hasOwn(u as Json, key) || key === "__proto__") fail()
    out[key] = string((u as Json)[key])
  }
  return out
}
const array = <A>(u: unknown, item: (u: unknown) => A): Array<A> => Array.isArray(u) ? u.map(item) : fail()

const volumeMount = (u: unknown): VolumeMount => {
  const o = object(u)
  return { name: string(o.name), mountPath: string(o.mountPath) }
}
const container = (u: unknown): Container => {
  const o = object(u)
  return { name: string(o.name), volumeMounts: absent(o.volumeMounts) ? [] : array(o.volumeMounts, volumeMount) }
}
const containerState = (u: unknown): ContainerState => {
  const o = object(u)
  const out: { -readonly [K in keyof ContainerState]: ContainerState[K] } = {}
  if (!absent(o.running)) {
    const r = object(o.running)
    out.running = absent(r.startedAt) ? {} : { startedAt: string(r.startedAt) }
  }
  if (!absent(o.terminated)) {
    const t = object(o.terminated)
    out.terminated = {
      exitCode: int(t.exitCode),
      ...(absent(t.reason) ? {} : { reason: string(t.reason) }),
      ...(absent(t.finishedAt) ? {} : { finishedAt: string(t.finishedAt) })
    }
  }
  if (!absent(o.waiting)) {
    const w = object(o.waiting)
    out.waiting = absent(w.reason) ? {} : { reason: string(w.reason) }
  }
  return out
}
const containerStatus = (u: unknown): ContainerStatus => {
  const o = object(u)
  return { name: string(o.name), state: absent(o.state) ? {} : containerState(o.state) }
}
const metadata = (u: unknown): PodMetadata => {
  const o = object(u)
  return {
    namespace: string(o.namespace),
    name: string(o.name),
    uid: string(o.uid),
    ...(absent(o.resourceVersion) ? {} : { resourceVersion: string(o.resourceVersion) }),
    labels: absent(o.labels) ? {} : stringMap(o.labels),
    annotations: absent(o.annotations) ? {} : stringMap(o.annotations),
    finalizers: absent(o.finalizers) ? [] : array(o.finalizers, string),
    ...(absent(o.deletionTimestamp) ? {} : { deletionTimestamp: string(o.deletionTimestamp) }),
    ...(absent(o.creationTimestamp) ? {} : { creationTimestamp: string(o.creationTimestamp) })
  }
}
const spec = (u: unknown): PodSpec => {
  const o = object(u)
  return {
    ...(absent(o.nodeName) ? {} : { nodeName: string(o.nodeName) }),
    ...(absent(o.terminationGracePeriodSeconds) ? {} : { terminationGracePeriodSeconds: int(o.terminationGracePeriodSeconds) }),
    containers: absent(o.containers) ? [] : array(o.containers, container)
  }
}
const status = (u: unknown): PodStatus => {
  const o = object(u)
  if (!absent(o.phase) && !phases.has(o.phase)) fail()
  return {
    ...(absent(o.phase) ? {} : { phase: o.phase as NonNullable<PodStatus["phase"]> }),
    containerStatuses: absent(o.containerStatuses) ? [] : array(o.containerStatuses, containerStatus)
  }
}

/** The pod `u` as the Schema would decode it, or `undefined` where the Schema must decide. */
export const readPodFast = (u: unknown): Pod | undefined => {
  try {
    const o = object(u)
    return {
      metadata: metadata(o.metadata),
      spec: absent(o.spec) ? { containers: [] } : spec(o.spec),
      status: absent(o.status) ? { containerStatuses: [] } : status(o.status)
    }
  } catch (e) {
    if (e instanceof Decline) return undefined
    throw e
  }
}
