/**
 * The `coordination.k8s.io/v1` Lease operations leader election performs: get, create, replace.
 * Each request is bounded by the caller's attempt deadline: it gets what is left of it (at most
 * `LeaseDeadline.perRequestMs`, and at most the client's request timeout), and one whose deadline
 * has already passed is not sent at all. Leases are handed out with their spec times as the wire
 * text (MicroTime, six fractional digits), which is what is written back.
 */
import * as k8s from "@kubernetes/client-node"
import { Clock, Context, Duration, Effect, Layer } from "effect"
import { type ApiRequest, type KubeApiError, KubeTransientError } from "./ApiError.ts"
import { KubeClient, kubeInternals } from "./KubeClient.ts"

/** The election-relevant part of a Lease spec; times as MicroTime text, absent when unset. */
export interface LeaseSpec {
  readonly holderIdentity?: string | undefined
  readonly leaseDurationSeconds?: number | undefined
  readonly acquireTime?: string | undefined
  readonly renewTime?: string | undefined
  readonly leaseTransitions?: number | undefined
}

/** A Lease as read or written. `replace` sends `metadata` back as it came (resourceVersion included). */
export interface Lease {
  readonly metadata: {
    readonly name?: string | undefined
    readonly namespace?: string | undefined
    readonly resourceVersion?: string | undefined
    readonly [key: string]: unknown
  }
  readonly spec: LeaseSpec
}

export interface LeaseRef {
  readonly namespace: string
  readonly name: string
}

/** How long one request may take: what is left until `at`, capped by `perRequestMs`. */
export interface LeaseDeadline {
  /** The attempt's deadline, on `localMillis` (a request is not sent once it has passed). */
  readonly at: number
  /** The most one request may take (client-go bounds it by max(1 s, renewDeadline / 2)). */
  readonly perRequestMs: number
}

/** Local, monotonic time in milliseconds: the clock `LeaseDeadline.at` is on. */
export const localMillis: Effect.Effect<number> = Effect.map(Clock.monotonicTimeNanos, (n) => Number(n / 1000n) / 1000)

export class LeaseApi extends Context.Service<LeaseApi, {
  readonly get: (ref: LeaseRef, deadline: LeaseDeadline) => Effect.Effect<Lease, KubeApiError>
  readonly create: (ref: LeaseRef, spec: LeaseSpec, deadline: LeaseDeadline) => Effect.Effect<Lease, KubeApiError>
  /** A replace carrying `base`'s metadata (its resourceVersion): a concurrent change answers 409. */
  readonly replace: (ref: LeaseRef, base: Lease, spec: LeaseSpec, deadline: LeaseDeadline) => Effect.Effect<Lease, KubeApiError>
}>()("pod-cleanup/LeaseApi") {
  static readonly layer: Layer.Layer<LeaseApi, never, KubeClient> = Layer.effect(
    LeaseApi,
    Effect.map(KubeClient, (client) => makeLeaseApi(client))
  )
}

const timeText = (value: unknown): string | undefined =>
  typeof value === "string" ? value : value instanceof Date ? value.toISOString() : undefined

const leaseOf = (object: k8s.V1Lease): Lease => ({
  metadata: (object.metadata ?? {}) as Lease["metadata"],
  spec: {
    holderIdentity: object.spec?.holderIdentity,
    leaseDurationSeconds: object.spec?.leaseDurationSeconds,
    acquireTime: timeText(object.spec?.acquireTime),
    renewTime: timeText(object.spec?.renewTime),
    leaseTransitions: object.spec?.leaseTransitions
  }
})

/**
 * client-node types MicroTime fields as `V1MicroTime` (a `Date`, which would go out with three
 * fractional digits, and a real API server answers 400), but its serializer passes a string
 * through unchanged: the spec goes out with the exact wire text.
 */
const microTime = (text: string | undefined): k8s.V1MicroTime | undefined =>
  text === undefined || text === "" ? undefined : text as unknown as k8s.V1MicroTime

const specOf = (spec: LeaseSpec): k8s.V1LeaseSpec => ({
  holderIdentity: spec.holderIdentity,
  leaseDurationSeconds: spec.leaseDurationSeconds,
  acquireTime: microTime(spec.acquireTime),
  renewTime: microTime(spec.renewTime),
  leaseTransitions: spec.leaseTransitions
})

const makeLeaseApi = (client: KubeClient["Service"]): LeaseApi["Service"] => {
  const coordination = kubeInternals(client).fetchConfig.makeApiClient(k8s.CoordinationV1Api)
  const clientTimeoutMs = Duration.toMillis(client.requestTimeout)
  const request = (verb: string, ref: LeaseRef): ApiRequest => ({ verb, resource: "leases", namespace: ref.namespace, name: ref.name })

  const call = (
    verb: string,
    ref: LeaseRef,
    deadline: LeaseDeadline,
    f: (options: k8s.ConfigurationOptions) => Promise<k8s.V1Lease>
  ): Effect.Effect<Lease, KubeApiError> =>
    Effect.flatMap(localMillis, (now) => {
      const remaining = Math.min(clientTimeoutMs, deadline.perRequestMs, deadline.at - now)
      return remaining <= 0
        ? Effect.fail(
          new KubeTransientError({
            ...request(verb, ref),
            code: 0,
            reason: "Timeout",
            message: `${verb} leases ${ref.namespace}/${ref.name}: not sent, the attempt's deadline has passed`
          })
        )
        : Effect.map(client.call(request(verb, ref), f, { timeout: Duration.millis(remaining) }), leaseOf)
    })

  return LeaseApi.of({
    get: (ref, deadline) => call("get", ref, deadline, (o) => coordination.readNamespacedLease({ name: ref.name, namespace: ref.namespace }, o)),
    create: (ref, spec, deadline) =>
      call("create", ref, deadline, (o) =>
        coordination.createNamespacedLease({
          namespace: ref.namespace,
          body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: ref.name, namespace: ref.namespace }, spec: specOf(spec) }
        }, o)),
    replace: (ref, base, spec, deadline) =>
      call("update", ref, deadline, (o) =>
        coordination.replaceNamespacedLease({
          name: ref.name,
          namespace: ref.namespace,
          body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: base.metadata as k8s.V1ObjectMeta, spec: specOf(spec) }
        }, o))
  })
}
