/**
 * Harm: what the service must never do to a pod, seen from the simulator.
 *
 * - a signal to a live pod: an exec the simulator resolved (`exec-open`) into a pod whose `main`
 *   runs at that moment (the live pods of the run, a re-created pod before its main ended);
 * - a delete, a label or a finalizer patch of a live pod: a successful (2xx) delete or patch of a
 *   pod whose `main` runs when the request ends (read from the store then), or that the run knows
 *   was live then (`liveAt`: a pod deleted at once leaves nothing to read);
 * - every node Argo's model marked Error "pod deleted" (a pod taken out of Argo's view before its
 *   node was recorded), but those the run caused itself (`harnessCaused`).
 *
 * No workflow is ever shut down in the chaos run, so "its workflow is shutting down" never excuses one.
 */
import type { V1Pod } from "@kubernetes/client-node"
import type { ExecEventInfo, PodDeletedRecord, RequestLogEntry, SimCluster } from "@pod-cleanup/sim"

export interface Harm {
  readonly kind: "signal" | "delete" | "patch" | "pod deleted"
  readonly namespace: string
  readonly pod: string
  /** Date.now() */
  readonly at: number
  readonly detail: string
}

export const mainRunning = (pod: V1Pod | undefined): boolean =>
  (pod?.status?.containerStatuses ?? []).some((s) => s.name === "main" && s.state?.running !== undefined)

export interface HarmWatch {
  /** Signals, deletes and patches of live pods so far. */
  readonly actions: ReadonlyArray<Harm>
  /** The "pod deleted" nodes so far (but the run's own). */
  readonly podDeleted: () => ReadonlyArray<Harm>
  /** The "pod deleted" records the run caused itself (not counted). */
  readonly excused: () => number
  readonly all: () => ReadonlyArray<Harm>
}

export const watchHarm = (
  sim: SimCluster,
  options: {
    /** The run knows the pod's main was running at `at`. */
    readonly liveAt: (namespace: string, pod: string, at: number) => boolean
    readonly harnessCaused: (record: PodDeletedRecord) => boolean
    /** Where times are shown from (Date.now() of the window's start). */
    readonly t0: () => number
  }
): HarmWatch => {
  const actions: Array<Harm> = []
  const since = (at: number) => `${((at - options.t0()) / 1000).toFixed(2)}s`
  const describe = (pod: V1Pod | undefined) =>
    pod === undefined
      ? "gone"
      : `uid ${pod.metadata?.uid?.slice(0, 8)}, phase ${pod.status?.phase}, running [${
        (pod.status?.containerStatuses ?? []).filter((s) => s.state?.running !== undefined).map((s) => s.name).join(", ")
      }]`
  sim.events.on("exec-open", (info: ExecEventInfo) => {
    const pod = sim.getPod(info.namespace, info.pod)
    const at = Date.now()
    if (mainRunning(pod) || options.liveAt(info.namespace, info.pod, at)) {
      actions.push({
        kind: "signal",
        namespace: info.namespace,
        pod: info.pod,
        at,
        detail: `exec [${info.command.join(" ")}] into ${info.container} at ${since(at)} while main runs (${describe(pod)})`
      })
    }
  })
  sim.events.on("request", (entry: RequestLogEntry) => {
    if (entry.resource !== "pods" || (entry.verb !== "delete" && entry.verb !== "patch")) return
    if (entry.status < 200 || entry.status >= 300 || entry.name === undefined || entry.namespace === undefined) return
    const at = entry.endedAt ?? Date.now()
    const pod = sim.getPod(entry.namespace, entry.name)
    if (mainRunning(pod) || options.liveAt(entry.namespace, entry.name, at)) {
      actions.push({
        kind: entry.verb,
        namespace: entry.namespace,
        pod: entry.name,
        at,
        detail: `${entry.verb} (${entry.status}) sent at ${since(entry.at)} while main runs (now: ${describe(pod)})`
      })
    }
  })
  const argoRecords = () => sim.argo?.podDeleted ?? []
  const podDeleted = () =>
    argoRecords().filter((r) => !options.harnessCaused(r)).map((r): Harm => ({
      kind: "pod deleted",
      namespace: r.namespace,
      pod: r.pod,
      at: r.at,
      detail: `Argo marked node ${r.nodeId} of workflow ${r.workflow} Error "pod deleted" at ${since(r.at)}`
    }))
  return {
    actions,
    podDeleted,
    excused: () => argoRecords().filter((r) => options.harnessCaused(r)).length,
    all: () => [...actions, ...podDeleted()].sort((a, b) => a.at - b.at)
  }
}
