/**
 * The command line as a user runs it: real child processes of `src/main.ts` (what the npm scripts
 * and the image run) on this Node 24, talking to the simulated cluster over real sockets.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { freePort } from "../support/net.ts"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { seedWorkflowPods, SimCluster } from "@pod-cleanup/sim"

const main = path.resolve(import.meta.dirname, "../../src/main.ts")
let sim: SimCluster
let home: string
beforeAll(async () => {
  sim = await SimCluster.start()
  home = fs.mkdtempSync(path.join(os.tmpdir(), "pod-cleanup-home-"))
})
afterAll(async () => {
  await sim?.close()
  fs.rmSync(home, { recursive: true, force: true })
})

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** A clean environment: nothing from the developer's shell or cluster leaks in. */
const baseEnv = () => ({ PATH: process.env.PATH ?? "", HOME: home, POD_CLEANUP_LOG_FORMAT: "json" })

const start = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  spawn(process.execPath, [main, ...args], { env, stdio: ["ignore", "pipe", "pipe"] })

const finish = (child: ChildProcess, timeoutMs = 30_000): Promise<Run> =>
  new Promise((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (d) => (stdout += d))
    child.stderr!.on("data", (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`timed out; stderr so far:\n${stderr}`))
    }, timeoutMs)
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      // Let the pipes drain.
      setTimeout(() => resolve({ code, signal, stdout, stderr }), 50)
    })
  })

const run = (args: ReadonlyArray<string>, env: Record<string, string> = baseEnv(), timeoutMs?: number) =>
  finish(start(args, env), timeoutMs)

describe("pod-cleanup command line", () => {
  it("bad configuration exits 2 naming every bad setting, its value and the expected form", async () => {
    const result = await run(["run", "--exec-timeout", "30", "--workers=zero", "--exect-timeout=1s"], {
      ...baseEnv(),
      POD_CLEANUP_BREAKER_COOLDOWN: "soon"
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`POD_CLEANUP_EXEC_TIMEOUT (--exec-timeout) = "30": expected a duration such as 30s, 1m30s or 500ms`)
    expect(result.stderr).toContain(`POD_CLEANUP_WORKERS (--workers) = "zero"`)
    expect(result.stderr).toContain(`POD_CLEANUP_BREAKER_COOLDOWN (--breaker-cooldown) = "soon"`)
    expect(result.stderr).toContain("--exect-timeout: unknown flag (did you mean --exec-timeout?)")
  })

  it("run without in-cluster config or KUBECONFIG exits 2 and points at the demo", async () => {
    fs.mkdirSync(path.join(home, ".kube"), { recursive: true })
    fs.writeFileSync(path.join(home, ".kube", "config"), fs.readFileSync(sim.writeKubeconfig()))
    const result = await run(["run"], { ...baseEnv(), POD_CLEANUP_SERVICE_ACCOUNT_DIR: path.join(home, "no-sa") })
    fs.rmSync(path.join(home, ".kube"), { recursive: true, force: true })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("npm run demo")
    expect(result.stderr).not.toContain(".kube/config") // a laptop's current context is never used by run
  })

  it("run and once exit 2 at startup on a kubeconfig that can never work, naming it and not the credential", async () => {
    const secret = "cli-secret-token-0815"
    const write = (name: string, server: string) => {
      const file = path.join(home, name)
      fs.writeFileSync(
        file,
        `apiVersion: v1\nkind: Config\nclusters:\n- name: edge\n  cluster:\n    server: ${server}\n` +
          `users:\n- name: u\n  user:\n    token: ${secret}\n` +
          `contexts:\n- name: c\n  context:\n    cluster: edge\n    user: u\ncurrent-context: c\n`
      )
      return file
    }
    const plainHttp = write("plain-http.yaml", sim.url.replace(/^https:/, "http:"))
    const noScheme = write("no-scheme.yaml", "127.0.0.1:6443")
    const withUserInfo = write("userinfo.yaml", `https://admin:${secret}@127.0.0.1:6443`)
    const from = sim.requestLog.length
    const results = await Promise.all([
      run(["run", "--no-leader-elect", "--http-port", "0"], { ...baseEnv(), KUBECONFIG: plainHttp }),
      run(["once", "--dry-run", "--kubeconfig", noScheme]),
      run(["run", "--no-leader-elect", "--http-port", "0", "--kubeconfig", withUserInfo])
    ])
    const [http, scheme, userInfo] = results
    for (const result of results) {
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`cluster "edge"`)
      expect(result.stderr).not.toContain(secret)
      expect(result.stderr).not.toContain("pod-cleanup starting")
    }
    expect(http!.stderr).toContain(plainHttp)
    expect(http!.stderr).toMatch(/plain http:\/\/ without insecure-skip-tls-verify.*a bearer token/)
    expect(scheme!.stderr).toContain(noScheme)
    expect(scheme!.stderr).toMatch(/not an absolute URL|scheme/)
    expect(userInfo!.stderr).toContain("https://***@127.0.0.1:6443")
    expect(userInfo!.stderr).toContain("user info")
    expect(sim.requestLog.length).toBe(from) // nothing was sent anywhere
  })

  it("--help on each command lists the flags that command reads", async () => {
    const [run_, once, demo, top] = await Promise.all([run(["run", "--help"]), run(["once", "--help"]), run(["demo", "-h"]), run(["--help"])])
    for (const result of [run_, once, demo, top]) expect(result.code).toBe(0)
    for (const result of [run_, once, demo]) expect(result.stdout).toContain("--exec-timeout")
    expect(run_.stdout).toContain("--http-port <port>")
    expect(run_.stdout).toContain("--lease-name <name>")
    // once: its own flags and the settings it reads, nothing of leader election or HTTP.
    for (const flag of ["--dry-run", "--output <table|json>", "--timeout <duration>", "--kubeconfig", "--namespaces", "--label-selector", "--workers", "--log-level", "--log-format", "--api-qps"]) {
      expect(once.stdout).toContain(flag)
    }
    for (const flag of ["--http-port", "--leader-elect", "--lease-name", "--lease-namespace", "--lease-duration", "--renew-deadline", "--retry-period", "--identity"]) {
      expect(once.stdout).not.toContain(flag)
    }
    expect(demo.stdout).toContain("simulated Kubernetes API server")
    expect(demo.stdout).toContain("default 3s")
    expect(demo.stdout).not.toContain("--kubeconfig")
    expect(top.stdout).toContain("npm run once --")
  })

  it("--version prints the package's version, alone and on every command", async () => {
    const { version } = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, "../../package.json"), "utf8"))
    const results = await Promise.all([["--version"], ["run", "--version"], ["once", "--version"], ["demo", "--version"]].map((a) => run(a)))
    for (const result of results) {
      expect(result.code).toBe(0)
      expect(result.stdout).toBe(`${version}\n`)
    }
  })

  it("once refuses the flags it does not read; demo refuses --kubeconfig", async () => {
    const once = await run(["once", "--dry-run", "--http-port", "9000", "--no-leader-elect"])
    expect(once.code).toBe(2)
    expect(once.stderr).toContain("--http-port, --no-leader-elect: not used by once")
    const demo = await run(["demo", "--kubeconfig=/tmp/x"])
    expect(demo.code).toBe(2)
    expect(demo.stderr).toContain("--kubeconfig: not used by demo")
  })

  it("on a Node older than 24 every entry point says so in one line, without a stack trace", async () => {
    // This Node, made to report 22.3.0 before the entry point runs.
    const fake = "data:text/javascript,Object.defineProperty(process.versions,'node',{value:'22.3.0'})"
    const child = spawn(process.execPath, ["--import", fake, main, "run"], { env: baseEnv(), stdio: ["ignore", "pipe", "pipe"] })
    const result = await finish(child)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^pod-cleanup: needs Node\.js 24 or newer, but this is Node\.js 22\.3\.0 \(/)
    expect(result.stderr).not.toMatch(/^\s+at /m)
    // A real older Node, if the machine has one (a system Node 20 cannot even load .ts files): the
    // npm scripts' preload says the same before Node tries to.
    const older = ["/usr/bin/node", "/usr/local/bin/node"].find((bin) => {
      try {
        return Number(execFileSync(bin, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).trim()) < 24
      } catch {
        return false
      }
    })
    if (older !== undefined) {
      const preload = path.resolve(import.meta.dirname, "../../scripts/require-node.mjs")
      const old = await finish(spawn(older, ["--import", preload, main, "run"], { env: baseEnv(), stdio: ["ignore", "pipe", "pipe"] }))
      expect(old.code).toBe(1)
      expect(old.stderr).toMatch(/^pod-cleanup: needs Node\.js 24 or newer, but this is Node\.js \d+\./)
      expect(old.stderr).not.toContain("ERR_UNKNOWN_FILE_EXTENSION")
    }
  })

  it("once --dry-run prints the plan and changes nothing", async () => {
    seedWorkflowPods(sim, { pods: 6, nodes: 2, namespace: "dry", podGCStrategy: "OnPodCompletion" })
    const before = JSON.stringify(sim.listPods().filter((p) => p.metadata?.namespace === "dry"))
    const from = sim.requestLog.length
    const result = await run(["once", "--dry-run", "--namespaces", "dry"], { ...baseEnv(), KUBECONFIG: sim.writeKubeconfig() })
    expect(result.code).toBe(0)
    expect(result.stdout.split("\n")[0]).toMatch(/^NAMESPACE\s+POD\s+ACTION\s+OUTCOME\s+REASON/)
    expect(result.stdout.match(/terminateContainers\s+planned/g)?.length).toBe(6)
    const writes = sim.requestLog.slice(from).filter((r) => ["patch", "delete", "exec", "create", "update"].includes(r.verb))
    expect(writes).toEqual([])
    expect(JSON.stringify(sim.listPods().filter((p) => p.metadata?.namespace === "dry"))).toBe(before)
  })

  it("once cleans, prints JSON outcomes, and exits non-zero when an action failed", async () => {
    seedWorkflowPods(sim, { pods: 4, nodes: 2, namespace: "real", podGCStrategy: "OnPodCompletion" })
    const ok = await run(["once", "--output", "json", "--namespaces", "real"], { ...baseEnv(), KUBECONFIG: sim.writeKubeconfig() })
    expect(ok.code).toBe(0)
    const rows = JSON.parse(ok.stdout) as Array<{ pod: string; action: string; outcome: string }>
    expect(rows.filter((r) => r.action === "terminateContainers" && r.outcome === "done").length).toBe(4)
    expect(rows.every((r) => r.outcome !== "failed")).toBe(true)

    seedWorkflowPods(sim, { pods: 2, nodes: 1, namespace: "denied", podGCStrategy: "OnPodCompletion", terminationGracePeriodSeconds: 1 })
    sim.faults.exec({ namespace: "denied" }, { kind: "reject", code: 403, message: "pods/exec is forbidden" })
    const denied = await run(["once", "--output", "json", "--namespaces", "denied"], { ...baseEnv(), KUBECONFIG: sim.writeKubeconfig() })
    sim.faults.clear()
    expect(denied.code).toBe(1)
    expect((JSON.parse(denied.stdout) as Array<{ outcome: string }>).some((r) => r.outcome === "failed")).toBe(true)
  })

  it("run: ready, then SIGTERM exits 0 with every socket closed", async () => {
    seedWorkflowPods(sim, { pods: 10, nodes: 2, namespace: "sig", podGCStrategy: "OnPodCompletion" })
    const port = await freePort()
    const child = start(["run", "--http-port", String(port), "--no-leader-elect", "--namespaces", "sig"], {
      ...baseEnv(),
      KUBECONFIG: sim.writeKubeconfig()
    })
    const done = finish(child)
    await sim.waitFor(() => sim.stats().watchOpen >= 2, 15_000)
    let ready = 0
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100))
    }
    expect(ready).toBe(200)
    child.kill("SIGTERM")
    const result = await done
    expect(result.code).toBe(0)
    await sim.waitFor(() => sim.stats().watchOpen === 0 && sim.stats().execOpen === 0, 5_000)
    expect(result.stderr).toContain("pod-cleanup starting")
  })

  it("demo finishes on its own with every pod on a healthy node cleaned", async () => {
    const result = await run(["demo"], baseEnv(), 90_000)
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^done in \d+\.\d s$/m)
    const rows = result.stdout.split("\n").filter((l) => /^node-\d/.test(l)).map((l) => l.trim().split(/\s+/))
    expect(rows.length).toBe(6)
    for (const [node, pods, cleaned] of rows) {
      if (node === "node-4") expect(cleaned).toBe("0")
      else expect(cleaned).toBe(pods)
    }
    expect(result.stdout).toContain("open exec sockets: 0")
    // The summary counts the reasons recorded for what was not cleaned: node-4's open breaker.
    expect(result.stdout).toMatch(/^recorded reasons \(/m)
    expect(result.stdout).toMatch(/^ +\d+ {2}skipped {2}terminateContainers: node node-4: exec breaker open/m)
  }, 120_000)
})
