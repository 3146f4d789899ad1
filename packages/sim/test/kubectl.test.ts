// Fidelity: the real kubectl (WebSocket v5 exec, Table printing, legacy discovery) against the
// simulator, through a kubeconfig file the simulator wrote.

import { execFile, execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimCluster } from "../src/index.ts"

const kubectlVersion = (() => {
  try {
    return execFileSync("kubectl", ["version", "--client", "-o", "json"], { encoding: "utf8", timeout: 10_000 })
  } catch {
    return undefined
  }
})()
const missing = kubectlVersion === undefined
if (missing) console.warn("kubectl.test.ts: skipped, kubectl is not on PATH")

let sim: SimCluster
let kubeconfig: string
let cacheDir: string

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const kubectl = (...args: Array<string>): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      "kubectl",
      [`--kubeconfig=${kubeconfig}`, `--cache-dir=${cacheDir}`, "--request-timeout=10s", ...args],
      { encoding: "utf8", timeout: 20_000, env: { ...process.env, KUBECONFIG: "" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resolve({ code, stdout, stderr })
      }
    )
  })

beforeAll(async () => {
  if (missing) return
  sim = await SimCluster.start()
  kubeconfig = sim.writeKubeconfig()
  cacheDir = mkdtempSync(join(tmpdir(), "kubectl-cache-"))
  for (const name of ["k-patch", "k-kill", "k-exit", "k-delete"]) {
    sim.addPod({ name, nodeName: "node-1", containers: [{ name: "wait", volumeMounts: [{ mountPath: "/var/run/argo" }] }, { name: "main" }] })
  }
  sim.addWorkflow({ name: "wf-k", phase: "Succeeded" })
})

afterAll(async () => {
  if (missing) return
  await sim.close()
  rmSync(cacheDir, { recursive: true, force: true })
})

describe("kubectl against the simulator", () => {
  it.skipIf(missing)("get pods (server-side Table printing)", async () => {
    const r = await kubectl("get", "pods", "-o", "wide")
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split("\n")
    expect(lines[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/)
    expect(lines.find((l) => l.startsWith("k-patch"))).toMatch(/^k-patch\s+2\/2\s+Running\s+0\s+\S+\s+10\.244\.\S+\s+node-1/)
  })

  it.skipIf(missing)("get pod -o json and get workflows (discovery of the CRD)", async () => {
    const pod = await kubectl("get", "pod", "k-patch", "-o", "json")
    expect(pod.code).toBe(0)
    expect(JSON.parse(pod.stdout).status.containerStatuses.map((s: { name: string }) => s.name)).toEqual(["wait", "main"])
    const wfs = await kubectl("get", "workflows")
    expect(wfs.code).toBe(0)
    expect(wfs.stdout).toMatch(/wf-k\s+Succeeded/)
  })

  it.skipIf(missing)("patch --type merge", async () => {
    const r = await kubectl("patch", "pod", "k-patch", "--type", "merge", "-p", '{"metadata":{"labels":{"workflows.argoproj.io/completed":"true"}}}')
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe("pod/k-patch patched")
    expect(sim.getPod("default", "k-patch")?.metadata?.labels?.["workflows.argoproj.io/completed"]).toBe("true")
  })

  it.skipIf(missing)("exec -- kill -15 1 terminates the container", async () => {
    const r = await kubectl("exec", "k-kill", "-c", "main", "--", "kill", "-15", "1")
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const status = sim.getPod("default", "k-kill")?.status?.containerStatuses?.find((s) => s.name === "main")
    expect(status?.state?.terminated?.exitCode).toBe(143)
    expect(sim.requestLog.findLast((e) => e.verb === "exec" && e.name === "k-kill")).toMatchObject({ status: 101, aborted: false })
  })

  it.skipIf(missing)("argoexec in the wait container", async () => {
    const r = await kubectl("exec", "k-kill", "-c", "wait", "--", "/var/run/argo/argoexec", "kill", "15", "1")
    expect(r.code).toBe(0)
    expect(sim.getPod("default", "k-kill")?.status?.phase).toBe("Failed")
  })

  it.skipIf(missing)("a non-zero exit: kubectl prints 'command terminated with exit code 3' and exits 3", async () => {
    const r = await kubectl("exec", "k-exit", "-c", "main", "--", "sh", "-c", "exit 3")
    expect(r.stderr).toContain("command terminated with exit code 3")
    expect(r.code).toBe(3)
  })

  it.skipIf(missing)("stdout and stderr reach kubectl", async () => {
    const r = await kubectl("exec", "k-exit", "-c", "main", "--", "echo", "from", "the", "pod")
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("from the pod\n")
  })

  it.skipIf(missing)("delete pod (and kubectl's wait for it to be gone)", async () => {
    const r = await kubectl("delete", "pod", "k-delete")
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe('pod "k-delete" deleted')
    expect(sim.getPod("default", "k-delete")).toBeUndefined()
    const again = await kubectl("get", "pod", "k-delete")
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('pods "k-delete" not found')
  })

  it.skipIf(missing)("every exec ended and kubectl's sockets are closed", async () => {
    await sim.waitFor(() => sim.stats().execOpen === 0)
    expect(sim.stats().requests["exec pods"]).toBe(4)
  })

  it.skipIf(missing)("get pods over HTTPS with a token", async () => {
    const secure = await SimCluster.start({ tls: true, token: "kubectl-token" })
    try {
      secure.addPod({ name: "tls-pod", containers: [{ name: "main" }] })
      const file = secure.writeKubeconfig()
      const r = await new Promise<Run>((resolve) => {
        execFile("kubectl", [`--kubeconfig=${file}`, `--cache-dir=${cacheDir}`, "get", "pods", "--no-headers"], { encoding: "utf8", timeout: 20_000 }, (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : 1, stdout, stderr }))
      })
      expect(r.stderr).toBe("")
      expect(r.stdout).toMatch(/^tls-pod\s+1\/1\s+Running/)
    } finally {
      await secure.close()
    }
  })
})
