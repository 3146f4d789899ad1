import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CoordinationV1Api, PatchStrategy, setHeaderOptions, V1MicroTime } from "@kubernetes/client-node"
import type { V1Lease } from "@kubernetes/client-node"
import { SimCluster } from "../src/index.ts"
import { failure, http, kubeConfig, rawWatch } from "./helpers.ts"

let sim: SimCluster
let api: CoordinationV1Api

beforeAll(async () => {
  sim = await SimCluster.start()
  api = kubeConfig(sim).makeApiClient(CoordinationV1Api)
})
afterAll(() => sim.close())

const lease = (name: string, spec: Record<string, unknown>): V1Lease => ({ metadata: { name }, spec } as V1Lease)

describe("leases", () => {
  it("create, get, list, update with the current resourceVersion, delete", async () => {
    const created = await api.createNamespacedLease({
      namespace: "kube-system",
      body: lease("pod-cleanup", {
        holderIdentity: "a",
        leaseDurationSeconds: 15,
        acquireTime: new V1MicroTime("2026-11-28T10:00:00.123Z"),
        renewTime: "2026-11-28T10:00:00.123456Z",
        leaseTransitions: 0
      })
    })
    expect(created.metadata?.uid).toBeTruthy()
    expect(created.spec?.acquireTime as unknown).toBe("2026-11-28T10:00:00.123000Z")
    expect(created.spec?.renewTime as unknown).toBe("2026-11-28T10:00:00.123456Z")

    const got = await api.readNamespacedLease({ namespace: "kube-system", name: "pod-cleanup" })
    expect(got.spec?.holderIdentity).toBe("a")
    const list = await api.listNamespacedLease({ namespace: "kube-system" })
    expect(list.items.map((l) => l.metadata?.name)).toEqual(["pod-cleanup"])

    got.spec!.holderIdentity = "b"
    got.spec!.renewTime = new V1MicroTime()
    got.spec!.leaseTransitions = 1
    const updated = await api.replaceNamespacedLease({ namespace: "kube-system", name: "pod-cleanup", body: got })
    expect(updated.spec?.holderIdentity).toBe("b")
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(got.metadata?.resourceVersion))

    // The same (now stale) resourceVersion again: 409.
    got.spec!.holderIdentity = "c"
    const stale = await failure(api.replaceNamespacedLease({ namespace: "kube-system", name: "pod-cleanup", body: got }))
    expect(stale.code).toBe(409)
    expect(JSON.parse(stale.body).message).toBe(
      'Operation cannot be fulfilled on leases.coordination.k8s.io "pod-cleanup": the object has been modified; please apply your changes to the latest version and try again'
    )

    const patched = await api.patchNamespacedLease(
      { namespace: "kube-system", name: "pod-cleanup", body: { spec: { holderIdentity: "d" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch)
    )
    expect(patched.spec?.holderIdentity).toBe("d")

    const status = await api.deleteNamespacedLease({ namespace: "kube-system", name: "pod-cleanup" })
    expect(status.status).toBe("Success")
    const gone = await failure(api.readNamespacedLease({ namespace: "kube-system", name: "pod-cleanup" }))
    expect(gone.code).toBe(404)
    expect(JSON.parse(gone.body)).toMatchObject({
      message: 'leases.coordination.k8s.io "pod-cleanup" not found',
      details: { name: "pod-cleanup", group: "coordination.k8s.io", kind: "leases" }
    })
  })

  it("creating an existing lease is 409 AlreadyExists", async () => {
    await api.createNamespacedLease({ namespace: "l2", body: lease("dup", { holderIdentity: "a" }) })
    const e = await failure(api.createNamespacedLease({ namespace: "l2", body: lease("dup", { holderIdentity: "b" }) }))
    expect(e.code).toBe(409)
    expect(JSON.parse(e.body).reason).toBe("AlreadyExists")
  })

  it.each([
    ["a plain Date (3 fractional digits)", new Date("2026-11-28T10:00:00.123Z")],
    ["no fraction", "2026-11-28T10:00:00Z"],
    ["9 fractional digits", "2026-11-28T10:00:00.123456789Z"],
    ["no zone", "2026-11-28T10:00:00.123456"],
    ["garbage", "yesterday"]
  ])("renewTime as %s is a 400 like a real server's MicroTime decoding", async (_name, renewTime) => {
    const e = await failure(api.createNamespacedLease({ namespace: "l3", body: lease(`bad-${Math.random().toString(36).slice(2)}`, { renewTime }) }))
    expect(e.code).toBe(400)
    const body = JSON.parse(e.body)
    expect(body.reason).toBe("BadRequest")
    expect(body.message).toContain('as "2006-01-02T15:04:05.000000Z07:00"')
  })

  it("acquireTime is validated too, on update and patch as well as create", async () => {
    await api.createNamespacedLease({ namespace: "l4", body: lease("v", { holderIdentity: "a", acquireTime: "2026-11-28T10:00:00.000001+02:00" }) })
    const res = await http(sim, "PATCH", "/apis/coordination.k8s.io/v1/namespaces/l4/leases/v", { spec: { acquireTime: "2026-11-28T10:00:00.1Z" } }, {
      "Content-Type": "application/merge-patch+json"
    })
    expect(res.status).toBe(400)
  })

  it("leaseDurationSeconds must be positive (422 Invalid)", async () => {
    const e = await failure(api.createNamespacedLease({ namespace: "l5", body: lease("d", { leaseDurationSeconds: 0 }) }))
    expect(e.code).toBe(422)
    expect(JSON.parse(e.body).reason).toBe("Invalid")
  })

  it("an update without a resourceVersion is unconditional (as for real leases)", async () => {
    await api.createNamespacedLease({ namespace: "l6", body: lease("u", { holderIdentity: "a" }) })
    const updated = await api.replaceNamespacedLease({ namespace: "l6", name: "u", body: lease("u", { holderIdentity: "z" }) })
    expect(updated.spec?.holderIdentity).toBe("z")
  })

  it("is watchable and counted as '<verb> leases'", async () => {
    const w = await rawWatch(sim, "/apis/coordination.k8s.io/v1/namespaces/l7/leases?watch=1")
    await api.createNamespacedLease({ namespace: "l7", body: lease("w", { holderIdentity: "a" }) })
    await sim.waitFor(() => w.lines.length === 1)
    expect(w.lines[0]).toMatchObject({ type: "ADDED", object: { kind: "Lease", apiVersion: "coordination.k8s.io/v1" } })
    w.close()
    const requests = sim.stats().requests
    expect(requests["create leases"]).toBeGreaterThan(0)
    expect(requests["watch leases"]).toBe(1)
    expect(requests["update leases"]).toBeGreaterThan(0)
  })
})
