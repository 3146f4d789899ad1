import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Watch } from "@kubernetes/client-node"
import { SimCluster } from "../src/index.ts"
import { http, kubeConfig, rawWatch, sleep } from "./helpers.ts"

let sim: SimCluster

beforeAll(async () => {
  sim = await SimCluster.start({ bookmarkIntervalMs: 50 })
})
afterAll(() => sim.close())

const pod = (namespace: string, name: string, labels: Record<string, string> = {}) =>
  sim.addPod({ namespace, name, labels, containers: [{ name: "main" }] })

describe("watch through client-node", () => {
  it("from resourceVersion 0: synthetic ADDED, then live MODIFIED and DELETED", async () => {
    pod("w1", "existing")
    const events: Array<[string, string | undefined]> = []
    const done: Array<unknown> = []
    const controller = await new Watch(kubeConfig(sim)).watch(
      "/api/v1/namespaces/w1/pods",
      { resourceVersion: "0" },
      (type, obj) => events.push([type, obj.metadata?.name]),
      (err) => done.push(err)
    )
    await sim.waitFor(() => events.length === 1)
    pod("w1", "later")
    sim.setContainerState("w1", "later", "main", "terminated", 0)
    sim.deletePod("w1", "later")
    await sim.waitFor(() => events.length === 4)
    expect(events).toEqual([["ADDED", "existing"], ["ADDED", "later"], ["MODIFIED", "later"], ["DELETED", "later"]])
    expect(sim.stats().watchOpen).toBe(1)
    const entry = sim.requestLog.findLast((e) => e.verb === "watch" && e.namespace === "w1")!
    expect(entry).toMatchObject({ resource: "pods", status: 200, aborted: false })
    expect(entry.endedAt).toBeUndefined()
    controller.abort()
    await sim.waitFor(() => sim.stats().watchOpen === 0)
    // The client ended it: an aborted request, as far as the server can tell.
    await sim.waitFor(() => entry.endedAt !== undefined)
    expect(entry.aborted).toBe(true)
    expect(sim.stats().requests["watch pods"]).toBeGreaterThan(0)
  })

  it("resumes from a list's resourceVersion without replaying older events", async () => {
    pod("w2", "a")
    const list = await http(sim, "GET", "/api/v1/namespaces/w2/pods")
    pod("w2", "b")
    const w = await rawWatch(sim, `/api/v1/namespaces/w2/pods?watch=1&resourceVersion=${list.json.metadata.resourceVersion}`)
    await sim.waitFor(() => w.lines.length === 1)
    expect(w.lines.map((l) => [l.type, l.object.metadata.name])).toEqual([["ADDED", "b"]])
    expect(w.lines[0].object.kind).toBe("Pod")
    expect(w.lines[0].object.apiVersion).toBe("v1")
    w.close()
  })
})

describe("watch stream details", () => {
  it("flushes headers at once and sends no bytes while nothing happens", async () => {
    const w = await rawWatch(sim, "/api/v1/namespaces/quiet/pods?watch=true")
    expect(w.status).toBe(200)
    await sleep(100)
    expect(w.bytes()).toBe(0)
    w.close()
  })

  it("sends BOOKMARKs carrying only kind, apiVersion and resourceVersion when asked", async () => {
    const w = await rawWatch(sim, "/api/v1/namespaces/bm/pods?watch=1&allowWatchBookmarks=true&resourceVersion=0")
    await sim.waitFor(() => w.lines.some((l) => l.type === "BOOKMARK"))
    const bookmark = w.lines.find((l) => l.type === "BOOKMARK")!
    expect(bookmark.object).toEqual({ kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } })
    w.close()
  })

  it("applies selectors per event: an object that stops matching is DELETED, one that starts is ADDED", async () => {
    pod("sel", "s1", { keep: "yes" })
    const w = await rawWatch(sim, "/api/v1/namespaces/sel/pods?watch=1&labelSelector=keep%3Dyes")
    await sim.waitFor(() => w.lines.length === 1)
    sim.updatePod("sel", "s1", (p) => {
      p.metadata!.labels = { keep: "no" }
    })
    sim.updatePod("sel", "s1", (p) => {
      p.metadata!.labels = { keep: "yes" }
    })
    await sim.waitFor(() => w.lines.length === 3)
    expect(w.lines.map((l) => l.type)).toEqual(["ADDED", "DELETED", "ADDED"])
    w.close()
  })

  it("fieldSelector spec.nodeName filters", async () => {
    sim.addPod({ namespace: "fs", name: "on1", nodeName: "node-1", containers: [{ name: "main" }] })
    sim.addPod({ namespace: "fs", name: "on2", nodeName: "node-2", containers: [{ name: "main" }] })
    const w = await rawWatch(sim, "/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dnode-2")
    await sim.waitFor(() => w.lines.length >= 1)
    await sleep(20)
    expect(w.lines.map((l) => l.object.metadata.name)).toEqual(["on2"])
    w.close()
  })

  it("ends after timeoutSeconds", async () => {
    const w = await rawWatch(sim, "/api/v1/namespaces/to/pods?watch=1&timeoutSeconds=1")
    const started = Date.now()
    expect(await w.ended).toBe("end")
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)
  })
})

describe("410 too old resource version", () => {
  it("a watch from a compacted resourceVersion gets one ERROR 410 event and ends", async () => {
    const small = await SimCluster.start({ historyLimit: 3 })
    try {
      for (let i = 0; i < 6; i++) small.addPod({ name: `p${i}`, containers: [{ name: "main" }] })
      const w = await rawWatch(small, "/api/v1/namespaces/default/pods?watch=1&resourceVersion=1")
      expect(w.status).toBe(200)
      expect(await w.ended).toBe("end")
      expect(w.lines).toHaveLength(1)
      expect(w.lines[0].type).toBe("ERROR")
      expect(w.lines[0].object).toMatchObject({ kind: "Status", status: "Failure", reason: "Expired", code: 410 })
      expect(w.lines[0].object.message).toMatch(/too old resource version: 1 \(\d+\)/)

      // Still inside the window: replayed.
      const rv = 4
      const ok = await rawWatch(small, `/api/v1/namespaces/default/pods?watch=1&resourceVersion=${rv}`)
      await small.waitFor(() => ok.lines.length === 2)
      expect(ok.lines.map((l) => l.object.metadata.name)).toEqual(["p4", "p5"])
      ok.close()
    } finally {
      await small.close()
    }
  })

  it("client-node's Watch sees the ERROR event with code 410", async () => {
    const small = await SimCluster.start({ historyLimit: 1 })
    try {
      for (let i = 0; i < 3; i++) small.addPod({ name: `p${i}`, containers: [{ name: "main" }] })
      const seen: Array<{ type: string; code?: number }> = []
      let ended = false
      await new Watch(kubeConfig(small)).watch(
        "/api/v1/namespaces/default/pods",
        { resourceVersion: "1" },
        (type, obj) => seen.push({ type, code: obj.code }),
        () => (ended = true)
      )
      await small.waitFor(() => ended)
      expect(seen).toEqual([{ type: "ERROR", code: 410 }])
    } finally {
      await small.close()
    }
  })
})

describe("watch faults", () => {
  it("silent: the open watch stays connected but receives nothing more, not even bookmarks", async () => {
    const w = await rawWatch(sim, "/api/v1/namespaces/silent/pods?watch=1&allowWatchBookmarks=true")
    await sim.waitFor(() => w.lines.length > 0)
    sim.faults.watch("silent", { resource: "pods", namespace: "silent" })
    const count = w.lines.length
    pod("silent", "unseen")
    await sleep(150)
    expect(w.lines.length).toBe(count)
    expect(sim.stats().watchOpen).toBeGreaterThanOrEqual(1)
    w.close()
  })

  it("drop: the connection is destroyed (the client sees an error, not a clean end)", async () => {
    const w = await rawWatch(sim, "/api/v1/namespaces/drop/pods?watch=1")
    await sim.waitFor(() => sim.stats().watchOpen >= 1)
    sim.faults.watch({ kind: "drop" }, { resource: "pods", namespace: "drop" })
    expect(await w.ended).toBe("error")
  })

  it("end: the response ends cleanly", async () => {
    const w = await rawWatch(sim, "/api/v1/namespaces/end/pods?watch=1")
    await sleep(20)
    sim.faults.watch("end", { resource: "pods", namespace: "end" })
    expect(await w.ended).toBe("end")
  })

  it("gone: an ERROR 410 event, then the end", async () => {
    const w = await rawWatch(sim, "/api/v1/namespaces/gone/pods?watch=1")
    await sleep(20)
    sim.faults.watch("gone", { resource: "pods", namespace: "gone" })
    expect(await w.ended).toBe("end")
    expect(w.lines.at(-1)?.type).toBe("ERROR")
    expect(w.lines.at(-1)?.object.code).toBe(410)
  })

  it("bookmarkOnly: bookmarks keep coming (at the current resourceVersion), events are not delivered", async () => {
    const w = await rawWatch(sim, "/api/v1/namespaces/bmo/pods?watch=1&allowWatchBookmarks=true")
    await sim.waitFor(() => sim.stats().watchOpen >= 1 && w.lines.some((l) => l.type === "BOOKMARK"))
    sim.faults.watch("bookmarkOnly", { resource: "pods", namespace: "bmo" })
    const before = w.lines.length
    pod("bmo", "missed")
    const rvAfter = String(sim.listPods().find((p) => p.metadata?.name === "missed")!.metadata!.resourceVersion)
    await sim.waitFor(() => w.lines.slice(before).filter((l) => l.type === "BOOKMARK").length >= 2)
    const after = w.lines.slice(before)
    expect(after.every((l) => l.type === "BOOKMARK")).toBe(true)
    expect(Number(after.at(-1)!.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rvAfter))
    w.close()
  })

  it("bookmarkOnly for the next watch: no initial ADDED events, bookmarks only, and the timeout still ends it", async () => {
    pod("bmo2", "existing")
    sim.faults.watch("bookmarkOnly", { resource: "pods", namespace: "bmo2", next: 1 })
    const w = await rawWatch(sim, "/api/v1/namespaces/bmo2/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=1")
    pod("bmo2", "later")
    expect(await w.ended).toBe("end")
    expect(w.lines.length).toBeGreaterThan(0)
    expect(w.lines.every((l) => l.type === "BOOKMARK")).toBe(true)
  })

  it("raw: one line written as is, then the watch goes on", async () => {
    const w = await rawWatch(sim, "/api/v1/namespaces/raw/pods?watch=1")
    await sim.waitFor(() => sim.stats().watchOpen >= 1)
    sim.faults.watch({ kind: "raw", line: `{"type":"ADDED","object":null}` }, { resource: "pods", namespace: "raw" })
    pod("raw", "after")
    await sim.waitFor(() => w.lines.length === 2)
    expect(w.lines[0]).toEqual({ type: "ADDED", object: null })
    expect(w.lines[1].object.metadata.name).toBe("after")
    w.close()
  })

  it("next: the next N watches get the fault as soon as they open", async () => {
    sim.faults.watch("gone", { resource: "leases", namespace: "nx", next: 2 })
    for (let i = 0; i < 2; i++) {
      const w = await rawWatch(sim, "/apis/coordination.k8s.io/v1/namespaces/nx/leases?watch=1")
      expect(await w.ended).toBe("end")
      expect(w.lines.map((l) => l.object.code)).toEqual([410])
    }
    const third = await rawWatch(sim, "/apis/coordination.k8s.io/v1/namespaces/nx/leases?watch=1")
    await sleep(50)
    expect(third.lines).toEqual([])
    third.close()
  })
})
