/**
 * The typed outcomes of a failed exec. Each carries where it happened (namespace, pod, container,
 * node) and how long it ran, so a warning line alone tells an operator which kubelet to look at.
 */
import { Data, type Duration } from "effect"

export interface ExecTarget {
  readonly namespace: string
  readonly pod: string
  readonly container: string
  /** The pod's node, when the caller knows it (for logs, metrics and per-node isolation). */
  readonly node?: string | undefined
}

interface ExecFailure extends ExecTarget {
  readonly elapsedMs: number
  readonly message: string
}

/** The command ran and exited non-zero (for a kill: usually the process was already gone). */
export class ExecNonZeroExitError extends Data.TaggedError("ExecNonZeroExitError")<ExecFailure & {
  readonly exitCode: number
}> {}

/**
 * The exec outlived a deadline: the WebSocket upgrade was never answered within the handshake
 * timeout (`phase: "handshake"`), or the command's status did not arrive before the overall
 * deadline (`phase: "stream"`, typically a half-open connection to a partitioned node).
 */
export class ExecTimeoutError extends Data.TaggedError("ExecTimeoutError")<ExecFailure & {
  readonly phase: "handshake" | "stream"
  readonly timeoutMs: number
}> {}

/**
 * The API server refused the exec before the upgrade (404 pod or container gone, 400 container
 * not running, 403 forbidden, 429/5xx overloaded) or answered with a failure status that is not
 * an exit code. `retryAfter` carries the refusal's `Retry-After` header when it had one.
 */
export class ExecRejectedError extends Data.TaggedError("ExecRejectedError")<ExecFailure & {
  readonly code: number
  readonly reason: string
  readonly retryAfter?: Duration.Duration | undefined
}> {}

/**
 * The connection broke: it could not be made, it closed before the command's status arrived, or
 * the peer stopped answering pings (heartbeat).
 */
export class ExecConnectionLostError extends Data.TaggedError("ExecConnectionLostError")<ExecFailure & {
  readonly phase: "handshake" | "stream"
  readonly reason: string
}> {}

export type ExecError = ExecNonZeroExitError | ExecTimeoutError | ExecRejectedError | ExecConnectionLostError

export const describeTarget = (t: ExecTarget): string =>
  `${t.namespace}/${t.pod} container ${t.container}${t.node ? ` on ${t.node}` : ""}`

/**
 * What a failed exec says, decided here once for everyone who reads it (`ActionRunner` for the
 * signal's verdict, `NodeGuard` for the breaker):
 * - "gone": the process or container is not there to signal: the kill exited non-zero (usually
 *   "no such process"), or the server answered 404 (pod or container gone) or 400 (container not
 *   running);
 * - "unreachable": the node looks unreachable: a timeout (either phase) or a connection lost after
 *   the upgrade (`phase: "stream"`, a half-open connection, a heartbeat that stopped). The only
 *   class that feeds the node's breaker;
 * - "unconnected": the connection could not be made at all (`ExecConnectionLostError`, `phase:
 *   "handshake"`): the API server or the network, not the node, so it does not feed the breaker;
 *   it carries no Retry-After and is not a refusal, so it is not "refused-transient" either: the
 *   action fails retryably and the engine's own retries (with backoff) try it again;
 * - "refused-transient": a refusal the server may not repeat, 429 (throttled) or 500/502/503/504:
 *   tried again with backoff, after `retryAfter` when the server sent one;
 * - "refused": every other refusal (403 forbidden, 401, 409, 501, ...): final.
 *
 * In breaker terms every class but "unreachable" means the node answered (as a success does).
 */
export type ExecClass = "gone" | "unreachable" | "unconnected" | "refused-transient" | "refused"

export const classifyExec = (error: ExecError): ExecClass => {
  switch (error._tag) {
    case "ExecNonZeroExitError":
      return "gone"
    case "ExecTimeoutError":
      return "unreachable"
    case "ExecConnectionLostError":
      return error.phase === "stream" ? "unreachable" : "unconnected"
    case "ExecRejectedError":
      if (error.code === 404 || error.code === 400) return "gone"
      return transientCodes.includes(error.code) ? "refused-transient" : "refused"
  }
}

const transientCodes: ReadonlyArray<number> = [429, 500, 502, 503, 504]

/**
 * A refusal the server may not repeat: throttled (429) or failing (500, 502, 503, 504). Worth
 * retrying with backoff, after `retryAfter` when the server sent one (`classifyExec`'s "refused-transient").
 */
export const isTransientExecRefusal = (e: ExecError): boolean => classifyExec(e) === "refused-transient"
