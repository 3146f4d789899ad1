import { describe, expect, it } from "vitest"
import { CoreV1Api, Watch } from "@kubernetes/client-node"
import { SimCluster } from "../src/index.ts"
import { execPath, kubeConfig, rawExec, rawWatch, sleep } from "./helpers.ts"

const count = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length

describe("close()", () => {
  it("destroys every open socket (exec, watch, keep-alive, pending) and closes the server; idempotent", async () => {
    const before = { sockets: count("TCPSocketWrap"), servers: count("TCPServerWrap"), timers: count("Timeout") }
    const sim = await SimCluster.start({ bookmarkIntervalMs: 20 })
    sim.addPod({ name: "half", nodeName: "node-x", containers: [{ name: "main" }] })
    sim.addPod({ name: "never", containers: [{ name: "main", termDelayMs: 60_000 }] })
    sim.partition("node-x")
    sim.faults.exec({ pod: "never" }, { kind: "noUpgrade" })
    sim.faults.api({ verb: "list" }, { kind: "latency", ms: 60_000 })
    const kubeconfigPath = sim.writeKubeconfig()

    const kc = kubeConfig(sim)
    await kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: "default", name: "half" }) // a keep-alive connection
    let watchDone = false
    await new Watch(kc).watch("/api/v1/pods", { allowWatchBookmarks: true }, () => {}, () => (watchDone = true))
    const raw = await rawWatch(sim, "/api/v1/pods?watch=1")
    const halfOpen = rawExec(sim, execPath("default", "half", ["true"], { container: "main" }))
    await halfOpen.opened
    const noUpgrade = rawExec(sim, execPath("default", "never", ["true"], { container: "main" }))
    noUpgrade.opened.catch(() => {})
    const pending = fetch(`${sim.url}/api/v1/pods`).then(() => "answered", () => "failed")
    await sim.waitFor(() => sim.requestLog.some((e) => e.verb === "list" && e.endedAt === undefined))
    await sim.waitFor(() => sim.stats().execOpen === 2)
    // A SIGTERM with a long delay leaves a timer in the process model.
    sim.faults.clear()
    const term = rawExec(sim, execPath("default", "never", ["kill", "1"], { container: "main" }))
    await term.closed
    await sim.waitFor(() => sim.stats().execOpen === 2 && sim.stats().watchOpen === 2)

    const started = Date.now()
    await sim.close()
    await sim.close()
    expect(Date.now() - started).toBeLessThan(1000)

    expect((await halfOpen.closed).code).toBe(1006)
    expect(await noUpgrade.closed).toBeDefined()
    expect(await raw.ended).toBe("error")
    expect(await pending).toBe("failed")
    await sleep(50)
    expect(watchDone).toBe(true)
    expect(sim.stats().execOpen).toBe(0)
    expect(sim.stats().watchOpen).toBe(0)
    const { existsSync } = await import("node:fs")
    expect(existsSync(kubeconfigPath)).toBe(false)

    // Nothing of the simulator is left in the event loop.
    expect(count("TCPServerWrap")).toBe(before.servers)
    await sleep(50)
    expect(count("TCPSocketWrap")).toBe(before.sockets)
    expect(count("Timeout")).toBeLessThanOrEqual(before.timers + 1)
  })

  it("a closed simulator refuses connections", async () => {
    const sim = await SimCluster.start()
    const url = sim.url
    await sim.close()
    await expect(fetch(`${url}/version`)).rejects.toThrow()
  })
})
