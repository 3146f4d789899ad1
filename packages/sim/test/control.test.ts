// The simulator's side channel (src/control.ts), through the CLI in its own process:
// `npm run simulate -- --control-port 0` prints one JSON line; seed, stats and cleaned times are read
// over HTTP, and a label patch sent through the API server shows up as cleaned.

import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import * as readline from "node:readline"
import * as k8s from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const main = path.resolve(import.meta.dirname, "../src/bin.ts")

interface Line {
  readonly control: string
  readonly url: string
  readonly kubeconfig: string
  readonly pid: number
}

let child: ChildProcess
let line: Line

const call = async (method: "GET" | "POST", p: string, body?: unknown): Promise<any> => {
  const res = await fetch(`${line.control}${p}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000)
  })
  return { status: res.status, json: await res.json() }
}

beforeAll(async () => {
  child = spawn(process.execPath, [main, "--control-port", "0", "--port", "0", "--exit-on-stdin-close", "--quiet"], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  line = await new Promise<Line>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no JSON line within 20 s")), 20_000)
    readline.createInterface({ input: child.stdout! }).once("line", (l) => {
      clearTimeout(timer)
      resolve(JSON.parse(l) as Line)
    })
    child.once("exit", (code) => reject(new Error(`simulator exited (${code})`)))
  })
})

afterAll(async () => {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once("exit", r))
    child.kill("SIGTERM")
    await gone
  }
})

describe("the simulator's control channel", () => {
  it("prints its URLs and kubeconfig as one JSON line and lists its endpoints", async () => {
    expect(line.control).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(line.pid).toBe(child.pid)
    const index = await call("GET", "/")
    expect(index.status).toBe(200)
    expect(Object.keys(index.json)).toEqual(expect.arrayContaining(["POST /seed", "GET /stats", "GET /cleaned"]))
    expect((await call("GET", "/nope")).status).toBe(404)
  })

  it("seeds pods and workflows, and counts requests by verb without its own watch", async () => {
    const seeded = await call("POST", "/seed", { pods: 6, nodes: 2, namespace: "ctl", workflows: 2, podGCStrategy: "", realistic: true })
    expect(seeded.status).toBe(200)
    expect(seeded.json.pods).toBe(6)
    expect(seeded.json.workflows).toBe(2)
    expect(seeded.json.podList).toHaveLength(6)
    expect(new Set(seeded.json.podList.map((p: { node: string }) => p.node))).toEqual(new Set(["node-0", "node-1"]))

    const before = (await call("GET", "/stats")).json
    expect(before.totalRequests).toBe(0)
    expect(before.watchOpen).toBe(0)
    expect(before.cpuSeconds.total).toBeGreaterThan(0)

    const kc = new k8s.KubeConfig()
    kc.loadFromFile(line.kubeconfig)
    const core = kc.makeApiClient(k8s.CoreV1Api)
    const list = await core.listNamespacedPod({ namespace: "ctl" })
    expect(list.items).toHaveLength(6)
    const name = seeded.json.podList[0].name as string
    await core.patchNamespacedPod(
      { namespace: "ctl", name, body: { metadata: { annotations: { unrelated: "x" } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch)
    )
    await core.patchNamespacedPod(
      { namespace: "ctl", name, body: { metadata: { labels: { "workflows.argoproj.io/completed": "true" } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch)
    )
    await core.deleteNamespacedPod({ namespace: "ctl", name: seeded.json.podList[1].name })

    const after = (await call("GET", "/stats")).json
    expect(after.byVerb).toEqual({ list: 1, patch: 2, delete: 1 })
    expect(after.totalRequests).toBe(4)
    expect(after.firstRequestAt).toBeGreaterThan(0)

    // The label is seen through the channel's watch; the answer may come first.
    let cleaned: any
    for (let i = 0; i < 100; i++) {
      cleaned = (await call("GET", "/cleaned?namespace=ctl&times=1")).json
      if (cleaned.count === 2) break
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(cleaned).toMatchObject({ count: 2, labelled: 1, deleted: 1 })
    expect(Object.keys(cleaned.times).sort()).toEqual([`ctl/${name}`, `ctl/${seeded.json.podList[1].name}`].sort())

    const pods = (await call("GET", "/pods?namespace=ctl")).json
    expect(pods).toHaveLength(6)
    const labelled = pods.find((p: { name: string }) => p.name === name)
    expect(labelled).toMatchObject({ exists: true, completedLabel: "true", deleting: false, phase: "Running" })
    expect(labelled.containers).toMatchObject({ wait: "running", main: "terminated (0)" })
    expect(labelled.labelledAt).toBe(cleaned.times[`ctl/${name}`])
  })

  it("starts the Argo model, partitions nodes and adds fault rules", async () => {
    expect((await call("GET", "/argo")).json.running).toBe(false)
    expect((await call("POST", "/argo", { recordLag: 0 })).status).toBe(200)
    const argo = (await call("GET", "/argo?times=1")).json
    expect(argo).toMatchObject({ running: true, podDeleted: [] })
    expect((await call("POST", "/partition", { node: "node-1" })).status).toBe(200)
    expect((await call("POST", "/heal", { node: "node-1" })).status).toBe(200)
    expect((await call("POST", "/partition", {})).status).toBe(400)
    const rule = await call("POST", "/faults/api", { scope: { verb: "list" }, fault: { kind: "status", code: 503 }, times: 1 })
    expect(typeof rule.json.id).toBe("string")
    expect((await call("POST", "/faults/clear", {})).status).toBe(200)
  })

  it("exits when its stdin closes", async () => {
    const gone = new Promise((r) => child.once("exit", r))
    child.stdin!.end()
    await gone
    expect(child.exitCode).toBe(0)
  })
})
