import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node"
import { SimCluster } from "../src/index.ts"
import { failure, http, kubeConfig } from "./helpers.ts"

let sim: SimCluster
let api: CoreV1Api

beforeAll(async () => {
  sim = await SimCluster.start()
  api = kubeConfig(sim).makeApiClient(CoreV1Api)
})
afterAll(() => sim.close())

const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch)
const strategic = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch)
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch)

describe("pods: list and get", () => {
  it("lists with label and field selectors, across and within namespaces", async () => {
    sim.addPod({ namespace: "ls-a", name: "a1", nodeName: "node-1", labels: { app: "x", tier: "web" }, containers: [{ name: "main" }] })
    sim.addPod({ namespace: "ls-a", name: "a2", nodeName: "node-2", labels: { app: "y" }, containers: [{ name: "main" }] })
    sim.addPod({ namespace: "ls-b", name: "b1", nodeName: "node-1", labels: { app: "x" }, containers: [{ name: "main", state: "terminated" }] })

    const all = await api.listPodForAllNamespaces({ labelSelector: "app in (x,y)" })
    expect(all.items.map((p) => p.metadata?.name).sort()).toEqual(["a1", "a2", "b1"])
    expect(Number(all.metadata?.resourceVersion)).toBeGreaterThan(0)

    const ns = await api.listNamespacedPod({ namespace: "ls-a", labelSelector: "app=x,tier" })
    expect(ns.items.map((p) => p.metadata?.name)).toEqual(["a1"])

    const onNode = await api.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=node-1,status.phase=Running" })
    expect(onNode.items.map((p) => p.metadata?.name)).toEqual(["a1"])

    const bad = await failure(api.listNamespacedPod({ namespace: "ls-a", labelSelector: "app in (x" }))
    expect(bad.code).toBe(400)
    const badField = await failure(api.listNamespacedPod({ namespace: "ls-a", fieldSelector: "spec.foo=1" }))
    expect(badField.code).toBe(400)
  })

  it("pages with limit and continue", async () => {
    for (let i = 0; i < 5; i++) sim.addPod({ namespace: "page", name: `p${i}`, containers: [{ name: "main" }] })
    const first = await api.listNamespacedPod({ namespace: "page", limit: 2 })
    expect(first.items.map((p) => p.metadata?.name)).toEqual(["p0", "p1"])
    expect(first.metadata?.remainingItemCount).toBe(3)
    const second = await api.listNamespacedPod({ namespace: "page", limit: 2, _continue: first.metadata?._continue })
    expect(second.items.map((p) => p.metadata?.name)).toEqual(["p2", "p3"])
    const third = await api.listNamespacedPod({ namespace: "page", limit: 2, _continue: second.metadata?._continue })
    expect(third.items.map((p) => p.metadata?.name)).toEqual(["p4"])
    expect(third.metadata?._continue).toBeUndefined()
  })

  it("gets a pod with realistic container statuses; a missing one is a NotFound Status", async () => {
    sim.addPod({
      namespace: "get",
      name: "argo-step",
      containers: [{ name: "wait", volumeMounts: [{ mountPath: "/var/run/argo" }] }, { name: "main", state: "terminated", exitCode: 0 }]
    })
    const pod = await api.readNamespacedPod({ namespace: "get", name: "argo-step" })
    expect(pod.kind).toBe("Pod")
    expect(pod.status?.phase).toBe("Running")
    const [wait, main] = pod.status?.containerStatuses ?? []
    expect(wait.state?.running?.startedAt).toBeInstanceOf(Date)
    expect(wait.ready).toBe(true)
    expect(wait.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/)
    expect(wait.imageID).toMatch(/@sha256:[0-9a-f]{64}$/)
    expect(main.state?.terminated?.exitCode).toBe(0)
    expect(main.state?.terminated?.reason).toBe("Completed")
    expect(main.restartCount).toBe(0)

    const missing = await failure(api.readNamespacedPod({ namespace: "get", name: "nope" }))
    expect(missing.code).toBe(404)
    expect(JSON.parse(missing.body)).toMatchObject({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "NotFound",
      message: 'pods "nope" not found',
      details: { name: "nope", kind: "pods" },
      code: 404
    })
  })

  it("a pending pod keeps its explicit phase until a container changes", () => {
    sim.addPod({ namespace: "ph", name: "pending", phase: "Pending", containers: [{ name: "main", state: "waiting" }] })
    expect(sim.getPod("ph", "pending")?.status?.phase).toBe("Pending")
    expect(sim.getPod("ph", "pending")?.status?.containerStatuses?.[0].state?.waiting?.reason).toBe("ContainerCreating")
    sim.setContainerState("ph", "pending", "main", "running")
    expect(sim.getPod("ph", "pending")?.status?.phase).toBe("Running")
    sim.setContainerState("ph", "pending", "main", "terminated", 2)
    const pod = sim.getPod("ph", "pending")
    expect(pod?.status?.phase).toBe("Failed")
    expect(pod?.status?.containerStatuses?.[0].state?.terminated?.reason).toBe("Error")
  })

  it("serves Table output to kubectl-style requests", async () => {
    sim.addPod({ namespace: "tbl", name: "t1", containers: [{ name: "main" }, { name: "side", state: "terminated" }] })
    const res = await http(sim, "GET", "/api/v1/namespaces/tbl/pods", undefined, {
      Accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    })
    expect(res.json.kind).toBe("Table")
    expect(res.json.columnDefinitions.map((c: { name: string }) => c.name).slice(0, 5)).toEqual(["Name", "Ready", "Status", "Restarts", "Age"])
    expect(res.json.rows[0].cells.slice(0, 3)).toEqual(["t1", "1/2", "NotReady"])
    expect(res.json.rows[0].object.kind).toBe("PartialObjectMetadata")
  })

  it("answers a get asking for PartialObjectMetadata with the metadata only, and a plain get with the whole pod", async () => {
    const added = sim.addPod({ namespace: "pom", name: "p1", containers: [{ name: "main" }] })
    const meta = await http(sim, "GET", "/api/v1/namespaces/pom/pods/p1", undefined, {
      Accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json"
    })
    expect(meta.json.kind).toBe("PartialObjectMetadata")
    expect(meta.json.apiVersion).toBe("meta.k8s.io/v1")
    expect(meta.json.metadata.uid).toBe(added.metadata?.uid)
    expect(meta.json.metadata.resourceVersion).toBe(added.metadata?.resourceVersion)
    expect(meta.json.spec).toBeUndefined()
    expect(meta.json.status).toBeUndefined()
    const whole = await http(sim, "GET", "/api/v1/namespaces/pom/pods/p1", undefined, { Accept: "application/json" })
    expect(whole.json.kind).toBe("Pod")
    expect(whole.json.spec.containers[0].name).toBe("main")
  })
})

describe("pods: create and update", () => {
  it("creates a pod over REST (scheduled and running) and rejects duplicates", async () => {
    const created = await api.createNamespacedPod({
      namespace: "cr",
      body: { metadata: { name: "new" }, spec: { nodeName: "node-3", containers: [{ name: "main", image: "busybox" }] } }
    })
    expect(created.metadata?.uid).toBeTruthy()
    expect(created.status?.phase).toBe("Running")
    expect(created.spec?.nodeName).toBe("node-3")
    const dup = await failure(
      api.createNamespacedPod({ namespace: "cr", body: { metadata: { name: "new" }, spec: { containers: [{ name: "main", image: "busybox" }] } } })
    )
    expect(dup.code).toBe(409)
    expect(JSON.parse(dup.body).reason).toBe("AlreadyExists")
    const generated = await api.createNamespacedPod({
      namespace: "cr",
      body: { metadata: { generateName: "gen-" }, spec: { containers: [{ name: "main", image: "busybox" }] } }
    })
    expect(generated.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/)
  })
})

describe("pods: patch", () => {
  it("enforces the patch Content-Type (415) and rejects a merge body sent as JSON patch (400)", async () => {
    sim.addPod({ namespace: "pt", name: "ct", containers: [{ name: "main" }] })
    const wrongType = await http(sim, "PATCH", "/api/v1/namespaces/pt/pods/ct", { metadata: { labels: { a: "b" } } }, {
      "Content-Type": "application/json"
    })
    expect(wrongType.status).toBe(415)
    expect(wrongType.json.reason).toBe("UnsupportedMediaType")
    // client-node's default patch content type is JSON patch: a merge-style body is a 400.
    const defaultType = await failure(api.patchNamespacedPod({ namespace: "pt", name: "ct", body: { metadata: { labels: { a: "b" } } } }))
    expect(defaultType.code).toBe(400)
  })

  it("merge, strategic and JSON patches apply; a stale resourceVersion is a 409", async () => {
    const pod = sim.addPod({ namespace: "pt", name: "p1", finalizers: ["workflows.argoproj.io/status", "keep/me"], containers: [{ name: "main" }] })
    const rv = pod.metadata?.resourceVersion
    const merged = await api.patchNamespacedPod(
      { namespace: "pt", name: "p1", body: { metadata: { resourceVersion: rv, labels: { "workflows.argoproj.io/completed": "true" } } } },
      merge
    )
    expect(merged.metadata?.labels?.["workflows.argoproj.io/completed"]).toBe("true")
    expect(Number(merged.metadata?.resourceVersion)).toBeGreaterThan(Number(rv))

    const stale = await failure(api.patchNamespacedPod({ namespace: "pt", name: "p1", body: { metadata: { resourceVersion: rv, labels: { x: "y" } } } }, merge))
    expect(stale.code).toBe(409)
    expect(JSON.parse(stale.body)).toMatchObject({ reason: "Conflict", code: 409 })
    expect(JSON.parse(stale.body).message).toContain("the object has been modified")

    const smp = await api.patchNamespacedPod(
      { namespace: "pt", name: "p1", body: { metadata: { "$deleteFromPrimitiveList/finalizers": ["workflows.argoproj.io/status"] } } },
      strategic
    )
    expect(smp.metadata?.finalizers).toEqual(["keep/me"])

    const jp = await api.patchNamespacedPod(
      { namespace: "pt", name: "p1", body: [{ op: "test", path: "/metadata/finalizers/0", value: "keep/me" }, { op: "remove", path: "/metadata/finalizers/0" }] },
      jsonPatch
    )
    expect(jp.metadata?.finalizers).toBeUndefined()

    const failedTest = await failure(
      api.patchNamespacedPod({ namespace: "pt", name: "p1", body: [{ op: "test", path: "/metadata/name", value: "other" }] }, jsonPatch)
    )
    expect(failedTest.code).toBe(422)
    expect(JSON.parse(failedTest.body).reason).toBe("Invalid")
  })

  it("a no-op patch does not bump the resourceVersion; status and spec are protected like a real server", async () => {
    const pod = sim.addPod({ namespace: "pt", name: "noop", labels: { a: "1" }, containers: [{ name: "main" }] })
    const same = await api.patchNamespacedPod({ namespace: "pt", name: "noop", body: { metadata: { labels: { a: "1" } } } }, merge)
    expect(same.metadata?.resourceVersion).toBe(pod.metadata?.resourceVersion)

    const statusIgnored = await api.patchNamespacedPod({ namespace: "pt", name: "noop", body: { status: { phase: "Succeeded" } } }, merge)
    expect(statusIgnored.status?.phase).toBe("Running")

    const viaStatus = await http(sim, "PATCH", "/api/v1/namespaces/pt/pods/noop/status", { status: { phase: "Succeeded" } }, {
      "Content-Type": "application/merge-patch+json"
    })
    expect(viaStatus.status).toBe(200)
    expect(viaStatus.json.status.phase).toBe("Succeeded")

    const spec = await failure(
      api.patchNamespacedPod({ namespace: "pt", name: "noop", body: { spec: { nodeName: "elsewhere" } } }, merge)
    )
    expect(spec.code).toBe(422)
    expect(JSON.parse(spec.body).message).toContain("pod updates may not change fields")

    const image = await api.patchNamespacedPod(
      { namespace: "pt", name: "noop", body: { spec: { containers: [{ name: "main", image: "busybox:2" }] } } },
      strategic
    )
    expect(image.spec?.containers[0].image).toBe("busybox:2")
  })

  it("a missing pod is a 404 for patch", async () => {
    const e = await failure(api.patchNamespacedPod({ namespace: "pt", name: "ghost", body: { metadata: {} } }, merge))
    expect(e.code).toBe(404)
  })
})

describe("pods: delete", () => {
  it("deletes a pod without finalizers at once and returns it", async () => {
    sim.addPod({ namespace: "del", name: "plain", containers: [{ name: "main" }] })
    const res = await api.deleteNamespacedPod({ namespace: "del", name: "plain", gracePeriodSeconds: 0, propagationPolicy: "Background" })
    expect((res as { kind?: string }).kind).toBe("Pod")
    expect(sim.getPod("del", "plain")).toBeUndefined()
    const again = await failure(api.deleteNamespacedPod({ namespace: "del", name: "plain" }))
    expect(again.code).toBe(404)
  })

  it("a uid precondition mismatch is a 409 and the pod stays", async () => {
    sim.addPod({ namespace: "del", name: "recreated", containers: [{ name: "main" }] })
    const e = await failure(api.deleteNamespacedPod({ namespace: "del", name: "recreated", body: { preconditions: { uid: "not-the-uid" } } }))
    expect(e.code).toBe(409)
    expect(JSON.parse(e.body).message).toContain("Precondition failed: UID in precondition: not-the-uid")
    expect(sim.getPod("del", "recreated")).toBeDefined()
    const uid = sim.getPod("del", "recreated")?.metadata?.uid
    await api.deleteNamespacedPod({ namespace: "del", name: "recreated", body: { preconditions: { uid } } })
    expect(sim.getPod("del", "recreated")).toBeUndefined()
  })

  it("a stale resourceVersion precondition is a 409", async () => {
    sim.addPod({ namespace: "del", name: "rvpre", containers: [{ name: "main" }] })
    const e = await failure(api.deleteNamespacedPod({ namespace: "del", name: "rvpre", body: { preconditions: { resourceVersion: "1" } } }))
    expect(e.code).toBe(409)
  })

  it("with finalizers the pod is marked, its containers are stopped, and removing the last finalizer completes the delete", async () => {
    sim.addPod({
      namespace: "del",
      name: "fin",
      finalizers: ["workflows.argoproj.io/status"],
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "main" }]
    })
    const marked = await api.deleteNamespacedPod({ namespace: "del", name: "fin" })
    expect((marked as { metadata?: { deletionTimestamp?: Date } }).metadata?.deletionTimestamp).toBeInstanceOf(Date)
    const pod = sim.getPod("del", "fin")
    expect(pod?.metadata?.deletionTimestamp).toBeInstanceOf(Date)
    expect(pod?.metadata?.deletionGracePeriodSeconds).toBe(1)
    // The kubelet's part: SIGTERM to the running container.
    expect(pod?.status?.containerStatuses?.[0].state?.terminated?.exitCode).toBe(143)

    const adding = await failure(
      api.patchNamespacedPod({ namespace: "del", name: "fin", body: { metadata: { finalizers: ["workflows.argoproj.io/status", "new/one"] } } }, merge)
    )
    expect(adding.code).toBe(422)

    const last = await api.patchNamespacedPod({ namespace: "del", name: "fin", body: { metadata: { finalizers: [] } } }, merge)
    expect(last.metadata?.finalizers ?? []).toEqual([])
    expect(sim.getPod("del", "fin")).toBeUndefined()
  })

  it("deletecollection removes what the selector matches", async () => {
    sim.addPod({ namespace: "dc", name: "x1", labels: { gone: "yes" }, containers: [{ name: "main" }] })
    sim.addPod({ namespace: "dc", name: "x2", labels: { gone: "no" }, containers: [{ name: "main" }] })
    await api.deleteCollectionNamespacedPod({ namespace: "dc", labelSelector: "gone=yes" })
    expect(sim.listPods().filter((p) => p.metadata?.namespace === "dc").map((p) => p.metadata?.name)).toEqual(["x2"])
  })
})

describe("server-side helpers", () => {
  it("updatePod mutates and bumps the resourceVersion; removing the last finalizer of a deleting pod deletes it", () => {
    const pod = sim.addPod({ namespace: "srv", name: "u", finalizers: ["f"], containers: [{ name: "main" }] })
    const updated = sim.updatePod("srv", "u", (p) => {
      p.metadata!.labels = { touched: "yes" }
    })
    expect(updated.metadata?.labels).toEqual({ touched: "yes" })
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(pod.metadata?.resourceVersion))
    expect(updated.metadata?.creationTimestamp).toEqual(pod.metadata?.creationTimestamp)
    expect(sim.deletePod("srv", "u")).toBe(true)
    expect(sim.getPod("srv", "u")?.metadata?.deletionTimestamp).toBeInstanceOf(Date)
    sim.updatePod("srv", "u", (p) => {
      p.metadata!.finalizers = []
    })
    expect(sim.getPod("srv", "u")).toBeUndefined()
  })

  it("getPod returns a copy", () => {
    sim.addPod({ namespace: "srv", name: "copy", containers: [{ name: "main" }] })
    const p = sim.getPod("srv", "copy")!
    p.metadata!.name = "changed"
    expect(sim.getPod("srv", "copy")?.metadata?.name).toBe("copy")
  })
})
