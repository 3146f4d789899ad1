/**
 * Every Kubernetes API permission pod-cleanup needs, and nothing more: the single source of truth
 * the RBAC manifests in `deploy/` are tested against (`test/deploy/manifests.test.ts`).
 *
 * Scopes:
 * - `cluster-or-watched-namespaces`: a ClusterRole bound by a ClusterRoleBinding when every
 *   namespace is watched (`deploy/base`), or a Role + RoleBinding in each watched namespace when
 *   `POD_CLEANUP_NAMESPACES` names them (`deploy/overlays/single-namespace`).
 * - `own-namespace`: a Role + RoleBinding in the namespace the controller runs in (the Lease of the
 *   leader election, `POD_CLEANUP_LEASE_NAMESPACE`, defaults to it).
 *
 * Why each verb:
 * - pods get/list/watch: the informer (list + watch with the label selector) and re-reads before a
 *   guarded patch or delete; patch: the `completed` label and removing the status finalizer;
 *   delete: PodGC deletes (with a UID precondition).
 * - pods/exec create and get: the kill commands run over a WebSocket, which the API server receives
 *   as a GET upgrade request. Up to Kubernetes 1.34 (and on 1.35+ with the
 *   `AuthorizePodWebsocketUpgradeCreatePermission` feature gate off) that request is authorized as
 *   `get` on pods/exec; from 1.35 it must also pass a `create` check (kubernetes/kubernetes#134577).
 *   SPDY clients such as Argo's own controller only need `create`. With `create` alone every exec
 *   of this controller fails with 403 on clusters before 1.35.
 * - workflows.argoproj.io get/list/watch: the workflow informer (phase, PodGC strategy, shutdown)
 *   and the one-off probe for the CRD.
 * - events.events.k8s.io create/patch: Kubernetes Events on the pods acted on (and their
 *   Workflows), in the pod's namespace; patch grows an Event's series (`POD_CLEANUP_EVENTS=false`
 *   turns them off). No get/list: the recorder keeps what it wrote in memory, as client-go does. No
 *   Events about Nodes (cluster-scoped, they would need a grant in "default" and `get nodes`).
 * - leases.coordination.k8s.io get/create/update: leader election (read, first acquisition,
 *   renewal and takeover). No delete: the leader releases the lease by updating it.
 */

export type PermissionScope = "cluster-or-watched-namespaces" | "own-namespace"

export interface RequiredPermission {
  /** "" for the core API group. */
  readonly apiGroup: string
  /** Plural resource, with `/subresource` where one is meant (`pods/exec`). */
  readonly resource: string
  readonly verbs: ReadonlyArray<string>
  readonly scope: PermissionScope
}

export const requiredPermissions: ReadonlyArray<RequiredPermission> = [
  { apiGroup: "", resource: "pods", verbs: ["get", "list", "watch", "patch", "delete"], scope: "cluster-or-watched-namespaces" },
  { apiGroup: "", resource: "pods/exec", verbs: ["create", "get"], scope: "cluster-or-watched-namespaces" },
  { apiGroup: "argoproj.io", resource: "workflows", verbs: ["get", "list", "watch"], scope: "cluster-or-watched-namespaces" },
  { apiGroup: "events.k8s.io", resource: "events", verbs: ["create", "patch"], scope: "cluster-or-watched-namespaces" },
  { apiGroup: "coordination.k8s.io", resource: "leases", verbs: ["get", "create", "update"], scope: "own-namespace" }
]
