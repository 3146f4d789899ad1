/**
 * Writing `events.k8s.io/v1` Events: create one, patch its series. The generated `EventsV1Api` is
 * built once from the client's pooled configuration; every call goes through `KubeClient.call`
 * (deadline, AbortSignal, typed `KubeApiError`). Times are MicroTime (six fractional digits): a JS
 * `Date` would go out with three, which an API server refuses.
 */
import * as k8s from "@kubernetes/client-node"
import type { Duration, Effect } from "effect"
import type { KubeApiError } from "./ApiError.ts"
import { type KubeClient, kubeInternals } from "./KubeClient.ts"

export interface EventObjectRef {
  readonly apiVersion: string
  readonly kind: string
  readonly namespace: string
  readonly name: string
  readonly uid?: string | undefined
}

/** An Event as written (what `events.k8s.io/v1` requires, and nothing the server sets). */
export interface EventWrite {
  readonly namespace: string
  readonly name: string
  /** Epoch ms of the first observation. */
  readonly eventTime: number
  /** Set from a count of 2: `count` and the epoch ms of the last observation. */
  readonly series?: { readonly count: number; readonly lastObservedTime: number } | undefined
  readonly reportingController: string
  readonly reportingInstance: string
  readonly action: string
  readonly reason: string
  readonly note: string
  readonly type: "Normal" | "Warning"
  readonly regarding: EventObjectRef
  readonly related?: EventObjectRef | undefined
}

export interface WrittenEvent {
  readonly name: string
  readonly resourceVersion: string
}

export interface EventApi {
  readonly create: (event: EventWrite) => Effect.Effect<WrittenEvent, KubeApiError>
  /** Patches the series only (note, reason, regarding and the rest are immutable). */
  readonly patchSeries: (
    namespace: string,
    name: string,
    series: { readonly count: number; readonly lastObservedTime: number }
  ) => Effect.Effect<WrittenEvent, KubeApiError>
}

/** Epoch ms as a MicroTime, e.g. `2026-11-28T10:00:00.123000Z`. */
export const microTime = (epochMs: number): string => `${new Date(Math.floor(epochMs)).toISOString().slice(0, -1)}000Z`

// client-node types MicroTime fields as `V1MicroTime` (a Date); its serializer passes a string through.
const asMicroTime = (epochMs: number): k8s.V1MicroTime => microTime(epochMs) as unknown as k8s.V1MicroTime

const reference = (r: EventObjectRef): k8s.V1ObjectReference => ({
  apiVersion: r.apiVersion,
  kind: r.kind,
  namespace: r.namespace,
  name: r.name,
  ...(r.uid === undefined || r.uid === "" ? {} : { uid: r.uid })
})

const written = (e: k8s.EventsV1Event, fallbackName: string): WrittenEvent => ({
  name: e.metadata?.name ?? fallbackName,
  resourceVersion: e.metadata?.resourceVersion ?? ""
})

/** The Event API of `client`, with `timeout` per request (default: the client's). */
export const makeEventApi = (client: KubeClient["Service"], options: { readonly timeout?: Duration.Duration } = {}): EventApi => {
  const api = kubeInternals(client).fetchConfig.makeApiClient(k8s.EventsV1Api)
  const extra = options.timeout === undefined ? {} : { timeout: options.timeout }
  return {
    create: (event) =>
      client.call(
        { verb: "create", resource: "events.events.k8s.io", namespace: event.namespace, name: event.name },
        (opts) =>
          api.createNamespacedEvent({
            namespace: event.namespace,
            body: {
              apiVersion: "events.k8s.io/v1",
              kind: "Event",
              metadata: { name: event.name, namespace: event.namespace },
              eventTime: asMicroTime(event.eventTime),
              ...(event.series === undefined
                ? {}
                : { series: { count: event.series.count, lastObservedTime: asMicroTime(event.series.lastObservedTime) } }),
              reportingController: event.reportingController,
              reportingInstance: event.reportingInstance,
              action: event.action,
              reason: event.reason,
              note: event.note,
              type: event.type,
              regarding: reference(event.regarding),
              ...(event.related === undefined ? {} : { related: reference(event.related) })
            }
          }, opts).then((e) => written(e, event.name)),
        extra
      ),
    patchSeries: (namespace, name, series) =>
      client.call(
        { verb: "patch", resource: "events.events.k8s.io", namespace, name },
        (opts) =>
          api.patchNamespacedEvent({
            namespace,
            name,
            body: { series: { count: series.count, lastObservedTime: microTime(series.lastObservedTime) } }
          }, opts).then((e) => written(e, name)),
        { ...extra, contentType: k8s.PatchStrategy.StrategicMergePatch }
      )
  }
}
