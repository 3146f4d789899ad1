/**
 * Every metric pod-cleanup exposes, in one place (names without the `pod_cleanup_` prefix that
 * `/metrics` adds). Exec timeouts get their own counter: Argo has none, and a hung exec there is
 * only visible as a longest-running queue item near 120 s.
 */
import { Metric } from "effect"

export const actionsTotal = Metric.counter("actions_total", {
  description: "Actions that reached an outcome, by action and outcome (done, skipped, failed)",
  incremental: true
})

export const execDuration = Metric.histogram("exec_duration_seconds", {
  description: "Duration of pods/exec calls, by result",
  boundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
})

export const execTimeouts = Metric.counter("exec_timeouts_total", {
  description: "Exec calls that hit a deadline, by phase (handshake, stream) and node",
  incremental: true
})

export const retriesTotal = Metric.counter("retries_total", {
  description: "Retries of actions, by action and reason",
  incremental: true
})

export const queueDepth = Metric.gauge("queue_depth", {
  description: "Actions in the queue, by state (ready, delayed, processing)"
})

export const longestRunningSeconds = Metric.gauge("longest_running_action_seconds", {
  description: "How long the oldest action still running has been running"
})

export const workersBusy = Metric.gauge("workers_busy", {
  description: "Workers running an action right now"
})

export const breakerState = Metric.gauge("node_breaker_state", {
  description: "Per-node exec circuit breaker: 0 closed, 1 half-open, 2 open"
})

export const breakerTransitions = Metric.counter("node_breaker_transitions_total", {
  description: "Per-node breaker transitions (opened, half-open, closed, reopened)",
  incremental: true
})

export const watchRestarts = Metric.counter("watch_restarts_total", {
  description: "Watch restarts, by resource and reason",
  incremental: true
})

export const podsWaitingForArgo = Metric.gauge("pods_waiting_for_argo", {
  description: "Finished pods whose label, delete or finalizer removal waits for Argo to record their node (or for their workflow to be seen)"
})
