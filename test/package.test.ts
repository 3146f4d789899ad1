/**
 * Another project can install pod-cleanup: `npm pack`, install the tarball together with `effect`
 * and `@effect/platform-node` (its peer dependencies) into a fresh project of npm's default
 * CommonJS type (dependencies from the npm cache that `npm ci` filled), check there is one copy of
 * Effect, type-check a program against the published declarations, run it on the compiled
 * JavaScript, run the README's embedding program (`examples/embed.mjs`) against the simulated
 * cluster, run the `pod-cleanup` bin (its version; a clear error on an older Node), and start the
 * simulator it carries (`pod-cleanup/sim`, compiled from the @pod-cleanup/sim workspace package,
 * which is not published) over HTTPS with its TLS fixture.
 */
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { seedWorkflowPods, SimCluster } from "@pod-cleanup/sim"

const exec = promisify(execFile)
const root = path.resolve(import.meta.dirname, "..")
const work = fs.mkdtempSync(path.join(os.tmpdir(), "pod-cleanup-pack-"))
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

const consumer = `import { Duration, Effect, Layer } from "effect"
import {
  type ConfigError, configFromEnv, Controller, decide, decodePod, KubeClient, type KubeConfigError, kubeClientLayer, layerFromEnv,
  Outcomes, podCleanupFromEnv
} from "pod-cleanup"
import type { SimCluster, SimClusterOptions } from "pod-cleanup/sim"

// The whole service as a Layer, typed from the published declarations.
const service: Layer.Layer<Controller | Outcomes, ConfigError, KubeClient> = layerFromEnv()
const complete: Layer.Layer<Controller | Outcomes | KubeClient, ConfigError | KubeConfigError> = podCleanupFromEnv({ homeConfig: false })
const client: Layer.Layer<KubeClient, KubeConfigError> = kubeClientLayer({ kubeconfig: "/dev/null" })
export const both = [complete, client]
export const simOptions: SimClusterOptions = { tls: true, argo: { recordLag: 200 } }
export type Sim = SimCluster
const status = Controller.useSync((c) => c.status().synced)
export const app: Effect.Effect<boolean, unknown, KubeClient> = status.pipe(Effect.provide(service))

const config = await Effect.runPromise(configFromEnv({ POD_CLEANUP_EXEC_TIMEOUT: "45s" }))
const pod = decodePod({
  metadata: { namespace: "argo", name: "p", uid: "u", labels: { "workflows.argoproj.io/workflow": "wf" } },
  status: { phase: "Succeeded" }
})
const decision = pod._tag === "Success" ? decide(pod.success, { phase: "Succeeded", podGC: { strategy: "OnPodCompletion" } }) : undefined
console.log(JSON.stringify({ execTimeoutMs: Duration.toMillis(config.engine.execTimeout), decision: decision?._tag }))
`

// The simulator from the tarball: HTTPS with the fixture in dist/sim/tls, seeded pods listed back.
const simProgram = `import { request } from "node:https"
import { seedWorkflowPods, SimCluster } from "pod-cleanup/sim"

const sim = await SimCluster.start({ tls: true })
try {
  seedWorkflowPods(sim, { pods: 3, nodes: 1, namespace: "argo" })
  const body = await new Promise((resolve, reject) => {
    const req = request(sim.url + "/api/v1/namespaces/argo/pods", { ca: sim.caPem, timeout: 10_000 }, (res) => {
      let text = ""
      res.on("data", (d) => (text += d))
      res.on("end", () => resolve(text))
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on("error", reject)
    req.end()
  })
  console.log(JSON.stringify({ protocol: new URL(sim.url).protocol, pods: JSON.parse(body).items.length }))
} finally {
  await sim.close()
}
`

describe("the published package", () => {
  it("packs, installs into a fresh project, type-checks a consumer and runs it", async () => {
    const npm = (args: ReadonlyArray<string>, cwd: string) =>
      exec("npm", [...args], { cwd, timeout: 240_000, env: { ...process.env, npm_config_fund: "false", npm_config_audit: "false" } })
    const { stdout } = await npm(["pack", "--pack-destination", work, "--silent"], root)
    const tarball = path.join(work, stdout.trim().split("\n").pop()!)
    expect(fs.existsSync(tarball)).toBe(true)

    const project = path.join(work, "consumer")
    fs.mkdirSync(project)
    // npm's default package type (CommonJS): the TypeScript consumer is an .mts file, the embedding
    // program an .mjs file, as the README says.
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }))
    fs.writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2024",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          erasableSyntaxOnly: true,
          verbatimModuleSyntax: true,
          types: ["node"]
        }
      })
    )
    fs.writeFileSync(path.join(project, "main.mts"), consumer)
    fs.copyFileSync(path.join(root, "examples/embed.mjs"), path.join(project, "embed.mjs"))
    fs.writeFileSync(path.join(project, "sim.mjs"), simProgram)
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
    const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"))
    // Effect is a peer dependency: the app brings it, at the version the lockfile tested.
    expect(pkg.peerDependencies).toEqual({ effect: "^4.1.0", "@effect/platform-node": "^4.1.0" })
    expect(pkg.dependencies.effect).toBeUndefined()
    const effectVersion = lock.packages["node_modules/effect"].version
    const platformVersion = lock.packages["node_modules/@effect/platform-node"].version
    await npm(
      [
        "install",
        "--prefer-offline",
        tarball,
        `effect@${effectVersion}`,
        `@effect/platform-node@${platformVersion}`,
        `typescript@${pkg.devDependencies.typescript}`,
        `@types/node@${pkg.devDependencies["@types/node"]}`
      ],
      project
    )
    // Node does not strip types inside node_modules: what runs is the compiled JavaScript.
    const installed = path.join(project, "node_modules/pod-cleanup")
    expect(fs.existsSync(path.join(installed, "dist/index.js"))).toBe(true)
    expect(fs.existsSync(path.join(installed, "dist/index.d.ts"))).toBe(true)
    expect(fs.existsSync(path.join(installed, "src"))).toBe(false)
    expect(fs.existsSync(path.join(installed, "packages"))).toBe(false)
    expect(fs.readFileSync(path.join(installed, "LICENSE"), "utf8")).toContain("Apache License\n                           Version 2.0, January 2004")
    // One copy of Effect: the app's.
    const copies = (await npm(["ls", "effect", "--all", "--parseable"], project)).stdout.trim().split("\n")
    expect(copies).toEqual([path.join(project, "node_modules/effect")])

    await exec(path.join(project, "node_modules/.bin/tsc"), ["-p", "."], { cwd: project, timeout: 120_000 })
    const run = await exec(process.execPath, ["main.mts"], { cwd: project, timeout: 60_000 })
    expect(JSON.parse(run.stdout.trim())).toEqual({ execTimeoutMs: 45_000, decision: "Act" })

    // The simulator it carries (the demo's cluster), as an embedder imports it.
    const simRun = await exec(process.execPath, ["sim.mjs"], { cwd: project, timeout: 60_000 })
    expect(JSON.parse(simRun.stdout.trim())).toEqual({ protocol: "https:", pods: 3 })

    // The bin: its version; on an older Node (made to report 20.0.0), one clear line.
    const bin = path.join(project, "node_modules/.bin/pod-cleanup")
    expect((await exec(process.execPath, [bin, "--version"], { cwd: project, timeout: 60_000 })).stdout).toBe(`${pkg.version}\n`)
    const fake = "data:text/javascript,Object.defineProperty(process.versions,'node',{value:'20.0.0'})"
    const old = await exec(process.execPath, ["--import", fake, bin, "run"], { cwd: project, timeout: 60_000 }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e
    )
    expect(old?.code).toBe(1)
    expect(old?.stderr).toMatch(/^pod-cleanup: needs Node\.js 24 or newer, but this is Node\.js 20\.0\.0/)
    expect(old?.stderr).not.toMatch(/^\s+at /m)

    // The README's embedding program, against the simulated cluster through KUBECONFIG; a
    // ~/.kube/config pointing elsewhere is not used.
    const sim = await SimCluster.start()
    const home = path.join(work, "home")
    try {
      fs.mkdirSync(path.join(home, ".kube"), { recursive: true })
      fs.writeFileSync(path.join(home, ".kube/config"), "this is not a kubeconfig\n")
      seedWorkflowPods(sim, { pods: 5, nodes: 2, namespace: "argo", podGCStrategy: "" })
      const child = spawn(process.execPath, ["embed.mjs"], {
        cwd: project,
        env: { PATH: process.env.PATH ?? "", HOME: home, KUBECONFIG: sim.writeKubeconfig() },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (d) => (output += d))
      child.stderr.on("data", (d) => (output += d))
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      const labelled = () =>
        sim.listPods().filter((p) => p.metadata?.namespace === "argo" && p.metadata?.labels?.["workflows.argoproj.io/completed"] === "true")
          .length
      try {
        await sim.waitFor(() => output.includes("pod-cleanup synced") && labelled() === 5, 30_000)
      } catch (e) {
        throw new Error(`embed.mjs: ${String(e)}; output so far:\n${output}`)
      }
      expect(output).toMatch(/pod-cleanup starting.*kubeconfig/s)
      expect(output).toMatch(/pod-cleanup synced.*leader/s)
      child.kill("SIGTERM")
      expect(await exited).not.toBeNull()
      await sim.waitFor(() => sim.stats().watchOpen === 0, 10_000)
    } finally {
      await sim.close()
    }
  }, 300_000)
})
