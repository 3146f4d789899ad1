// Maps a request path + method to what it addresses: a discovery document, a resource collection,
// one object, or one of its subresources (exec, status); and the audit verb the API server uses.

import { allResources, apiVersionOf } from "./resources.ts"
import type { ResourceDef } from "./resources.ts"

export type Route =
  | { readonly type: "discovery"; readonly path: string }
  | { readonly type: "health" }
  | {
    readonly type: "resource"
    readonly def: ResourceDef
    readonly namespace: string | undefined
    readonly name: string | undefined
    readonly subresource: "exec" | "status" | undefined
  }
  | { readonly type: "unknownSubresource"; readonly def: ResourceDef; readonly subresource: string }
  | { readonly type: "notFound" }

const decode = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

export const route = (pathname: string, options: { readonly workflowsCrd: boolean }): Route => {
  const path = pathname.replace(/\/+$/, "") || "/"
  if (path === "/healthz" || path === "/livez" || path === "/readyz") return { type: "health" }
  if (path === "/version" || path === "/api" || path === "/apis") return { type: "discovery", path }
  const defs = allResources.filter((d) => options.workflowsCrd || d.plural !== "workflows")
  for (const def of defs) {
    const prefix = def.group === "" ? "/api/v1" : `/apis/${apiVersionOf(def)}`
    if (path === prefix || (def.group !== "" && path === `/apis/${def.group}`)) return { type: "discovery", path }
    if (!path.startsWith(`${prefix}/`)) continue
    const rest = path.slice(prefix.length + 1).split("/").map(decode)
    let namespace: string | undefined
    let i = 0
    if (rest[0] === "namespaces" && rest.length >= 3) {
      namespace = rest[1]
      i = 2
    }
    if (rest[i] !== def.plural) continue
    const name = rest[i + 1]
    const sub = rest[i + 2]
    if (rest.length > i + 3) return { type: "notFound" }
    if (sub !== undefined) {
      if (def.plural === "pods" && (sub === "exec" || sub === "status")) {
        return { type: "resource", def, namespace, name, subresource: sub }
      }
      return { type: "unknownSubresource", def, subresource: sub }
    }
    if (name !== undefined && namespace === undefined) return { type: "notFound" }
    return { type: "resource", def, namespace, name, subresource: undefined }
  }
  return { type: "notFound" }
}

/** The audit verb: list / watch / get / create / update / patch / delete / deletecollection / exec. */
export const verbOf = (method: string, r: Route, watch: boolean): string => {
  if (r.type !== "resource") return method === "GET" ? "get" : method.toLowerCase()
  if (r.subresource === "exec") return "exec"
  if (r.name === undefined) {
    if (method === "GET") return watch ? "watch" : "list"
    if (method === "POST") return "create"
    if (method === "DELETE") return "deletecollection"
    return method.toLowerCase()
  }
  switch (method) {
    case "GET":
      return watch ? "watch" : "get"
    case "PUT":
      return "update"
    case "PATCH":
      return "patch"
    case "DELETE":
      return "delete"
    case "POST":
      return "create"
    default:
      return method.toLowerCase()
  }
}

export const resourceOf = (r: Route): string => {
  switch (r.type) {
    case "resource":
      return r.subresource === "status" ? `${r.def.plural}/status` : r.def.plural
    case "unknownSubresource":
      return `${r.def.plural}/${r.subresource}`
    case "discovery":
      return r.path === "/version" ? "version" : "discovery"
    case "health":
      return "health"
    case "notFound":
      return "unknown"
  }
}
