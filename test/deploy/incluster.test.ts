/**
 * The in-cluster start path, the way the container runs it: the bundle (`npm run build`) in the
 * image's layout (dist-image/ and package.json, no node_modules: the bundle must carry every
 * dependency it runs, with their licenses), started with the Dockerfile's
 * ENTRYPOINT + CMD (its Node flags included), with KUBERNETES_SERVICE_HOST/PORT and a
 * service-account folder (token, ca.crt, namespace) pointing at the HTTPS simulated cluster. The
 * API calls it makes are checked against the RBAC permissions the manifests grant.
 */
import { execFileSync, spawn } from "node:child_process"
import * as os from "node:os"
import * as fs from "node:fs"
import * as path from "node:path"
import { freePort } from "../support/net.ts"
import { serviceAccountDir } from "../support/sim.ts"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { requiredPermissions } from "../../src/controller/permissions.ts"
import { seedWorkflowPods, SimCluster } from "@pod-cleanup/sim"

const root = path.resolve(import.meta.dirname, "../..")
const TOKEN = "in-cluster-service-account-token"
let sim: SimCluster
let sa: string
/** The image's /app: dist-image/ as the build wrote it and package.json, in a folder of its own. */
let app: string
beforeAll(async () => {
  execFileSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
  app = fs.mkdtempSync(path.join(os.tmpdir(), "pod-cleanup-app-"))
  fs.cpSync(path.join(root, "dist-image"), path.join(app, "dist-image"), { recursive: true })
  fs.copyFileSync(path.join(root, "package.json"), path.join(app, "package.json"))
  sim = await SimCluster.start({ tls: true, token: TOKEN })
  sa = serviceAccountDir(sim, TOKEN)
}, 120_000)
afterAll(async () => {
  await sim?.close()
  if (sa !== undefined) fs.rmSync(sa, { recursive: true, force: true })
  if (app !== undefined) fs.rmSync(app, { recursive: true, force: true })
})

/** ENTRYPOINT and CMD of the runtime stage, in exec form. */
const containerCommand = (): Array<string> => {
  const dockerfile = fs.readFileSync(path.join(root, "Dockerfile"), "utf8")
  const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as Array<string>
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as Array<string>
  return [...entry, ...cmd]
}

/** The RBAC (resource, verb) a logged request needs. WebSocket exec is a GET upgrade: get and create. */
const rbacOf = (verb: string, resource: string): Array<[string, string]> => {
  const group = resource === "leases"
    ? "coordination.k8s.io"
    : resource === "events"
    ? "events.k8s.io"
    : resource.startsWith("workflows")
    ? "argoproj.io"
    : ""
  const plain = resource.replace(/\.argoproj\.io$/, "")
  if (verb === "exec") return [[`${group}/pods/exec`, "get"], [`${group}/pods/exec`, "create"]]
  return [[`${group}/${plain}`, verb]]
}

describe("in-cluster start, as the container runs it", () => {
  it("authenticates with the service account over HTTPS, cleans, serves probes, exits 0 on SIGTERM", async () => {
    const seeded = seedWorkflowPods(sim, { pods: 10, nodes: 2, namespace: "argo", podGCStrategy: "OnPodCompletion" })
    const url = new URL(sim.url)
    const port = await freePort()
    const [command, ...args] = containerCommand()
    expect(command).toBe("node")
    expect(args).toContain("dist-image/main.js")
    const child = spawn(process.execPath, args, {
      cwd: app,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: sa,
        KUBERNETES_SERVICE_HOST: url.hostname,
        KUBERNETES_SERVICE_PORT: url.port,
        POD_CLEANUP_SERVICE_ACCOUNT_DIR: sa,
        POD_CLEANUP_HTTP_PORT: String(port),
        POD_NAME: "pod-cleanup-7d9f-abcde",
        POD_CLEANUP_LOG_FORMAT: "json"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    try {
      await sim.waitFor(() => seeded.pods.every((p) => sim.getPod("argo", p.metadata!.name!) === undefined), 20_000)
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
      expect(ready.status).toBe(200)
      const live = await fetch(`http://127.0.0.1:${port}/healthz`)
      expect(await live.json()).toMatchObject({ alive: true, leader: true })
    } finally {
      child.kill("SIGTERM")
    }
    expect(await exited).toBe(0)
    expect(stderr).toContain("in-cluster service account")
    expect(stderr).not.toContain(TOKEN)

    // Leader election ran in the service account's namespace, and the lease was released on the way out.
    const leaseCalls = sim.requestLog.filter((r) => r.resource === "leases")
    expect(leaseCalls.every((r) => r.namespace === "pod-cleanup-system")).toBe(true)
    expect(leaseCalls.at(-1)?.verb).toBe("update")

    // Every request the run made is one the RBAC rules grant.
    const granted = new Set(requiredPermissions.flatMap((p) => p.verbs.map((v) => `${p.apiGroup}/${p.resource} ${v}`)))
    const used = new Set(sim.requestLog.flatMap((r) => rbacOf(r.verb, r.resource)).map(([res, verb]) => `${res} ${verb}`))
    for (const permission of used) expect(granted).toContain(permission)
    for (const needed of ["/pods list", "/pods watch", "/pods get", "/pods delete", "/pods/exec create", "coordination.k8s.io/leases create", "events.k8s.io/events create"]) {
      expect(used).toContain(needed)
    }
  }, 60_000)

  it("the bundle reads the package's version and carries the licenses of the code it bundles", () => {
    const [, ...args] = containerCommand()
    const script = args.find((a) => a.endsWith(".js"))!
    const printed = execFileSync(process.execPath, [script, "--version"], { cwd: app, encoding: "utf8", timeout: 30_000 })
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string> }
    expect(printed.trim()).toBe(pkg.version)
    const licenses = fs.readFileSync(path.join(app, "dist-image", "THIRD-PARTY-LICENSES.txt"), "utf8")
    for (const name of [...Object.keys(pkg.dependencies), "effect", "@effect/platform-node", "undici"]) {
      expect(licenses).toMatch(new RegExp(`^${name.replace(/[/.]/g, "\\$&")}@\\d`, "m"))
    }
  })
})
