/**
 * The engine's knobs with their defaults, and `argoCompatible`: the same engine set back to Argo's
 * behaviour (one container at a time, a 2-minute exec timeout, no retry of a timed-out exec, no
 * per-node cap, no breaker), so benchmarks compare like with like. These are the only copies of
 * the numbers: the settings table, NodeGuard's and PodExec's defaults read them from here.
 */
import { Context, Duration, Layer } from "effect"
import { defaultPolicyOptions, type PolicyOptions } from "../domain/policy.ts"

export interface EngineSettings {
  /**
   * Worker fibers that run the actions that signal containers (exec), and, when `apiWorkers` is 0,
   * every action (Argo: `--pod-cleanup-workers`, 4, one pool for everything).
   */
  readonly workers: number
  /**
   * Worker fibers of their own for the actions that need no exec (label, delete, finalizer
   * removal), so that they never wait behind execs, however slow or hung; 0 = they share the
   * `workers` (Argo).
   */
  readonly apiWorkers: number
  /** Overall deadline of one action, API retries included. */
  readonly actionTimeout: Duration.Duration
  /** Deadline of one exec (Argo: 2 minutes, hard-coded). */
  readonly execTimeout: Duration.Duration
  /** Times a timed-out exec is tried again, after `execRetryBackoff`, never while its node's breaker is open. */
  readonly execRetries: number
  readonly execRetryBackoff: Duration.Duration
  /** Containers of one pod signalled at once (Argo: 1, one after another). */
  readonly signalConcurrency: number
  /** Concurrent execs per node; 0 = no cap (Argo). */
  readonly perNodeExecCap: number
  /**
   * Concurrent execs cluster-wide; 0 = no cap. The API server's priority and fairness does not
   * cover exec (a long-running request), so this bounds what pod-cleanup holds open across nodes;
   * an exec waits for a slot at most `execTimeout`.
   */
  readonly execCap: number
  /**
   * Deletes and finalizer removals per minute (a fixed one-minute window); 0 = no cap. Past it,
   * they wait for the next minute (labelling goes on), with an error log once per minute.
   */
  readonly maxDestructivePerMinute: number
  /**
   * Shadow mode: watch and decide as usual, log and count every write or exec an action would
   * make, and make none (no exec, patch or delete reaches the API server).
   */
  readonly dryRun: boolean
  /** Consecutive exec timeouts that open a node's breaker; 0 = no breaker (Argo). */
  readonly breakerThreshold: number
  readonly breakerCooldown: Duration.Duration
  /** API retries: exponential backoff from `retryBase`, jittered, capped at `retryMax`, at most `retryAttempts`. */
  readonly retryBase: Duration.Duration
  readonly retryMax: Duration.Duration
  readonly retryAttempts: number
  /**
   * An action that failed for a cause that may pass (unreachable node, open breaker, transient API
   * errors past `retryAttempts`) is tried again this many times, after `actionRetryBase` doubling to
   * `actionRetryMax` (jittered); then it is given up with a warning until the next resync.
   */
  readonly actionRetries: number
  readonly actionRetryBase: Duration.Duration
  readonly actionRetryMax: Duration.Duration
  /** Client-side API rate limit in requests per second; 0 = none. */
  readonly apiQps: number
  readonly apiBurst: number
  /** `gracePeriodSeconds` of the pod delete; undefined = the pod's own. */
  readonly deleteGracePeriodSeconds: number | undefined
  readonly policy: PolicyOptions
}

export const defaultEngineSettings: EngineSettings = {
  workers: 4,
  apiWorkers: 4,
  actionTimeout: Duration.minutes(2),
  execTimeout: Duration.seconds(30),
  execRetries: 1,
  execRetryBackoff: Duration.seconds(5),
  signalConcurrency: 8,
  perNodeExecCap: 2,
  execCap: 32,
  maxDestructivePerMinute: 0,
  dryRun: false,
  breakerThreshold: 3,
  breakerCooldown: Duration.seconds(60),
  retryBase: Duration.millis(100),
  retryMax: Duration.seconds(10),
  retryAttempts: 6,
  actionRetries: 8,
  actionRetryBase: Duration.seconds(5),
  actionRetryMax: Duration.minutes(5),
  apiQps: 0,
  apiBurst: 0,
  deleteGracePeriodSeconds: undefined,
  policy: defaultPolicyOptions
}

/** Argo's behaviour, for like-with-like comparisons. */
export const argoCompatible = (base: EngineSettings = defaultEngineSettings): EngineSettings => ({
  ...base,
  // One pool for every action: a label or delete waits behind the execs ahead of it.
  apiWorkers: 0,
  execTimeout: Duration.minutes(2),
  execRetries: 0,
  signalConcurrency: 1,
  perNodeExecCap: 0,
  breakerThreshold: 0,
  // One action may hold a worker for (running containers x 2 minutes), as in Argo.
  actionTimeout: Duration.minutes(30)
})

/** Every worker fiber of an engine with these settings: its signal workers and its API workers. */
export const workerCount = (settings: Pick<EngineSettings, "workers" | "apiWorkers">): number =>
  Math.max(1, settings.workers) + Math.max(0, settings.apiWorkers)

/** The engine's settings as a service, so layers read them once when built. */
export class EngineConfig extends Context.Service<EngineConfig, EngineSettings>()("pod-cleanup/EngineConfig") {
  static readonly layer = (settings: Partial<EngineSettings> = {}): Layer.Layer<EngineConfig> =>
    Layer.succeed(EngineConfig, EngineConfig.of({ ...defaultEngineSettings, ...settings }))
}
