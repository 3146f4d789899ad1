// A simulated Kubernetes API server on loopback: pods (with a process model behind exec), leases
// and Argo workflows, over real HTTP(S) and WebSocket, with injectable faults. What a client sees on
// the wire is what a real API server sends; tests drive it through the real client libraries.
// Everything is in memory; time is real time. This is the facade: starting, closing and restarting
// the server, the objects, the faults and the accounting; server.ts serves the wire.

import { EventEmitter } from "node:events"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { V1Pod } from "@kubernetes/client-node"
import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js"
import { ArgoModel } from "./argo.ts"
import type { ArgoHost, ArgoModelOptions, ArgoWorkflowJson } from "./argo.ts"
import { readStoredNodes, storeNodes } from "./argoNodes.ts"
import type { ArgoNodeMap, NodeStatusFormat } from "./argoNodes.ts"
import { Faults } from "./faults.ts"
import { kubeconfigYaml } from "./kubeconfig.ts"
import { buildPod } from "./pods.ts"
import type { ContainerStateName, PodJson, SimPodInit } from "./pods.ts"
import { Processes } from "./processes.ts"
import type { ProcessHost } from "./processes.ts"
import { pods, workflows } from "./resources.ts"
import * as rest from "./rest.ts"
import type { RestContext } from "./rest.ts"
import { ApiServer, listen } from "./server.ts"
import type { Listener, RequestLogEntry, SimStats } from "./server.ts"
import { copy, Store } from "./store.ts"
import type { KubeObject } from "./store.ts"
import { buildWorkflow, withPhase } from "./workflows.ts"
import type { SimWorkflow, SimWorkflowInit } from "./workflows.ts"

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
  /**
   * Deep-freeze every stored object, so that code changing one in place (rather than storing a
   * changed copy) throws instead of corrupting the store, its history or a watcher's event. Costs
   * CPU on every write. Default: on when the environment has SIM_FREEZE_OBJECTS=1 (the test suites
   * set it, vitest.config.ts), else off.
   */
  readonly freezeObjects?: boolean
  /** false: the Argo Workflow CRD is absent (its paths answer 404). Default true. */
  readonly workflowsCrd?: boolean
  /** Entries kept in `requestLog` (oldest dropped). Default 100 000. */
  readonly requestLogLimit?: number
  /** Run a model of Argo's workflow-controller from the start (see `startArgo`). Default false: off. */
  readonly argo?: ArgoModelOptions | false
}

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

  readonly #server: ApiServer
  readonly #store: Store
  readonly #processes: Processes
  readonly #token: string | undefined
  readonly #tempDirs: Array<string> = []
  readonly #rest: RestContext
  /** Node storage format of each workflow, by uid (absent: "nodes"). */
  readonly #nodeFormats = new Map<string, NodeStatusFormat>()
  /** Offloaded node maps (Argo's database), by workflow uid. */
  readonly #offloaded = new Map<string, ArgoNodeMap>()
  #argo: ArgoModel | undefined
  #closing: Promise<void> | undefined
  #restarting: Promise<void> | undefined

  private constructor(listener: Listener, options: SimClusterOptions) {
    this.url = listener.url
    this.caPem = listener.caPem
    this.#token = options.token
    this.events.setMaxListeners(0)
    this.#store = new Store({
      historyLimit: options.historyLimit,
      freeze: options.freezeObjects ?? process.env["SIM_FREEZE_OBJECTS"] === "1"
    })
    const host: ProcessHost = {
      readPod: (namespace, name) => this.#store.peek("pods", namespace, name) as PodJson | undefined,
      writePod: (namespace, name, uid, mutate) => {
        const previous = this.#store.peek("pods", namespace, name)
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
    this.faults = new Faults((fault, resource, namespace) => this.#server.applyWatchFault(fault, resource, namespace))
    this.#server = new ApiServer(
      listener,
      { store: this.#store, rest: this.#rest, processes: this.#processes, faults: this.faults, events: this.events },
      {
        token: options.token,
        bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
        workflowsCrd: options.workflowsCrd ?? true,
        requestLogLimit: options.requestLogLimit ?? 100_000
      }
    )
    this.requestLog = this.#server.requestLog
  }

  /** Starts a simulated API server on 127.0.0.1. */
  static async start(options: SimClusterOptions = {}): Promise<SimCluster> {
    const listener = await listen({ port: options.port ?? 0, tls: options.tls === true })
    const sim = new SimCluster(listener, options)
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
    const wf = buildWorkflow(init)
    const uid = wf.metadata.uid ?? ""
    const format = init.nodeStatus ?? "nodes"
    if (format !== "nodes") this.#nodeFormats.set(uid, format)
    if (format === "offloaded") this.#offloaded.set(uid, copy(init.nodes ?? {}))
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
    const wf = this.#store.peek("workflows", namespace, name) as SimWorkflow | undefined
    if (wf === undefined) return undefined
    try {
      return this.#readNodes(wf)
    } catch {
      return undefined
    }
  }

  /** How the workflow stores its node map ("nodes" for an unknown workflow). */
  nodeStatusFormat(namespace: string, name: string): NodeStatusFormat {
    const uid = this.#store.peek("workflows", namespace, name)?.metadata.uid
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
    return rest.commit(this.#rest, workflows, previous, withPhase(previous, phase), { trusted: true }) as SimWorkflow
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
      peekWorkflow: (namespace, name) => this.#store.peek("workflows", namespace, name) as SimWorkflow | undefined,
      readNodes: (wf) => this.#readNodes(wf, true),
      writeWorkflow: (next, nodes) => {
        const namespace = next.metadata.namespace ?? ""
        const previous = this.#store.peek("workflows", namespace, next.metadata.name)
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
    this.#server.freezeExecs(node)
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

  // -------------------------------------------------------------------------------------------
  // accounting

  stats(): SimStats {
    return this.#server.stats()
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
    this.#restarting = (async () => {
      await this.#server.pause()
      if ((options.downMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, options.downMs))
      // resume() does nothing once close() was called meanwhile: the server stays down.
      await this.#server.resume()
    })().finally(() => {
      this.#restarting = undefined
    })
    return this.#restarting
  }

  // -------------------------------------------------------------------------------------------
  // shutdown

  /** Destroys every open socket (exec, watch, keep-alive) and closes the server. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    const restarting = this.#restarting
    this.#server.stopServing()
    this.#closing = (async () => {
      if (restarting !== undefined) await restarting.catch(() => undefined)
      this.#argo?.stop()
      this.#processes.close()
      await this.#server.close()
      for (const dir of this.#tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
    })()
    return this.#closing
  }
}
