import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node"
import { SimCluster, seedWorkflowPods } from "../src/index.ts"
import { http, kubeConfig, rawWatch } from "./helpers.ts"

let sim: SimCluster
let api: CustomObjectsApi
const wf = { group: "argoproj.io", version: "v1alpha1", plural: "workflows" }

beforeAll(async () => {
  sim = await SimCluster.start()
  api = kubeConfig(sim).makeApiClient(CustomObjectsApi)
})
afterAll(() => sim.close())

describe("workflows (argoproj.io/v1alpha1)", () => {
  it("list, get and merge-patch through CustomObjectsApi", async () => {
    sim.addWorkflow({ namespace: "argo", name: "wf-a", phase: "Succeeded", podGC: { strategy: "OnPodCompletion", deleteDelayDuration: "5s" } })
    sim.addWorkflow({ namespace: "argo", name: "wf-b", phase: "Running" })
    const list = (await api.listNamespacedCustomObject({ ...wf, namespace: "argo" })) as any
    expect(list.kind).toBe("WorkflowList")
    expect(list.items.map((w: any) => [w.kind, w.metadata.name, w.status.phase])).toEqual([["Workflow", "wf-a", "Succeeded"], ["Workflow", "wf-b", "Running"]])
    const all = (await api.listClusterCustomObject({ ...wf, labelSelector: "workflows.argoproj.io/completed=true" })) as any
    expect(all.items.map((w: any) => w.metadata.name)).toEqual(["wf-a"])

    const got = (await api.getNamespacedCustomObject({ ...wf, namespace: "argo", name: "wf-a" })) as any
    expect(got.spec.podGC).toEqual({ strategy: "OnPodCompletion", deleteDelayDuration: "5s" })
    expect(got.status.finishedAt).toBeTruthy()

    const patched = (await api.patchNamespacedCustomObject(
      { ...wf, namespace: "argo", name: "wf-b", body: { metadata: { annotations: { seen: "yes" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch)
    )) as any
    expect(patched.metadata.annotations).toEqual({ seen: "yes" })
  })

  it("a strategic merge patch is a 415 (custom resources do not support it)", async () => {
    sim.addWorkflow({ namespace: "argo", name: "wf-smp" })
    const res = await http(sim, "PATCH", "/apis/argoproj.io/v1alpha1/namespaces/argo/workflows/wf-smp", { metadata: { labels: { a: "b" } } }, {
      "Content-Type": "application/strategic-merge-patch+json"
    })
    expect(res.status).toBe(415)
  })

  it("setWorkflowPhase and deleteWorkflow are seen by watchers", async () => {
    sim.addWorkflow({ namespace: "wfw", name: "w1", phase: "Running" })
    const w = await rawWatch(sim, "/apis/argoproj.io/v1alpha1/namespaces/wfw/workflows?watch=1")
    await sim.waitFor(() => w.lines.length === 1)
    sim.setWorkflowPhase("wfw", "w1", "Failed")
    sim.deleteWorkflow("wfw", "w1")
    await sim.waitFor(() => w.lines.length === 3)
    expect(w.lines.map((l) => l.type)).toEqual(["ADDED", "MODIFIED", "DELETED"])
    expect(w.lines[1].object.status.phase).toBe("Failed")
    expect(w.lines[1].object.metadata.labels["workflows.argoproj.io/completed"]).toBe("true")
    w.close()
  })

  it("a missing workflow is a 404 naming workflows.argoproj.io", async () => {
    try {
      await api.getNamespacedCustomObject({ ...wf, namespace: "argo", name: "nope" })
      expect.fail("expected a 404")
    } catch (e) {
      expect((e as ApiException<string>).code).toBe(404)
      expect(JSON.parse((e as ApiException<string>).body).message).toBe('workflows.argoproj.io "nope" not found')
    }
  })

  it("discovery lists argoproj.io/v1alpha1", async () => {
    const groups = await http(sim, "GET", "/apis")
    expect(groups.json.groups.map((g: any) => g.name)).toEqual(["coordination.k8s.io", "events.k8s.io", "argoproj.io"])
    const resources = await http(sim, "GET", "/apis/argoproj.io/v1alpha1")
    expect(resources.json.resources[0]).toMatchObject({ name: "workflows", kind: "Workflow", namespaced: true })
  })
})

describe("without the Workflow CRD", () => {
  it("workflow paths are 404 and discovery omits argoproj.io", async () => {
    const bare = await SimCluster.start({ workflowsCrd: false })
    try {
      const api2 = kubeConfig(bare).makeApiClient(CustomObjectsApi)
      try {
        await api2.listNamespacedCustomObject({ ...wf, namespace: "argo" })
        expect.fail("expected a 404")
      } catch (e) {
        expect((e as ApiException<string>).code).toBe(404)
      }
      const groups = await http(bare, "GET", "/apis")
      expect(groups.json.groups.map((g: any) => g.name)).toEqual(["coordination.k8s.io", "events.k8s.io"])
      expect((await http(bare, "GET", "/apis/argoproj.io/v1alpha1")).status).toBe(404)
    } finally {
      await bare.close()
    }
  })
})

describe("seedWorkflowPods", () => {
  it("creates Argo-like pods round robin over nodes, owned by finished workflows", async () => {
    const seeded = seedWorkflowPods(sim, { pods: 7, nodes: 3, namespace: "seed", workflows: 2 })
    expect(seeded.workflows.map((w) => w.metadata.name)).toEqual(["wf-0", "wf-1"])
    expect(seeded.pods.map((p) => p.spec?.nodeName)).toEqual(["node-0", "node-1", "node-2", "node-0", "node-1", "node-2", "node-0"])
    const pod = seeded.pods[1]
    expect(pod.metadata?.labels).toEqual({ "workflows.argoproj.io/workflow": "wf-1", "workflows.argoproj.io/completed": "false" })
    expect(pod.metadata?.annotations?.["workflows.argoproj.io/pod-gc-strategy"]).toBe("OnPodCompletion/0s")
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Workflow", name: "wf-1", controller: true })
    expect(pod.status?.phase).toBe("Running")
    const [wait, main] = pod.status?.containerStatuses ?? []
    expect(wait.name).toBe("wait")
    expect(wait.state?.running).toBeDefined()
    expect(main.state?.terminated?.exitCode).toBe(0)
    expect(pod.spec?.containers[0].volumeMounts?.[0].mountPath).toBe("/var/run/argo")
    const wfObj = sim.getWorkflow("seed", "wf-1")
    expect(wfObj?.status.phase).toBe("Succeeded")
    expect(wfObj?.spec.podGC?.strategy).toBe("OnPodCompletion")
  })
})
