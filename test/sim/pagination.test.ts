/**
 * A paginated list is one consistent snapshot (the revision of its first page), as on a real API
 * server: a watch started from the list's resourceVersion then sees every change made while paging.
 */
import * as k8s from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimCluster } from "../../src/sim/index.ts"

let sim: SimCluster
let core: k8s.CoreV1Api
let kc: k8s.KubeConfig
beforeAll(async () => {
  sim = await SimCluster.start()
  kc = new k8s.KubeConfig()
  kc.loadFromFile(sim.writeKubeconfig())
  core = kc.makeApiClient(k8s.CoreV1Api)
})
afterAll(async () => {
  await sim?.close()
})

describe("paginated list", () => {
  it("serves every page from the first page's snapshot, and a watch from its resourceVersion misses nothing", async () => {
    for (let i = 0; i < 9; i++) sim.addPod({ namespace: "pages", name: `p-${i}`, containers: [{ name: "main" }] })
    const first = await core.listNamespacedPod({ namespace: "pages", limit: 3 })
    const snapshot = first.metadata!.resourceVersion!
    // Changes while paging: one pod of the first page, one of a later page deleted, one added.
    sim.updatePod("pages", "p-0", (p) => {
      p.metadata = { ...p.metadata, labels: { changed: "yes" } }
    })
    sim.deletePod("pages", "p-7", { gracePeriodSeconds: 0 })
    sim.addPod({ namespace: "pages", name: "p-9", containers: [{ name: "main" }] })
    const names: Array<string> = first.items.map((p) => p.metadata!.name!)
    let cont = first.metadata!._continue
    while (cont) {
      const page = await core.listNamespacedPod({ namespace: "pages", limit: 3, _continue: cont })
      expect(page.metadata!.resourceVersion).toBe(snapshot)
      names.push(...page.items.map((p) => p.metadata!.name!))
      cont = page.metadata!._continue || undefined
    }
    expect(names).toEqual(["p-0", "p-1", "p-2", "p-3", "p-4", "p-5", "p-6", "p-7", "p-8"])

    const events: Array<string> = []
    const controller = await new k8s.Watch(kc).watch("/api/v1/namespaces/pages/pods", { resourceVersion: snapshot }, (type, obj) => {
      events.push(`${type} ${obj.metadata.name}`)
    }, () => undefined)
    await sim.waitFor(() => events.length >= 3)
    controller.abort()
    expect(events).toEqual(["MODIFIED p-0", "DELETED p-7", "ADDED p-9"])
  })

  it("expireContinueTokens: an outstanding token answers 410 Expired; a new list pages normally", async () => {
    for (let i = 0; i < 6; i++) sim.addPod({ namespace: "expire", name: `e-${i}`, containers: [{ name: "main" }] })
    const first = await core.listNamespacedPod({ namespace: "expire", limit: 2 })
    sim.expireContinueTokens()
    const err = await core.listNamespacedPod({ namespace: "expire", limit: 2, _continue: first.metadata!._continue }).then(
      () => undefined,
      (e: k8s.ApiException<string>) => e
    )
    expect(err?.code).toBe(410)
    expect(JSON.parse(err!.body)).toMatchObject({
      kind: "Status",
      reason: "Expired",
      code: 410,
      message: expect.stringMatching(/^The provided continue parameter is too old/)
    })
    const names: Array<string> = []
    let cont: string | undefined
    do {
      const page = await core.listNamespacedPod({ namespace: "expire", limit: 2, _continue: cont })
      names.push(...page.items.map((p) => p.metadata!.name!))
      cont = page.metadata!._continue || undefined
    } while (cont)
    expect(names).toEqual(["e-0", "e-1", "e-2", "e-3", "e-4", "e-5"])
  })
})
