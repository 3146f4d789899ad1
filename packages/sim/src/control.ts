// The simulator's side channel: a tiny JSON HTTP API on 127.0.0.1, next to the simulated API
// server, so a benchmark (or any harness) can drive a simulator that runs in its own process and
// read its accounting without going through the Kubernetes API. `npm run simulate -- --control-port 0`
// serves it; `GET /` lists the endpoints.
//
// It also observes, from the simulator's side, when each pod was cleaned: the first delete of the
// pod answered 200, and the patch answered 200 that set `workflows.argoproj.io/completed=true`.
// Times are the simulator's Date.now() when the response ended, so they are comparable with the
// Argo model's `fulfilledAt`. Which patch set the label is learnt from one watch of pods labelled
// completed=true that this module holds on the API server (reading each patched pod back costs
// ~0.7 ms for a real-sized pod; a watch event costs a JSON parse). That watch is the channel's own:
// `GET /stats` leaves it out of the request counts and of `watchOpen`.

import { createServer, request as httpRequest } from "node:http"
import type { ClientRequest, IncomingMessage, Server, ServerResponse } from "node:http"
import { request as httpsRequest } from "node:https"
import type { Socket } from "node:net"
import type { ArgoModelOptions } from "./argo.ts"
import type { ApiFault, ApiScope, ExecFault, ExecScope, WatchFault, WatchFaultOptions } from "./faults.ts"
import type { ContainerStateName, SimContainerInit, SimPodInit } from "./pods.ts"
import type { RequestLogEntry } from "./server.ts"
import type { SimCluster } from "./SimCluster.ts"
import type { SimWorkflowInit } from "./workflows.ts"
import { listenLoopback } from "./http.ts"
import { seedWorkflowPods } from "./seed.ts"
import type { SeedOptions } from "./seed.ts"

const completedLabel = "workflows.argoproj.io/completed"

/** A container state set on every seeded pod after seeding (as a kubelet status update). */
export interface ContainerStateChange {
  readonly container: string
  readonly state: ContainerStateName
  readonly exitCode?: number
}

/** Body of `POST /seed`: `seedWorkflowPods` options, and what to do once the pods exist. */
export interface ControlSeedRequest extends SeedOptions {
  /** Applied to every seeded pod, in order (e.g. `[{ container: "wait", state: "terminated", exitCode: 0 }]`). */
  readonly containerStates?: ReadonlyArray<ContainerStateChange>
  /** Return each pod's name and node (default true; false for very large seeds). */
  readonly names?: boolean
}

export interface ControlSeedResponse {
  readonly pods: number
  readonly workflows: number
  /** Seeded pods in order, when `names` was not false. */
  readonly podList?: ReadonlyArray<{ readonly namespace: string; readonly name: string; readonly node: string }>
}

/** Body of `POST /pods/bulk`: `count` small pods named `${namePrefix}${i}` on `node-${i % nodes}`. */
export interface ControlBulkPodsRequest {
  readonly namespace?: string
  readonly count: number
  /** Default "p-". */
  readonly namePrefix?: string
  /** Default 1. */
  readonly nodes?: number
  /** Label `workflows.argoproj.io/workflow: wf-${i % workflows}` (default 1) and completed=false. */
  readonly workflows?: number
  /** Default `[{ name: "wait" }, { name: "main" }]`. */
  readonly containers?: ReadonlyArray<SimContainerInit>
}

export interface ControlStats {
  /** `SimCluster.stats()`. */
  readonly requests: Record<string, number>
  readonly execOpen: number
  readonly execTotal: number
  readonly watchOpen: number
  readonly requestsAborted: number
  /** Requests summed by verb (list, watch, get, patch, delete, exec, create, ...). */
  readonly byVerb: Record<string, number>
  readonly totalRequests: number
  /** The simulator process's own CPU (`process.cpuUsage()`), in seconds. */
  readonly cpuSeconds: { readonly user: number; readonly system: number; readonly total: number }
  /** The simulator process's peak resident memory (maxRSS), in MiB. */
  readonly peakRssMiB: number
  readonly pid: number
  /** Date.now() when the first API request other than a watch arrived (undefined: none yet). */
  readonly firstRequestAt?: number
}

export interface ControlCleaned {
  /** Pods cleaned (labelled or deleted) so far, in `namespace` when asked. */
  readonly count: number
  readonly labelled: number
  readonly deleted: number
  /** Date.now() of the first and last clean (undefined when none). */
  readonly firstAt?: number
  readonly lastAt?: number
  /** With `?times=1`: `${namespace}/${name}` → Date.now() when it was cleaned (the earlier of label and delete). */
  readonly times?: Record<string, number>
}

export interface ControlArgo {
  readonly running: boolean
  readonly podDeleted: ReadonlyArray<{ readonly namespace: string; readonly workflow: string; readonly nodeId: string; readonly pod: string; readonly at: number }>
  /** Number of known pods (seeded or added through this channel) whose node is recorded fulfilled. */
  readonly fulfilled: number
  /** Records and workflow operations the model has scheduled and not run yet (`podDeleted` is final at 0). */
  readonly pending: number
  /** With `?times=1`: `${namespace}/${name}` → `fulfilledAt`, for known pods whose node is recorded. */
  readonly fulfilledAt?: Record<string, number>
}

export interface ControlPodSummary {
  readonly namespace: string
  readonly name: string
  readonly exists: boolean
  readonly node?: string
  readonly phase?: string
  readonly completedLabel?: string
  readonly deleting: boolean
  /** Each container's state: running, terminated (exit code) or waiting. */
  readonly containers: Record<string, string>
  readonly labelledAt?: number
  readonly deletedAt?: number
}

/** The endpoints, as `GET /` lists them. */
export const controlEndpoints: Readonly<Record<string, string>> = {
  "GET /": "this list",
  "GET /healthz": "ok",
  "GET /info": "{ url, kubeconfig, pid }: the API server's URL and a kubeconfig file for it",
  "POST /seed": "seedWorkflowPods options (pods, nodes, namespace, workflows, podGCStrategy, deleteDelay, workflowPhase, finalizer, waitTermDelayMs, waitIgnoresSigterm, workflowPrefix, terminationGracePeriodSeconds, argoNodes, nodeStatus, realistic) + containerStates [{container,state,exitCode}] + names (default true) → { pods, workflows, podList }",
  "POST /pods": "{ pods: [SimPodInit] } → { pods }",
  "POST /pods/bulk": "{ namespace, count, namePrefix, nodes, workflows, containers } → { pods }",
  "POST /workflows": "SimWorkflowInit → { name, uid }",
  "POST /container-state": "{ namespace, pod, container, state, exitCode } (as a kubelet status update)",
  "POST /argo": "ArgoModelOptions { recordLag: ms | {minMs,maxMs}, taskResultLagMs, seed, batchMs, requeueMs }: start (or replace) the Argo workflow-controller model",
  "GET /argo": "{ running, podDeleted, fulfilled, pending }; ?times=1 adds fulfilledAt by pod",
  "POST /partition": "{ node }: execs to the node's pods hang half-open",
  "POST /heal": "{ node }",
  "POST /faults/exec": "{ scope, fault, times } → { id }",
  "POST /faults/api": "{ scope, fault, times } → { id }",
  "POST /faults/watch": "{ fault, options }",
  "POST /faults/clear": "{ id? }: one rule, or every rule",
  "GET /stats": "SimCluster.stats() + byVerb, totalRequests, cpuSeconds (process.cpuUsage), peakRssMiB, pid, firstRequestAt",
  "GET /cleaned": "{ count, labelled, deleted, firstAt, lastAt } as observed by the simulator; ?namespace=NS filters; ?times=1 adds times by pod",
  "GET /pods": "per-pod summaries of known pods (?namespace=NS): exists, node, phase, completed label, deleting, containers, labelledAt, deletedAt",
  "POST /shutdown": "close the simulator and exit"
}

export interface ControlOptions {
  /** Default 0: an ephemeral port. Always 127.0.0.1. */
  readonly port?: number
  /** Path of a kubeconfig for the API server, reported by `GET /info`. */
  readonly kubeconfig?: string
  /** The bearer token the API server requires, if any (for the channel's own watch). */
  readonly token?: string
  /** Called after `POST /shutdown` has been answered. */
  readonly onShutdown?: () => void
}

export interface ControlServer {
  readonly url: string
  readonly close: () => Promise<void>
}

class HttpError extends Error {
  readonly code: number
  constructor(code: number, message: string) {
    super(message)
    this.code = code
  }
}

const readJson = async (req: IncomingMessage): Promise<any> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString("utf8")
  if (text.trim() === "") return {}
  try {
    return JSON.parse(text)
  } catch {
    throw new HttpError(400, "body is not JSON")
  }
}

const send = (res: ServerResponse, code: number, body: unknown): void => {
  const payload = Buffer.from(JSON.stringify(body))
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": String(payload.length) })
  res.end(payload)
}

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`

const nonNegativeInt = (value: unknown, what: string): number => {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new HttpError(400, `${what} must be a non-negative integer`)
  return value
}

/** Starts the side channel for `sim` on 127.0.0.1. */
export const startControl = async (sim: SimCluster, options: ControlOptions = {}): Promise<ControlServer> => {
  /** Pods seeded or added here, in order of creation. */
  const known = new Map<string, { readonly namespace: string; readonly name: string }>()
  const labelledAt = new Map<string, number>()
  const deletedAt = new Map<string, number>()
  const cleanedAt = new Map<string, number>()

  /** Pods the watch saw labelled completed=true before their patch's answer ended. */
  const labelSeen = new Set<string>()
  /** The latest patch answered 200 of each pod not yet known labelled. */
  const patchAnswered = new Map<string, number>()
  const cleaned = (key: string, at: number) => {
    if (!cleanedAt.has(key)) cleanedAt.set(key, at)
  }
  let firstRequestAt: number | undefined
  const onRequest = (entry: RequestLogEntry) => {
    // Watches end late (the channel's own among them): the first request of a client is a list or get.
    if (entry.verb !== "watch" && (firstRequestAt === undefined || entry.at < firstRequestAt)) firstRequestAt = entry.at
    if (entry.resource !== "pods" || entry.status !== 200 || entry.namespace === undefined || entry.name === undefined) return
    const key = keyOf(entry.namespace, entry.name)
    const at = entry.endedAt ?? Date.now()
    if (entry.verb === "delete") {
      if (deletedAt.has(key)) return
      deletedAt.set(key, at)
      cleaned(key, at)
    } else if (entry.verb === "patch" && !labelledAt.has(key)) {
      if (labelSeen.delete(key)) {
        labelledAt.set(key, at)
        cleaned(key, at)
      } else patchAnswered.set(key, at)
    }
  }
  const onLabelled = (key: string) => {
    if (labelledAt.has(key)) return
    const at = patchAnswered.get(key)
    if (at === undefined) return void labelSeen.add(key)
    patchAnswered.delete(key)
    labelledAt.set(key, at)
    cleaned(key, at)
  }
  sim.events.on("request", onRequest)

  // The channel's own watch of pods labelled completed=true (ADDED when a pod starts to match).
  let watchRequest: ClientRequest | undefined
  let watchConnected = false
  let ownWatches = 0
  let stopped = false
  let lastResourceVersion: string | undefined
  const openWatch = () => {
    if (stopped) return
    const query = new URLSearchParams({ watch: "true", labelSelector: `${completedLabel}=true` })
    if (lastResourceVersion !== undefined) query.set("resourceVersion", lastResourceVersion)
    const url = new URL(`/api/v1/pods?${query}`, sim.url)
    const make = url.protocol === "https:" ? httpsRequest : httpRequest
    ownWatches += 1
    const req = make(url, {
      agent: false,
      ...(sim.caPem === undefined ? {} : { ca: sim.caPem }),
      headers: { Accept: "application/json", ...(options.token === undefined ? {} : { Authorization: `Bearer ${options.token}` }) }
    }, (res) => {
      watchConnected = res.statusCode === 200
      let buffered = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        buffered += chunk
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl)
          buffered = buffered.slice(nl + 1)
          if (line.trim() === "") continue
          try {
            const event = JSON.parse(line) as { type: string; object?: { metadata?: { namespace?: string; name?: string; resourceVersion?: string; labels?: Record<string, string> } } }
            const meta = event.object?.metadata
            if (event.type === "ERROR") lastResourceVersion = undefined
            else if (meta?.resourceVersion !== undefined) lastResourceVersion = meta.resourceVersion
            if ((event.type === "ADDED" || event.type === "MODIFIED") && meta?.labels?.[completedLabel] === "true") {
              onLabelled(keyOf(meta.namespace ?? "default", meta.name ?? ""))
            }
          } catch {
            // a torn or foreign line: ignore
          }
        }
      })
      res.on("close", reopen)
      res.on("error", () => {})
    })
    let reopened = false
    const reopen = () => {
      if (reopened) return
      reopened = true
      watchConnected = false
      watchRequest = undefined
      if (!stopped) setTimeout(openWatch, 100).unref()
    }
    req.on("error", reopen)
    req.on("close", () => {
      if (!watchConnected) reopen()
    })
    req.end()
    watchRequest = req
  }
  openWatch()

  const remember = (namespace: string, name: string) => known.set(keyOf(namespace, name), { namespace, name })

  const inNamespace = (key: string, namespace: string | null) => namespace === null || key.startsWith(`${namespace}/`)

  const handle = async (req: IncomingMessage, url: URL): Promise<unknown> => {
    const route = `${req.method ?? "GET"} ${url.pathname}`
    const q = url.searchParams
    const times = q.get("times") === "1" || q.get("times") === "true"
    switch (route) {
      case "GET /":
        return controlEndpoints
      case "GET /healthz":
        return { ok: true }
      case "GET /info":
        return { url: sim.url, kubeconfig: options.kubeconfig, pid: process.pid }
      case "POST /seed": {
        const body = (await readJson(req)) as ControlSeedRequest
        nonNegativeInt(body.pods, "pods")
        const seeded = seedWorkflowPods(sim, { ...body, nodes: body.nodes ?? 1 })
        const namespace = body.namespace ?? "default"
        for (const pod of seeded.pods) remember(namespace, pod.metadata!.name!)
        for (const change of body.containerStates ?? []) {
          for (const pod of seeded.pods) sim.setContainerState(namespace, pod.metadata!.name!, change.container, change.state, change.exitCode)
        }
        const response: ControlSeedResponse = {
          pods: seeded.pods.length,
          workflows: seeded.workflows.length,
          ...(body.names === false
            ? {}
            : { podList: seeded.pods.map((p) => ({ namespace, name: p.metadata!.name!, node: p.spec?.nodeName ?? "" })) })
        }
        return response
      }
      case "POST /pods": {
        const body = (await readJson(req)) as { pods?: ReadonlyArray<SimPodInit> }
        if (!Array.isArray(body.pods)) throw new HttpError(400, "pods must be an array of SimPodInit")
        for (const init of body.pods) {
          const pod = sim.addPod(init)
          remember(pod.metadata?.namespace ?? "default", pod.metadata!.name!)
        }
        return { pods: body.pods.length }
      }
      case "POST /pods/bulk": {
        const body = (await readJson(req)) as ControlBulkPodsRequest
        const count = nonNegativeInt(body.count, "count")
        const namespace = body.namespace ?? "default"
        const prefix = body.namePrefix ?? "p-"
        const nodes = Math.max(1, body.nodes ?? 1)
        const workflows = Math.max(1, body.workflows ?? 1)
        const containers = body.containers ?? [{ name: "wait" }, { name: "main" }]
        for (let i = 0; i < count; i++) {
          sim.addPod({
            namespace,
            name: `${prefix}${i}`,
            nodeName: `node-${i % nodes}`,
            labels: { "workflows.argoproj.io/workflow": `wf-${i % workflows}`, [completedLabel]: "false" },
            containers
          })
          remember(namespace, `${prefix}${i}`)
        }
        return { pods: count }
      }
      case "POST /workflows": {
        const wf = sim.addWorkflow((await readJson(req)) as SimWorkflowInit)
        return { name: wf.metadata.name, uid: wf.metadata.uid }
      }
      case "POST /container-state": {
        const b = (await readJson(req)) as { namespace?: string; pod: string; container: string; state: ContainerStateName; exitCode?: number }
        sim.setContainerState(b.namespace ?? "default", b.pod, b.container, b.state, b.exitCode)
        return { ok: true }
      }
      case "POST /argo": {
        sim.startArgo((await readJson(req)) as ArgoModelOptions)
        return { running: true }
      }
      case "GET /argo": {
        const argo = sim.argo
        const fulfilledAt: Record<string, number> = {}
        let fulfilled = 0
        if (argo !== undefined) {
          for (const [key, p] of known) {
            const at = argo.fulfilledAt(p.namespace, p.name)
            if (at === undefined) continue
            fulfilled += 1
            if (times) fulfilledAt[key] = at
          }
        }
        const response: ControlArgo = {
          running: argo !== undefined,
          podDeleted: argo?.podDeleted ?? [],
          fulfilled,
          pending: argo?.pending ?? 0,
          ...(times ? { fulfilledAt } : {})
        }
        return response
      }
      case "POST /partition":
      case "POST /heal": {
        const { node } = (await readJson(req)) as { node?: unknown }
        if (typeof node !== "string") throw new HttpError(400, "node must be a string")
        if (route === "POST /partition") sim.partition(node)
        else sim.heal(node)
        return { ok: true }
      }
      case "POST /faults/exec": {
        const b = (await readJson(req)) as { scope?: ExecScope; fault: ExecFault; times?: number }
        return { id: sim.faults.exec(b.scope ?? {}, b.fault, b.times === undefined ? {} : { times: b.times }) }
      }
      case "POST /faults/api": {
        const b = (await readJson(req)) as { scope?: ApiScope; fault: ApiFault; times?: number }
        return { id: sim.faults.api(b.scope ?? {}, b.fault, b.times === undefined ? {} : { times: b.times }) }
      }
      case "POST /faults/watch": {
        const b = (await readJson(req)) as { fault: WatchFault; options?: WatchFaultOptions }
        sim.faults.watch(b.fault, b.options ?? {})
        return { ok: true }
      }
      case "POST /faults/clear": {
        const b = (await readJson(req)) as { id?: string }
        sim.faults.clear(b.id)
        return { ok: true }
      }
      case "GET /stats": {
        const raw = sim.stats()
        // Leave out the channel's own watch (counted when it ends, or while open).
        const requests = { ...raw.requests }
        if (ownWatches > 0) {
          requests["watch pods"] = (requests["watch pods"] ?? 0) - ownWatches
          if (requests["watch pods"] <= 0) delete requests["watch pods"]
        }
        const stats = { ...raw, requests, watchOpen: raw.watchOpen - (watchConnected ? 1 : 0) }
        const byVerb: Record<string, number> = {}
        let total = 0
        for (const [key, n] of Object.entries(stats.requests)) {
          const verb = key.split(" ")[0]
          byVerb[verb] = (byVerb[verb] ?? 0) + n
          total += n
        }
        const cpu = process.cpuUsage()
        const response: ControlStats = {
          ...stats,
          byVerb,
          totalRequests: total,
          cpuSeconds: { user: cpu.user / 1e6, system: cpu.system / 1e6, total: (cpu.user + cpu.system) / 1e6 },
          peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
          pid: process.pid,
          ...(firstRequestAt === undefined ? {} : { firstRequestAt })
        }
        return response
      }
      case "GET /cleaned": {
        const namespace = q.get("namespace")
        let count = 0
        let labelled = 0
        let deleted = 0
        let firstAt: number | undefined
        let lastAt: number | undefined
        const byPod: Record<string, number> = {}
        for (const [key, at] of cleanedAt) {
          if (!inNamespace(key, namespace)) continue
          count += 1
          if (times) byPod[key] = at
          firstAt = firstAt === undefined || at < firstAt ? at : firstAt
          lastAt = lastAt === undefined || at > lastAt ? at : lastAt
        }
        for (const key of labelledAt.keys()) if (inNamespace(key, namespace)) labelled += 1
        for (const key of deletedAt.keys()) if (inNamespace(key, namespace)) deleted += 1
        const response: ControlCleaned = {
          count,
          labelled,
          deleted,
          ...(firstAt === undefined ? {} : { firstAt, lastAt }),
          ...(times ? { times: byPod } : {})
        }
        return response
      }
      case "GET /pods": {
        const namespace = q.get("namespace")
        const out: Array<ControlPodSummary> = []
        for (const [key, p] of known) {
          if (!inNamespace(key, namespace)) continue
          const pod = sim.getPod(p.namespace, p.name)
          const containers: Record<string, string> = {}
          for (const s of pod?.status?.containerStatuses ?? []) {
            containers[s.name] = s.state?.running !== undefined
              ? "running"
              : s.state?.terminated !== undefined
              ? `terminated (${s.state.terminated.exitCode})`
              : "waiting"
          }
          out.push({
            namespace: p.namespace,
            name: p.name,
            exists: pod !== undefined,
            ...(pod?.spec?.nodeName === undefined ? {} : { node: pod.spec.nodeName }),
            ...(pod?.status?.phase === undefined ? {} : { phase: pod.status.phase }),
            ...(pod?.metadata?.labels?.[completedLabel] === undefined ? {} : { completedLabel: pod.metadata.labels[completedLabel] }),
            deleting: pod?.metadata?.deletionTimestamp !== undefined,
            containers,
            ...(labelledAt.has(key) ? { labelledAt: labelledAt.get(key) } : {}),
            ...(deletedAt.has(key) ? { deletedAt: deletedAt.get(key) } : {})
          })
        }
        return out
      }
      case "POST /shutdown":
        return { ok: true }
      default:
        throw new HttpError(404, `no such endpoint: ${route} (GET / lists them)`)
    }
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://control.local")
    handle(req, url).then(
      (body) => {
        send(res, 200, body)
        if (req.method === "POST" && url.pathname === "/shutdown") res.once("finish", () => options.onShutdown?.())
      },
      (e: unknown) => {
        const code = e instanceof HttpError ? e.code : 500
        send(res, code, { error: e instanceof Error ? e.message : String(e) })
      }
    )
  })
  const sockets = new Set<Socket>()
  server.on("connection", (s: Socket) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  const port = await listenLoopback(server, options.port ?? 0)
  let closing: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        stopped = true
        watchRequest?.destroy()
        sim.events.off("request", onRequest)
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      })
      return closing
    }
  }
}
