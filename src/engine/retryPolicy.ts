/**
 * How an action retries its API calls: transient errors (5xx, 429, network, timeout) and 409
 * conflicts only, with exponential backoff from `base`, capped at `max`, jittered (±20 %), never
 * sooner than the server's `Retry-After`, at most `attempts` retries. Everything else fails at once.
 * The retried effect must re-read what it acts on, so a conflict is answered by deciding again.
 */
import { Duration, Effect, Metric, Schedule } from "effect"
import { isRetryable, type KubeApiError } from "../kube/ApiError.ts"
import { retriesTotal } from "../metrics.ts"

export interface RetrySettings {
  readonly retryBase: Duration.Duration
  readonly retryMax: Duration.Duration
  readonly retryAttempts: number
}

const isKube = (e: { readonly _tag: string }): e is KubeApiError => e._tag.startsWith("Kube")

/** The retry schedule for failures of type `E`; `label` names the retries in the metric. */
export const apiRetrySchedule = <E extends { readonly _tag: string }>(settings: RetrySettings, label: string) =>
  Schedule.exponential(settings.retryBase).pipe(
    Schedule.setInputType<E>(),
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, settings.retryMax))),
    Schedule.jittered,
    Schedule.modifyDelay(({ duration, input }) =>
      Effect.succeed(
        isKube(input) && input._tag === "KubeTransientError" && input.retryAfter !== undefined
          ? Duration.max(duration, input.retryAfter)
          : duration
      )
    ),
    Schedule.upTo({ times: settings.retryAttempts }),
    Schedule.tap(({ input }) =>
      Effect.andThen(
        Metric.update(Metric.withAttributes(retriesTotal, { action: label, reason: input._tag }), 1),
        Effect.logDebug(`retrying after ${input._tag}`)
      )
    )
  )

/** Retries `effect` on retryable Kubernetes errors with {@link apiRetrySchedule}. */
export const retryApi = <E extends { readonly _tag: string }>(settings: RetrySettings, label: string) =>
<A, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(effect, {
    while: (error: E) => isKube(error) && isRetryable(error),
    schedule: apiRetrySchedule<E>(settings, label)
  })
