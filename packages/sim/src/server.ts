// The simulated API server's wire side: the loopback listener (HTTP or HTTPS with the test-only
// certificate in ./tls), routing of every request and exec upgrade to the REST, watch and exec
// handlers, and the accounting of both (request log, counts by verb, open watches and execs,
// aborted requests). It owns every socket it accepts; `dropConnections` and `close` destroy them.

import type { EventEmitter } from "node:events"
import { readFileSync } from "node:fs"
import { createServer as createHttpServer } from "node:http"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import { discoveryDocument } from "./discovery.ts"
import { ExecSession, handleExecUpgrade, upgradeRequired } from "./exec.ts"
import type { ExecCloseInfo, ExecEnv, ExecInfo } from "./exec.ts"
import { faultStatus } from "./faults.ts"
import type { AppliedWatchFault, Faults, SimResource } from "./faults.ts"
import { isTrue, listenLoopback, mediaType, parseJsonBody, readBody, sendError, sendJson, writeRawStatus } from "./http.ts"
import type { PodJson } from "./pods.ts"
import type { Processes } from "./processes.ts"
import type { ResourceDef } from "./resources.ts"
import * as rest from "./rest.ts"
import type { RestContext } from "./rest.ts"
import { resourceOf, route, verbOf } from "./routes.ts"
import type { Route } from "./routes.ts"
import { sleep } from "./sleep.ts"
import { serverNotFound, StatusError } from "./status.ts"
import type { Store } from "./store.ts"
import { toPartialMetadata, wantsPartialMetadata, wantsTable } from "./table.ts"
import type { IncludeObject } from "./table.ts"
import { WatchSession } from "./watch.ts"

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

export interface ExecEventInfo {
  readonly namespace: string
  readonly pod: string
  readonly container: string
  readonly node: string
  readonly command: ReadonlyArray<string>
}

/** What the requests are served from: the simulator's objects, processes and fault rules. */
export interface ServerBackend {
  readonly store: Store
  readonly rest: RestContext
  readonly processes: Processes
  readonly faults: Faults
  /** Where "request", "request-aborted", "watch-open/close" and "exec-open/close" are emitted. */
  readonly events: EventEmitter
}

export interface ServerOptions {
  /** When set, every request needs `Authorization: Bearer <token>` (else 401). */
  readonly token: string | undefined
  readonly bookmarkIntervalMs: number
  readonly workflowsCrd: boolean
  readonly requestLogLimit: number
}

/** A listener on 127.0.0.1, not yet serving anything. */
export interface Listener {
  readonly server: Server
  readonly url: string
  /** The CA that signed the certificate (HTTPS only). */
  readonly caPem: string | undefined
}

const tlsFile = (name: string): string => readFileSync(new URL(`./tls/${name}`, import.meta.url), "utf8")

/** Listens on 127.0.0.1:`port` (0: an ephemeral one), over HTTPS with the test certificate when `tls`. */
export const listen = async (options: { readonly port: number; readonly tls: boolean }): Promise<Listener> => {
  const caPem = options.tls ? tlsFile("ca.pem") : undefined
  const server: Server = options.tls
    ? createHttpsServer({ key: tlsFile("server-key.pem"), cert: tlsFile("server.pem"), requestTimeout: 0 }) as unknown as Server
    : createHttpServer({ requestTimeout: 0 })
  server.keepAliveTimeout = 5_000
  const port = await listenLoopback(server, options.port)
  return { server, url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`, caPem }
}

const eventInfo = (info: ExecInfo): ExecEventInfo => ({
  namespace: info.namespace,
  pod: info.pod,
  container: info.container,
  node: info.node,
  command: info.command
})

/** Aborts when `emitter` emits "close" (a response or socket that went away). */
const closeSignal = (emitter: { once(event: "close", listener: () => void): unknown }): AbortSignal => {
  const controller = new AbortController()
  emitter.once("close", () => controller.abort())
  return controller.signal
}

export class ApiServer {
  readonly url: string
  readonly requestLog: ReadonlyArray<RequestLogEntry>

  readonly #server: Server
  readonly #wss: WebSocketServer
  readonly #backend: ServerBackend
  readonly #options: ServerOptions
  readonly #log: Array<RequestLogEntry> = []
  readonly #requests: Record<string, number> = {}
  readonly #sockets = new Set<Duplex>()
  readonly #watches = new Set<WatchSession>()
  readonly #execSessions = new Set<ExecSession>()
  /** Aborted once the simulator closes: nothing new is served, and pending waits end. */
  readonly #closing = new AbortController()
  #execOpen = 0
  #execTotal = 0
  #aborted = 0

  constructor(listener: Listener, backend: ServerBackend, options: ServerOptions) {
    this.#server = listener.server
    this.url = listener.url
    this.#backend = backend
    this.#options = options
    this.requestLog = this.#log
    this.#wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false })
    const server = listener.server
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

  #begin(verb: string, resource: string, r: Route, req: IncomingMessage): RequestLogEntry {
    const key = `${verb} ${resource}`
    const bearer = this.#options.token === undefined ? /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] : undefined
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
    if (this.#log.length > this.#options.requestLogLimit) this.#log.splice(0, this.#log.length - this.#options.requestLogLimit)
    return entry
  }

  #end(entry: RequestLogEntry, aborted: boolean): void {
    if (entry.endedAt !== undefined) return
    entry.endedAt = Date.now()
    entry.aborted = aborted && !this.#closing.signal.aborted
    if (entry.aborted) {
      this.#aborted += 1
      this.#backend.events.emit("request-aborted", entry)
    }
    this.#backend.events.emit("request", entry)
  }

  #authorized(req: IncomingMessage): boolean {
    return this.#options.token === undefined || req.headers.authorization === `Bearer ${this.#options.token}`
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sim.local")
    const r = route(url.pathname, { workflowsCrd: this.#options.workflowsCrd })
    const query = url.searchParams
    const watch = isTrue(query.get("watch"))
    const method = req.method ?? "GET"
    const verb = verbOf(method, r, watch)
    const entry = this.#begin(verb, resourceOf(r), r, req)
    const gone = closeSignal(res)
    res.on("close", () => {
      entry.status = res.headersSent ? res.statusCode : entry.status
      this.#end(entry, !res.writableFinished)
    })
    req.on("error", () => {})
    try {
      if (!this.#authorized(req)) {
        throw new StatusError(401, "Unauthorized", "Unauthorized")
      }
      const plan = this.#backend.faults.takeApi({
        verb,
        resource: resourceOf(r),
        namespace: r.type === "resource" ? r.namespace : undefined,
        name: r.type === "resource" ? r.name : undefined
      })
      if (plan.latencyMs > 0) {
        await sleep(plan.latencyMs, AbortSignal.any([gone, this.#closing.signal]))
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
          ? discoveryDocument(r.path, { workflowsCrd: this.#options.workflowsCrd, serverAddress: new URL(this.url).host })
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
    const ctx = this.#backend.rest
    const table = this.#tableMode(req, query)
    const ns = namespace ?? ""
    switch (verb) {
      case "list":
        sendJson(res, 200, rest.list(ctx, def, namespace, query, table))
        return
      case "watch":
        this.#startWatch(req, res, def, namespace, name, query)
        return
      case "get": {
        const object = rest.get(ctx, def, ns, name ?? "", table)
        sendJson(res, 200, table === undefined && wantsPartialMetadata(req.headers.accept) ? toPartialMetadata(object as { metadata?: unknown }) : object)
        return
      }
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
        sendJson(res, 201, rest.create(ctx, def, ns, parseJsonBody(body, def.kind)))
        return
      case "update":
        sendJson(res, 200, rest.update(ctx, def, ns, name ?? "", parseJsonBody(body, def.kind), sub))
        return
      case "patch":
        sendJson(res, 200, rest.patch(ctx, def, ns, name ?? "", mediaType(req.headers["content-type"]), parseJsonBody(body, def.kind), sub))
        return
      case "delete":
        sendJson(res, 200, rest.remove(ctx, def, ns, name ?? "", rest.parseDeleteOptions(query, parseJsonBody(body, "DeleteOptions"))))
        return
      case "deletecollection":
        sendJson(res, 200, rest.removeCollection(ctx, def, namespace, query, rest.parseDeleteOptions(query, parseJsonBody(body, "DeleteOptions"))))
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
    const events = this.#backend.events
    const session = WatchSession.start(
      this.#backend.store,
      req,
      res,
      {
        def,
        selection,
        resourceVersion: query.get("resourceVersion") ?? undefined,
        allowBookmarks: isTrue(query.get("allowWatchBookmarks")),
        timeoutSeconds: timeout === null ? undefined : Number(timeout),
        bookmarkIntervalMs: this.#options.bookmarkIntervalMs,
        pendingFault: this.#backend.faults.takeWatch(def.plural, namespace)
      },
      (s) => {
        if (this.#watches.delete(s)) events.emit("watch-close", { resource: s.resource, namespace: s.namespace })
      }
    )
    if (!res.destroyed && !res.writableEnded) {
      this.#watches.add(session)
      events.emit("watch-open", { resource: session.resource, namespace: session.namespace })
    }
  }

  // -------------------------------------------------------------------------------------------
  // exec (WebSocket upgrade)

  async #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => {})
    const url = new URL(req.url ?? "/", "http://sim.local")
    const r = route(url.pathname, { workflowsCrd: this.#options.workflowsCrd })
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
    const gone = closeSignal(socket)
    socket.once("close", () => {
      if (isExec) this.#execOpen -= 1
      this.#end(entry, !completed)
    })
    const answer = (e: StatusError) => {
      completed = true
      entry.status = e.code
      writeRawStatus(socket, e.toStatus(), e.headers)
    }
    if (this.#closing.signal.aborted) return void socket.destroy()
    if (!this.#authorized(req)) return answer(new StatusError(401, "Unauthorized", "Unauthorized"))
    if (!isExec || r.type !== "resource") {
      return answer(r.type === "resource" ? new StatusError(400, "BadRequest", "Upgrade request required") : serverNotFound())
    }
    const plan = this.#backend.faults.takeApi({ verb, resource: resourceOf(r), namespace: r.namespace, name: r.name })
    if (plan.latencyMs > 0) {
      await sleep(plan.latencyMs, AbortSignal.any([gone, this.#closing.signal]))
      if (socket.destroyed) return
    }
    if (plan.status !== undefined) return answer(faultStatus(plan.status, verb, r))

    const { store, processes, faults, events } = this.#backend
    const env: ExecEnv = {
      wss: this.#wss,
      processes,
      faults,
      readPod: (namespace, name) => store.peek("pods", namespace, name) as PodJson | undefined,
      sessions: this.#execSessions
    }
    handleExecUpgrade(env, req, socket, head, r.namespace ?? "", r.name ?? "", url.searchParams, {
      resolved: (info: ExecInfo) => {
        entry.container = info.container
        events.emit("exec-open", eventInfo(info))
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
        events.emit("exec-close", { ...eventInfo(info), exitCode: info.exitCode, fault: info.fault })
      }
    })
  }

  // -------------------------------------------------------------------------------------------
  // faults that act on open sessions

  /** Applies a watch fault to every open watch of `resource` in `namespace` (undefined: any). */
  applyWatchFault(fault: AppliedWatchFault, resource: SimResource | undefined, namespace: string | undefined): void {
    for (const w of [...this.#watches]) {
      if ((resource === undefined || w.resource === resource) && (namespace === undefined || w.namespace === namespace)) {
        w.apply(fault)
      }
    }
  }

  /** Freezes every open exec session to a pod on `node` (it goes half-open). */
  freezeExecs(node: string): void {
    for (const session of this.#execSessions) if (session.info.node === node) session.freeze()
  }

  // -------------------------------------------------------------------------------------------
  // lifecycle

  /** Destroys every open connection: watches, exec sessions, keep-alive and pending requests. */
  dropConnections(): void {
    for (const w of this.#watches) w.destroy()
    for (const s of this.#execSessions) s.destroy()
    for (const s of this.#sockets) s.destroy()
    this.#server.closeAllConnections?.()
  }

  /** Stops listening and drops every connection; resolves once the listener is closed. */
  pause(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.dropConnections()
    return closed
  }

  /**
   * Listens again on the same address, retrying while the port is still taken (up to about a
   * second); does nothing once `close()` was called.
   */
  async resume(): Promise<void> {
    const port = Number(new URL(this.url).port)
    for (let attempt = 0;; attempt++) {
      if (this.#closing.signal.aborted) return
      try {
        await new Promise<void>((resolve, reject) => {
          this.#server.once("error", reject)
          this.#server.listen(port, "127.0.0.1", () => {
            this.#server.off("error", reject)
            resolve()
          })
        })
        return
      } catch (e) {
        if (attempt >= 50 || (e as { code?: unknown }).code !== "EADDRINUSE") throw e
        await sleep(20, this.#closing.signal)
      }
    }
  }

  /**
   * From now on nothing new is served, pending fault latencies end, and what gets cut off is not
   * counted as aborted. `close()` does this first; the facade calls it as soon as it starts closing.
   */
  stopServing(): void {
    this.#closing.abort()
  }

  /** Stops serving, destroys every open socket and closes the listener. */
  async close(): Promise<void> {
    this.stopServing()
    this.dropConnections()
    this.#wss.close()
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve())
      this.#server.closeAllConnections?.()
    })
  }
}
