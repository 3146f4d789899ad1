// A simulated Kubernetes API server on loopback: pods (with a process model behind exec), leases
// and Argo workflows, over real HTTP(S) and WebSocket, with injectable faults. What a client sees on
// the wire is what a real API server sends; tests drive it through the real client libraries.
// Everything is in memory; time is real time.

import { EventEmitter } from "node:events"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer as createHttpServer } from "node:http"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import type { Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Duplex } from "node:stream"
import type { V1Pod } from "@kubernetes/client-node"
import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js"
import { WebSocketServer } from "ws"
import { ArgoModel, completedWorkflowPhases } from "./argo.ts"
import type { ArgoHost, ArgoModelOptions, ArgoWorkflowJson } from "./argo.ts"
import { readStoredNodes, storeNodes } from "./argoNodes.ts"
import type { ArgoNodeMap, NodeStatusFormat } from "./argoNodes.ts"
import { discoveryDocument } from "./discovery.ts"
import { ExecSession, handleExecUpgrade, upgradeRequired } from "./exec.ts"
import type { ExecCloseInfo, ExecEnv, ExecInfo } from "./exec.ts"
import { Faults } from "./faults.ts"
import type { ApiFault, AppliedWatchFault, SimResource } from "./faults.ts"
import { isTrue, listenLoopback, mediaType, parseJsonBody, readBody, sendError, sendJson, writeRawStatus } from "./http.ts"
import { kubeconfigYaml } from "./kubeconfig.ts"
import { buildPod, nowIso } from "./pods.ts"
import type { ContainerStateName, PodJson, SimPodInit } from "./pods.ts"
import { Processes } from "./processes.ts"
import type { ProcessHost } from "./processes.ts"
import { apiVersionOf, pods, workflows } from "./resources.ts"
import type { ResourceDef } from "./resources.ts"
import * as rest from "./rest.ts"
import type { RestContext } from "./rest.ts"
import { resourceOf, route, verbOf } from "./routes.ts"
import type { Route } from "./routes.ts"
import { serverNotFound, StatusError } from "./status.ts"
import { copy, Store } from "./store.ts"
import type { KubeObject } from "./store.ts"
import { wantsTable } from "./table.ts"
import type { IncludeObject } from "./table.ts"
import { WatchSession } from "./watch.ts"

export interface SimClusterOptions {
  /** Default 0: an ephemeral port. */
  readonly port?: number
  /** Serve HTTPS with the test-only certificate in tls/. */
  readonly tls?: boolean
  /** When set, every request needs `Authorization: Bearer <token>` (else 401). */
  readonly token?: string
  /**
   * How often a watch with allowWatchBookmarks gets a BOOKMARK. Default 60 000 ms: a real API
   * server sends one about once a minute (and nothing else while nothing changes).
   */
  readonly bookmarkIntervalMs?: number
  /** Events kept per resource for watch resumption. Default 1000. */
  readonly historyLimit?: number
  /** false: the Argo Workflow CRD is absent (its paths answer 404). Default true. */
  readonly workflowsCrd?: boolean
  /** Entries kept in `requestLog` (oldest dropped). Default 100 000. */
  readonly requestLogLimit?: number
  /** Run a model of Argo's workflow-controller from the start (see `startArgo`). Default false: off. */
  readonly argo?: ArgoModelOptions | false
}

export interface RequestLogEntry {
  /** Date.now() when the request arrived. */
  readonly at: number
  readonly verb: string
  readonly resource: string
  readonly namespace?: string
  readonly name?: string
  /** HTTP status (101 for an upgraded exec); 0 while nothing has been answered. */
  status: number
  /** The client closed the connection before the response (or the exec's status) was complete. */
  aborted: boolean
  container?: string
  command?: Array<string>
  /** Date.now() when the request ended; undefined while it is still open. */
  endedAt?: number
  /**
   * Who sent it, when the simulator accepts any token (no `token` option): the bearer token
   * presented, so tests can tell two clients apart. Never set when a token is required.
   */
  client?: string
}

export interface SimStats {
  /** Keyed `${verb} ${resource}`: "list pods", "watch pods", "exec pods", "create leases", ... */
  readonly requests: Record<string, number>
  readonly execOpen: number
  readonly execTotal: number
  readonly watchOpen: number
  readonly requestsAborted: number
}

export interface SimPodGC {
  readonly strategy?: string
  readonly labelSelector?: { readonly matchLabels?: Readonly<Record<string, string>>; readonly matchExpressions?: ReadonlyArray<unknown> }
  readonly deleteDelayDuration?: string
}

export interface SimWorkflowInit {
  /** Default "default". */
  readonly namespace?: string
  readonly name: string
  /** Pending | Running | Succeeded | Failed | Error. Default "Running". */
  readonly phase?: string
  readonly podGC?: SimPodGC
  readonly uid?: string
  readonly labels?: Readonly<Record<string, string>>
  /** The node map (`status.nodes` entries, by node id). Default none. */
  readonly nodes?: ArgoNodeMap
  /** Where the node map is stored. Default "nodes". */
  readonly nodeStatus?: NodeStatusFormat
  /** Extra `spec` fields (templates, shutdown, activeDeadlineSeconds, ...), merged over the defaults. */
  readonly spec?: Readonly<Record<string, unknown>>
  /** Extra `status` fields (storedTemplates, conditions, ...); phase, times and nodes are set as above. */
  readonly status?: Readonly<Record<string, unknown>>
}

/** An Argo Workflow as the API server returns it (plain JSON). */
export interface SimWorkflow extends KubeObject {
  spec: { podGC?: SimPodGC; shutdown?: string; activeDeadlineSeconds?: number; [key: string]: unknown }
  status: { phase?: string; startedAt?: string; finishedAt?: string | null; message?: string; [key: string]: unknown }
}

export interface ExecEventInfo {
  readonly namespace: string
  readonly pod: string
  readonly container: string
  readonly node: string
  readonly command: ReadonlyArray<string>
}

const tlsFile = (name: string): string => readFileSync(new URL(`./tls/${name}`, import.meta.url), "utf8")

const completedPhases = completedWorkflowPhases

/** Dates in V1Pod serialise with milliseconds; the API server's timestamps have none. */
const trimMillis = (value: unknown): unknown => {
  if (typeof value === "string") return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/.test(value) ? value.replace(".000Z", "Z") : value
  if (Array.isArray(value)) return value.map(trimMillis)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, trimMillis(v)]))
  }
  return value
}

const toV1Pod = (json: KubeObject): V1Pod => ObjectSerializer.deserialize(copy(json), "V1Pod", "") as V1Pod

const fromV1Pod = (pod: V1Pod): PodJson =>
  trimMillis(JSON.parse(JSON.stringify(ObjectSerializer.serialize(pod, "V1Pod", "")))) as PodJson

const delay = (ms: number, cancelled: () => boolean): Promise<void> =>
  new Promise((resolve) => {
    const started = Date.now()
    const tick = () => {
      if (cancelled() || Date.now() - started >= ms) resolve()
      else setTimeout(tick, Math.min(20, ms - (Date.now() - started)))
    }
    tick()
  })

/**
 * A simulated API server.
 *
 * ```ts
 * const sim = await SimCluster.start()
 * sim.addPod({ name: "p", containers: [{ name: "main", termDelayMs: 200 }] })
 * const kc = new KubeConfig(); kc.loadFromString(sim.kubeconfigYaml())
 * sim.faults.exec({ node: "node-0" }, { kind: "halfOpen" }, { times: 1 })
 * sim.startArgo({ recordLag: 200 }) // or SimCluster.start({ argo: { recordLag: 200 } }); see argo.ts
 * await sim.close()
 * ```
 */
export class SimCluster {
  readonly url: string
  readonly caPem: string | undefined
  readonly faults: Faults
  readonly events: EventEmitter = new EventEmitter()
  readonly requestLog: ReadonlyArray<RequestLogEntry>

  readonly #server: Server
  readonly #wss: WebSocketServer
  readonly #store: Store
  readonly #processes: Processes
  readonly #token: string | undefined
  readonly #bookmarkIntervalMs: number
  readonly #workflowsCrd: boolean
  readonly #requestLogLimit: number
  readonly #log: Array<RequestLogEntry> = []
  readonly #requests: Record<string, number> = {}
  readonly #sockets = new Set<Duplex>()
  readonly #watches = new Set<WatchSession>()
  readonly #execSessions = new Set<ExecSession>()
  readonly #tempDirs: Array<string> = []
  readonly #rest: RestContext
  /** Node storage format of each workflow, by uid (absent: "nodes"). */
  readonly #nodeFormats = new Map<string, NodeStatusFormat>()
  /** Offloaded node maps (Argo's database), by workflow uid. */
  readonly #offloaded = new Map<string, ArgoNodeMap>()
  #argo: ArgoModel | undefined
  #execOpen = 0
  #execTotal = 0
  #aborted = 0
  #closing: Promise<void> | undefined
  #restarting: Promise<void> | undefined

  private constructor(server: Server, url: string, options: SimClusterOptions, caPem: string | undefined) {
    this.#server = server
    this.url = url
    this.caPem = caPem
    this.#token = options.token
    this.#bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000
    this.#workflowsCrd = options.workflowsCrd ?? true
    this.#requestLogLimit = options.requestLogLimit ?? 100_000
    this.requestLog = this.#log
    this.events.setMaxListeners(0)
    this.#store = new Store({ historyLimit: options.historyLimit })
    this.#wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false })
    const host: ProcessHost = {
      readPod: (namespace, name) => this.#store.get("pods", namespace, name) as PodJson | undefined,
      writePod: (namespace, name, uid, mutate) => {
        const previous = this.#store.get("pods", namespace, name)
        if (previous === undefined || previous.metadata.uid !== uid) return
        const next = copy(previous) as PodJson
        mutate(next)
        rest.commit(this.#rest, pods, previous, next, { trusted: true })
      }
    }
    this.#processes = new Processes(host)
    this.#rest = {
      store: this.#store,
      continueTokens: { epoch: 0 },
      hooks: {
        created: (def, obj) => {
          if (def.plural !== "pods") return
          for (const c of (obj as PodJson).spec.containers) {
            this.#processes.register(obj.metadata.uid ?? "", c.name, { termDelayMs: 0, ignoreSigterm: false })
          }
        },
        deletionStarted: (def, obj, grace) => {
          if (def.plural === "pods") this.#processes.stopPod(obj.metadata.namespace ?? "", obj.metadata.name, grace)
        },
        removed: (def, obj) => {
          if (def.plural === "pods") this.#processes.forget(obj.metadata.uid ?? "")
          if (def.plural === "workflows") this.#forgetWorkflow(obj.metadata.uid ?? "")
        }
      }
    }
    this.faults = new Faults((fault, resource, namespace) => this.#applyWatchFault(fault, resource, namespace))
    server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket)
      socket.on("close", () => this.#sockets.delete(socket))
    })
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      void this.#onRequest(req, res)
    })
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.#onUpgrade(req, socket, head)
    })
    server.on("clientError", (_err: Error, socket: Duplex) => socket.destroy())
  }

  /** Starts a simulated API server on 127.0.0.1. */
  static async start(options: SimClusterOptions = {}): Promise<SimCluster> {
    const tls = options.tls === true
    const caPem = tls ? tlsFile("ca.pem") : undefined
    const server: Server = tls
      ? createHttpsServer({ key: tlsFile("server-key.pem"), cert: tlsFile("server.pem"), requestTimeout: 0 }) as unknown as Server
      : createHttpServer({ requestTimeout: 0 })
    server.keepAliveTimeout = 5_000
    const port = await listenLoopback(server, options.port ?? 0)
    const sim = new SimCluster(server, `${tls ? "https" : "http"}://127.0.0.1:${port}`, options, caPem)
    if (options.argo !== undefined && options.argo !== false) sim.startArgo(options.argo)
    return sim
  }

  // -------------------------------------------------------------------------------------------
  // kubeconfig

  /**
   * A kubeconfig for this server (http: insecure-skip-tls-verify; https: the test CA), with the
   * token when one is required. Over https without a token it carries a placeholder token, which
   * the server ignores, because kubectl prompts for a username when an https user has no auth.
   */
  kubeconfigYaml(options: { readonly namespace?: string; readonly token?: string } = {}): string {
    const token = options.token ?? this.#token ?? (this.caPem === undefined ? undefined : "pod-cleanup-sim-no-auth")
    return kubeconfigYaml({ server: this.url, caPem: this.caPem, token, namespace: options.namespace })
  }

  /** Writes the kubeconfig (to a fresh temp dir, removed by `close()`, when no path is given). */
  writeKubeconfig(path?: string, options: { readonly namespace?: string; readonly token?: string } = {}): string {
    let target = path
    if (target === undefined) {
      const dir = mkdtempSync(join(tmpdir(), "pod-cleanup-sim-"))
      this.#tempDirs.push(dir)
      target = join(dir, "kubeconfig")
    }
    writeFileSync(target, this.kubeconfigYaml(options), { mode: 0o600 })
    return target
  }

  // -------------------------------------------------------------------------------------------
  // pods

  /** Creates a pod (ADDED). Throws if one with that name exists. */
  addPod(init: SimPodInit): V1Pod {
    const pod = buildPod(init)
    const namespace = pod.metadata.namespace ?? "default"
    if (this.#store.get("pods", namespace, pod.metadata.name) !== undefined) {
      throw new Error(`SimCluster.addPod: pod ${namespace}/${pod.metadata.name} already exists`)
    }
    const stored = this.#store.create("pods", pod)
    for (const c of init.containers) {
      this.#processes.register(stored.metadata.uid ?? "", c.name, {
        termDelayMs: c.termDelayMs ?? 0,
        ignoreSigterm: c.ignoreSigterm ?? false
      })
    }
    return toV1Pod(stored)
  }

  /** A deep copy of the pod, as client-node would deserialise it. */
  getPod(namespace: string, name: string): V1Pod | undefined {
    const pod = this.#store.get("pods", namespace, name)
    return pod === undefined ? undefined : toV1Pod(pod)
  }

  listPods(): Array<V1Pod> {
    return this.#store.list("pods").map(toV1Pod)
  }

  /**
   * Mutates a pod server-side (as a kubelet or controller would; no client-facing validation):
   * MODIFIED, or DELETED when this removes the last finalizer of a deleting pod.
   */
  updatePod(namespace: string, name: string, mutate: (pod: V1Pod) => void): V1Pod {
    const previous = this.#store.get("pods", namespace, name)
    if (previous === undefined) throw new Error(`SimCluster.updatePod: no pod ${namespace}/${name}`)
    const draft = toV1Pod(previous)
    mutate(draft)
    const next = fromV1Pod(draft)
    next.apiVersion = "v1"
    next.kind = "Pod"
    return toV1Pod(rest.commit(this.#rest, pods, previous, next, { trusted: true }))
  }

  /** Sets a container's state like a kubelet status update (phase follows). */
  setContainerState(namespace: string, pod: string, container: string, state: ContainerStateName, exitCode?: number): void {
    const current = this.#store.get("pods", namespace, pod) as PodJson | undefined
    if (current === undefined) throw new Error(`SimCluster.setContainerState: no pod ${namespace}/${pod}`)
    if (!current.spec.containers.some((c) => c.name === container)) {
      throw new Error(`SimCluster.setContainerState: pod ${namespace}/${pod} has no container ${container}`)
    }
    this.#processes.setState({ namespace, pod, uid: current.metadata.uid ?? "", container }, state, exitCode)
  }

  /** Deletes a pod as a client would (finalizers respected). Returns false if it did not exist. */
  deletePod(namespace: string, name: string, options: rest.DeleteOptions = {}): boolean {
    if (this.#store.get("pods", namespace, name) === undefined) return false
    rest.remove(this.#rest, pods, namespace, name, options)
    return true
  }

  // -------------------------------------------------------------------------------------------
  // workflows

  /**
   * Creates a workflow (ADDED), with its node map (if any) stored as `nodeStatus` says: in
   * `status.nodes`, base64 `status.compressedNodes`, or offloaded (only `offloadNodeStatusVersion`).
   */
  addWorkflow(init: SimWorkflowInit): SimWorkflow {
    const namespace = init.namespace ?? "default"
    if (this.#store.get("workflows", namespace, init.name) !== undefined) {
      throw new Error(`SimCluster.addWorkflow: workflow ${namespace}/${init.name} already exists`)
    }
    const phase = init.phase ?? "Running"
    const now = nowIso()
    const uid = init.uid ?? crypto.randomUUID()
    const format = init.nodeStatus ?? "nodes"
    const wf: SimWorkflow = {
      apiVersion: apiVersionOf(workflows),
      kind: "Workflow",
      metadata: {
        name: init.name,
        namespace,
        uid,
        generation: 1,
        creationTimestamp: now,
        labels: {
          ...init.labels,
          "workflows.argoproj.io/phase": phase,
          "workflows.argoproj.io/completed": String(completedPhases.has(phase))
        }
      },
      spec: {
        entrypoint: "main",
        templates: [{ name: "main", container: { image: "docker.io/library/busybox:1.36", command: ["true"] } }],
        ...(init.podGC === undefined ? {} : { podGC: copy(init.podGC) }),
        ...(init.spec === undefined ? {} : copy(init.spec))
      },
      status: {
        ...(init.status === undefined ? {} : copy(init.status)),
        phase,
        startedAt: now,
        finishedAt: completedPhases.has(phase) ? now : null
      }
    }
    const nodes = copy(init.nodes ?? {})
    if (format !== "nodes") this.#nodeFormats.set(uid, format)
    if (format === "offloaded") this.#offloaded.set(uid, copy(nodes))
    if (init.nodes !== undefined || format !== "nodes") storeNodes(wf.status, nodes, format)
    return this.#store.create("workflows", wf) as SimWorkflow
  }

  getWorkflow(namespace: string, name: string): SimWorkflow | undefined {
    return this.#store.get("workflows", namespace, name) as SimWorkflow | undefined
  }

  listWorkflows(namespace?: string): Array<SimWorkflow> {
    return this.#store.list("workflows", namespace) as Array<SimWorkflow>
  }

  /**
   * The workflow's node map wherever it lives (decoded from `compressedNodes`; the offloaded copy
   * for an offloaded workflow). Undefined when there is no such workflow or `compressedNodes` is corrupt.
   */
  workflowNodes(namespace: string, name: string): ArgoNodeMap | undefined {
    const wf = this.getWorkflow(namespace, name)
    if (wf === undefined) return undefined
    try {
      return this.#readNodes(wf)
    } catch {
      return undefined
    }
  }

  /** How the workflow stores its node map ("nodes" for an unknown workflow). */
  nodeStatusFormat(namespace: string, name: string): NodeStatusFormat {
    const uid = this.getWorkflow(namespace, name)?.metadata.uid
    return (uid === undefined ? undefined : this.#nodeFormats.get(uid)) ?? "nodes"
  }

  /** `owned`: `wf` is a private copy, its node map may be handed out as is. */
  #readNodes(wf: ArgoWorkflowJson, owned = false): ArgoNodeMap {
    const uid = wf.metadata.uid ?? ""
    if (this.#nodeFormats.get(uid) === "offloaded") return copy(this.#offloaded.get(uid) ?? {})
    return readStoredNodes(wf.status, { owned })
  }

  #forgetWorkflow(uid: string): void {
    this.#nodeFormats.delete(uid)
    this.#offloaded.delete(uid)
  }

  setWorkflowPhase(namespace: string, name: string, phase: string): SimWorkflow {
    const previous = this.#store.get("workflows", namespace, name) as SimWorkflow | undefined
    if (previous === undefined) throw new Error(`SimCluster.setWorkflowPhase: no workflow ${namespace}/${name}`)
    const next = copy(previous)
    next.status = {
      ...next.status,
      phase,
      finishedAt: completedPhases.has(phase) ? next.status.finishedAt ?? nowIso() : null
    }
    next.metadata.labels = {
      ...next.metadata.labels,
      "workflows.argoproj.io/phase": phase,
      "workflows.argoproj.io/completed": String(completedPhases.has(phase))
    }
    return rest.commit(this.#rest, workflows, previous, next, { trusted: true }) as SimWorkflow
  }

  /**
   * Mutates a workflow server-side (as Argo's controller would; no validation): MODIFIED. The
   * draft is plain JSON; what it leaves in `status.nodes` / `status.compressedNodes` is stored as is
   * (so a test can write a corrupt `compressedNodes`).
   */
  updateWorkflow(namespace: string, name: string, mutate: (workflow: SimWorkflow) => void): SimWorkflow {
    const previous = this.#store.get("workflows", namespace, name) as SimWorkflow | undefined
    if (previous === undefined) throw new Error(`SimCluster.updateWorkflow: no workflow ${namespace}/${name}`)
    const next = copy(previous)
    mutate(next)
    return rest.commit(this.#rest, workflows, previous, next, { trusted: true }) as SimWorkflow
  }

  deleteWorkflow(namespace: string, name: string): boolean {
    const gone = this.#store.delete("workflows", namespace, name)
    if (gone !== undefined) this.#forgetWorkflow(gone.metadata.uid ?? "")
    return gone !== undefined
  }

  // -------------------------------------------------------------------------------------------
  // Argo's workflow-controller

  /**
   * Starts a model of Argo's workflow-controller on this simulator (see argo.ts): node maps kept
   * from pods, workflows completed, and nodes marked Error "pod deleted" when a pod leaves Argo's
   * view too early. Replaces a running one. Stopped by `close()`.
   */
  startArgo(options: ArgoModelOptions = {}): ArgoModel {
    this.#argo?.stop()
    const host: ArgoHost = {
      subscribe: (resource, listener) => this.#store.watch(resource, undefined, listener),
      listPods: () => this.#store.list("pods") as Array<PodJson>,
      listWorkflows: () => this.#store.list("workflows") as Array<SimWorkflow>,
      getWorkflow: (namespace, name) => this.getWorkflow(namespace, name),
      readNodes: (wf) => this.#readNodes(wf, true),
      writeWorkflow: (next, nodes) => {
        const namespace = next.metadata.namespace ?? ""
        const previous = this.#store.get("workflows", namespace, next.metadata.name)
        if (previous === undefined || previous.metadata.uid !== next.metadata.uid) return
        const uid = next.metadata.uid ?? ""
        const format = this.#nodeFormats.get(uid) ?? "nodes"
        if (format === "offloaded") this.#offloaded.set(uid, copy(nodes))
        const draft = next as SimWorkflow
        storeNodes(draft.status, nodes, format, { owned: true })
        return rest.commit(this.#rest, workflows, previous, draft, { trusted: true }).metadata.resourceVersion
      }
    }
    this.#argo = new ArgoModel(host, options)
    return this.#argo
  }

  /** The running Argo model, if any. */
  get argo(): ArgoModel | undefined {
    return this.#argo
  }

  // -------------------------------------------------------------------------------------------
  // faults

  /** Every exec to a pod on `node` goes half-open (open sessions freeze too); the API stays healthy. */
  partition(node: string): void {
    this.faults.addPartition(node)
    for (const session of this.#execSessions) if (session.info.node === node) session.freeze()
  }

  heal(node: string): void {
    this.faults.removePartition(node)
  }

  /**
   * Every continue token handed out so far expires: the next page asked with one answers 410
   * Expired "The provided continue parameter is too old ...", as after compaction on a real
   * server. Lists started afterwards page normally.
   */
  expireContinueTokens(): void {
    if (this.#rest.continueTokens !== undefined) this.#rest.continueTokens.epoch += 1
  }

  #applyWatchFault(fault: AppliedWatchFault, resource: SimResource | undefined, namespace: string | undefined): void {
    for (const w of [...this.#watches]) {
      if ((resource === undefined || w.resource === resource) && (namespace === undefined || w.namespace === namespace)) {
        w.apply(fault)
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // accounting

  stats(): SimStats {
    return {
      requests: { ...this.#requests },
      execOpen: this.#execOpen,
      execTotal: this.#execTotal,
      watchOpen: this.#watches.size,
      requestsAborted: this.#aborted
    }
  }

  /** Resolves once `predicate()` holds (polled every 5 ms); rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs
      const poll = () => {
        let ok = false
        try {
          ok = predicate()
        } catch (e) {
          return reject(e)
        }
        if (ok) return resolve()
        if (Date.now() >= deadline) return reject(new Error(`SimCluster.waitFor: condition not met within ${timeoutMs} ms`))
        setTimeout(poll, 5)
      }
      poll()
    })
  }

  #begin(verb: string, resource: string, r: Route, req: IncomingMessage): RequestLogEntry {
    const key = `${verb} ${resource}`
    const bearer = this.#token === undefined ? /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] : undefined
    this.#requests[key] = (this.#requests[key] ?? 0) + 1
    const entry: RequestLogEntry = {
      at: Date.now(),
      verb,
      resource,
      ...(r.type === "resource" && r.namespace !== undefined ? { namespace: r.namespace } : {}),
      ...(r.type === "resource" && r.name !== undefined ? { name: r.name } : {}),
      status: 0,
      aborted: false,
      ...(bearer !== undefined ? { client: bearer } : {})
    }
    this.#log.push(entry)
    if (this.#log.length > this.#requestLogLimit) this.#log.splice(0, this.#log.length - this.#requestLogLimit)
    return entry
  }

  #end(entry: RequestLogEntry, aborted: boolean): void {
    if (entry.endedAt !== undefined) return
    entry.endedAt = Date.now()
    entry.aborted = aborted && this.#closing === undefined
    if (entry.aborted) {
      this.#aborted += 1
      this.events.emit("request-aborted", entry)
    }
    this.events.emit("request", entry)
  }

  #authorized(req: IncomingMessage): boolean {
    return this.#token === undefined || req.headers.authorization === `Bearer ${this.#token}`
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sim.local")
    const r = route(url.pathname, { workflowsCrd: this.#workflowsCrd })
    const query = url.searchParams
    const watch = isTrue(query.get("watch"))
    const method = req.method ?? "GET"
    const verb = verbOf(method, r, watch)
    const entry = this.#begin(verb, resourceOf(r), r, req)
    res.on("close", () => {
      entry.status = res.headersSent ? res.statusCode : entry.status
      this.#end(entry, !res.writableFinished)
    })
    req.on("error", () => {})
    try {
      if (!this.#authorized(req)) {
        throw new StatusError(401, "Unauthorized", "Unauthorized")
      }
      const plan = this.faults.takeApi({
        verb,
        resource: resourceOf(r),
        namespace: r.type === "resource" ? r.namespace : undefined,
        name: r.type === "resource" ? r.name : undefined
      })
      if (plan.latencyMs > 0) {
        await delay(plan.latencyMs, () => res.destroyed || this.#closing !== undefined)
        if (res.destroyed) return
      }
      if (plan.status !== undefined) throw faultStatus(plan.status, verb, r)
      await this.#dispatch(req, res, r, verb, query, method)
    } catch (e) {
      sendError(res, e)
    }
    // An open watch has its status (200) from the moment its headers went out.
    if (res.headersSent && entry.status === 0) entry.status = res.statusCode
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse, r: Route, verb: string, query: URLSearchParams, method: string): Promise<void> {
    switch (r.type) {
      case "health":
        res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" })
        res.end("ok")
        return
      case "discovery": {
        const doc = method === "GET"
          ? discoveryDocument(r.path, { workflowsCrd: this.#workflowsCrd, serverAddress: new URL(this.url).host })
          : undefined
        if (doc === undefined) throw serverNotFound()
        sendJson(res, 200, doc)
        return
      }
      case "notFound":
      case "unknownSubresource":
        throw serverNotFound()
      case "resource":
        break
    }
    const { def, namespace, name, subresource } = r
    const table = this.#tableMode(req, query)
    const ns = namespace ?? ""
    switch (verb) {
      case "list":
        sendJson(res, 200, rest.list(this.#rest, def, namespace, query, table))
        return
      case "watch":
        this.#startWatch(req, res, def, namespace, name, query)
        return
      case "get":
        sendJson(res, 200, rest.get(this.#rest, def, ns, name ?? "", table))
        return
      case "exec":
        throw upgradeRequired()
    }
    if (namespace === undefined) {
      throw new StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    }
    const body = await readBody(req)
    const sub = subresource === "status" ? "status" : undefined
    switch (verb) {
      case "create":
        if (name !== undefined) throw new StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        sendJson(res, 201, rest.create(this.#rest, def, ns, parseJsonBody(body, def.kind)))
        return
      case "update":
        sendJson(res, 200, rest.update(this.#rest, def, ns, name ?? "", parseJsonBody(body, def.kind), sub))
        return
      case "patch":
        sendJson(res, 200, rest.patch(this.#rest, def, ns, name ?? "", mediaType(req.headers["content-type"]), parseJsonBody(body, def.kind), sub))
        return
      case "delete":
        sendJson(res, 200, rest.remove(this.#rest, def, ns, name ?? "", rest.parseDeleteOptions(query, parseJsonBody(body, "DeleteOptions"))))
        return
      case "deletecollection":
        sendJson(res, 200, rest.removeCollection(this.#rest, def, namespace, query, rest.parseDeleteOptions(query, parseJsonBody(body, "DeleteOptions"))))
        return
      default:
        throw new StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    }
  }

  #tableMode(req: IncomingMessage, query: URLSearchParams): IncludeObject | undefined {
    if (!wantsTable(req.headers.accept)) return undefined
    const include = query.get("includeObject")
    return include === "None" || include === "Object" ? include : "Metadata"
  }

  #startWatch(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    namespace: string | undefined,
    name: string | undefined,
    query: URLSearchParams
  ): void {
    if (name !== undefined) {
      const field = query.get("fieldSelector")
      query.set("fieldSelector", `metadata.name=${name}${field ? `,${field}` : ""}`)
    }
    const selection = rest.parseSelection(def, namespace, query)
    const timeout = query.get("timeoutSeconds")
    const session = WatchSession.start(
      this.#store,
      req,
      res,
      {
        def,
        selection,
        resourceVersion: query.get("resourceVersion") ?? undefined,
        allowBookmarks: isTrue(query.get("allowWatchBookmarks")),
        timeoutSeconds: timeout === null ? undefined : Number(timeout),
        bookmarkIntervalMs: this.#bookmarkIntervalMs,
        pendingFault: this.faults.takeWatch(def.plural, namespace)
      },
      (s) => {
        if (this.#watches.delete(s)) this.events.emit("watch-close", { resource: s.resource, namespace: s.namespace })
      }
    )
    if (!res.destroyed && !res.writableEnded) {
      this.#watches.add(session)
      this.events.emit("watch-open", { resource: session.resource, namespace: session.namespace })
    }
  }

  async #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => {})
    const url = new URL(req.url ?? "/", "http://sim.local")
    const r = route(url.pathname, { workflowsCrd: this.#workflowsCrd })
    const method = req.method ?? "GET"
    const verb = verbOf(method, r, false)
    const entry = this.#begin(verb, resourceOf(r), r, req)
    const isExec = r.type === "resource" && r.subresource === "exec" && r.namespace !== undefined && r.name !== undefined
    let completed = false
    if (isExec) {
      this.#execTotal += 1
      this.#execOpen += 1
      entry.container = url.searchParams.get("container") ?? undefined
      entry.command = url.searchParams.getAll("command")
    }
    socket.once("close", () => {
      if (isExec) this.#execOpen -= 1
      this.#end(entry, !completed)
    })
    const answer = (e: StatusError) => {
      completed = true
      entry.status = e.code
      writeRawStatus(socket, e.toStatus(), e.headers)
    }
    if (this.#closing !== undefined) return void socket.destroy()
    if (!this.#authorized(req)) return answer(new StatusError(401, "Unauthorized", "Unauthorized"))
    if (!isExec || r.type !== "resource") {
      return answer(r.type === "resource" ? new StatusError(400, "BadRequest", "Upgrade request required") : serverNotFound())
    }
    const plan = this.faults.takeApi({ verb, resource: resourceOf(r), namespace: r.namespace, name: r.name })
    if (plan.latencyMs > 0) {
      await delay(plan.latencyMs, () => socket.destroyed || this.#closing !== undefined)
      if (socket.destroyed) return
    }
    if (plan.status !== undefined) return answer(faultStatus(plan.status, verb, r))

    const env: ExecEnv = {
      wss: this.#wss,
      processes: this.#processes,
      faults: this.faults,
      readPod: (namespace, name) => this.#store.get("pods", namespace, name) as PodJson | undefined,
      sessions: this.#execSessions
    }
    handleExecUpgrade(env, req, socket, head, r.namespace ?? "", r.name ?? "", url.searchParams, {
      resolved: (info: ExecInfo) => {
        entry.container = info.container
        this.events.emit("exec-open", eventInfo(info))
      },
      answered: (status: number) => {
        entry.status = status
        if (status !== 101) completed = true
      },
      completed: () => {
        completed = true
      },
      serverClosed: () => {
        completed = true
      },
      closed: (info: ExecCloseInfo) => {
        this.events.emit("exec-close", { ...eventInfo(info), exitCode: info.exitCode, fault: info.fault })
      }
    })
  }

  // -------------------------------------------------------------------------------------------
  // restart

  /**
   * An API server restart: drops every connection (watches, execs, keep-alive and pending
   * requests), closes the listener, stays down for `downMs` (default 0), then listens again on the
   * same address. Everything in memory is kept: objects, resourceVersions and watch history (so a
   * watch can resume where it was), faults, partitions and container processes (the kubelets keep
   * running). A second call while one is in progress returns the same promise.
   */
  restart(options: { readonly downMs?: number } = {}): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new Error("SimCluster.restart: the simulator is closed"))
    if (this.#restarting !== undefined) return this.#restarting
    const { port } = new URL(this.url)
    this.#restarting = (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
      this.#dropConnections()
      await closed
      if ((options.downMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, options.downMs))
      for (let attempt = 0;; attempt++) {
        // close() was called meanwhile: stay down.
        if (this.#closing !== undefined) return
        try {
          await new Promise<void>((resolve, reject) => {
            this.#server.once("error", reject)
            this.#server.listen(Number(port), "127.0.0.1", () => {
              this.#server.off("error", reject)
              resolve()
            })
          })
          return
        } catch (e) {
          if (attempt >= 50 || (e as { code?: unknown }).code !== "EADDRINUSE") throw e
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      }
    })().finally(() => {
      this.#restarting = undefined
    })
    return this.#restarting
  }

  #dropConnections(): void {
    for (const w of this.#watches) w.destroy()
    for (const s of this.#execSessions) s.destroy()
    for (const s of this.#sockets) s.destroy()
    this.#server.closeAllConnections?.()
  }

  // -------------------------------------------------------------------------------------------
  // shutdown

  /** Destroys every open socket (exec, watch, keep-alive) and closes the server. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    const restarting = this.#restarting
    this.#closing = (async () => {
      if (restarting !== undefined) await restarting.catch(() => undefined)
      this.#argo?.stop()
      this.#processes.close()
      this.#dropConnections()
      this.#wss.close()
      await new Promise<void>((resolve) => {
        this.#server.close(() => resolve())
        this.#server.closeAllConnections?.()
      })
      for (const dir of this.#tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
    })()
    return this.#closing
  }
}

const eventInfo = (info: ExecInfo): ExecEventInfo => ({
  namespace: info.namespace,
  pod: info.pod,
  container: info.container,
  node: info.node,
  command: info.command
})

const faultStatus = (fault: Extract<ApiFault, { kind: "status" }>, verb: string, r: Route): StatusError => {
  const retry = fault.retryAfterSeconds ?? 1
  const name = r.type === "resource" ? r.name ?? "" : ""
  const def = r.type === "resource" ? r.def : pods
  const label = def.group === "" ? def.plural : `${def.plural}.${def.group}`
  const details = { name, ...(def.group === "" ? {} : { group: def.group }), kind: def.plural }
  const retryHeaders = { "Retry-After": String(retry) }
  const m = fault.message
  switch (fault.code) {
    case 400:
      return new StatusError(400, "BadRequest", m ?? "the server rejected our request for an unknown reason")
    case 401:
      return new StatusError(401, "Unauthorized", m ?? "Unauthorized")
    case 403:
      return new StatusError(
        403,
        "Forbidden",
        m ?? `${label} "${name}" is forbidden: User "system:serviceaccount:argo:pod-cleanup" cannot ${verb} resource "${def.plural}" in API group "${def.group}"`,
        details
      )
    case 404:
      return new StatusError(404, "NotFound", m ?? `${label} "${name}" not found`, details)
    case 409:
      return new StatusError(
        409,
        "Conflict",
        m ?? `Operation cannot be fulfilled on ${label} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        details
      )
    case 410:
      return new StatusError(410, "Expired", m ?? "too old resource version")
    case 422:
      return new StatusError(422, "Invalid", m ?? `${def.kind} "${name}" is invalid`, details)
    case 429:
      return new StatusError(429, "TooManyRequests", m ?? "Too many requests, please try again later.", { retryAfterSeconds: retry }, retryHeaders)
    case 500:
      return new StatusError(500, "InternalError", m ?? `Internal error occurred: simulated failure of ${verb}`)
    case 502:
      return new StatusError(502, "InternalError", m ?? "Bad Gateway")
    case 503:
      return new StatusError(503, "ServiceUnavailable", m ?? "The server is currently unable to handle the request", { retryAfterSeconds: retry }, retryHeaders)
    case 504:
      return new StatusError(504, "Timeout", m ?? `Timeout: request did not complete within requested timeout`, { retryAfterSeconds: retry })
  }
}
