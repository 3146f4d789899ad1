/**
 * Typed failures of Kubernetes API calls. Every failure names the request (verb, resource,
 * namespace, name) and what the server said, so a log line is enough to act on it. Whether a
 * failure is worth retrying is decided here, next to the errors, and nowhere else.
 */
import { Data, Duration } from "effect"

/** The request a failure belongs to: what an operator needs to find it in an audit log. */
export interface ApiRequest {
  readonly verb: string
  readonly resource: string
  readonly namespace?: string | undefined
  readonly name?: string | undefined
}

interface ApiFailure extends ApiRequest {
  readonly code: number
  readonly reason: string
  readonly message: string
}

/** 404: the object is gone. On read or delete this usually means the work is already done. */
export class KubeNotFoundError extends Data.TaggedError("KubeNotFoundError")<ApiFailure> {}

/** 409: a precondition (resourceVersion, UID) failed or the object changed: re-read and decide again. */
export class KubeConflictError extends Data.TaggedError("KubeConflictError")<ApiFailure> {}

/** 401/403: a configuration (RBAC, credentials) problem. Reported loudly, never retried. */
export class KubeForbiddenError extends Data.TaggedError("KubeForbiddenError")<ApiFailure> {}

/** 400/415/422 and other 4xx: the request itself is wrong. Retrying cannot help. */
export class KubeInvalidError extends Data.TaggedError("KubeInvalidError")<ApiFailure> {}

/** 410 on a watch: the resourceVersion is too old; the caller must list again. */
export class KubeGoneError extends Data.TaggedError("KubeGoneError")<ApiFailure> {}

/**
 * 5xx, 429, a network failure or a request that outlived its deadline. Worth retrying with
 * backoff; `retryAfter` carries the server's `Retry-After` when it sent one.
 */
export class KubeTransientError extends Data.TaggedError("KubeTransientError")<ApiFailure & {
  readonly retryAfter?: Duration.Duration | undefined
}> {}

export type KubeApiError =
  | KubeNotFoundError
  | KubeConflictError
  | KubeForbiddenError
  | KubeInvalidError
  | KubeGoneError
  | KubeTransientError

/** Transient failures and conflicts are retried (conflicts after a re-read); nothing else is. */
export const isRetryable = (error: KubeApiError): boolean =>
  error._tag === "KubeTransientError" || error._tag === "KubeConflictError"

const describe = (req: ApiRequest): string =>
  `${req.verb} ${req.resource}${req.namespace || req.name ? ` ${req.namespace ?? ""}/${req.name ?? ""}` : ""}`

/** Parses a `Retry-After` header (seconds, or an HTTP date relative to `nowMillis`). */
export const parseRetryAfter = (value: string | undefined, nowMillis: number): Duration.Duration | undefined => {
  if (value === undefined || value.trim() === "") return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Duration.seconds(Number(trimmed))
  const at = Date.parse(trimmed)
  if (Number.isNaN(at)) return undefined
  return Duration.millis(Math.max(0, at - nowMillis))
}

/**
 * A URL fit for a log line: user info (`user:pass@`) becomes `***@`. The rest of the URL is kept
 * as written (no normalisation), so an operator still recognises the server.
 */
export const redactUrl = (url: string): string => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1***@")

const SECRET_HEADERS = "(?:proxy-)?authorization|set-cookie|cookie|x-auth-token|x-api-key|x-csrf-token"
const SECRET_KEYS =
  "password|passwd|pwd|passphrase|token|access_token|refresh_token|id_token|client_secret|secret|api_key|apikey|auth"

const secretPatterns: ReadonlyArray<readonly [RegExp, string]> = [
  // Header values, as a proxy echoes them (`Authorization: Bearer …`, `"cookie": "…"`, `<td>Cookie: …</td>`).
  [new RegExp(`(["']?\\b(?:${SECRET_HEADERS})["']?\\s*[:=]\\s*)(?:"[^"\\r\\n]*"|'[^'\\r\\n]*'|[^\\r\\n<"]*)`, "gi"), "$1***"],
  // Credentials that travel without their header name.
  // Credentials that travel without their header name. A credential has a digit or a symbol, or is
  // long: "Basic authentication failed" stays readable.
  [/\b(Bearer|Basic|Negotiate|Digest)\s+(?:[A-Za-z]*[0-9\-._~+/=][A-Za-z0-9\-._~+/=]*|[A-Za-z]{20,})/gi, "$1 ***"],
  // JWT-looking strings (service-account and OIDC tokens): `eyJ…` header, one or two more parts.
  [/\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){1,2}/g, "***"],
  // `password=…`, `token: …`, `"client_secret":"…"` pairs.
  [new RegExp(`(["']?\\b(?:${SECRET_KEYS})["']?\\s*[=:]\\s*)(?:"[^"\\r\\n]*"|'[^'\\r\\n]*'|[^\\s&;,"'<>]+)`, "gi"), "$1***"],
  // User info in any URL inside the text.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*@/gi, "$1***@"]
]

/**
 * Masks what must never reach a log line: bearer/basic credentials, JWT-looking strings, the
 * values of `Authorization`/`Cookie`-style headers, `password=`/`token=` pairs and URL user
 * info. Used on every server-provided text (error bodies, exec refusals) and error cause.
 */
export const redactSecrets = (text: string): string =>
  secretPatterns.reduce((acc, [pattern, replacement]) => acc.replace(pattern, replacement), text)

interface StatusBody {
  readonly reason?: string
  readonly message?: string
  readonly code?: number
}

const parseStatus = (body: unknown): StatusBody => {
  let value: unknown = body
  if (typeof body === "string") {
    try {
      value = JSON.parse(body)
    } catch {
      // Not a Status: a proxy's or load balancer's page, which may echo the request's headers.
      return { message: redactSecrets(body.slice(0, 2000)).slice(0, 500) }
    }
  }
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>
    return {
      reason: typeof o.reason === "string" ? o.reason : undefined,
      message: typeof o.message === "string" ? redactSecrets(o.message) : undefined,
      code: typeof o.code === "number" ? o.code : undefined
    }
  }
  return {}
}

/** Builds the typed error for an HTTP status answered by the API server. */
export const fromStatus = (
  req: ApiRequest,
  code: number,
  body: unknown,
  headers: Readonly<Record<string, string>> | undefined,
  nowMillis: number
): KubeApiError => {
  const status = parseStatus(body)
  const reason = status.reason ?? httpReason(code)
  const fields = {
    ...req,
    code,
    reason,
    message: `${describe(req)}: ${code} ${reason}${status.message ? `: ${status.message}` : ""}`
  }
  if (code === 404) return new KubeNotFoundError(fields)
  if (code === 409) return new KubeConflictError(fields)
  if (code === 401 || code === 403) return new KubeForbiddenError(fields)
  if (code === 410) return new KubeGoneError(fields)
  if (code === 429 || code >= 500) {
    return new KubeTransientError({ ...fields, retryAfter: parseRetryAfter(headers?.["retry-after"], nowMillis) })
  }
  return new KubeInvalidError(fields)
}

/** A request that never got an HTTP answer: refused, reset, DNS, TLS, or its deadline passed. */
export const networkFailure = (req: ApiRequest, cause: unknown): KubeTransientError => {
  const detail = causeMessage(cause)
  return new KubeTransientError({ ...req, code: 0, reason: "NetworkError", message: `${describe(req)}: ${detail}` })
}

/**
 * Thrown by the capped response body (see `KubeClient.call`) when an answer is larger than the
 * cap for its kind of request; `call` turns it into a typed error with `responseTooLarge`.
 */
export class ResponseTooLarge extends Error {
  readonly status: number
  readonly limit: number
  readonly received: number
  readonly declared: boolean
  constructor(status: number, limit: number, received: number, declared: boolean) {
    super(`response body larger than ${limit} bytes`)
    this.status = status
    this.limit = limit
    this.received = received
    this.declared = declared
  }
}

const formatBytes = (n: number): string =>
  n >= 1024 * 1024 && n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : n >= 1024 && n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`

/**
 * An answer over the size cap. Asking again gets the same oversized answer (the cap guards the
 * process's memory; the fix is a smaller page or a larger cap), so a successful status makes it
 * a `KubeInvalidError`, never retried. An oversized error page (429, 5xx) is the server failing,
 * which is what the caller should react to: a `KubeTransientError` like any 5xx.
 */
export const responseTooLarge = (req: ApiRequest, e: ResponseTooLarge): KubeInvalidError | KubeTransientError => {
  const fields = {
    ...req,
    code: e.status,
    reason: "ResponseTooLarge",
    message: `${describe(req)}: the ${e.status} response ${
      e.declared ? `declares ${e.received} bytes` : `exceeded ${e.received} bytes`
    }, over the ${formatBytes(e.limit)} cap for ${req.verb} answers; the rest was not read and the request was aborted`
  }
  return e.status === 429 || e.status >= 500 ? new KubeTransientError(fields) : new KubeInvalidError(fields)
}

export const deadlineExceeded = (req: ApiRequest, timeout: Duration.Duration): KubeTransientError =>
  new KubeTransientError({
    ...req,
    code: 0,
    reason: "Timeout",
    message: `${describe(req)}: no answer within ${Duration.format(timeout)}`
  })

/** Reads the most specific message out of an error chain (fetch wraps the socket error in `cause`). */
export const causeMessage = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code
      parts.push(typeof code === "string" ? `${current.message} (${code})` : current.message)
      current = (current as { cause?: unknown }).cause
    } else {
      parts.push(String(current))
      break
    }
  }
  return redactSecrets(parts.join(": ")) || "unknown error"
}

const httpReason = (code: number): string => {
  switch (code) {
    case 400:
      return "BadRequest"
    case 401:
      return "Unauthorized"
    case 403:
      return "Forbidden"
    case 404:
      return "NotFound"
    case 409:
      return "Conflict"
    case 410:
      return "Gone"
    case 415:
      return "UnsupportedMediaType"
    case 422:
      return "Invalid"
    case 429:
      return "TooManyRequests"
    case 503:
      return "ServiceUnavailable"
    default:
      return code >= 500 ? "InternalError" : "HTTP" + code
  }
}
