// seedWorkflowPods with Argo node maps and realistic object sizes; the Argo model over seeded workflows.

import { afterEach, describe, expect, it } from "vitest"
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node"
import { argoNodeId, fnv32a, seedWorkflowPods, SimCluster } from "../src/index.ts"
import { execPath, http, kubeConfig, rawExec } from "./helpers.ts"

let sims: Array<SimCluster> = []
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()))
  sims = []
})
const start = async (options: Parameters<typeof SimCluster.start>[0] = {}) => {
  const sim = await SimCluster.start(options)
  sims.push(sim)
  return sim
}

describe("seedWorkflowPods: Argo nodes", () => {
  it("names pods and nodes as Argo does and gives each workflow a node per pod", async () => {
    const sim = await start()
    const seeded = seedWorkflowPods(sim, { pods: 6, nodes: 2, namespace: "s", workflows: 2 })
    const pod = seeded.pods[3]
    const nodeName = pod.metadata?.annotations?.["workflows.argoproj.io/node-name"] ?? ""
    expect(nodeName).toBe("wf-1[1].main")
    expect(pod.metadata?.name).toBe(`wf-1-main-${fnv32a(nodeName)}`)
    expect(pod.metadata?.annotations?.["workflows.argoproj.io/node-id"]).toBe(argoNodeId("wf-1", nodeName))
    const nodes = sim.workflowNodes("s", "wf-1") ?? {}
    expect(Object.keys(nodes).length).toBe(3)
    expect(nodes[argoNodeId("wf-1", nodeName)]).toMatchObject({ type: "Pod", name: nodeName, phase: "Succeeded", boundaryID: "wf-1" })

    seedWorkflowPods(sim, { pods: 2, nodes: 1, namespace: "s2", argoNodes: false })
    expect(sim.getWorkflow("s2", "wf-0")?.status["nodes"]).toBeUndefined()

    seedWorkflowPods(sim, { pods: 2, nodes: 1, namespace: "s3", nodeStatus: "compressed-zstd", workflowPhase: "Running" })
    expect(sim.getWorkflow("s3", "wf-0")?.status["compressedNodes"]).toEqual(expect.any(String))
    expect(Object.values(sim.workflowNodes("s3", "wf-0") ?? {}).map((n) => n.phase)).toEqual(["Running", "Running"])
  })

  it("with the Argo model, seeded Running workflows complete once their wait containers exit", async () => {
    const sim = await start({ argo: { recordLag: 30 } })
    const seeded = seedWorkflowPods(sim, { pods: 4, nodes: 2, namespace: "m", workflows: 2, workflowPhase: "Running", realistic: true })
    for (const p of seeded.pods) sim.setContainerState("m", p.metadata?.name ?? "", "wait", "terminated", 0)
    await sim.waitFor(() => seeded.workflows.every((w) => sim.getWorkflow("m", w.metadata.name)?.status.phase === "Succeeded"), 2000)
    const nodes = Object.values(sim.workflowNodes("m", "wf-0") ?? {})
    expect(nodes.map((n) => [n.type, n.phase]).sort()).toEqual([
      ["Pod", "Succeeded"], ["Pod", "Succeeded"], ["StepGroup", "Succeeded"], ["StepGroup", "Succeeded"], ["Steps", "Succeeded"]
    ])
    expect(sim.argo?.podDeleted).toEqual([])
  })
})

describe("seedWorkflowPods: realistic sizes", () => {
  it("pods over 8 KB and a 500-pod workflow with over 1000 nodes, listed by client-node", async () => {
    const sim = await start()
    const seeded = seedWorkflowPods(sim, { pods: 500, nodes: 5, namespace: "r", workflows: 1, workflowPhase: "Running", realistic: true })
    const raw = await http(sim, "GET", `/api/v1/namespaces/r/pods/${seeded.pods[0].metadata?.name}`)
    expect(raw.text.length).toBeGreaterThan(8_000)
    expect(raw.json.metadata.managedFields.length).toBeGreaterThanOrEqual(3)
    const wait = raw.json.spec.containers.find((c: any) => c.name === "wait")
    const template = JSON.parse(wait.env.find((e: any) => e.name === "ARGO_TEMPLATE").value)
    expect(template.name).toBe("main")
    expect(JSON.stringify(template).length).toBeGreaterThan(2_000)
    expect(raw.json.spec.volumes.map((v: any) => v.name)).toContain("var-run-argo")
    expect(raw.json.spec.volumes.some((v: any) => v.projected !== undefined)).toBe(true)

    const wf = await http(sim, "GET", "/apis/argoproj.io/v1alpha1/namespaces/r/workflows/wf-0")
    expect(Object.keys(wf.json.status.nodes).length).toBeGreaterThan(1000)
    expect(Object.keys(wf.json.status.storedTemplates).length).toBe(2)
    expect(wf.text.length).toBeGreaterThan(300_000)

    const kc = kubeConfig(sim)
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: "r" })
    expect(list.items.length).toBe(500)
    expect(list.items[0].spec?.containers[1].env?.find((e) => e.name === "ARGO_NODE_ID")?.value).toBe(
      list.items[0].metadata?.annotations?.["workflows.argoproj.io/node-id"]
    )
    expect(list.items[0].metadata?.managedFields?.[0].manager).toBe("workflow-controller")
    const wfs = (await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
      group: "argoproj.io",
      version: "v1alpha1",
      plural: "workflows",
      namespace: "r"
    })) as any
    expect(Object.keys(wfs.items[0].status.nodes).length).toBe(1001)
  })

  it("a realistic pod still runs the process model and survives updatePod", async () => {
    const sim = await start()
    const [pod] = seedWorkflowPods(sim, { pods: 1, nodes: 1, namespace: "rp", realistic: true }).pods
    const name = pod.metadata?.name ?? ""
    sim.updatePod("rp", name, (p) => {
      p.metadata!.labels = { ...p.metadata!.labels, touched: "yes" }
    })
    const updated = sim.getPod("rp", name)
    expect(updated?.spec?.containers[0].env?.some((e) => e.name === "ARGO_TEMPLATE")).toBe(true)
    expect(updated?.metadata?.managedFields?.length).toBe(3)
    const c = rawExec(sim, execPath("rp", name, ["kill", "-15", "1"], { container: "wait" }))
    await c.opened
    await c.closed
    const waitState = () => sim.getPod("rp", name)?.status?.containerStatuses?.find((s) => s.name === "wait")?.state
    await sim.waitFor(() => waitState()?.terminated !== undefined)
    expect(waitState()?.terminated?.exitCode).toBe(143)
    expect(sim.getPod("rp", name)?.status?.phase).toBe("Failed")
  })
})
