/**
 * Kubernetes Events (`events.k8s.io/v1`) about the pods pod-cleanup acts on, for `kubectl describe`.
 * Recording never blocks and never fails the caller: `record` puts the event on a bounded queue
 * (full: dropped and counted in `pod_cleanup_events_dropped_total`), and one background fiber correlates and
 * writes them as client-go's recorder does (`eventCorrelator.ts`: series within 10 minutes, similar
 * events combined, a token bucket of 25 writes per object refilled one per 5 minutes). API errors
 * are logged at debug and counted; nothing is retried but through the series' next write.
 *
 * `EventRecorder` is a reference whose default records nothing: the engine and the node guard
 * always record, and only a service that provides `EventRecorder.layer` writes anything.
 */
import { workflowApiVersion } from "../kube/WorkflowApi.ts"
import { Cause, Clock, Context, Deferred, Duration, Effect, Layer, Metric, Queue } from "effect"
import { type EventApi, type EventWrite, makeEventApi } from "../kube/EventApi.ts"
import { KubeClient } from "../kube/KubeClient.ts"
import { type CorrelatorSettings, type EventInput, makeCorrelator, type ObjectRef, type Write } from "./eventCorrelator.ts"

export type { EventInput, ObjectRef } from "./eventCorrelator.ts"

export const eventsDropped = Metric.counter("pod_cleanup_events_dropped_total", {
  description:
    "Kubernetes Events not written, by reason: queue-full (the recorder's queue was full), rate-limited (the per-object spam filter; a series' count is carried by its next write)",
  incremental: true
})

export const eventsWritten = Metric.counter("pod_cleanup_events_written_total", {
  description: "Kubernetes Event writes, by verb (create, patch)",
  incremental: true
})

export const eventWriteErrors = Metric.counter("pod_cleanup_event_write_errors_total", {
  description: "Kubernetes Event writes that failed, by verb and error",
  incremental: true
})

export interface EventRecorderService {
  readonly enabled: boolean
  /** Queues an event about `event.regarding`: never blocks, never fails. */
  readonly record: (event: EventInput) => Effect.Effect<void>
  /** Waits until everything queued so far has been written or given up (tests, shutdown). */
  readonly flush: Effect.Effect<void>
}

export const disabledRecorder: EventRecorderService = { enabled: false, record: () => Effect.void, flush: Effect.void }

export interface EventRecorderSettings {
  /** `reportingController` of every Event. Default `pod-cleanup`. */
  readonly reportingController?: string | undefined
  /** `reportingInstance`: this replica's identity (POD_NAME). */
  readonly reportingInstance: string
  /** Events waiting to be written; more are dropped (client-go: 1000). */
  readonly queueCapacity?: number | undefined
  /** How often ended series are written and forgotten. Default 1 minute. */
  readonly sweepInterval?: Duration.Input | undefined
  /** Deadline of one Event write. Default 10 s. */
  readonly requestTimeout?: Duration.Input | undefined
  readonly correlator?: Partial<CorrelatorSettings> | undefined
  /** On close, how long queued events and final series counts may take to be written. Default 2 s. */
  readonly closeGrace?: Duration.Input | undefined
}

/** The recorder every effect sees; the default records nothing. */
export const EventRecorder = Context.Reference<EventRecorderService>("pod-cleanup/EventRecorder", {
  defaultValue: () => disabledRecorder
})

/**
 * The pod the current fiber acts on, set by the engine around each action, so that code below it
 * (the node guard's exec verdicts) can put Events on the pod whose action caused them.
 */
export const EventSubject = Context.Reference<ObjectRef | undefined>("pod-cleanup/EventSubject", {
  defaultValue: () => undefined
})

/** A pod as an Event's `regarding` (its UID makes `kubectl describe pod` find it). */
export const podRef = (namespace: string, name: string, uid?: string | undefined): ObjectRef => ({
  apiVersion: "v1",
  kind: "Pod",
  namespace,
  name,
  uid
})

/** An Argo Workflow as an Event's `regarding`. */
export const workflowRef = (namespace: string, name: string, uid?: string | undefined): ObjectRef => ({
  apiVersion: workflowApiVersion,
  kind: "Workflow",
  namespace,
  name,
  uid
})

/** Cuts `text` to at most `max` UTF-8 bytes (the API server counts bytes). */
const truncateBytes = (text: string, max: number): string => {
  if (Buffer.byteLength(text) <= max) return text
  let out = text.slice(0, max)
  while (Buffer.byteLength(out) > max - 3) out = out.slice(0, -1)
  return `${out}...`
}

type Message =
  | { readonly _tag: "Event"; readonly event: EventInput; readonly at: number }
  /** `final`: the recorder is closing, every series ends now. */
  | { readonly _tag: "Sweep"; readonly final?: boolean }

/** A recorder writing through `api` (the layer's, or a test's). */
export const makeEventRecorder = (api: EventApi, settings: EventRecorderSettings) =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const source = {
      reportingController: settings.reportingController ?? "pod-cleanup",
      reportingInstance: truncateBytes(settings.reportingInstance, 128)
    }
    const correlator = makeCorrelator(source, settings.correlator)
    const queue = yield* Queue.dropping<Message>(Math.max(1, settings.queueCapacity ?? 1000))
    let pending = 0
    let idle: Array<Deferred.Deferred<void>> = []
    const done = () => {
      pending--
      if (pending > 0 || idle.length === 0) return
      // Taken first: a waiter may resume at once, inside doneUnsafe, and queue and wait again.
      const waiters = idle
      idle = []
      for (const waiter of waiters) Deferred.doneUnsafe(waiter, Effect.void)
    }
    // A dropping queue: `offer` never suspends, it answers false when the queue is full.
    const enqueue = (message: Message): Effect.Effect<boolean> =>
      Effect.map(Queue.offer(queue, message), (accepted) => {
        if (accepted) pending++
        return accepted
      })

    const body = (write: Write): EventWrite => ({
      namespace: write.event.regarding.namespace,
      name: write.name,
      eventTime: write.firstAt,
      series: write.count >= 2 ? { count: write.count, lastObservedTime: write.lastAt } : undefined,
      ...source,
      action: write.event.action,
      reason: write.event.reason,
      note: write.event.note,
      type: write.event.type,
      regarding: write.event.regarding,
      related: write.event.related
    })

    const failed = (verb: string, write: Write) => (error: { readonly _tag: string; readonly message: string }) =>
      Effect.andThen(
        Metric.update(Metric.withAttributes(eventWriteErrors, { verb, error: error._tag }), 1),
        Effect.logDebug(`event ${write.event.reason} not written: ${error.message}`).pipe(
          Effect.annotateLogs({ namespace: write.event.regarding.namespace, event: write.name, verb })
        )
      )

    const create = (write: Write) =>
      api.create(body(write)).pipe(
        Effect.tap((res) => Effect.sync(() => correlator.written(write, res.name))),
        Effect.andThen(Metric.update(Metric.withAttributes(eventsWritten, { verb: "create" }), 1)),
        // The same name exists: an earlier attempt was written though its answer was lost.
        Effect.catchTag("KubeConflictError", () => Effect.sync(() => correlator.written(write, write.name))),
        Effect.catch(failed("create", write))
      )

    const patch = (write: Write) =>
      api.patchSeries(write.event.regarding.namespace, write.name, { count: write.count, lastObservedTime: write.lastAt }).pipe(
        Effect.tap((res) => Effect.sync(() => correlator.written(write, res.name))),
        Effect.andThen(Metric.update(Metric.withAttributes(eventsWritten, { verb: "patch" }), 1)),
        // Deleted on the server (Events live an hour by default): the series starts a new Event.
        Effect.catchTag(
          "KubeNotFoundError",
          () => Effect.flatMap(Clock.currentTimeMillis, (now) => create(correlator.recreate(write, now)))
        ),
        Effect.catch(failed("patch", write))
      )

    const writeAll = (writes: ReadonlyArray<Write>) =>
      Effect.forEach(writes, (w) => (w._tag === "Create" ? create(w) : patch(w)), { discard: true })

    const handle = (message: Message): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (message._tag === "Sweep") {
          return yield* writeAll(correlator.sweep(message.final === true ? Number.POSITIVE_INFINITY : yield* Clock.currentTimeMillis))
        }
        const observed = correlator.observe(message.event, message.at)
        if (observed.rateLimited) yield* Metric.update(Metric.withAttributes(eventsDropped, { reason: "rate-limited" }), 1)
        yield* writeAll(observed.writes)
      }).pipe(
        // Nothing stops the writer: a defect is logged like an API error.
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.logDebug("event recorder: unexpected failure", Cause.pretty(cause))
        ),
        Effect.ensuring(Effect.sync(done))
      )

    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(queue), handle)))
    const sweepEvery = Duration.fromInputUnsafe(settings.sweepInterval ?? "1 minute")
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(sweepEvery), enqueue({ _tag: "Sweep" }))))

    const record = (event: EventInput): Effect.Effect<void> =>
      Effect.suspend(() => {
        const at = clock.currentTimeMillisUnsafe()
        const clean: EventInput = {
          ...event,
          reason: truncateBytes(event.reason, 128),
          action: truncateBytes(event.action, 128),
          note: truncateBytes(event.note, 1024)
        }
        return Effect.flatMap(
          enqueue({ _tag: "Event", event: clean, at }),
          (accepted) => accepted ? Effect.void : Metric.update(Metric.withAttributes(eventsDropped, { reason: "queue-full" }), 1)
        )
      })

    const flush = Effect.suspend(() => {
      if (pending === 0) return Effect.void
      const waiter = Deferred.makeUnsafe<void>()
      idle.push(waiter)
      return Deferred.await(waiter)
    })
    // Closing: what is queued and the final counts of open series get a short while to be written.
    yield* Effect.addFinalizer(() =>
      Effect.andThen(
        enqueue({ _tag: "Sweep", final: true }),
        Effect.ignore(Effect.timeoutOption(flush, settings.closeGrace ?? "2 seconds"))
      )
    )

    return { enabled: true, record, flush } satisfies EventRecorderService
  })

/** The recorder writing to the cluster of `KubeClient`; `enabled: false` provides the silent one. */
export const eventRecorderLayer = (
  settings: EventRecorderSettings & { readonly enabled?: boolean | undefined }
): Layer.Layer<never, never, KubeClient> =>
  settings.enabled === false
    ? Layer.succeed(EventRecorder, disabledRecorder)
    : Layer.effect(
      EventRecorder,
      Effect.gen(function*() {
        const client = yield* KubeClient
        const timeout = Duration.fromInputUnsafe(settings.requestTimeout ?? "10 seconds")
        return yield* makeEventRecorder(makeEventApi(client, { timeout }), settings)
      })
    )

/** A recorder writing through a given `EventApi` (tests). */
export const eventRecorderLayerWith = (api: EventApi, settings: EventRecorderSettings): Layer.Layer<never> =>
  Layer.effect(EventRecorder, makeEventRecorder(api, settings))
