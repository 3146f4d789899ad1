// The resources the simulator serves (pods, leases, events.k8s.io Events, Argo workflows) described
// as data: their group/version/kind, which field selectors and patch types they accept, how they validate, and
// the columns `kubectl get` shows (server-side Table printing).

import { badRequest, invalid } from "./status.ts"
import type { GroupResource } from "./status.ts"
import type { KubeObject } from "./store.ts"
import { objectSmpSchema, podSmpSchema } from "./patch.ts"
import type { SmpSchema } from "./patch.ts"
import type { PodJson } from "./pods.ts"
import { stateOf } from "./pods.ts"

export interface TableColumn {
  readonly name: string
  readonly type: "string" | "integer" | "date"
  readonly format: string
  readonly description: string
  readonly priority: number
}

export interface ResourceDef extends GroupResource {
  readonly plural: "pods" | "leases" | "events" | "workflows"
  readonly singular: string
  readonly version: string
  readonly kind: string
  readonly shortNames: ReadonlyArray<string>
  /** undefined: the API server answers 415 to strategic merge patches (custom resources). */
  readonly smpSchema: SmpSchema | undefined
  /** Whether status is a subresource (main-resource writes keep the old status). */
  readonly statusSubresource: boolean
  /** Typed built-in lists omit kind/apiVersion on items; custom resource lists keep them. */
  readonly builtin: boolean
  readonly fieldSelectors: ReadonlyArray<string>
  fieldValue(obj: KubeObject, field: string): string | undefined
  /** Decoding + validation of a create/update body; throws 400/422. */
  validate(obj: KubeObject): void
  readonly columns: ReadonlyArray<TableColumn>
  cells(obj: KubeObject, now: number): Array<unknown>
}

export const apiVersionOf = (def: ResourceDef): string => (def.group === "" ? def.version : `${def.group}/${def.version}`)

const metaField = (obj: KubeObject, field: string): string | undefined =>
  field === "metadata.name" ? obj.metadata.name : field === "metadata.namespace" ? obj.metadata.namespace : undefined

/** `kubectl`'s age format: 45s, 12m, 5h, 3d. */
export const humanAge = (since: string | undefined, now: number): string => {
  if (since === undefined) return "<unknown>"
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000))
  if (s < 120) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 10) return `${m}m${s % 60 === 0 ? "" : `${s % 60}s`}`
  if (m < 180) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h`
  return `${Math.floor(h / 24)}d`
}

const column = (name: string, type: TableColumn["type"], description: string, priority = 0, format = ""): TableColumn => ({
  name,
  type,
  format,
  description,
  priority
})

const nameColumn = column(
  "Name",
  "string",
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.",
  0,
  "name"
)
const ageColumn = column(
  "Age",
  "string",
  "CreationTimestamp is a timestamp representing the server time when this object was created."
)

const podStatusText = (pod: PodJson): string => {
  if (pod.metadata.deletionTimestamp !== undefined) return "Terminating"
  const statuses = pod.status?.containerStatuses ?? []
  let reason = (pod.status?.["reason"] as string | undefined) ?? pod.status?.phase ?? "Unknown"
  let running = false
  for (const s of [...statuses].reverse()) {
    if (s.state.waiting?.reason) reason = s.state.waiting.reason
    else if (s.state.terminated && statuses.length === 1) {
      const t = s.state.terminated
      reason = t.reason !== "" ? t.reason : t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`
    } else if (s.state.running) running = true
  }
  if (reason === "Running" && running && statuses.some((s) => !s.ready)) return "NotReady"
  if (reason === "Succeeded") return "Completed"
  if (reason === "Failed") return "Error"
  return reason
}

// MicroTime as the API server decodes it: Go layout "2006-01-02T15:04:05.000000Z07:00".
const microTimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/

const checkMicroTime = (field: string, value: unknown): void => {
  if (value === undefined || value === null) return
  if (typeof value !== "string") {
    throw badRequest(
      `Lease in version "v1" cannot be handled as a Lease: ${field}: json: cannot unmarshal ${typeof value} into Go value of type string`
    )
  }
  if (!microTimePattern.test(value) || Number.isNaN(Date.parse(value))) {
    throw badRequest(
      `Lease in version "v1" cannot be handled as a Lease: parsing time "${value}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${
        value.slice(19)
      }" as ".000000"`
    )
  }
}

const checkInteger = (kind: string, name: string, field: string, value: unknown, min: number): void => {
  if (value === undefined || value === null) return
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw badRequest(
      `${kind} in version "v1" cannot be handled as a ${kind}: ${field}: json: cannot unmarshal ${typeof value} into Go value of type int32`
    )
  }
  if (value < min) {
    throw invalid(kind, name, field, `Invalid value: ${value}: must be greater than${min === 0 ? " or equal to" : ""} ${min === 0 ? 0 : min - 1}`)
  }
}

export const pods: ResourceDef = {
  group: "",
  plural: "pods",
  singular: "pod",
  version: "v1",
  kind: "Pod",
  shortNames: ["po"],
  smpSchema: podSmpSchema,
  statusSubresource: true,
  builtin: true,
  fieldSelectors: [
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName"
  ],
  fieldValue(obj, field) {
    const pod = obj as PodJson
    switch (field) {
      case "spec.nodeName":
        return pod.spec?.nodeName
      case "spec.restartPolicy":
        return pod.spec?.restartPolicy
      case "spec.schedulerName":
        return pod.spec?.["schedulerName"] as string | undefined
      case "spec.serviceAccountName":
        return pod.spec?.["serviceAccountName"] as string | undefined
      case "status.phase":
        return pod.status?.phase
      case "status.podIP":
        return pod.status?.podIP
      case "status.nominatedNodeName":
        return pod.status?.["nominatedNodeName"] as string | undefined
      default:
        return metaField(obj, field)
    }
  },
  validate(obj) {
    const pod = obj as PodJson
    const containers = pod.spec?.containers
    if (!Array.isArray(containers) || containers.length === 0) {
      throw invalid("Pod", obj.metadata.name, "spec.containers", "Required value")
    }
    for (const [i, c] of containers.entries()) {
      if (typeof c?.name !== "string" || c.name === "") {
        throw invalid("Pod", obj.metadata.name, `spec.containers[${i}].name`, "Required value")
      }
      if (typeof c.image !== "string" || c.image === "") {
        throw invalid("Pod", obj.metadata.name, `spec.containers[${i}].image`, "Required value")
      }
    }
  },
  columns: [
    nameColumn,
    column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "string", "The aggregate status of the containers in this pod."),
    column("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
    ageColumn,
    column("IP", "string", "The IP address assigned to this pod.", 1),
    column("Node", "string", "The name of the node this pod is assigned to.", 1),
    column("Nominated Node", "string", "The name of the node this pod is nominated to.", 1),
    column("Readiness Gates", "string", "The readiness gates of this pod.", 1)
  ],
  cells(obj, now) {
    const pod = obj as PodJson
    const statuses = pod.status?.containerStatuses ?? []
    const total = pod.spec?.containers?.length ?? statuses.length
    const ready = statuses.filter((s) => s.ready && stateOf(s) === "running").length
    const restarts = statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0)
    return [
      obj.metadata.name,
      `${ready}/${total}`,
      podStatusText(pod),
      String(restarts),
      humanAge(obj.metadata.creationTimestamp, now),
      pod.status?.podIP || "<none>",
      pod.spec?.nodeName || "<none>",
      "<none>",
      "<none>"
    ]
  }
}

export const leases: ResourceDef = {
  group: "coordination.k8s.io",
  plural: "leases",
  singular: "lease",
  version: "v1",
  kind: "Lease",
  shortNames: [],
  smpSchema: objectSmpSchema,
  statusSubresource: false,
  builtin: true,
  fieldSelectors: ["metadata.name", "metadata.namespace"],
  fieldValue: metaField,
  validate(obj) {
    const spec = obj["spec"]
    if (spec === undefined || spec === null) return
    if (typeof spec !== "object" || Array.isArray(spec)) {
      throw badRequest(`Lease in version "v1" cannot be handled as a Lease: spec: expected an object`)
    }
    const s = spec as Record<string, unknown>
    if (s["holderIdentity"] !== undefined && s["holderIdentity"] !== null && typeof s["holderIdentity"] !== "string") {
      throw badRequest(
        `Lease in version "v1" cannot be handled as a Lease: spec.holderIdentity: json: cannot unmarshal ${typeof s["holderIdentity"]} into Go value of type string`
      )
    }
    checkMicroTime("spec.acquireTime", s["acquireTime"])
    checkMicroTime("spec.renewTime", s["renewTime"])
    checkInteger("Lease", obj.metadata.name, "spec.leaseDurationSeconds", s["leaseDurationSeconds"], 1)
    checkInteger("Lease", obj.metadata.name, "spec.leaseTransitions", s["leaseTransitions"], 0)
  },
  columns: [
    nameColumn,
    column("Holder", "string", "The holder of the lease"),
    ageColumn
  ],
  cells(obj, now) {
    const spec = (obj["spec"] ?? {}) as Record<string, unknown>
    return [obj.metadata.name, (spec["holderIdentity"] as string | undefined) ?? "", humanAge(obj.metadata.creationTimestamp, now)]
  }
}

export const workflows: ResourceDef = {
  group: "argoproj.io",
  plural: "workflows",
  singular: "workflow",
  version: "v1alpha1",
  kind: "Workflow",
  shortNames: ["wf"],
  smpSchema: undefined,
  statusSubresource: false,
  builtin: false,
  fieldSelectors: ["metadata.name", "metadata.namespace"],
  fieldValue: metaField,
  validate() {},
  columns: [
    nameColumn,
    column("Status", "string", "Status of the workflow"),
    column("Age", "date", "When the workflow was started")
  ],
  cells(obj, now) {
    const status = (obj["status"] ?? {}) as Record<string, unknown>
    return [
      obj.metadata.name,
      (status["phase"] as string | undefined) ?? "",
      humanAge((status["startedAt"] as string | undefined) ?? obj.metadata.creationTimestamp, now)
    ]
  }
}

const checkLength = (name: string, field: string, value: unknown, max: number, required = true): void => {
  if (value === undefined || value === null || value === "") {
    if (required) throw invalid("Event", name, field, "Required value")
    return
  }
  if (typeof value !== "string") {
    throw badRequest(`Event in version "v1" cannot be handled as a Event: ${field}: json: cannot unmarshal ${typeof value} into Go value of type string`)
  }
  if (Buffer.byteLength(value) > max) throw invalid("Event", name, field, `Too long: may not be more than ${max} bytes`)
}

/** A MicroTime as events.k8s.io decodes it (unlike a Lease, any RFC 3339 fraction is read). */
const checkEventTime = (field: string, value: unknown): void => {
  if (typeof value !== "string" || Number.isNaN(Date.parse(value))) {
    throw badRequest(`Event in version "v1" cannot be handled as a Event: ${field}: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00"`)
  }
}

const refOf = (obj: KubeObject): Record<string, unknown> => (obj["regarding"] ?? {}) as Record<string, unknown>

/**
 * `events.k8s.io/v1` Events, validated as the API server's `ValidateEventCreate` does for that
 * group: eventTime, reportingController, reportingInstance, action, reason and type required (type
 * Normal or Warning), the note at most 1 KB, a series of count 2 or more with its
 * lastObservedTime, and the regarding object in the Event's own namespace.
 */
export const events: ResourceDef = {
  group: "events.k8s.io",
  plural: "events",
  singular: "event",
  version: "v1",
  kind: "Event",
  shortNames: ["ev"],
  smpSchema: objectSmpSchema,
  statusSubresource: false,
  builtin: true,
  fieldSelectors: [
    "metadata.name",
    "metadata.namespace",
    "regarding.apiVersion",
    "regarding.kind",
    "regarding.name",
    "regarding.namespace",
    "regarding.uid",
    "reason",
    "reportingController",
    "type"
  ],
  fieldValue(obj, field) {
    if (field.startsWith("regarding.")) {
      const v = refOf(obj)[field.slice("regarding.".length)]
      return typeof v === "string" ? v : undefined
    }
    if (field === "reason" || field === "reportingController" || field === "type") {
      const v = obj[field]
      return typeof v === "string" ? v : undefined
    }
    return metaField(obj, field)
  },
  validate(obj) {
    const name = obj.metadata.name
    checkEventTime("eventTime", obj["eventTime"])
    checkLength(name, "reportingController", obj["reportingController"], 253)
    checkLength(name, "reportingInstance", obj["reportingInstance"], 128)
    checkLength(name, "action", obj["action"], 128)
    checkLength(name, "reason", obj["reason"], 128)
    checkLength(name, "note", obj["note"], 1024, false)
    const type = obj["type"]
    if (type !== "Normal" && type !== "Warning") {
      throw invalid("Event", name, "type", `Unsupported value: ${JSON.stringify(type ?? "")}: supported values: "Normal", "Warning"`)
    }
    const regarding = refOf(obj)
    if (typeof regarding["namespace"] === "string" && regarding["namespace"] !== "" && regarding["namespace"] !== obj.metadata.namespace) {
      throw invalid("Event", name, "regarding.namespace", `Invalid value: "${regarding["namespace"]}": does not match event.namespace`)
    }
    const series = obj["series"]
    if (series !== undefined && series !== null) {
      const s = series as Record<string, unknown>
      if (typeof s["count"] !== "number" || !Number.isInteger(s["count"]) || s["count"] < 2) {
        throw invalid("Event", name, "series.count", `Invalid value: ${String(s["count"])}: should be at least 2`)
      }
      if (s["lastObservedTime"] === undefined || s["lastObservedTime"] === null) {
        throw invalid("Event", name, "series.lastObservedTime", "Required value")
      }
      checkEventTime("series.lastObservedTime", s["lastObservedTime"])
    }
  },
  columns: [
    column("Last Seen", "string", "Time when this Event was last observed."),
    column("Type", "string", "Type of this event (Normal, Warning)."),
    column("Reason", "string", "Why the action was taken."),
    column("Object", "string", "The object this Event is about."),
    column("Note", "string", "A human-readable description of the status of this operation.")
  ],
  cells(obj, now) {
    const regarding = refOf(obj)
    const series = obj["series"] as Record<string, unknown> | undefined
    const last = (series?.["lastObservedTime"] as string | undefined) ?? (obj["eventTime"] as string | undefined)
    const count = typeof series?.["count"] === "number" ? ` (x${series["count"]})` : ""
    return [
      `${humanAge(last, now)}${count}`,
      (obj["type"] as string | undefined) ?? "",
      (obj["reason"] as string | undefined) ?? "",
      `${String(regarding["kind"] ?? "").toLowerCase()}/${String(regarding["name"] ?? "")}`,
      (obj["note"] as string | undefined) ?? ""
    ]
  }
}

export const allResources: ReadonlyArray<ResourceDef> = [pods, leases, events, workflows]
