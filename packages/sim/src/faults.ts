// Fault rules: what goes wrong, for which requests, how many times. The rules are data; exec.ts,
// watch.ts and the request handler in server.ts consult them and act at the socket level.
// A rule with `times` is removed after it has been applied that many times. `faultStatus` is what
// an API fault answers: the real reason and message of that status for the request.

import { pods } from "./resources.ts"
import type { Route } from "./routes.ts"
import { StatusError } from "./status.ts"

export interface ExecScope {
  readonly node?: string
  readonly namespace?: string
  readonly pod?: string
  readonly container?: string
}

export type ExecFault =
  /** Read the upgrade request, never answer; the TCP connection stays open. */
  | { readonly kind: "noUpgrade" }
  /** Complete the upgrade, then send nothing and read nothing (pings get no pong). `deliver`: the command still runs. */
  | { readonly kind: "halfOpen"; readonly deliver?: boolean }
  /** Upgrade, send the empty first frame, then reset the TCP connection after `afterMs` (default 0). */
  | { readonly kind: "reset"; readonly afterMs?: number; readonly deliver?: boolean }
  /** Wait `delayMs` before running the command and sending its status. */
  | { readonly kind: "slow"; readonly delayMs: number }
  /** Answer the upgrade request with this HTTP status and a `Status` body. */
  | { readonly kind: "reject"; readonly code: 400 | 403 | 404 | 500; readonly message?: string }
  /** Do not run the command; report this exit code (the process was already gone). */
  | { readonly kind: "exitCode"; readonly code: number }

export interface ApiScope {
  /** list, watch, get, create, update, patch, delete, deletecollection, exec. */
  readonly verb?: string
  /** pods, pods/status, leases, workflows. */
  readonly resource?: string
  readonly namespace?: string
  readonly name?: string
}

/** The HTTP statuses an API fault can answer with (each with the real reason and message). */
export type ApiFaultCode = 400 | 401 | 403 | 404 | 409 | 410 | 422 | 429 | 500 | 502 | 503 | 504

export type ApiFault =
  | {
    readonly kind: "status"
    readonly code: ApiFaultCode
    /** Sent as `Retry-After` (and details.retryAfterSeconds) with 429 and 503; default 1. */
    readonly retryAfterSeconds?: number
    readonly message?: string
  }
  | { readonly kind: "latency"; readonly ms: number }

/**
 * silent: nothing more, not even bookmarks; drop: the connection is destroyed; end: a clean end;
 * gone: an ERROR 410 event, then the end; bookmarkOnly: bookmarks keep coming (at the current
 * resourceVersion) but no event is delivered any more, as from a wedged watch cache.
 */
export type WatchFaultKind = "silent" | "drop" | "end" | "gone" | "bookmarkOnly"

/** Writes `line` (plus a newline) to the watch as is: malformed events for the client's parser. */
export interface RawWatchLine {
  readonly kind: "raw"
  readonly line: string
}

/** `"gone"` and `{ kind: "gone" }` are the same fault. */
export type WatchFault = WatchFaultKind | { readonly kind: WatchFaultKind } | RawWatchLine

/** A watch fault as a session applies it. */
export type AppliedWatchFault = WatchFaultKind | RawWatchLine

export const normalizeWatchFault = (fault: WatchFault): AppliedWatchFault =>
  typeof fault === "string" ? fault : fault.kind === "raw" ? fault : fault.kind

export type SimResource = "pods" | "workflows" | "leases"

export interface FaultOptions {
  readonly times?: number
}

export interface WatchFaultOptions {
  readonly resource?: SimResource
  readonly namespace?: string
  /** Also apply the fault to the next N watches opened (matching resource and namespace). */
  readonly next?: number
}

export interface ExecTarget {
  readonly node: string
  readonly namespace: string
  readonly pod: string
  readonly container: string
}

export interface ApiTarget {
  readonly verb: string
  readonly resource: string
  readonly namespace: string | undefined
  readonly name: string | undefined
}

interface Rule<S, F> {
  readonly id: string
  readonly scope: S
  readonly fault: F
  remaining: number
}

interface PendingWatchFault {
  readonly fault: AppliedWatchFault
  readonly resource: SimResource | undefined
  readonly namespace: string | undefined
  remaining: number
}

/** The exec faults that apply to one exec request. */
export interface ExecPlan {
  readonly connection:
    | Extract<ExecFault, { kind: "noUpgrade" | "halfOpen" | "reset" | "reject" }>
    | undefined
  readonly slowMs: number
  readonly exitCode: number | undefined
}

export interface ApiPlan {
  readonly latencyMs: number
  readonly status: Extract<ApiFault, { kind: "status" }> | undefined
}

const execMatches = (scope: ExecScope, t: ExecTarget) =>
  (scope.node === undefined || scope.node === t.node) &&
  (scope.namespace === undefined || scope.namespace === t.namespace) &&
  (scope.pod === undefined || scope.pod === t.pod) &&
  (scope.container === undefined || scope.container === t.container)

const apiMatches = (scope: ApiScope, t: ApiTarget) =>
  (scope.verb === undefined || scope.verb === t.verb) &&
  (scope.resource === undefined || scope.resource === t.resource) &&
  (scope.namespace === undefined || scope.namespace === t.namespace) &&
  (scope.name === undefined || scope.name === t.name)

export class Faults {
  #counter = 0
  #exec: Array<Rule<ExecScope, ExecFault>> = []
  #api: Array<Rule<ApiScope, ApiFault>> = []
  #watch: Array<PendingWatchFault> = []
  readonly #onWatchFault: (fault: AppliedWatchFault, resource: SimResource | undefined, namespace: string | undefined) => void

  /** @internal `onWatchFault` applies a watch fault to the currently open watches. */
  constructor(
    onWatchFault: (fault: AppliedWatchFault, resource: SimResource | undefined, namespace: string | undefined) => void
  ) {
    this.#onWatchFault = onWatchFault
  }

  #id(prefix: string): string {
    return `${prefix}-${++this.#counter}`
  }

  /** Adds an exec fault; returns its id (for `clear(id)`). */
  exec(scope: ExecScope, fault: ExecFault, options: FaultOptions = {}): string {
    const id = this.#id("exec")
    this.#exec.push({ id, scope: { ...scope }, fault, remaining: options.times ?? Infinity })
    return id
  }

  /** Adds an API fault; returns its id. Applies to REST requests and to exec requests (verb "exec"). */
  api(scope: ApiScope, fault: ApiFault, options: FaultOptions = {}): string {
    const id = this.#id("api")
    this.#api.push({ id, scope: { ...scope }, fault, remaining: options.times ?? Infinity })
    return id
  }

  /** Applies a fault to the open watches (of a resource / namespace), and to the next `next` ones. */
  watch(fault: WatchFault, options: WatchFaultOptions = {}): void {
    const kind = normalizeWatchFault(fault)
    if ((options.next ?? 0) > 0) {
      this.#watch.push({ fault: kind, resource: options.resource, namespace: options.namespace, remaining: options.next ?? 0 })
    }
    this.#onWatchFault(kind, options.resource, options.namespace)
  }

  /** Removes one rule by id, or every rule (partitions and pending watch faults included). */
  clear(id?: string): void {
    if (id === undefined) {
      this.#exec = []
      this.#api = []
      this.#watch = []
      return
    }
    this.#exec = this.#exec.filter((r) => r.id !== id)
    this.#api = this.#api.filter((r) => r.id !== id)
  }

  /** @internal */
  addPartition(node: string): void {
    const id = `partition:${node}`
    if (this.#exec.some((r) => r.id === id)) return
    this.#exec.unshift({ id, scope: { node }, fault: { kind: "halfOpen" }, remaining: Infinity })
  }

  /** @internal */
  removePartition(node: string): void {
    this.clear(`partition:${node}`)
  }

  /** @internal */
  isPartitioned(node: string): boolean {
    return this.#exec.some((r) => r.id === `partition:${node}`)
  }

  #consume<S, F>(rules: Array<Rule<S, F>>, rule: Rule<S, F>): Array<Rule<S, F>> {
    rule.remaining -= 1
    return rule.remaining <= 0 ? rules.filter((r) => r !== rule) : rules
  }

  /** @internal Takes the faults for one exec request (one connection fault, slow, exitCode). */
  takeExec(target: ExecTarget): ExecPlan {
    const matching = this.#exec.filter((r) => execMatches(r.scope, target))
    const connection = matching.find((r) =>
      r.fault.kind === "noUpgrade" || r.fault.kind === "halfOpen" || r.fault.kind === "reset" || r.fault.kind === "reject"
    )
    const slow = matching.find((r) => r.fault.kind === "slow")
    const exit = matching.find((r) => r.fault.kind === "exitCode")
    for (const r of [connection, slow, exit]) if (r !== undefined) this.#exec = this.#consume(this.#exec, r)
    return {
      connection: connection?.fault as ExecPlan["connection"],
      slowMs: slow?.fault.kind === "slow" ? slow.fault.delayMs : 0,
      exitCode: exit?.fault.kind === "exitCode" ? exit.fault.code : undefined
    }
  }

  /** @internal Takes the faults for one API request (latency, then maybe a status). */
  takeApi(target: ApiTarget): ApiPlan {
    const matching = this.#api.filter((r) => apiMatches(r.scope, target))
    const latency = matching.find((r) => r.fault.kind === "latency")
    const status = matching.find((r) => r.fault.kind === "status")
    for (const r of [latency, status]) if (r !== undefined) this.#api = this.#consume(this.#api, r)
    return {
      latencyMs: latency?.fault.kind === "latency" ? latency.fault.ms : 0,
      status: status?.fault.kind === "status" ? status.fault : undefined
    }
  }

  /** @internal The fault a newly opened watch gets, if one is pending for it. */
  takeWatch(resource: string, namespace: string | undefined): AppliedWatchFault | undefined {
    const pending = this.#watch.find((w) =>
      (w.resource === undefined || w.resource === resource) &&
      (w.namespace === undefined || w.namespace === namespace)
    )
    if (pending === undefined) return undefined
    pending.remaining -= 1
    if (pending.remaining <= 0) this.#watch = this.#watch.filter((w) => w !== pending)
    return pending.fault
  }
}

/** The `Status` an API status fault answers `verb` on `r` with, worded as a real API server does. */
export const faultStatus = (fault: Extract<ApiFault, { kind: "status" }>, verb: string, r: Route): StatusError => {
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
