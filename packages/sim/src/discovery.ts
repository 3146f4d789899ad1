// Legacy (unaggregated) discovery documents: enough for kubectl to map `pods`, `leases`, `events`
// (events.k8s.io) and `workflows` to their REST paths. Served as plain application/json, which makes kubectl fall back
// from aggregated discovery exactly as it does against older API servers.

import { apiVersionOf, events, leases, pods, workflows } from "./resources.ts"
import type { ResourceDef } from "./resources.ts"

const allVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

const apiResource = (def: ResourceDef) => ({
  name: def.plural,
  singularName: def.singular,
  namespaced: true,
  kind: def.kind,
  verbs: allVerbs,
  ...(def.shortNames.length > 0 ? { shortNames: def.shortNames } : {}),
  ...(def.plural === "pods" ? { categories: ["all"] } : {})
})

const resourceList = (groupVersion: string, resources: ReadonlyArray<Record<string, unknown>>) => ({
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion,
  resources
})

const group = (def: ResourceDef) => {
  const gv = { groupVersion: apiVersionOf(def), version: def.version }
  return { name: def.group, versions: [gv], preferredVersion: gv }
}

export const versionInfo = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.4-sim",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.23.8",
  compiler: "gc",
  platform: "linux/amd64"
}

/** The discovery document for a path, or undefined when the path is not a discovery path. */
export const discoveryDocument = (
  path: string,
  options: { readonly workflowsCrd: boolean; readonly serverAddress: string }
): unknown => {
  const groups = options.workflowsCrd ? [leases, events, workflows] : [leases, events]
  const clean = path.replace(/\/+$/, "")
  if (clean === "/version") return versionInfo
  if (clean === "/api") {
    return {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: options.serverAddress }]
    }
  }
  if (clean === "/api/v1") {
    return resourceList("v1", [
      apiResource(pods),
      { name: "pods/exec", singularName: "", namespaced: true, kind: "PodExecOptions", verbs: ["create", "get"] },
      { name: "pods/status", singularName: "", namespaced: true, kind: "Pod", verbs: ["get", "patch", "update"] }
    ])
  }
  if (clean === "/apis") return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map(group) }
  for (const def of groups) {
    if (clean === `/apis/${def.group}`) return { kind: "APIGroup", apiVersion: "v1", ...group(def) }
    if (clean === `/apis/${apiVersionOf(def)}`) return resourceList(apiVersionOf(def), [apiResource(def)])
  }
  return undefined
}
