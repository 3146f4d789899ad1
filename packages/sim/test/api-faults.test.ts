import { request } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CoreV1Api } from "@kubernetes/client-node"
import { SimCluster } from "../src/index.ts"
import type { RequestLogEntry } from "../src/index.ts"
import { failure, http, kubeConfig } from "./helpers.ts"

let sim: SimCluster
let api: CoreV1Api

beforeAll(async () => {
  sim = await SimCluster.start()
  api = kubeConfig(sim).makeApiClient(CoreV1Api)
  sim.addPod({ namespace: "af", name: "p", containers: [{ name: "main" }] })
})
afterAll(() => sim.close())

describe("API status faults", () => {
  it("429 carries Retry-After and applies `times` times", async () => {
    sim.faults.api({ verb: "get", resource: "pods", name: "p" }, { kind: "status", code: 429, retryAfterSeconds: 7 }, { times: 2 })
    for (let i = 0; i < 2; i++) {
      const e = await failure(api.readNamespacedPod({ namespace: "af", name: "p" }))
      expect(e.code).toBe(429)
      expect(e.headers["retry-after"]).toBe("7")
      expect(JSON.parse(e.body)).toMatchObject({ reason: "TooManyRequests", details: { retryAfterSeconds: 7 }, code: 429 })
    }
    expect((await api.readNamespacedPod({ namespace: "af", name: "p" })).metadata?.name).toBe("p")
  })

  it("503 ServiceUnavailable with Retry-After; 500 InternalError without", async () => {
    sim.faults.api({ verb: "list" }, { kind: "status", code: 503 }, { times: 1 })
    const e503 = await failure(api.listNamespacedPod({ namespace: "af" }))
    expect(e503.code).toBe(503)
    expect(e503.headers["retry-after"]).toBe("1")
    sim.faults.api({ verb: "list" }, { kind: "status", code: 500 }, { times: 1 })
    const e500 = await failure(api.listNamespacedPod({ namespace: "af" }))
    expect(e500.code).toBe(500)
    expect(e500.headers["retry-after"]).toBeUndefined()
    expect(JSON.parse(e500.body).reason).toBe("InternalError")
  })

  it("409 Conflict on patch; other verbs and names are unaffected; clear(id) removes the rule", async () => {
    const id = sim.faults.api({ verb: "patch", name: "p" }, { kind: "status", code: 409 })
    const e = await http(sim, "PATCH", "/api/v1/namespaces/af/pods/p", { metadata: { labels: { a: "b" } } }, {
      "Content-Type": "application/merge-patch+json"
    })
    expect(e.status).toBe(409)
    expect(e.json.reason).toBe("Conflict")
    expect((await http(sim, "GET", "/api/v1/namespaces/af/pods/p")).status).toBe(200)
    sim.faults.clear(id)
    const ok = await http(sim, "PATCH", "/api/v1/namespaces/af/pods/p", { metadata: { labels: { a: "b" } } }, {
      "Content-Type": "application/merge-patch+json"
    })
    expect(ok.status).toBe(200)
  })

  it("403 Forbidden names the verb and resource", async () => {
    sim.faults.api({ verb: "delete", namespace: "af" }, { kind: "status", code: 403 }, { times: 1 })
    const e = await failure(api.deleteNamespacedPod({ namespace: "af", name: "p" }))
    expect(e.code).toBe(403)
    expect(JSON.parse(e.body).message).toContain('cannot delete resource "pods"')
  })
})

describe("latency and aborted requests", () => {
  it("delays the answer by `ms`", async () => {
    sim.faults.api({ verb: "get", name: "p" }, { kind: "latency", ms: 200 }, { times: 1 })
    const started = Date.now()
    await api.readNamespacedPod({ namespace: "af", name: "p" })
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
  })

  it("a client that gives up is counted in requestsAborted and flagged in the request log", async () => {
    sim.faults.api({ verb: "get", name: "p" }, { kind: "latency", ms: 10_000 }, { times: 1 })
    const before = sim.stats().requestsAborted
    const aborted: Array<RequestLogEntry> = []
    sim.events.once("request-aborted", (e: RequestLogEntry) => aborted.push(e))
    const req = request(`${sim.url}/api/v1/namespaces/af/pods/p`, { agent: false })
    req.on("error", () => {})
    req.end()
    await sim.waitFor(() => sim.requestLog.some((e) => e.name === "p" && e.verb === "get" && e.endedAt === undefined))
    req.destroy()
    await sim.waitFor(() => sim.stats().requestsAborted === before + 1)
    expect(aborted[0]).toMatchObject({ verb: "get", resource: "pods", namespace: "af", name: "p", aborted: true, status: 0 })
  })
})

describe("accounting", () => {
  it("counts requests by verb and resource and logs each one", async () => {
    const before = sim.stats().requests
    await api.listNamespacedPod({ namespace: "af" })
    await api.readNamespacedPod({ namespace: "af", name: "p" })
    const after = sim.stats().requests
    expect(after["list pods"]).toBe((before["list pods"] ?? 0) + 1)
    expect(after["get pods"]).toBe((before["get pods"] ?? 0) + 1)
    const last = sim.requestLog.at(-1)!
    expect(last).toMatchObject({ verb: "get", resource: "pods", namespace: "af", name: "p", status: 200, aborted: false })
    expect(last.at).toBeLessThanOrEqual(Date.now())
  })
})
