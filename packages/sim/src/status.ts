// The Kubernetes `Status` error object, as a real API server puts it on the wire.
// Every failure in the simulator is a `StatusError`; the HTTP layer turns it into the JSON body and
// status code a client expects (`ApiException.code` / `.body` in client-node).

export type StatusReason =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Forbidden"
  | "Invalid"
  | "BadRequest"
  | "TooManyRequests"
  | "InternalError"
  | "ServiceUnavailable"
  | "Gone"
  | "Expired"
  | "Unauthorized"
  | "UnsupportedMediaType"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "Timeout"

export interface StatusCause {
  readonly reason?: string
  readonly message?: string
  readonly field?: string
}

export interface StatusDetails {
  readonly name?: string
  readonly group?: string
  readonly kind?: string
  readonly uid?: string
  readonly causes?: ReadonlyArray<StatusCause>
  readonly retryAfterSeconds?: number
}

export interface Status {
  readonly kind: "Status"
  readonly apiVersion: "v1"
  readonly metadata: Record<string, never>
  readonly status: "Failure" | "Success"
  readonly message?: string
  readonly reason?: StatusReason
  readonly details?: StatusDetails
  readonly code: number
}

export class StatusError extends Error {
  readonly code: number
  readonly reason: StatusReason
  readonly details: StatusDetails | undefined
  readonly headers: Readonly<Record<string, string>>

  constructor(
    code: number,
    reason: StatusReason,
    message: string,
    details?: StatusDetails,
    headers: Readonly<Record<string, string>> = {}
  ) {
    super(message)
    this.name = "StatusError"
    this.code = code
    this.reason = reason
    this.details = details
    this.headers = headers
  }

  toStatus(): Status {
    return failureStatus(this.code, this.reason, this.message, this.details)
  }
}

export const failureStatus = (
  code: number,
  reason: StatusReason,
  message: string,
  details?: StatusDetails
): Status => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  ...(details === undefined ? {} : { details }),
  code
})

/** `pods`, `leases.coordination.k8s.io`: how the API server names a resource in messages. */
export interface GroupResource {
  readonly group: string
  readonly plural: string
}

export const groupResourceLabel = (gr: GroupResource): string => gr.group === "" ? gr.plural : `${gr.plural}.${gr.group}`

const detailsFor = (gr: GroupResource, name: string): StatusDetails =>
  gr.group === "" ? { name, kind: gr.plural } : { name, group: gr.group, kind: gr.plural }

export const notFound = (gr: GroupResource, name: string): StatusError =>
  new StatusError(404, "NotFound", `${groupResourceLabel(gr)} "${name}" not found`, detailsFor(gr, name))

export const alreadyExists = (gr: GroupResource, name: string): StatusError =>
  new StatusError(409, "AlreadyExists", `${groupResourceLabel(gr)} "${name}" already exists`, detailsFor(gr, name))

export const conflict = (gr: GroupResource, name: string, why: string): StatusError =>
  new StatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${groupResourceLabel(gr)} "${name}": ${why}`,
    detailsFor(gr, name)
  )

export const staleResourceVersion = (gr: GroupResource, name: string): StatusError =>
  conflict(gr, name, "the object has been modified; please apply your changes to the latest version and try again")

export const badRequest = (message: string): StatusError => new StatusError(400, "BadRequest", message)

export const invalid = (kind: string, name: string, field: string, message: string): StatusError =>
  new StatusError(422, "Invalid", `${kind} "${name}" is invalid: ${field}: ${message}`, {
    name,
    kind,
    causes: [{ reason: "FieldValueInvalid", message, field }]
  })

export const serverNotFound = (): StatusError =>
  new StatusError(404, "NotFound", "the server could not find the requested resource", {})

export const expired = (message: string): StatusError => new StatusError(410, "Expired", message)
