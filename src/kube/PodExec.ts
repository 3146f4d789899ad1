/**
 * The exec primitive: one `pods/exec` call as a scoped WebSocket, exposed as a stream of frames.
 * An exec never outlives its deadline and never leaks its socket: the socket is `terminate()`d on
 * every exit path (status received, failure, timeout, interruption). Three clocks guard it, all
 * from Effect's `Clock` so `TestClock` drives them: the handshake timeout, a ping/pong heartbeat
 * that detects a half-open peer, and the overall deadline (`Effect.timeout`, 30 s by default).
 */
import * as k8s from "@kubernetes/client-node"
import { WebSocketHandler } from "@kubernetes/client-node/dist/web-socket-handler.js"
import { Cause, Clock, Context, Duration, Effect, Layer, Queue, type Scope, Stream } from "effect"
import type { IncomingMessage } from "node:http"
import querystring from "node:querystring"
import { Writable } from "node:stream"
import WebSocket from "ws"
import { defaultEngineSettings } from "../engine/EngineSettings.ts"
import { causeMessage, parseRetryAfter, redactSecrets } from "./ApiError.ts"
import {
  describeTarget,
  ExecConnectionLostError,
  type ExecError,
  ExecNonZeroExitError,
  ExecRejectedError,
  type ExecTarget,
  ExecTimeoutError
} from "./ExecError.ts"
import { KubeClient } from "./KubeClient.ts"

export interface ExecSettings {
  /** Overall deadline of one exec, handshake included. Default 30 s. */
  readonly timeout: Duration.Duration
  /** Deadline for the WebSocket upgrade to be answered. Default 10 s. */
  readonly handshakeTimeout: Duration.Duration
  /** How often to ping an open exec socket. Default 5 s (client-go's period). */
  readonly heartbeatInterval: Duration.Duration
  /**
   * How long without a pong before the peer counts as gone. Default 61 s, client-go's limit:
   * with the default 30 s deadline the deadline fires first; with a longer deadline (Argo's 2
   * minutes) the heartbeat ends a half-open exec early.
   */
  readonly heartbeatTimeout: Duration.Duration
}

export const defaultExecSettings: ExecSettings = {
  timeout: defaultEngineSettings.execTimeout,
  handshakeTimeout: Duration.seconds(10),
  heartbeatInterval: Duration.seconds(5),
  heartbeatTimeout: Duration.seconds(61)
}

export interface ExecRequest extends ExecTarget {
  /** argv; never a shell string built from pod data. */
  readonly command: ReadonlyArray<string>
  /** Overrides the overall deadline for this call. */
  readonly timeout?: Duration.Input | undefined
}

export interface ExecFrame {
  readonly channel: "stdout" | "stderr"
  readonly data: Uint8Array
}

export interface ExecResult {
  readonly stdout: string
  readonly stderr: string
  readonly elapsedMs: number
}

export class PodExec extends Context.Service<PodExec, {
  readonly settings: ExecSettings
  /**
   * The exec as a stream of stdout/stderr frames. It ends when the command reports success and
   * fails with a typed `ExecError` otherwise. The socket lives exactly as long as the stream.
   */
  readonly frames: (req: ExecRequest) => Stream.Stream<ExecFrame, ExecError>
  /** Runs the command to its status and collects its output. */
  readonly run: (req: ExecRequest) => Effect.Effect<ExecResult, ExecError>
}>()("pod-cleanup/PodExec") {
  static readonly layer = (settings: Partial<ExecSettings> = {}): Layer.Layer<PodExec, never, KubeClient> =>
    Layer.effect(
      PodExec,
      Effect.gen(function*() {
        const client = yield* KubeClient
        return makePodExec(client.loaded.config, { ...defaultExecSettings, ...settings })
      })
    )
}

/** Streams that client-node's handler may touch on a v5 close frame; never process.stdout. */
const nullStreams = () => {
  const sink = () => new Writable({ write: (_c, _e, cb) => cb() })
  return { stdin: process.stdin, stdout: sink(), stderr: sink() } as unknown as ConstructorParameters<
    typeof WebSocketHandler
  >[2]
}

interface StatusV1 {
  readonly status?: string
  readonly reason?: string
  readonly message?: string
  readonly code?: number
  readonly details?: { readonly causes?: ReadonlyArray<{ readonly reason?: string; readonly message?: string }> }
}

/** A refused upgrade, read from the HTTP response the server sent instead of `101`. */
interface Refusal {
  readonly code: number
  readonly body: string
  readonly retryAfter: string | undefined
  /** When the refusal arrived (Effect's Clock), for a `Retry-After` given as an HTTP date. */
  readonly atMillis: number
}

/**
 * The scoped socket. Acquire registers the release before anything is opened, so even a socket
 * created after an interruption is terminated at once.
 */
interface ExecSocket {
  /** Resolves when the upgrade completes; fails with the typed reason otherwise. */
  readonly opened: Effect.Effect<WebSocket, ExecRejectedError | ExecConnectionLostError>
}

export const makePodExec = (config: k8s.KubeConfig, settings: ExecSettings): PodExec["Service"] => {
  const frames = (req: ExecRequest): Stream.Stream<ExecFrame, ExecError> =>
    Stream.callback<ExecFrame, ExecError>((queue) =>
      Effect.gen(function*() {
        const clock = yield* Clock.Clock
        const start = clock.currentTimeMillisUnsafe()
        const elapsed = () => clock.currentTimeMillisUnsafe() - start
        const deadline = req.timeout === undefined ? settings.timeout : Duration.fromInputUnsafe(req.timeout)
        const target: ExecTarget = { namespace: req.namespace, pod: req.pod, container: req.container, node: req.node }
        let phase: "handshake" | "stream" = "handshake"
        let statusSeen = false

        const failWith = (error: ExecError) => Queue.failCauseUnsafe(queue, Cause.fail(error))
        const onFrame = (channel: number, data: Buffer): boolean => {
          if (channel === WebSocketHandler.StdoutStream || channel === WebSocketHandler.StderrStream) {
            if (data.length > 0) {
              Queue.offerUnsafe(queue, { channel: channel === 1 ? "stdout" : "stderr", data: new Uint8Array(data) })
            }
          } else if (channel === WebSocketHandler.StatusStream && !statusSeen) {
            statusSeen = true
            const error = statusToError(target, data, elapsed())
            if (error === undefined) Queue.endUnsafe(queue)
            else failWith(error)
          }
          return true // the socket is closed by the release, never by client-node
        }

        const connectAndWatch = Effect.gen(function*() {
          const socket = yield* acquireExecSocket(config, req, onFrame, target, elapsed, () => clock.currentTimeMillisUnsafe())
          const ws = yield* socket.opened.pipe(
            Effect.timeoutOrElse({
              duration: settings.handshakeTimeout,
              orElse: () =>
                Effect.fail(
                  new ExecTimeoutError({
                    ...target,
                    phase: "handshake",
                    timeoutMs: Duration.toMillis(settings.handshakeTimeout),
                    elapsedMs: elapsed(),
                    message: `exec ${describeTarget(target)}: the WebSocket upgrade was not answered within ${
                      Duration.format(settings.handshakeTimeout)
                    }`
                  })
                )
            })
          )
          phase = "stream"
          ws.on("close", (code: number, reason: Buffer) => {
            if (!statusSeen) {
              failWith(
                new ExecConnectionLostError({
                  ...target,
                  phase: "stream",
                  reason: `closed before the command's status (code ${code}${reason.length ? `, ${reason}` : ""})`,
                  elapsedMs: elapsed(),
                  message: `exec ${describeTarget(target)}: connection closed before the command's status arrived (code ${code})`
                })
              )
            }
          })
          yield* heartbeat(ws, settings, target, elapsed)
        }).pipe(Effect.scoped)

        yield* connectAndWatch.pipe(
          Effect.timeoutOrElse({
            duration: deadline,
            orElse: () =>
              Effect.fail(
                new ExecTimeoutError({
                  ...target,
                  phase,
                  timeoutMs: Duration.toMillis(deadline),
                  elapsedMs: elapsed(),
                  message: `exec ${describeTarget(target)}: no status within the ${Duration.format(deadline)} deadline (${
                    phase === "handshake" ? "upgrade not answered" : "connection open but silent"
                  })`
                })
              )
          })
        )
      })
    )

  const run = (req: ExecRequest): Effect.Effect<ExecResult, ExecError> =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const out = { stdout: [] as Array<Uint8Array>, stderr: [] as Array<Uint8Array> }
      yield* Stream.runForEach(frames(req), (frame) => Effect.sync(() => out[frame.channel].push(frame.data)))
      const end = yield* Clock.currentTimeMillis
      return {
        stdout: Buffer.concat(out.stdout).toString("utf8"),
        stderr: Buffer.concat(out.stderr).toString("utf8"),
        elapsedMs: end - start
      }
    }).pipe(Effect.withSpan("PodExec.run", { attributes: { namespace: req.namespace, pod: req.pod, container: req.container } }))

  return PodExec.of({ settings, frames, run })
}

const acquireExecSocket = (
  config: k8s.KubeConfig,
  req: ExecRequest,
  onFrame: (channel: number, data: Buffer) => boolean,
  target: ExecTarget,
  elapsed: () => number,
  now: () => number
): Effect.Effect<ExecSocket, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => ({ ws: undefined as WebSocket | undefined, released: false, refusal: undefined as Refusal | undefined })),
    (holder) =>
      Effect.sync(() => {
        holder.released = true
        if (holder.ws) terminate(holder.ws)
      })
  ).pipe(
    Effect.map((holder) => {
      const factory = (uri: string, protocols: Array<string>, opts: WebSocket.ClientOptions): WebSocket => {
        const ws = new WebSocket(uri, protocols, opts)
        holder.ws = ws
        ws.on("unexpected-response", (request, response: IncomingMessage) => {
          readBody(response, (body) => {
            const retryAfter = response.headers["retry-after"]
            holder.refusal = { code: response.statusCode ?? 0, body, retryAfter, atMillis: now() }
            request.destroy()
            terminate(ws)
          })
        })
        if (holder.released) terminate(ws)
        return ws
      }
      const path = `/api/v1/namespaces/${encodeURIComponent(req.namespace)}/pods/${encodeURIComponent(req.pod)}/exec?${
        querystring.stringify({
          stdout: true,
          stderr: true,
          stdin: false,
          tty: false,
          command: [...req.command],
          container: req.container
        })
      }`
      const handler = new WebSocketHandler(config, factory as never, nullStreams())
      const opened = Effect.callback<WebSocket, ExecRejectedError | ExecConnectionLostError>((resume) => {
        handler.connect(path, null, onFrame).then(
          (ws) => resume(Effect.succeed(ws as unknown as WebSocket)),
          (cause: unknown) =>
            resume(Effect.fail(holder.refusal ? refusalError(target, holder.refusal, elapsed()) : handshakeLost(target, cause, elapsed())))
        )
      })
      return { opened }
    })
  )

/** Pings every interval; fails once no pong has come for `heartbeatTimeout`. Never succeeds. */
const heartbeat = (
  ws: WebSocket,
  settings: ExecSettings,
  target: ExecTarget,
  elapsed: () => number
): Effect.Effect<never, ExecConnectionLostError> =>
  Effect.suspend(() => {
    let sinceLastPong = 0
    const interval = Duration.toMillis(settings.heartbeatInterval)
    const limit = Duration.toMillis(settings.heartbeatTimeout)
    ws.on("pong", () => {
      sinceLastPong = 0
    })
    const tick = Effect.suspend(() => {
      sinceLastPong += interval
      if (sinceLastPong > limit) {
        return Effect.fail(
          new ExecConnectionLostError({
            ...target,
            phase: "stream",
            reason: `no pong for ${Duration.format(settings.heartbeatTimeout)}`,
            elapsedMs: elapsed(),
            message: `exec ${describeTarget(target)}: the peer stopped answering pings (half-open connection)`
          })
        )
      }
      if (ws.readyState === WebSocket.OPEN) ws.ping()
      return Effect.void
    })
    return Effect.forever(Effect.andThen(Effect.sleep(settings.heartbeatInterval), tick))
  })

const terminate = (ws: WebSocket) => {
  try {
    ws.terminate()
  } catch {
    // terminate() on a socket that never connected can throw in old ws versions; nothing to close.
  }
}

const readBody = (response: IncomingMessage, done: (body: string) => void) => {
  const chunks: Array<Buffer> = []
  let size = 0
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    done(Buffer.concat(chunks).toString("utf8"))
  }
  response.on("data", (chunk: Buffer) => {
    if (size < 64 * 1024) chunks.push(chunk)
    size += chunk.length
  })
  response.on("end", finish)
  response.on("error", finish)
  response.on("close", finish)
}

const parseJson = (text: string): StatusV1 | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === "object" ? (value as StatusV1) : undefined
  } catch {
    return undefined
  }
}

const refusalError = (target: ExecTarget, refusal: Refusal, elapsedMs: number): ExecRejectedError => {
  const status = parseJson(refusal.body)
  const reason = status?.reason ?? `HTTP${refusal.code}`
  // A refusal may come from a proxy that echoes the request's headers: never log them.
  const detail = redactSecrets(status?.message ?? refusal.body.slice(0, 1000)).slice(0, 300)
  return new ExecRejectedError({
    ...target,
    code: refusal.code,
    reason,
    retryAfter: parseRetryAfter(refusal.retryAfter, refusal.atMillis),
    elapsedMs,
    message: `exec ${describeTarget(target)}: refused with ${refusal.code} ${reason}${detail ? `: ${detail}` : ""}`
  })
}

const handshakeLost = (target: ExecTarget, cause: unknown, elapsedMs: number): ExecConnectionLostError => {
  const error = (cause as { error?: unknown })?.error ?? cause
  const reason = causeMessage(error)
  return new ExecConnectionLostError({
    ...target,
    phase: "handshake",
    reason,
    elapsedMs,
    message: `exec ${describeTarget(target)}: could not open the exec connection: ${reason}`
  })
}

/** Reads the status frame: `undefined` for Success, the typed error otherwise. */
const statusToError = (target: ExecTarget, data: Buffer, elapsedMs: number): ExecError | undefined => {
  const text = data.toString("utf8")
  const status = parseJson(text)
  if (status === undefined) {
    // Pre-v4 protocols send a plain error text on this channel.
    return text.length === 0 ? undefined : new ExecRejectedError({
      ...target,
      code: 500,
      reason: "Unknown",
      elapsedMs,
      message: `exec ${describeTarget(target)}: ${redactSecrets(text.slice(0, 1000)).slice(0, 300)}`
    })
  }
  if (status.status === "Success") return undefined
  if (status.reason === "NonZeroExitCode") {
    const cause = status.details?.causes?.find((c) => c.reason === "ExitCode")
    const exitCode = Number(cause?.message)
    return new ExecNonZeroExitError({
      ...target,
      exitCode: Number.isFinite(exitCode) ? exitCode : -1,
      elapsedMs,
      message: `exec ${describeTarget(target)}: command exited with code ${cause?.message ?? "?"}`
    })
  }
  return new ExecRejectedError({
    ...target,
    code: status.code ?? 500,
    reason: status.reason ?? "Failure",
    elapsedMs,
    message: `exec ${describeTarget(target)}: ${status.message === undefined ? "failed" : redactSecrets(status.message)}`
  })
}
