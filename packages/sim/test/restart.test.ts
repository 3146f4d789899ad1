import { afterEach, describe, expect, it } from "vitest"
import { CoreV1Api, Watch } from "@kubernetes/client-node"
import { SimCluster } from "../src/index.ts"
import { execPath, http, kubeConfig, rawExec, rawWatch, sleep } from "./helpers.ts"

const started: Array<SimCluster> = []
const start = async (options: Parameters<typeof SimCluster.start>[0] = {}) => {
  const sim = await SimCluster.start(options)
  started.push(sim)
  return sim
}
afterEach(async () => {
  for (const sim of started.splice(0)) await sim.close()
})

describe("restart()", () => {
  it("drops every connection, listens again on the same port, and keeps objects, versions and history", async () => {
    const sim = await start({ bookmarkIntervalMs: 20 })
    sim.addPod({ name: "p", nodeName: "node-h", containers: [{ name: "main", termDelayMs: 60_000 }] })
    sim.addPod({ name: "q", containers: [{ name: "main" }] })
    const kc = kubeConfig(sim)
    const before = await kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: "default", name: "p" }) // keep-alive
    const list = await http(sim, "GET", "/api/v1/namespaces/default/pods")
    const listVersion: string = list.json.metadata.resourceVersion

    const done: Array<unknown> = []
    await new Watch(kc).watch("/api/v1/pods", { allowWatchBookmarks: true }, () => {}, (err) => done.push(err))
    const raw = await rawWatch(sim, "/api/v1/pods?watch=1")
    sim.partition("node-h")
    const halfOpen = rawExec(sim, execPath("default", "p", ["true"], { container: "main" }))
    await halfOpen.opened
    await sim.waitFor(() => sim.stats().execOpen === 1 && sim.stats().watchOpen === 2)

    const url = sim.url
    const restarting = sim.restart({ downMs: 100 })
    // While it is down, the state can still change (the kubelets keep running) ...
    await sleep(20)
    sim.setContainerState("default", "q", "main", "terminated", 0)
    // ... and nobody can connect.
    await expect(fetch(`${url}/version`)).rejects.toThrow()
    await restarting

    expect(sim.url).toBe(url)
    expect((await halfOpen.closed).code).toBe(1006)
    expect(await raw.ended).toBe("error")
    await sim.waitFor(() => done.length === 1)
    expect(done[0]).toBeTruthy() // an error, not a clean end
    expect(sim.stats().execOpen).toBe(0)
    expect(sim.stats().watchOpen).toBe(0)

    // Same objects, same uid and resourceVersion; the keep-alive client reconnects on its own.
    const after = await kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: "default", name: "p" })
    expect(after.metadata?.uid).toBe(before.metadata?.uid)
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
    // A watch resumed from the old list sees what changed while the server was down, nothing older.
    const resumed = await rawWatch(sim, `/api/v1/namespaces/default/pods?watch=1&resourceVersion=${listVersion}`)
    await sim.waitFor(() => resumed.lines.length >= 1)
    expect(resumed.lines.map((l) => [l.type, l.object.metadata.name])).toEqual([["MODIFIED", "q"]])
    resumed.close()

    // Faults and partitions survive: the partitioned node still hangs half-open.
    const again = rawExec(sim, execPath("default", "p", ["true"], { container: "main" }))
    await again.opened
    await sleep(50)
    expect(again.frames).toEqual([])
    again.ws.terminate()
    sim.heal("node-h")
    await sim.waitFor(() => sim.stats().execOpen === 0)
  })

  it("concurrent calls share one restart; requests in flight are dropped, later ones are served", async () => {
    const sim = await start()
    sim.addPod({ name: "slow", containers: [{ name: "main" }] })
    sim.faults.api({ verb: "get", name: "slow" }, { kind: "latency", ms: 60_000 }, { times: 1 })
    const pending = fetch(`${sim.url}/api/v1/namespaces/default/pods/slow`).then(() => "answered", () => "failed")
    await sim.waitFor(() => sim.requestLog.some((e) => e.verb === "get" && e.endedAt === undefined))
    const a = sim.restart()
    const b = sim.restart()
    expect(b).toBe(a)
    await a
    expect(await pending).toBe("failed")
    const res = await http(sim, "GET", "/api/v1/namespaces/default/pods/slow")
    expect(res.status).toBe(200)
    await sim.restart()
    expect((await http(sim, "GET", "/healthz")).status).toBe(200)
  })

  it("close() during a restart leaves it closed; a closed simulator refuses to restart", async () => {
    const sim = await SimCluster.start()
    const url = sim.url
    const restarting = sim.restart({ downMs: 100 })
    await sleep(10)
    await sim.close()
    await restarting
    await expect(fetch(`${url}/version`)).rejects.toThrow()
    await expect(sim.restart()).rejects.toThrow(/closed/)
  })
})
