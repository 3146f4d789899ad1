/**
 * An optional client-side rate limit on API requests (a token bucket, like client-go's): protects
 * the API server without capping the queue. Each caller reserves a token and sleeps (on `Clock`)
 * until it is due, so waiting is fair and first come, first served. qps 0 means no limit.
 */
import { Clock, Context, Duration, Effect, Layer } from "effect"

export class ApiRateLimiter extends Context.Service<ApiRateLimiter, {
  /** Waits until one more request may be sent. */
  readonly take: Effect.Effect<void>
}>()("pod-cleanup/ApiRateLimiter") {
  static readonly layer = (qps: number, burst: number): Layer.Layer<ApiRateLimiter> =>
    Layer.effect(
      ApiRateLimiter,
      Effect.gen(function*() {
        if (qps <= 0) return ApiRateLimiter.of({ take: Effect.void })
        const clock = yield* Clock.Clock
        const capacity = Math.max(1, burst)
        let tokens = capacity
        let last = clock.currentTimeMillisUnsafe()
        const take = Effect.suspend(() => {
          const now = clock.currentTimeMillisUnsafe()
          tokens = Math.min(capacity, tokens + ((now - last) / 1000) * qps)
          last = now
          tokens -= 1
          if (tokens >= 0) return Effect.void
          return Effect.sleep(Duration.millis((-tokens / qps) * 1000))
        })
        return ApiRateLimiter.of({ take })
      })
    )
  static readonly unlimited: Layer.Layer<ApiRateLimiter> = ApiRateLimiter.layer(0, 0)
}
