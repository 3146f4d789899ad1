/**
 * Writing `events.k8s.io/v1` Events: create one, patch its series. Each call is one object request
 * straight on the client's pool (`KubeClient.requestJson`: deadline, AbortSignal, slots, metrics,
 * typed `KubeApiError`), its body and answer plain JSON (no client-node model objects: an Event is
 * written once per signalled pod). Times are MicroTime (six fractional digits): a JS `Date` would
 * go out with three, which an API server refuses.
 */
import { type Duration, Effect } from "effect"
import type { KubeApiError } from "./ApiError.ts"
import type { KubeClient } from "./KubeClient.ts"
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

const reference = (r: EventObjectRef) => ({
  apiVersion: r.apiVersion,
  kind: r.kind,
  namespace: r.namespace,
  name: r.name,
  ...(r.uid === undefined || r.uid === "" ? {} : { uid: r.uid })
})

/** The name and resourceVersion of the Event the API server answered with. */
const written = (answer: unknown, fallbackName: string): WrittenEvent => {
  const metadata = (answer as { metadata?: { name?: unknown; resourceVersion?: unknown } } | undefined)?.metadata
  return {
    name: typeof metadata?.name === "string" ? metadata.name : fallbackName,
    resourceVersion: typeof metadata?.resourceVersion === "string" ? metadata.resourceVersion : ""
  }
}

const eventsPath = (namespace: string) => `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`

/** The Event API of `client`, with `timeout` per request (default: the client's). */
export const makeEventApi = (client: KubeClient["Service"], options: { readonly timeout?: Duration.Duration } = {}): EventApi => {
  const timeout = options.timeout
  return {
    create: (event) =>
      Effect.map(
        client.requestJson(
          { verb: "create", resource: "events.events.k8s.io", namespace: event.namespace, name: event.name },
          "POST",
          eventsPath(event.namespace),
          {
            timeout,
            body: {
              apiVersion: "events.k8s.io/v1",
              kind: "Event",
              metadata: { name: event.name, namespace: event.namespace },
              eventTime: microTime(event.eventTime),
              ...(event.series === undefined
                ? {}
                : { series: { count: event.series.count, lastObservedTime: microTime(event.series.lastObservedTime) } }),
              reportingController: event.reportingController,
              reportingInstance: event.reportingInstance,
              action: event.action,
              reason: event.reason,
              note: event.note,
              type: event.type,
              regarding: reference(event.regarding),
              ...(event.related === undefined ? {} : { related: reference(event.related) })
            }
          }
        ),
        (answer) => written(answer, event.name)
      ),
    patchSeries: (namespace, name, series) =>
      Effect.map(
        client.requestJson(
          { verb: "patch", resource: "events.events.k8s.io", namespace, name },
          "PATCH",
          `${eventsPath(namespace)}/${encodeURIComponent(name)}`,
          {
            timeout,
            body: { series: { count: series.count, lastObservedTime: microTime(series.lastObservedTime) } },
            contentType: "application/strategic-merge-patch+json"
          }
        ),
        (answer) => written(answer, name)
      )
  }
}
