/**
 * A paginated list is one consistent snapshot (the revision of its first page), as on a real API
 * server: a watch started from the list's resourceVersion then sees every change made while paging.
 */
import * as k8s from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimCluster } from "../src/index.ts"

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

  it("20 000 pods list in pages of 500 identical to one unpaginated list", async () => {
    const ns = "big"
    for (let i = 0; i < 20_000; i++) sim.addPod({ namespace: ns, name: `pod-${String(i).padStart(5, "0")}`, containers: [{ name: "main" }] })
    const whole = await core.listNamespacedPod({ namespace: ns })
    const started = performance.now()
    const pages: Array<k8s.V1PodList> = []
    let cont: string | undefined
    do {
      const page = await core.listNamespacedPod({ namespace: ns, limit: 500, _continue: cont })
      pages.push(page)
      cont = page.metadata!._continue || undefined
    } while (cont)
    const tookMs = performance.now() - started
    expect(pages).toHaveLength(40)
    const paged = pages.flatMap((p) => p.items)
    expect(paged.map((p) => `${p.metadata!.name} ${p.metadata!.resourceVersion}`)).toEqual(
      whole.items.map((p) => `${p.metadata!.name} ${p.metadata!.resourceVersion}`)
    )
    expect(JSON.stringify(paged)).toBe(JSON.stringify(whole.items))
    expect(pages.map((p) => p.metadata!.remainingItemCount)).toEqual([
      ...Array.from({ length: 39 }, (_, i) => 20_000 - 500 * (i + 1)),
      undefined
    ])
    expect(new Set(pages.map((p) => p.metadata!.resourceVersion)).size).toBe(1)
    // The server's own cost, without client-node's deserialisation: raw pages over HTTP.
    const rawStarted = performance.now()
    let rawCont: string | undefined
    let rawItems = 0
    do {
      const q = new URLSearchParams({ limit: "500" })
      if (rawCont) q.set("continue", rawCont)
      const body = await (await fetch(`${sim.url}/api/v1/namespaces/${ns}/pods?${q}`)).json() as {
        items: Array<unknown>
        metadata: { continue?: string }
      }
      rawItems += body.items.length
      rawCont = body.metadata.continue
    } while (rawCont)
    const rawMs = performance.now() - rawStarted
    expect(rawItems).toBe(20_000)
    console.log(`20 000 pods in 40 pages: ${tookMs.toFixed(0)} ms through client-node, ${rawMs.toFixed(0)} ms raw`)

    // Small pages show the cost of one page: 100 pages of 10 must not rebuild 20 000 objects each.
    const smallStarted = performance.now()
    let smallCont: string | undefined
    for (let i = 0; i < 100; i++) {
      const q = new URLSearchParams({ limit: "10" })
      if (smallCont) q.set("continue", smallCont)
      const body = await (await fetch(`${sim.url}/api/v1/namespaces/${ns}/pods?${q}`)).json() as { metadata: { continue?: string } }
      smallCont = body.metadata.continue
    }
    const smallMs = performance.now() - smallStarted
    // Times are reported, not asserted (the machines are shared): the page cost is in the benchmark.
    console.log(`100 pages of 10 out of 20 000: ${smallMs.toFixed(0)} ms`)
  }, 60_000)
})
