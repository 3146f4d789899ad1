// The pods/exec endpoint, spoken like an API server proxying to a kubelet over WebSocket
// (remotecommand v5/v4/..: binary frames, first byte = channel). Pre-upgrade errors are HTTP Status
// responses; after the upgrade the server sends one empty frame, the command's output, the status
// JSON on channel 3, then a normal close. Exec faults act on the raw socket: never answering,
// going silent after the upgrade (half-open), resetting the TCP connection, answering late.

import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import type { Socket } from "node:net"
import type { WebSocket, WebSocketServer } from "ws"
import type { ExecPlan, Faults } from "./faults.ts"
import { writeRawStatus, isTrue } from "./http.ts"
import type { CommandResult, Processes, ProcessTarget } from "./processes.ts"
import type { PodJson } from "./pods.ts"
import { stateOf } from "./pods.ts"
import { badRequest, notFound, StatusError } from "./status.ts"
import { pods } from "./resources.ts"
import { sleep } from "./sleep.ts"

export const channelProtocols = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io"
] as const

const STDOUT = 1
const STDERR = 2
const STATUS = 3

/** Picks the newest channel protocol the client offers (kubectl ≥1.30 offers only v5). */
export const negotiate = (offered: ReadonlySet<string>): string | undefined =>
  channelProtocols.find((p) => offered.has(p))

export interface ExecInfo {
  readonly namespace: string
  readonly pod: string
  readonly container: string
  readonly node: string
  readonly command: ReadonlyArray<string>
}

export interface ExecCloseInfo extends ExecInfo {
  /** The exit code reported to the client, when a status was sent. */
  readonly exitCode: number | undefined
  /** The connection fault that was applied, if any. */
  readonly fault: string | undefined
}

/** What the exec endpoint reports back to the cluster (accounting, request log, events). */
export interface ExecHooks {
  resolved(info: ExecInfo): void
  /** HTTP status of the upgrade answer (101, or the error code). */
  answered(status: number): void
  /** The status frame went out: the exec completed as far as the client is concerned. */
  completed(exitCode: number): void
  /** The server ended the connection on purpose (a reset fault). */
  serverClosed(): void
  /** The connection closed (after `resolved`). */
  closed(info: ExecCloseInfo): void
}

export interface ExecEnv {
  readonly wss: WebSocketServer
  readonly processes: Processes
  readonly faults: Faults
  readPod(namespace: string, name: string): PodJson | undefined
  readonly sessions: Set<ExecSession>
}

/** `command terminated with non-zero exit code: ...` as the kubelet words it (v4+ status frame). */
export const execStatus = (command: ReadonlyArray<string>, exitCode: number) =>
  exitCode === 0
    ? { metadata: {}, status: "Success" }
    : {
      metadata: {},
      status: "Failure",
      message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${exitCode}`,
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] }
    }

const frame = (channel: number, data: string | Buffer = ""): Buffer =>
  Buffer.concat([Buffer.from([channel]), typeof data === "string" ? Buffer.from(data, "utf8") : data])

/** Resets the TCP connection (RST), through TLS when there is TLS. */
export const resetSocket = (socket: Duplex): void => {
  const candidates = [socket, (socket as unknown as { _parent?: Duplex })._parent]
  for (const s of candidates) {
    const net = s as Socket | undefined
    if (net !== undefined && typeof net.resetAndDestroy === "function") {
      try {
        net.resetAndDestroy()
        socket.destroy()
        return
      } catch {
        // a TLS socket's handle is not a TCP handle: try its parent
      }
    }
  }
  socket.destroy()
}

/** One upgraded exec connection. */
export class ExecSession {
  readonly info: ExecInfo
  readonly #socket: Duplex
  readonly #ws: WebSocket
  readonly #abort = new AbortController()
  #frozen = false

  constructor(info: ExecInfo, socket: Duplex, ws: WebSocket) {
    this.info = info
    this.#socket = socket
    this.#ws = ws
  }

  get signal(): AbortSignal {
    return this.#abort.signal
  }

  get frozen(): boolean {
    return this.#frozen
  }

  /** Half-open from now on: read and answer nothing (pings get no pong), send nothing. */
  freeze(): void {
    if (this.#frozen) return
    this.#frozen = true
    this.#socket.removeAllListeners("data")
    this.#socket.on("data", () => {})
    this.#socket.on("end", () => this.#socket.destroy())
    this.#socket.resume()
  }

  send(data: Buffer): boolean {
    if (this.#frozen || this.#abort.signal.aborted || this.#ws.readyState !== this.#ws.OPEN) return false
    this.#ws.send(data, { binary: true })
    return true
  }

  close(): void {
    if (this.#frozen || this.#ws.readyState !== this.#ws.OPEN) return
    this.#ws.close(1000)
  }

  reset(): void {
    resetSocket(this.#socket)
  }

  /** @internal the socket is gone */
  ended(): void {
    this.#abort.abort()
  }

  destroy(): void {
    this.#socket.destroy()
  }
}

const forbidden = (namespace: string, name: string) =>
  new StatusError(
    403,
    "Forbidden",
    `pods "${name}" is forbidden: User "system:serviceaccount:${namespace}:pod-cleanup" cannot create resource "pods/exec" in API group "" in the namespace "${namespace}"`,
    { name, kind: "pods" }
  )

const rejection = (fault: Extract<ExecPlan["connection"], { kind: "reject" }>, namespace: string, name: string): StatusError => {
  switch (fault.code) {
    case 403:
      return fault.message === undefined ? forbidden(namespace, name) : new StatusError(403, "Forbidden", fault.message, { name, kind: "pods" })
    case 404:
      return fault.message === undefined ? notFound(pods, name) : new StatusError(404, "NotFound", fault.message, { name, kind: "pods" })
    case 400:
      return badRequest(fault.message ?? `container not found ("${name}")`)
    case 500:
      return new StatusError(500, "InternalError", fault.message ?? "error dialing backend: dial tcp 10.0.0.2:10250: connect: connection refused")
  }
}

/**
 * Handles an exec request that asked for an upgrade. Every path ends either in a written HTTP
 * error, an upgraded session, or (noUpgrade) a socket held open until the client gives up.
 */
export const handleExecUpgrade = (
  env: ExecEnv,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  namespace: string,
  name: string,
  query: URLSearchParams,
  hooks: ExecHooks
): void => {
  const reject = (e: StatusError) => {
    hooks.answered(e.code)
    writeRawStatus(socket, e.toStatus(), e.headers)
  }
  const pod = env.readPod(namespace, name)
  if (pod === undefined) return reject(notFound(pods, name))
  const command = query.getAll("command")
  const containers = pod.spec.containers.map((c) => c.name)
  let container = query.get("container") ?? ""
  if (container === "") {
    if (containers.length !== 1) {
      return reject(badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(" ")}]`))
    }
    container = containers[0]
  } else if (!containers.includes(container)) {
    return reject(badRequest(`container ${container} is not valid for pod ${name}`))
  }
  const node = pod.spec.nodeName ?? ""
  if (node === "") return reject(badRequest(`pod ${name} does not have a host assigned`))
  if (command.length === 0) return reject(badRequest("you must specify at least 1 command"))

  const info: ExecInfo = { namespace, pod: name, container, node, command }
  hooks.resolved(info)
  let exitCode: number | undefined
  let faultName: string | undefined
  socket.once("close", () => hooks.closed({ ...info, exitCode, fault: faultName }))

  const plan = env.faults.takeExec({ node, namespace, pod: name, container })
  const connection = plan.connection
  faultName = connection?.kind
  if (connection?.kind === "reject") return reject(rejection(connection, namespace, name))
  if (connection?.kind === "noUpgrade") {
    // Read the request, never answer. The socket stays open until the client gives up.
    socket.on("data", () => {})
    socket.on("end", () => socket.destroy())
    socket.resume()
    return
  }

  const status = stateOf(pod.status.containerStatuses?.find((s) => s.name === container))
  if (status !== "running") {
    return reject(
      badRequest(status === undefined ? `container not found ("${container}")` : `container ${container} is not running (state: ${status})`)
    )
  }
  const upgrade = (req.headers.upgrade ?? "").toLowerCase()
  if (upgrade !== "websocket") {
    return reject(
      badRequest(`unable to upgrade connection: the simulator speaks only WebSocket remotecommand (${channelProtocols.join(", ")}), not ${upgrade || "HTTP"}`)
    )
  }
  const offered = new Set(
    (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "")
  )
  const protocol = offered.size === 0 ? "channel.k8s.io" : negotiate(offered)
  if (protocol === undefined) {
    return reject(badRequest(`requested protocol(s) are not supported: [${[...offered].join(" ")}]; supports [${channelProtocols.join(" ")}]`))
  }
  // kubectl may POST; ws only upgrades GETs.
  req.method = "GET"
  env.wss.handleUpgrade(req, socket, head, (ws) => {
    hooks.answered(101)
    const target: ProcessTarget = { namespace, pod: name, uid: pod.metadata.uid ?? "", container }
    const session = new ExecSession(info, socket, ws)
    env.sessions.add(session)
    socket.once("close", () => {
      env.sessions.delete(session)
      session.ended()
    })
    ws.on("error", () => {})
    // Frames from the client (stdin 0, resize 4, close 255) are accepted and ignored.
    ws.on("message", () => {})

    const wantStdout = isTrue(query.get("stdout"))
    const wantStderr = isTrue(query.get("stderr"))
    const tty = isTrue(query.get("tty"))
    const structuredStatus = protocol === "v5.channel.k8s.io" || protocol === "v4.channel.k8s.io"

    const deliverOnly = () => {
      if (env.processes.isRunning(target)) void env.processes.run(target, command, new AbortController().signal)
    }
    if (connection?.kind === "halfOpen") {
      session.freeze()
      if (connection.deliver === true) deliverOnly()
      return
    }
    if (env.faults.isPartitioned(node)) {
      // The node was partitioned between the fault lookup and now.
      session.freeze()
      return
    }
    // The API server's first frame: empty, on the lowest writable channel.
    session.send(frame(wantStdout ? STDOUT : wantStderr ? STDERR : STATUS))
    if (connection?.kind === "reset") {
      if (connection.deliver === true) deliverOnly()
      const timer = setTimeout(() => {
        hooks.serverClosed()
        session.reset()
      }, connection.afterMs ?? 0)
      session.signal.addEventListener("abort", () => clearTimeout(timer))
      return
    }

    void (async () => {
      await sleep(plan.slowMs, session.signal)
      if (session.signal.aborted || session.frozen) return
      let result: CommandResult
      if (plan.exitCode !== undefined) {
        result = { exitCode: plan.exitCode, stdout: "", stderr: "" }
      } else if (!env.processes.isRunning(target)) {
        result = { exitCode: 126, stdout: "", stderr: "OCI runtime exec failed: exec failed: cannot exec in a stopped container: unknown\r\n" }
      } else {
        result = await env.processes.run(target, command, session.signal)
      }
      if (session.signal.aborted || session.frozen) return
      const out = tty ? result.stdout + result.stderr : result.stdout
      if (wantStdout && out !== "") session.send(frame(STDOUT, out))
      if (!tty && wantStderr && result.stderr !== "") session.send(frame(STDERR, result.stderr))
      if (structuredStatus) {
        session.send(frame(STATUS, JSON.stringify(execStatus(command, result.exitCode))))
      } else if (result.exitCode !== 0) {
        session.send(frame(STATUS, execStatus(command, result.exitCode).message ?? ""))
      }
      exitCode = result.exitCode
      hooks.completed(result.exitCode)
      session.close()
    })()
  })
}

/** An exec request without an upgrade header: the API server's answer. */
export const upgradeRequired = (): StatusError => badRequest("Upgrade request required")
