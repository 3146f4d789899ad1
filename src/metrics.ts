/**
 * Every metric pod-cleanup exposes, in one place, with its full Prometheus name: pod-cleanup's own
 * under `pod_cleanup_`, and the standard series under the names client-go, controller-runtime and
 * prom-client give them (`workqueue_*`, `rest_client_*`, `leader_election_*`, `process_*`,
 * `nodejs_*`), so the dashboards and alerts operators already have work unchanged. `/metrics`
 * formats them without a prefix. Exec timeouts get their own counter: Argo has none, and a hung
 * exec there is only visible as a longest-running queue item near 120 s.
 *
 * `initMetrics` exports every counter whose label combinations are known upfront at 0, so that
 * `rate()` and `increase()` see the first increment; `sampleRuntimeMetrics` refreshes the process
 * and Node runtime gauges (the HTTP server calls it on every scrape). Series updated on hot paths
 * (every API request, every watch restart) are made once per label values (`labelledSeries`).
 */
import { Effect, Metric } from "effect"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { ActionNames } from "./domain/Action.ts"
import { packageVersion } from "./version.ts"

// ---- series made once per label values ---------------------------------------------------------

/**
 * One metric per combination of label values, made by `make` on first use and reused after. A
 * metric made with its attributes computes its series key once; `Metric.withAttributes` on every
 * update merges the attributes and encodes the key again (a sort and a JSON encoding), about ten
 * times the cost of the update itself. It is the same series either way: the registry keys a
 * series by type, name, description and attributes. Lookups walk one map per label, building no
 * string.
 */
export const labelledSeries = <const Names extends ReadonlyArray<string>, M>(
  names: Names,
  make: (attributes: { readonly [K in Names[number]]: string }) => M
): (...values: { readonly [K in keyof Names]: string }) => M => {
  const root = new Map<string, unknown>()
  return (...values) => {
    let level = root
    for (let i = 0; i < names.length - 1; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined
      if (next === undefined) level.set(values[i]!, next = new Map())
      level = next
    }
    const last = values[names.length - 1]!
    let metric = level.get(last) as M | undefined
    if (metric === undefined) {
      const attributes: Record<string, string> = {}
      names.forEach((name, i) => attributes[name] = values[i]!)
      level.set(last, metric = make(attributes as { readonly [K in Names[number]]: string }))
    }
    return metric
  }
}

// ---- pod-cleanup's own ------------------------------------------------------------------------

const actionsTotalOptions = {
  description: "Actions that reached an outcome, by action and outcome (done, skipped, failed)",
  incremental: true
} as const
export const actionsTotal = Metric.counter("pod_cleanup_actions_total", actionsTotalOptions)
/** `actionsTotal{action, outcome}` (one update per action that ends). */
export const actionsTotalOf = labelledSeries(
  ["action", "outcome"],
  (attributes) => Metric.counter("pod_cleanup_actions_total", { ...actionsTotalOptions, attributes })
)

const execDurationOptions = {
  description: "Duration of pods/exec calls, by result",
  boundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
} as const
/** `pod_cleanup_exec_duration_seconds{result}` (one update per exec). */
export const execDurationOf = labelledSeries(
  ["result"],
  (attributes) => Metric.histogram("pod_cleanup_exec_duration_seconds", { ...execDurationOptions, attributes })
)

export const execTimeouts = Metric.counter("pod_cleanup_exec_timeouts_total", {
  description: "Exec calls that hit a deadline, by phase (handshake, stream) and node",
  incremental: true
})

export const execsInFlight = Metric.gauge("pod_cleanup_execs_in_flight", {
  description: "Execs open cluster-wide right now (bounded by --exec-cap)"
})

export const execCapWaits = Metric.counter("pod_cleanup_exec_cap_waits_total", {
  description: "Execs that had to wait for a cluster-wide exec slot (--exec-cap), by result (acquired, timeout)",
  incremental: true
})

export const retriesTotal = Metric.counter("pod_cleanup_retries_total", {
  description: "Retries of actions, by action and reason",
  incremental: true
})

export const queueDepth = Metric.gauge("pod_cleanup_queue_depth", {
  description: "Actions in the queue, by state (ready, delayed, processing)"
})

export const longestRunningSeconds = Metric.gauge("pod_cleanup_longest_running_action_seconds", {
  description: "How long the oldest action still running has been running"
})

export const workersBusy = Metric.gauge("pod_cleanup_workers_busy", {
  description: "Workers running an action right now"
})

export const breakerState = Metric.gauge("pod_cleanup_node_breaker_state", {
  description: "Per-node exec circuit breaker: 0 closed, 1 half-open, 2 open"
})

export const breakerTransitions = Metric.counter("pod_cleanup_node_breaker_transitions_total", {
  description: "Per-node breaker transitions (opened, half-open, closed, reopened)",
  incremental: true
})

const watchRestartsOptions = { description: "Watch restarts, by resource and reason", incremental: true } as const
export const watchRestarts = Metric.counter("pod_cleanup_watch_restarts_total", watchRestartsOptions)
/** `watchRestarts{resource, reason}`. */
export const watchRestartsOf = labelledSeries(
  ["resource", "reason"],
  (attributes) => Metric.counter("pod_cleanup_watch_restarts_total", { ...watchRestartsOptions, attributes })
)

export const podsWaitingForArgo = Metric.gauge("pod_cleanup_pods_waiting_for_argo", {
  description: "Finished pods whose label, delete or finalizer removal waits for Argo to record their node (or for their workflow to be seen)"
})

export const dryRunActions = Metric.counter("pod_cleanup_dry_run_actions_total", {
  description: "Actions a dry run (--dry-run) would have taken and did not, by action",
  incremental: true
})

export const destructiveCapReached = Metric.counter("pod_cleanup_destructive_cap_reached_total", {
  description: "Minutes in which --max-destructive-per-minute stopped deletes and finalizer removals",
  incremental: true
})

export const destructiveDeferred = Metric.counter("pod_cleanup_destructive_deferred_total", {
  description: "Deletes and finalizer removals put off to the next minute by --max-destructive-per-minute, by action",
  incremental: true
})

export const destructivePaused = Metric.gauge("pod_cleanup_destructive_paused", {
  description: "1 while --max-destructive-per-minute holds deletes and finalizer removals back, else 0"
})

export const buildInfo = Metric.gauge("pod_cleanup_build_info", {
  description: "Always 1; the labels say which pod-cleanup and Node.js run"
})

// ---- client-go / controller-runtime workqueue ---------------------------------------------------

/** client-go's workqueue buckets: `prometheus.ExponentialBuckets(10e-9, 10, 10)`. */
const workqueueBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10]

const workqueueAddsOptions = { description: "Total number of adds handled by workqueue", incremental: true } as const
const workqueueDepthOptions = { description: "Current depth of workqueue" } as const
const workqueueQueueDurationOptions = {
  description: "How long in seconds an item stays in workqueue before being requested",
  boundaries: workqueueBuckets
} as const
const workqueueWorkDurationOptions = {
  description: "How long in seconds processing an item from workqueue takes",
  boundaries: workqueueBuckets
} as const
const workqueueRetriesOptions = { description: "Total number of retries handled by workqueue", incremental: true } as const
const workqueueUnfinishedWorkOptions = {
  description:
    "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads."
} as const
const workqueueLongestRunningOptions = {
  description: "How many seconds has the longest running processor for workqueue been running"
} as const

/**
 * The workqueue series of the queue `name`, made with their attribute once (as `labelledSeries`
 * does): a queue updates them on every add, take and done.
 */
export const workqueueSeriesOf = (name: string) => {
  const attributes = { name }
  return {
    adds: Metric.counter("workqueue_adds_total", { ...workqueueAddsOptions, attributes }),
    depth: Metric.gauge("workqueue_depth", { ...workqueueDepthOptions, attributes }),
    queueDuration: Metric.histogram("workqueue_queue_duration_seconds", { ...workqueueQueueDurationOptions, attributes }),
    workDuration: Metric.histogram("workqueue_work_duration_seconds", { ...workqueueWorkDurationOptions, attributes }),
    retries: Metric.counter("workqueue_retries_total", { ...workqueueRetriesOptions, attributes }),
    unfinishedWork: Metric.gauge("workqueue_unfinished_work_seconds", { ...workqueueUnfinishedWorkOptions, attributes }),
    longestRunning: Metric.gauge("workqueue_longest_running_processor_seconds", { ...workqueueLongestRunningOptions, attributes })
  }
}

/** The name label of the action queue's workqueue series: the signal lane (execs; every action with `apiWorkers` 0). */
export const ActionQueueName = "pod_cleanup"
/** The name label of the API lane's workqueue series (label, delete, finalizer removal). */
export const ApiActionQueueName = "pod_cleanup_api"

// ---- client-go REST client ----------------------------------------------------------------------

const restClientRequestsOptions = {
  description: "Number of HTTP requests to the Kubernetes API, partitioned by status code, method, resource and verb",
  incremental: true
} as const
export const restClientRequests = Metric.counter("rest_client_requests_total", restClientRequestsOptions)
const restClientDurationOptions = {
  description: "Request latency in seconds, by method, resource and verb",
  boundaries: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60]
} as const
export const restClientDuration = Metric.histogram("rest_client_request_duration_seconds", restClientDurationOptions)
const restClientRequestsOf = labelledSeries(
  ["code", "method", "resource", "verb"],
  (attributes) => Metric.counter("rest_client_requests_total", { ...restClientRequestsOptions, attributes })
)
const restClientDurationOf = labelledSeries(
  ["method", "resource", "verb"],
  (attributes) => Metric.histogram("rest_client_request_duration_seconds", { ...restClientDurationOptions, attributes })
)

const httpMethods: Record<string, string> = {
  get: "GET",
  list: "GET",
  watch: "GET",
  create: "POST",
  update: "PUT",
  patch: "PATCH",
  delete: "DELETE",
  deletecollection: "DELETE"
}
/** The HTTP method of a Kubernetes verb (`list` is a GET). */
export const httpMethodOf = (verb: string): string => httpMethods[verb] ?? verb.toUpperCase()

/** Records one API request: `code` 0 (no answer: network failure, deadline) becomes client-go's `<error>`. */
export const recordApiRequest = (verb: string, resource: string, code: number, seconds: number) => {
  const method = httpMethodOf(verb)
  return Effect.andThen(
    Metric.update(restClientRequestsOf(code > 0 ? String(code) : "<error>", method, resource, verb), 1),
    Metric.update(restClientDurationOf(method, resource, verb), seconds)
  )
}

// ---- leader election ----------------------------------------------------------------------------

export const leaderElectionStatus = Metric.gauge("leader_election_master_status", {
  description: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease."
})

// ---- process and Node.js runtime (prom-client's names) -------------------------------------------

export const processCpuSeconds = Metric.counter("process_cpu_seconds_total", {
  description: "Total user and system CPU time spent in seconds",
  incremental: true
})
export const processResidentMemory = Metric.gauge("process_resident_memory_bytes", {
  description: "Resident memory size in bytes"
})
export const heapUsed = Metric.gauge("nodejs_heap_size_used_bytes", { description: "Process heap size used from Node.js in bytes" })
export const heapTotal = Metric.gauge("nodejs_heap_size_total_bytes", { description: "Process heap size from Node.js in bytes" })
export const eventLoopLag = Metric.gauge("nodejs_eventloop_lag_seconds", {
  description: "Mean event loop delay since the previous scrape, in seconds (perf_hooks monitorEventLoopDelay)"
})
export const eventLoopLagP99 = Metric.gauge("nodejs_eventloop_lag_p99_seconds", {
  description: "99th percentile of the event loop delay since the previous scrape, in seconds"
})
export const activeHandles = Metric.gauge("nodejs_active_handles", {
  description: "Number of active libuv handles and requests (process.getActiveResourcesInfo)"
})

let loopDelay: ReturnType<typeof monitorEventLoopDelay> | undefined
let cpuSecondsReported = 0

/** Refreshes the process and runtime metrics (cheap: a few syscalls). */
export const sampleRuntimeMetrics: Effect.Effect<void> = Effect.suspend(() => {
  if (loopDelay === undefined) {
    loopDelay = monitorEventLoopDelay({ resolution: 10 })
    loopDelay.enable()
  }
  const cpu = process.cpuUsage()
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  const cpuDelta = Math.max(0, cpuSeconds - cpuSecondsReported)
  cpuSecondsReported += cpuDelta
  const memory = process.memoryUsage()
  const mean = Number.isFinite(loopDelay.mean) ? loopDelay.mean / 1e9 : 0
  const p99 = loopDelay.count > 0 ? loopDelay.percentile(99) / 1e9 : 0
  loopDelay.reset()
  return Effect.all([
    Metric.update(processCpuSeconds, cpuDelta),
    Metric.update(processResidentMemory, memory.rss),
    Metric.update(heapUsed, memory.heapUsed),
    Metric.update(heapTotal, memory.heapTotal),
    Metric.update(eventLoopLag, mean),
    Metric.update(eventLoopLagP99, p99),
    Metric.update(activeHandles, process.getActiveResourcesInfo().length)
  ], { discard: true })
})

// ---- zero initialisation ------------------------------------------------------------------------

const outcomeKinds = ["done", "skipped", "failed"] as const
const execPhases = ["handshake", "stream"] as const
const watchResources = ["pods", "workflows"] as const
const watchReasons = ["closed", "error", "silent", "stale", "expired", "continue-expired", "list-error"] as const
/** Reasons of `pod_cleanup_retries_total` known upfront (API retries, engine retries, exec retries). */
const retryReasons = ["KubeTransientError", "KubeConflictError", "failed", "skipped", "exec timeout", "exec 429"] as const

/**
 * Exports at 0 every counter series whose labels are known before anything happened, and the
 * build info. Idempotent (adding 0 changes nothing); the HTTP server calls it when it starts.
 */
export const initMetrics: Effect.Effect<void> = Effect.suspend(() => {
  const updates: Array<Effect.Effect<void>> = [
    Metric.update(Metric.withAttributes(buildInfo, { version: packageVersion, node_version: process.version }), 1),
    Metric.update(destructiveCapReached, 0),
    Metric.update(destructivePaused, 0),
    Metric.update(execsInFlight, 0),
    Metric.update(processCpuSeconds, 0)
  ]
  for (const name of [ActionQueueName, ApiActionQueueName]) {
    const q = workqueueSeriesOf(name)
    const series: ReadonlyArray<Metric.Metric<number, unknown>> = [q.adds, q.retries, q.depth, q.unfinishedWork, q.longestRunning]
    for (const m of series) updates.push(Metric.update(m, 0))
  }
  for (const result of ["acquired", "timeout"]) updates.push(Metric.update(Metric.withAttributes(execCapWaits, { result }), 0))
  for (const action of ActionNames) {
    for (const outcome of outcomeKinds) updates.push(Metric.update(Metric.withAttributes(actionsTotal, { action, outcome }), 0))
    for (const reason of retryReasons) updates.push(Metric.update(Metric.withAttributes(retriesTotal, { action, reason }), 0))
    updates.push(Metric.update(Metric.withAttributes(dryRunActions, { action }), 0))
    if (action === "deletePod" || action === "deletePodByUID" || action === "removeFinalizer") {
      updates.push(Metric.update(Metric.withAttributes(destructiveDeferred, { action }), 0))
    }
  }
  for (const phase of execPhases) updates.push(Metric.update(Metric.withAttributes(execTimeouts, { phase, node: "" }), 0))
  for (const resource of watchResources) {
    for (const reason of watchReasons) updates.push(Metric.update(watchRestartsOf(resource, reason), 0))
  }
  return Effect.all(updates, { discard: true })
})
