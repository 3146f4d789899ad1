/**
 * The slice of a Kubernetes pod that pod-cleanup reads, as an Effect Schema. Decoding a raw `V1Pod`
 * (API JSON, or a `@kubernetes/client-node` object with `Date` timestamps) never throws: unknown
 * fields are ignored, `null` reads as absent, and anything else wrong is a `MalformedPodError`
 * naming the pod.
 *
 * Argo sources for the helpers: `workflow/controller/operator.go`
 * (`podHasContainerNeedingTermination`: the main containers have all exited, or one exited non-zero)
 * and `workflow/controller/pod/queue.go` (`signalContainers`: only containers whose
 * `state.running` is set are signalled; grace period `spec.terminationGracePeriodSeconds`, 30 s if
 * unset).
 */
import { Data, Duration, Option, Result, Schema, SchemaTransformation } from "effect"
import {
  AnnotationKeyNodeId,
  AnnotationKeyNodeName,
  ArgoExecBinMountPath,
  DefaultTerminationGracePeriodSeconds,
  FinalizerPodStatus,
  PodPhases,
  VarRunArgoPath
} from "./argo.ts"
import { readPodFast } from "./podFastPath.ts"

// ---- Schema helpers -----------------------------------------------------------------------------

/**
 * An optional key that also accepts `undefined` and `null`, both read as absent (client-node's
 * model classes carry explicit `undefined` properties; API JSON may carry `null`).
 */
const nullable = <S extends Schema.Top>(schema: S) =>
  Schema.optional(Schema.NullOr(schema)).pipe(
    Schema.decodeTo(
      Schema.optionalKey(Schema.toType(schema)),
      SchemaTransformation.transformOptional<S["Type"], S["Type"] | null | undefined>({
        decode: (o) => Option.filter(o, (v): v is S["Type"] => v != null),
        encode: (o) => o
      })
    )
  )

/** An optional key (absent, `undefined` or `null`) that decodes to `fallback`. */
const withFallback = <S extends Schema.Top>(schema: S, fallback: () => S["Type"]) =>
  Schema.optional(Schema.NullOr(schema)).pipe(
    Schema.decodeTo(
      Schema.toType(schema),
      SchemaTransformation.transformOptional<S["Type"], S["Type"] | null | undefined>({
        decode: (o) => Option.some(Option.getOrElse(Option.filter(o, (v) => v != null), fallback) as S["Type"]),
        encode: (o) => o
      })
    )
  )

/** RFC 3339 text from the API, or a `Date` from client-node's ObjectSerializer; kept as text. */
const Timestamp = Schema.Union([Schema.String, Schema.Date]).pipe(
  Schema.decodeTo(
    Schema.String,
    SchemaTransformation.transform<string, string | Date>({
      decode: (v) => (typeof v === "string" ? v : v.toISOString()),
      encode: (s) => s
    })
  )
)

const StringMap = Schema.Record(Schema.String, Schema.String)

// ---- The pod ------------------------------------------------------------------------------------

export const VolumeMount = Schema.Struct({
  name: Schema.String,
  mountPath: Schema.String
})
export type VolumeMount = typeof VolumeMount.Type

export const Container = Schema.Struct({
  name: Schema.String,
  volumeMounts: withFallback(Schema.Array(VolumeMount), () => [])
})
export type Container = typeof Container.Type

export const ContainerState = Schema.Struct({
  running: nullable(Schema.Struct({ startedAt: nullable(Timestamp) })),
  terminated: nullable(Schema.Struct({
    exitCode: Schema.Int,
    reason: nullable(Schema.String),
    finishedAt: nullable(Timestamp)
  })),
  waiting: nullable(Schema.Struct({ reason: nullable(Schema.String) }))
})
export type ContainerState = typeof ContainerState.Type

export const ContainerStatus = Schema.Struct({
  name: Schema.String,
  state: withFallback(ContainerState, () => ({}))
})
export type ContainerStatus = typeof ContainerStatus.Type

export const PodMetadata = Schema.Struct({
  namespace: Schema.String,
  name: Schema.String,
  uid: Schema.String,
  resourceVersion: nullable(Schema.String),
  labels: withFallback(StringMap, () => ({})),
  annotations: withFallback(StringMap, () => ({})),
  finalizers: withFallback(Schema.Array(Schema.String), () => []),
  deletionTimestamp: nullable(Timestamp),
  creationTimestamp: nullable(Timestamp)
})
export type PodMetadata = typeof PodMetadata.Type

export const PodSpec = Schema.Struct({
  nodeName: nullable(Schema.String),
  terminationGracePeriodSeconds: nullable(Schema.Int),
  containers: withFallback(Schema.Array(Container), () => [])
})
export type PodSpec = typeof PodSpec.Type

export const PodStatus = Schema.Struct({
  phase: nullable(Schema.Literals(PodPhases)),
  containerStatuses: withFallback(Schema.Array(ContainerStatus), () => [])
})
export type PodStatus = typeof PodStatus.Type

export const Pod = Schema.Struct({
  metadata: PodMetadata,
  spec: withFallback(PodSpec, () => ({ containers: [] })),
  status: withFallback(PodStatus, () => ({ containerStatuses: [] }))
})
export type Pod = typeof Pod.Type

// ---- Decoding -----------------------------------------------------------------------------------

/**
 * A pod object that does not have the shape pod-cleanup needs. `namespace` and `pod` are read
 * best-effort from the raw object (`"<unknown>"` if absent). The pod's name is in `pod`, not
 * `name`: a `name` field would replace `Error.name`, and logs would print the pod name where the
 * error class belongs.
 */
export class MalformedPodError extends Data.TaggedError("MalformedPodError")<{
  readonly namespace: string
  readonly pod: string
  readonly message: string
}> {}

const UNKNOWN = "<unknown>"

const metadataField = (u: unknown, field: "namespace" | "name"): string => {
  if (typeof u !== "object" || u === null) return UNKNOWN
  const metadata = (u as { readonly metadata?: unknown }).metadata
  if (typeof metadata !== "object" || metadata === null) return UNKNOWN
  const value = (metadata as Record<string, unknown>)[field]
  return typeof value === "string" && value !== "" ? value : UNKNOWN
}

const decodeUnknownPod = Schema.decodeUnknownResult(Pod)

/**
 * Decodes a raw pod. The error's message starts with the pod's `namespace/name` (or `<unknown>`)
 * and carries every schema issue found.
 *
 * @example
 * const r = decodePod(JSON.parse(body))
 * if (Result.isFailure(r)) yield* Effect.logWarning(r.failure.message)
 */
export const decodePod = (u: unknown): Result.Result<Pod, MalformedPodError> => {
  // The common case without the Schema (`podFastPath.ts`); the Schema decides the rest.
  const fast = readPodFast(u)
  return fast !== undefined ? Result.succeed(fast) : decodePodWithSchema(u)
}

/** `decodePod` by the Schema alone: what the fast path is held to. */
export const decodePodWithSchema = (u: unknown): Result.Result<Pod, MalformedPodError> =>
  Result.mapError(decodeUnknownPod(u, { errors: "all" }), (error) => {
    const namespace = metadataField(u, "namespace")
    const pod = metadataField(u, "name")
    return new MalformedPodError({
      namespace,
      pod,
      message: `malformed pod ${namespace}/${pod}: ${error.message}`
    })
  })

// ---- The compact record -------------------------------------------------------------------------

const ArgoAnnotationPrefix = "workflows.argoproj.io/"

/** Argo annotations that are one per pod (never shared); the others repeat and are interned. */
const uniquePerPod = new Set([AnnotationKeyNodeId, AnnotationKeyNodeName])

/** The mount paths `killCommand` looks for; no other volume mount is read. */
const killCommandMountPaths = new Set([ArgoExecBinMountPath, VarRunArgoPath])

/**
 * A bounded table of shared values: the first value made for a key is handed out for every later
 * equal one. When full it starts over, so values that rarely repeat cannot grow it without bound;
 * what it handed out before stays valid (records only read it).
 */
const sharedTable = <A>(capacity: number) => {
  const table = new Map<string, A>()
  return (key: string, make: () => A): A => {
    const found = table.get(key)
    if (found !== undefined) return found
    if (table.size >= capacity) table.clear()
    const made = make()
    table.set(key, made)
    return made
  }
}

const strings = sharedTable<string>(8192)
const intern = (s: string): string => strings(s, () => s)
const sharedStringMaps = sharedTable<Readonly<Record<string, string>>>(4096)
const sharedFinalizers = sharedTable<ReadonlyArray<string>>(64)
const sharedSpecs = sharedTable<PodSpec>(4096)
const sharedStatuses = sharedTable<PodStatus>(1024)

const frozen = <A>(value: A): A => Object.freeze(value)
const EmptyStrings: Readonly<Record<string, string>> = frozen({})
const NoFinalizers: ReadonlyArray<string> = frozen([])

/** `labels` as one frozen object shared by every pod with the same labels (in the same order). */
const sharedLabels = (labels: Readonly<Record<string, string>>): Readonly<Record<string, string>> => {
  for (const _ in labels) return sharedStringMaps(JSON.stringify(labels), () => frozen({ ...labels }))
  return EmptyStrings
}

/** Only Argo's annotations; the node ID and name are the pod's own, the others are interned. */
const argoAnnotations = (annotations: Readonly<Record<string, string>>): Readonly<Record<string, string>> => {
  let kept: Record<string, string> | undefined
  for (const key in annotations) {
    if (!key.startsWith(ArgoAnnotationPrefix)) continue
    const value = annotations[key]!
    ;(kept ??= {})[key] = uniquePerPod.has(key) ? value : intern(value)
  }
  return kept ?? EmptyStrings
}

const compactSpec = (spec: PodSpec): PodSpec => {
  const containers = spec.containers.map((c) => ({
    name: c.name,
    volumeMounts: c.volumeMounts.filter((m) => killCommandMountPaths.has(m.mountPath)).map((m) => ({ name: m.name, mountPath: m.mountPath }))
  }))
  const compact: PodSpec = {
    ...(spec.nodeName === undefined ? {} : { nodeName: spec.nodeName }),
    ...(spec.terminationGracePeriodSeconds === undefined ? {} : { terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds }),
    containers
  }
  return sharedSpecs(JSON.stringify(compact), () => {
    for (const c of containers) {
      for (const m of c.volumeMounts) frozen(m)
      frozen(c.volumeMounts)
      frozen(c)
    }
    frozen(containers)
    return frozen(compact)
  })
}

const compactState = (state: ContainerState): ContainerState => ({
  ...(state.running === undefined ? {} : { running: {} }),
  ...(state.terminated === undefined ? {} : {
    terminated: {
      exitCode: state.terminated.exitCode,
      ...(state.terminated.reason === undefined ? {} : { reason: state.terminated.reason })
    }
  }),
  ...(state.waiting === undefined ? {} : { waiting: state.waiting.reason === undefined ? {} : { reason: state.waiting.reason } })
})

const compactStatus = (status: PodStatus): PodStatus => {
  const compact: PodStatus = {
    ...(status.phase === undefined ? {} : { phase: status.phase }),
    containerStatuses: status.containerStatuses.map((s) => ({ name: s.name, state: compactState(s.state) }))
  }
  return sharedStatuses(JSON.stringify(compact), () => {
    for (const s of compact.containerStatuses) {
      for (const v of Object.values(s.state)) frozen(v)
      frozen(s.state)
      frozen(s)
    }
    frozen(compact.containerStatuses)
    return frozen(compact)
  })
}

/**
 * The pod as caches keep it: exactly what the decision and the kill commands read, with every
 * part that pods have in common shared between them. Per pod there are only the pod, its metadata
 * and its Argo annotations, and the strings that are its own (name, UID, resourceVersion, node ID
 * and name); its labels, finalizers, spec and status are frozen objects shared by every pod with
 * equal ones, and the namespace, node name and repeated annotation values are interned (bounded
 * tables: values that rarely repeat cannot grow them). Left out:
 * - annotations other than Argo's (`workflows.argoproj.io/*`: pod-gc-strategy, kill-cmd-*,
 *   node-id, node-name); labels stay whole (a podGC label selector may match any of them);
 * - volume mounts other than the two `killCommand` looks for (`/argo-bin`, `/var/run/argo`);
 * - timestamps nothing reads (creation, container start and finish), which would make each spec
 *   and status the pod's own. `deletionTimestamp` stays.
 */
export const compactPod = (pod: Pod): Pod => {
  const m = pod.metadata
  return {
    metadata: {
      namespace: intern(m.namespace),
      name: m.name,
      uid: m.uid,
      ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
      labels: sharedLabels(m.labels),
      annotations: argoAnnotations(m.annotations),
      finalizers: m.finalizers.length === 0 ? NoFinalizers : sharedFinalizers(JSON.stringify(m.finalizers), () => frozen([...m.finalizers])),
      ...(m.deletionTimestamp === undefined ? {} : { deletionTimestamp: m.deletionTimestamp })
    },
    spec: compactSpec({ ...pod.spec, ...(pod.spec.nodeName === undefined ? {} : { nodeName: intern(pod.spec.nodeName) }) }),
    status: compactStatus(pod.status)
  }
}

// ---- Helpers ------------------------------------------------------------------------------------

/** `namespace/name`, the form Kubernetes' cache keys and Argo's logs use. */
export const podKey = (pod: Pod): string => `${pod.metadata.namespace}/${pod.metadata.name}`

const statusOf = (pod: Pod, containerName: string): ContainerStatus | undefined =>
  pod.status.containerStatuses.find((s) => s.name === containerName)

/** Whether the container's status says it is running (what Argo signals). */
export const isContainerRunning = (pod: Pod, containerName: string): boolean =>
  statusOf(pod, containerName)?.state.running !== undefined

/** Names of the containers whose status is running, in status order (the order Argo signals them). */
export const runningContainers = (pod: Pod): ReadonlyArray<string> =>
  pod.status.containerStatuses.filter((s) => s.state.running !== undefined).map((s) => s.name)

const mainNamesPresent = (pod: Pod, mainNames: ReadonlyArray<string>): ReadonlyArray<string> => {
  const names = new Set<string>()
  for (const c of pod.spec.containers) if (mainNames.includes(c.name)) names.add(c.name)
  for (const s of pod.status.containerStatuses) if (mainNames.includes(s.name)) names.add(s.name)
  return [...names]
}

/**
 * True when the pod has at least one main container and every one of them has terminated.
 * (Argo's `podHasContainerNeedingTermination` is vacuously true for a pod with no main container
 * status; we require at least one, so a pod we cannot see into is never signalled on this rule.)
 */
export const mainContainersFinished = (pod: Pod, mainNames: ReadonlyArray<string>): boolean => {
  const names = mainNamesPresent(pod, mainNames)
  return names.length > 0 && names.every((n) => statusOf(pod, n)?.state.terminated !== undefined)
}

/** The first main container that terminated with a non-zero exit code (Argo terminates the pod then). */
export const failedMainContainer = (
  pod: Pod,
  mainNames: ReadonlyArray<string>
): { readonly name: string; readonly exitCode: number } | undefined => {
  for (const s of pod.status.containerStatuses) {
    const t = s.state.terminated
    if (mainNames.includes(s.name) && t !== undefined && t.exitCode !== 0) return { name: s.name, exitCode: t.exitCode }
  }
  return undefined
}

/** Whether the pod carries Argo's status finalizer (`workflows.argoproj.io/status`). */
export const hasStatusFinalizer = (pod: Pod): boolean => pod.metadata.finalizers.includes(FinalizerPodStatus)

/**
 * How long to wait between SIGTERM and SIGKILL: `spec.terminationGracePeriodSeconds`, 30 s if
 * unset. Argo schedules `killContainers` only when this is > 0.
 */
export const terminationGracePeriod = (pod: Pod): Duration.Duration =>
  Duration.seconds(pod.spec.terminationGracePeriodSeconds ?? DefaultTerminationGracePeriodSeconds)
