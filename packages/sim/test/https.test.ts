import { Writable } from "node:stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ApiException, CoreV1Api, Exec, KubeConfig, Watch } from "@kubernetes/client-node"
import type { V1Status } from "@kubernetes/client-node"
import { SimCluster } from "../src/index.ts"
import { execPath, http, kubeConfig, rawExec } from "./helpers.ts"

const TOKEN = "sim-test-token"
let sim: SimCluster

beforeAll(async () => {
  sim = await SimCluster.start({ tls: true, token: TOKEN })
  sim.addPod({ namespace: "tls", name: "p", containers: [{ name: "main" }] })
})
afterAll(() => sim.close())

describe("HTTPS with a bearer token", () => {
  it("serves https with the fixture CA; the kubeconfig carries certificate-authority-data and the token", () => {
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(sim.caPem).toContain("BEGIN CERTIFICATE")
    const yaml = sim.kubeconfigYaml()
    expect(yaml).toContain("certificate-authority-data")
    expect(yaml).not.toContain("insecure-skip-tls-verify")
    expect(yaml).toContain(TOKEN)
  })

  it("client-node lists, watches and execs through TLS with the token", async () => {
    const kc = kubeConfig(sim)
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: "tls" })
    expect(list.items.map((p) => p.metadata?.name)).toEqual(["p"])

    const seen: Array<string> = []
    const controller = await new Watch(kc).watch("/api/v1/namespaces/tls/pods", { resourceVersion: "0" }, (type) => seen.push(type), () => {})
    await sim.waitFor(() => seen.length === 1)
    controller.abort()

    let stdout = ""
    const out = new Writable({
      write(chunk: Buffer, _e, cb) {
        stdout += chunk.toString()
        cb()
      }
    })
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kc).exec("tls", "p", "main", ["echo", "secure"], out, null, null, false, resolve).catch(reject)
    })
    expect(status.status).toBe("Success")
    expect(stdout).toBe("secure\n")
  })

  it("a missing or wrong token is a 401 Unauthorized Status (REST and exec)", async () => {
    const wrong = new KubeConfig()
    wrong.loadFromString(sim.kubeconfigYaml({ token: "wrong" }))
    try {
      await wrong.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: "tls" })
      expect.fail("expected a 401")
    } catch (e) {
      // client-node does not read 401 bodies; the raw response shows the Status.
      expect((e as ApiException<string>).code).toBe(401)
    }
    const raw = await http(sim, "GET", "/api/v1/pods")
    expect(raw.status).toBe(401)
    expect(raw.json).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 })
    const ok = await http(sim, "GET", "/api/v1/pods", undefined, { Authorization: `Bearer ${TOKEN}` })
    expect(ok.status).toBe(200)
    const c = rawExec(sim, execPath("tls", "p", ["true"], { container: "main" }))
    const e = (await c.opened.catch((err: unknown) => err)) as { status: number }
    expect(e.status).toBe(401)
  })

  it("an exec reset fault resets the TLS connection too", async () => {
    sim.addPod({ namespace: "tls", name: "r", containers: [{ name: "main" }] })
    sim.faults.exec({ pod: "r" }, { kind: "reset" }, { times: 1 })
    const c = rawExec(sim, execPath("tls", "r", ["true"], { container: "main" }), undefined, { token: TOKEN })
    await c.opened.catch(() => {})
    expect((await c.closed).code).toBe(1006)
    await sim.waitFor(() => sim.stats().execOpen === 0)
  })
})
