// The Kubernetes manifests in deploy/, rendered with `kubectl kustomize` exactly as
// `kubectl apply -k` would apply them: the base, the base with the ServiceMonitor component, and the
// single-namespace overlay. Checks the pod hardening, the probes, the shutdown timing, and that the
// RBAC rules granted to the service account are exactly `requiredPermissions`, no more, no less.

import { type V1Deployment, type V1Namespace, type V1PodDisruptionBudget, type V1PolicyRule, type V1Service, loadAllYaml } from "@kubernetes/client-node"
import { Duration, Result } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { parseGoDuration } from "../../src/domain/duration.ts"
import { requiredPermissions } from "../../src/controller/permissions.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const deployDir = join(root, "deploy")

const hasKubectl = (() => {
  try {
    execFileSync("kubectl", ["kustomize", "--help"], { encoding: "utf8", timeout: 10_000, stdio: "pipe" })
    return true
  } catch {
    return false
  }
})()
if (!hasKubectl) console.warn("test/deploy/manifests.test.ts: skipped, kubectl (with its built-in kustomize) is not on PATH")

// ---- rendering ------------------------------------------------------------------------------------

interface KubeObject {
  readonly apiVersion?: string
  readonly kind?: string
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Record<string, string> }
  readonly [key: string]: unknown
}

const kustomize = (dir: string): ReadonlyArray<KubeObject> => {
  const text = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", timeout: 60_000, stdio: "pipe" })
  return (loadAllYaml(text) as Array<KubeObject | null | undefined>).filter((o): o is KubeObject => o != null)
}

const scratch: Array<string> = []
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
})

/** The base plus the ServiceMonitor component, as a user's overlay would combine them. */
const baseWithComponentDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "pod-cleanup-kustomize-"))
  scratch.push(dir)
  // kustomize refuses absolute roots: refer to deploy/ relative to the scratch directory.
  const rel = relative(dir, deployDir)
  writeFileSync(
    join(dir, "kustomization.yaml"),
    [
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      "resources:",
      `  - ${rel}/base`,
      "components:",
      `  - ${rel}/components/servicemonitor`,
      ""
    ].join("\n")
  )
  return dir
}

interface Rendering {
  readonly name: string
  readonly dir: () => string
  /** The namespaces POD_CLEANUP_NAMESPACES should name; empty = all. */
  readonly watched: ReadonlyArray<string>
  readonly serviceMonitor: boolean
}

const renderings: ReadonlyArray<Rendering> = [
  { name: "base", dir: () => join(deployDir, "base"), watched: [], serviceMonitor: false },
  { name: "base + servicemonitor component", dir: baseWithComponentDir, watched: [], serviceMonitor: true },
  { name: "overlays/single-namespace", dir: () => join(deployDir, "overlays", "single-namespace"), watched: ["argo"], serviceMonitor: false }
]

const cache = new Map<string, ReadonlyArray<KubeObject>>()
const objectsOf = (r: Rendering): ReadonlyArray<KubeObject> => {
  let objects = cache.get(r.name)
  if (objects === undefined) {
    objects = kustomize(r.dir())
    cache.set(r.name, objects)
  }
  return objects
}

const ofKind = <A = KubeObject>(objects: ReadonlyArray<KubeObject>, kind: string): Array<A> =>
  objects.filter((o) => o.kind === kind) as Array<A>

const theDeployment = (objects: ReadonlyArray<KubeObject>): V1Deployment => {
  const deployments = ofKind<V1Deployment>(objects, "Deployment")
  expect(deployments.map((d) => d.metadata?.name)).toEqual(["pod-cleanup"])
  return deployments[0]
}

const podSpecOf = (d: V1Deployment) => {
  const spec = d.spec?.template.spec
  if (spec === undefined) throw new Error("the Deployment has no pod template spec")
  return spec
}

const theContainer = (d: V1Deployment) => {
  const containers = podSpecOf(d).containers
  expect(containers).toHaveLength(1)
  return containers[0]
}

const envValue = (d: V1Deployment, name: string): string | undefined =>
  theContainer(d).env?.find((e) => e.name === name)?.value

/** A probe's or Service's port, resolved through the container's named ports. */
const containerPortNumber = (d: V1Deployment, port: number | string | undefined): number | undefined => {
  if (typeof port === "number") return port
  if (port === undefined) return undefined
  if (/^\d+$/.test(port)) return Number(port)
  return theContainer(d).ports?.find((p) => p.name === port)?.containerPort
}

/** Kubernetes resource quantities, enough for CPU and memory: 100m, 0.5, 128Mi, 1Gi, 500M. */
const quantity = (q: string | number | undefined): number => {
  if (q === undefined) return Number.NaN
  if (typeof q === "number") return q
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q)
  if (m === null) return Number.NaN
  const factor: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40
  }
  return Number(m[1]) * factor[m[2] ?? ""]
}

const matchesSelector = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v)

/** Every setting the service reads from the environment (src/config/settings.ts). */
const knownEnv = new Set([
  "POD_NAME",
  "POD_CLEANUP_EXEC_TIMEOUT",
  "POD_CLEANUP_WORKERS",
  "POD_CLEANUP_NAMESPACES",
  "POD_CLEANUP_LABEL_SELECTOR",
  "POD_CLEANUP_MAIN_CONTAINERS",
  "POD_CLEANUP_DELETE_DELAY",
  "POD_CLEANUP_DELETE_GRACE_PERIOD",
  "POD_CLEANUP_EXEC_RETRIES",
  "POD_CLEANUP_SIGNAL_CONCURRENCY",
  "POD_CLEANUP_NODE_EXEC_CAP",
  "POD_CLEANUP_BREAKER_THRESHOLD",
  "POD_CLEANUP_BREAKER_COOLDOWN",
  "POD_CLEANUP_API_QPS",
  "POD_CLEANUP_API_BURST",
  "POD_CLEANUP_HTTP_PORT",
  "POD_CLEANUP_LEADER_ELECT",
  "POD_CLEANUP_LEASE_NAME",
  "POD_CLEANUP_LEASE_NAMESPACE",
  "POD_CLEANUP_LEASE_DURATION",
  "POD_CLEANUP_RENEW_DEADLINE",
  "POD_CLEANUP_RETRY_PERIOD",
  "POD_CLEANUP_LOG_FORMAT",
  "POD_CLEANUP_LOG_LEVEL",
  "POD_CLEANUP_SHUTDOWN_GRACE",
  "POD_CLEANUP_ARGO_COMPATIBLE"
])
const defaultShutdownGrace = Duration.seconds(20)

// ---- RBAC -----------------------------------------------------------------------------------------

type Scope = (typeof requiredPermissions)[number]["scope"]

/** One granted (or required) verb, where it applies: "cluster" or a namespace. */
interface Grant {
  readonly scope: Scope
  readonly where: string
  readonly apiGroup: string
  readonly resource: string
  readonly verb: string
}

const grantKey = (g: Grant) => `${g.scope} @${g.where}: ${g.apiGroup === "" ? "core" : g.apiGroup}/${g.resource} ${g.verb}`

interface Role {
  readonly kind?: string
  readonly metadata?: { readonly name?: string; readonly namespace?: string }
  readonly rules?: Array<V1PolicyRule>
  readonly aggregationRule?: unknown
}
interface Binding {
  readonly kind?: string
  readonly metadata?: { readonly name?: string; readonly namespace?: string }
  readonly roleRef: { readonly apiGroup: string; readonly kind: string; readonly name: string }
  readonly subjects?: Array<{ readonly kind: string; readonly name: string; readonly namespace?: string; readonly apiGroup?: string }>
}

/**
 * The verbs the service account really gets: every rule of every role reached through a binding
 * whose subject is the service account, with the namespace it applies in.
 */
const effectiveGrants = (
  objects: ReadonlyArray<KubeObject>,
  sa: { readonly name: string; readonly namespace: string },
  watched: ReadonlyArray<string>
): Array<Grant> => {
  const clusterRoles = ofKind<Role>(objects, "ClusterRole")
  const roles = ofKind<Role>(objects, "Role")
  const bindings = [...ofKind<Binding>(objects, "ClusterRoleBinding"), ...ofKind<Binding>(objects, "RoleBinding")]
  const grants: Array<Grant> = []
  const boundRoles = new Set<string>()
  for (const b of bindings) {
    const where = b.kind === "ClusterRoleBinding" ? "cluster" : b.metadata?.namespace
    expect(where, `${b.kind} ${b.metadata?.name} has a namespace`).toBeDefined()
    // Bound to this service account and nothing else.
    expect(b.subjects, `${b.kind} ${b.metadata?.name} subjects`).toEqual([
      { kind: "ServiceAccount", name: sa.name, namespace: sa.namespace }
    ])
    expect(b.roleRef.apiGroup).toBe("rbac.authorization.k8s.io")
    const role = b.roleRef.kind === "ClusterRole"
      ? clusterRoles.find((r) => r.metadata?.name === b.roleRef.name)
      : roles.find((r) => r.metadata?.name === b.roleRef.name && r.metadata?.namespace === b.metadata?.namespace)
    expect(role, `${b.kind} ${b.metadata?.namespace ?? ""}/${b.metadata?.name} refers to ${b.roleRef.kind} ${b.roleRef.name} in the same rendering`)
      .toBeDefined()
    if (role === undefined) continue
    boundRoles.add(`${role.kind}/${role.metadata?.namespace ?? ""}/${role.metadata?.name}`)
    expect(role.aggregationRule, `${role.kind} ${role.metadata?.name} aggregates nothing`).toBeUndefined()
    for (const rule of role.rules ?? []) {
      expect(rule.nonResourceURLs ?? [], `${role.metadata?.name}: no nonResourceURLs`).toEqual([])
      expect(rule.resourceNames ?? [], `${role.metadata?.name}: no resourceNames`).toEqual([])
      for (const list of [rule.apiGroups ?? [], rule.resources ?? [], rule.verbs]) {
        expect(list.filter((x) => x.includes("*")), `${role.metadata?.name}: no wildcards`).toEqual([])
      }
      for (const apiGroup of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          for (const verb of rule.verbs) {
            const scope: Scope | undefined = where === "cluster" || watched.includes(where!)
              ? "cluster-or-watched-namespaces"
              : where === sa.namespace
              ? "own-namespace"
              : undefined
            expect(scope, `${role.metadata?.name}: granted in ${where}, which is neither watched nor the controller's own namespace`)
              .toBeDefined()
            grants.push({ scope: scope!, where: where!, apiGroup, resource, verb })
          }
        }
      }
    }
  }
  // No role lies around unbound (it would only confuse a reader of the manifests).
  for (const r of [...clusterRoles, ...roles]) {
    expect(boundRoles.has(`${r.kind}/${r.metadata?.namespace ?? ""}/${r.metadata?.name}`), `${r.kind} ${r.metadata?.name} is bound`).toBe(true)
  }
  return grants
}

/** `requiredPermissions`, expanded over the places the rendering should grant them. */
const expectedGrants = (ownNamespace: string, watched: ReadonlyArray<string>): Array<Grant> =>
  requiredPermissions.flatMap((p) => {
    const places = p.scope === "own-namespace" ? [ownNamespace] : watched.length === 0 ? ["cluster"] : watched
    return places.flatMap((where) => p.verbs.map((verb) => ({ scope: p.scope, where, apiGroup: p.apiGroup, resource: p.resource, verb })))
  })

// ---- tests ----------------------------------------------------------------------------------------

describe("requiredPermissions (src/controller/permissions.ts)", () => {
  it("has no wildcard, no duplicate, and leases only in the controller's own namespace", () => {
    const seen = new Set<string>()
    for (const p of requiredPermissions) {
      for (const x of [p.apiGroup, p.resource, ...p.verbs]) expect(x).not.toContain("*")
      expect(new Set(p.verbs).size).toBe(p.verbs.length)
      const key = `${p.apiGroup}/${p.resource}`
      expect(seen.has(key), key).toBe(false)
      seen.add(key)
      if (p.resource === "leases") expect(p.scope).toBe("own-namespace")
      else expect(p.scope).toBe("cluster-or-watched-namespaces")
    }
    expect([...seen].sort()).toEqual(["/pods", "/pods/exec", "argoproj.io/workflows", "coordination.k8s.io/leases", "events.k8s.io/events"])
  })
})

for (const r of renderings) {
  describe(`deploy: ${r.name}`, () => {
    it.skipIf(!hasKubectl)("renders; every object has a kind, a name, and a built-in API group unless it is the ServiceMonitor", () => {
      const objects = objectsOf(r)
      expect(objects.length).toBeGreaterThan(0)
      for (const o of objects) {
        expect(o.kind).toBeTruthy()
        expect(o.metadata?.name).toBeTruthy()
      }
      const groups = new Set(objects.map((o) => o.apiVersion))
      const allowed = new Set(["v1", "apps/v1", "rbac.authorization.k8s.io/v1", "policy/v1"])
      if (r.serviceMonitor) allowed.add("monitoring.coreos.com/v1")
      expect([...groups].filter((g) => !allowed.has(g ?? ""))).toEqual([])
      expect(ofKind(objects, "ServiceMonitor")).toHaveLength(r.serviceMonitor ? 1 : 0)
    })

    it.skipIf(!hasKubectl)("namespace pod-cleanup-system enforces the restricted Pod Security Standard", () => {
      const objects = objectsOf(r)
      const d = theDeployment(objects)
      expect(d.metadata?.namespace).toBe("pod-cleanup-system")
      const ns = ofKind<V1Namespace>(objects, "Namespace")
      expect(ns.map((n) => n.metadata?.name)).toEqual(["pod-cleanup-system"])
      expect(ns[0].metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted")
      // Every namespaced object of our own lives there (the overlay's Role is in the watched namespace).
      for (const o of objects) {
        if (o.kind === "Namespace" || o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding") continue
        const ns = o.metadata?.namespace
        expect(ns === "pod-cleanup-system" || r.watched.includes(ns ?? ""), `${o.kind} ${o.metadata?.name} in ${ns}`).toBe(true)
        if (ns !== "pod-cleanup-system") expect(["Role", "RoleBinding"]).toContain(o.kind)
      }
    })

    it.skipIf(!hasKubectl)("Deployment: 2 replicas with leader election, its service account with the token mounted", () => {
      const objects = objectsOf(r)
      const d = theDeployment(objects)
      expect(d.spec?.replicas).toBe(2)
      expect(envValue(d, "POD_CLEANUP_LEADER_ELECT") ?? "true").toBe("true")
      expect(matchesSelector(d.spec?.selector.matchLabels, d.spec?.template.metadata?.labels)).toBe(true)
      const pod = podSpecOf(d)
      expect(pod.serviceAccountName).toBe("pod-cleanup")
      expect(pod.automountServiceAccountToken).toBe(true)
      const sa = ofKind<{ metadata?: { name?: string; namespace?: string }; automountServiceAccountToken?: boolean }>(objects, "ServiceAccount")
      expect(sa.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`)).toEqual(["pod-cleanup-system/pod-cleanup"])
      expect(sa[0].automountServiceAccountToken).not.toBe(false)
      // Service links off: a Service named pod-cleanup would inject POD_CLEANUP_SERVICE_HOST & co.
      expect(pod.enableServiceLinks).toBe(false)
    })

    it.skipIf(!hasKubectl)("Deployment: non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp", () => {
      const d = theDeployment(objectsOf(r))
      const pod = podSpecOf(d)
      expect(pod.securityContext?.runAsNonRoot).toBe(true)
      expect(pod.securityContext?.runAsUser).toBe(1000)
      expect(pod.securityContext?.seccompProfile?.type).toBe("RuntimeDefault")
      expect(pod.hostNetwork ?? false).toBe(false)
      expect(pod.hostPID ?? false).toBe(false)
      expect(pod.hostIPC ?? false).toBe(false)
      expect((pod.volumes ?? []).filter((v) => v.hostPath !== undefined)).toEqual([])
      expect(pod.initContainers ?? []).toEqual([])
      const c = theContainer(d)
      expect(c.securityContext?.readOnlyRootFilesystem).toBe(true)
      expect(c.securityContext?.allowPrivilegeEscalation).toBe(false)
      expect(c.securityContext?.capabilities?.drop).toEqual(["ALL"])
      expect(c.securityContext?.capabilities?.add ?? []).toEqual([])
      expect(c.securityContext?.privileged ?? false).toBe(false)
      if (c.securityContext?.runAsUser !== undefined) expect(c.securityContext.runAsUser).not.toBe(0)
      if (c.securityContext?.runAsNonRoot !== undefined) expect(c.securityContext.runAsNonRoot).toBe(true)
    })

    it.skipIf(!hasKubectl)("Deployment: the image's entrypoint runs unchanged, with known settings and POD_NAME from the downward API", () => {
      const d = theDeployment(objectsOf(r))
      const c = theContainer(d)
      expect(c.image).toMatch(/^(.+\/)?pod-cleanup(:[\w][\w.-]*)?(@sha256:[0-9a-f]{64})?$/)
      expect(c.image).not.toMatch(/:latest$/)
      expect(c.command).toBeUndefined()
      expect(c.args === undefined || (c.args.length === 1 && c.args[0] === "run")).toBe(true)
      const env = c.env ?? []
      const names = env.map((e) => e.name)
      expect(new Set(names).size, "no duplicate env").toBe(names.length)
      expect(names.filter((n) => !knownEnv.has(n)), "env names the service reads").toEqual([])
      const podName = env.find((e) => e.name === "POD_NAME")
      expect(podName?.value).toBeUndefined()
      expect(podName?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name")
      const namespaces = envValue(d, "POD_CLEANUP_NAMESPACES") ?? ""
      expect(namespaces.split(",").map((s) => s.trim()).filter((s) => s !== "")).toEqual(r.watched)
    })

    it.skipIf(!hasKubectl)("Deployment: liveness on /healthz, readiness on /readyz, both on port 8080 with sensible timings", () => {
      const d = theDeployment(objectsOf(r))
      const c = theContainer(d)
      const httpPort = Number(envValue(d, "POD_CLEANUP_HTTP_PORT") ?? "8080")
      expect(httpPort).toBe(8080)
      expect(c.ports?.map((p) => p.containerPort)).toEqual([8080])
      const probes = [
        { name: "liveness", probe: c.livenessProbe, path: "/healthz" },
        { name: "readiness", probe: c.readinessProbe, path: "/readyz" },
        ...(c.startupProbe === undefined ? [] : [{ name: "startup", probe: c.startupProbe, path: "/healthz" }])
      ]
      for (const { name, path, probe } of probes) {
        expect(probe, name).toBeDefined()
        expect(probe?.httpGet?.path, name).toBe(path)
        expect(containerPortNumber(d, probe?.httpGet?.port), name).toBe(httpPort)
        const period = probe?.periodSeconds ?? 10
        const timeout = probe?.timeoutSeconds ?? 1
        expect(period, name).toBeGreaterThanOrEqual(2)
        expect(period, name).toBeLessThanOrEqual(30)
        expect(timeout, name).toBeLessThan(period)
        expect(probe?.failureThreshold ?? 3, name).toBeGreaterThanOrEqual(3)
      }
      // Liveness gives up no sooner than 20 s: a slow API server must not get the pod restarted.
      const live = c.livenessProbe!
      expect((live.periodSeconds ?? 10) * (live.failureThreshold ?? 3)).toBeGreaterThanOrEqual(20)
    })

    it.skipIf(!hasKubectl)("Deployment: requests and a memory limit; termination grace longer than the shutdown grace", () => {
      const d = theDeployment(objectsOf(r))
      const res = theContainer(d).resources
      expect(quantity(res?.requests?.cpu)).toBeGreaterThan(0)
      expect(quantity(res?.requests?.memory)).toBeGreaterThan(0)
      expect(quantity(res?.limits?.memory)).toBeGreaterThanOrEqual(quantity(res?.requests?.memory))
      const text = envValue(d, "POD_CLEANUP_SHUTDOWN_GRACE")
      const shutdown = text === undefined ? defaultShutdownGrace : Result.getOrThrow(parseGoDuration(text))
      const grace = podSpecOf(d).terminationGracePeriodSeconds ?? 30
      expect(grace).toBe(30)
      // In-flight actions get the shutdown grace; the lease release and exit need a few seconds more
      // before the kubelet's SIGKILL.
      expect(grace * 1000).toBeGreaterThanOrEqual(Duration.toMillis(shutdown) + 5_000)
    })

    it.skipIf(!hasKubectl)("Service: port 8080 named metrics, reaching the container's port; PDB and Service select the pods", () => {
      const objects = objectsOf(r)
      const d = theDeployment(objects)
      const podLabels = d.spec?.template.metadata?.labels
      const services = ofKind<V1Service>(objects, "Service")
      expect(services).toHaveLength(1)
      const svc = services[0]
      expect(svc.metadata?.namespace).toBe(d.metadata?.namespace)
      expect(matchesSelector(svc.spec?.selector, podLabels)).toBe(true)
      const metrics = svc.spec?.ports?.find((p) => p.name === "metrics")
      expect(metrics?.port).toBe(8080)
      expect(containerPortNumber(d, metrics?.targetPort ?? metrics?.port)).toBe(8080)
      for (const pdb of ofKind<V1PodDisruptionBudget>(objects, "PodDisruptionBudget")) {
        expect(matchesSelector(pdb.spec?.selector?.matchLabels, podLabels)).toBe(true)
        // Never blocks every eviction: with 2 replicas one may always go.
        expect(pdb.spec?.maxUnavailable ?? 0).not.toBe(0)
      }
    })

    if (r.serviceMonitor) it.skipIf(!hasKubectl)("ServiceMonitor: scrapes /metrics on the Service's metrics port", () => {
      const objects = objectsOf(r)
      const svc = ofKind<V1Service>(objects, "Service")[0]
      const [sm] = ofKind<{
        metadata?: { namespace?: string }
        spec?: {
          selector?: { matchLabels?: Record<string, string> }
          namespaceSelector?: { matchNames?: Array<string> }
          endpoints?: Array<{ port?: string; path?: string }>
        }
      }>(objects, "ServiceMonitor")
      expect(sm.metadata?.namespace).toBe(svc.metadata?.namespace)
      expect(sm.spec?.namespaceSelector?.matchNames ?? [svc.metadata?.namespace]).toContain(svc.metadata?.namespace)
      expect(matchesSelector(sm.spec?.selector?.matchLabels, svc.metadata?.labels)).toBe(true)
      expect(sm.spec?.endpoints).toEqual([expect.objectContaining({ port: "metrics", path: "/metrics" })])
    })

    it.skipIf(!hasKubectl)("RBAC: the service account's grants are exactly requiredPermissions", () => {
      const objects = objectsOf(r)
      const d = theDeployment(objects)
      const own = d.metadata!.namespace!
      const granted = effectiveGrants(objects, { name: "pod-cleanup", namespace: own }, r.watched).map(grantKey).sort()
      const expected = expectedGrants(own, r.watched).map(grantKey).sort()
      expect(new Set(granted).size, "no verb granted twice").toBe(granted.length)
      const extra = granted.filter((g) => !expected.includes(g))
      const missing = expected.filter((g) => !granted.includes(g))
      expect({ extra, missing }).toEqual({ extra: [], missing: [] })
      expect(granted).toEqual(expected)
    })

    it.skipIf(!hasKubectl)("RBAC: leases only through a namespaced Role in the controller's namespace; cluster roles only when watching all", () => {
      const objects = objectsOf(r)
      const own = theDeployment(objects).metadata!.namespace
      const rolesWith = (kind: string, resource: string) =>
        ofKind<Role>(objects, kind).filter((role) => (role.rules ?? []).some((rule) => (rule.resources ?? []).includes(resource)))
      expect(rolesWith("ClusterRole", "leases")).toEqual([])
      expect(rolesWith("Role", "leases").map((role) => role.metadata?.namespace)).toEqual([own])
      expect(rolesWith("Role", "pods").map((role) => role.metadata?.namespace).sort()).toEqual([...r.watched].sort())
      const clusterKinds = objects.filter((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding").map((o) => o.kind).sort()
      expect(clusterKinds).toEqual(r.watched.length === 0 ? ["ClusterRole", "ClusterRoleBinding"] : [])
    })
  })
}
