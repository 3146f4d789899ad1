/**
 * Another project can install pod-cleanup: `npm pack`, install the tarball into a fresh project
 * (dependencies from the npm cache that `npm ci` filled), type-check a program against the
 * published declarations, and run it on the compiled JavaScript.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

const exec = promisify(execFile)
const root = path.resolve(import.meta.dirname, "..")
const work = fs.mkdtempSync(path.join(os.tmpdir(), "pod-cleanup-pack-"))
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

const consumer = `import { Duration, Effect, Layer } from "effect"
import { type ConfigError, configFromEnv, Controller, decide, decodePod, KubeClient, layerFromEnv, Outcomes } from "pod-cleanup"

// The whole service as a Layer, typed from the published declarations.
const service: Layer.Layer<Controller | Outcomes, ConfigError, KubeClient> = layerFromEnv()
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

describe("the published package", () => {
  it("packs, installs into a fresh project, type-checks a consumer and runs it", async () => {
    const npm = (args: ReadonlyArray<string>, cwd: string) =>
      exec("npm", [...args], { cwd, timeout: 240_000, env: { ...process.env, npm_config_fund: "false", npm_config_audit: "false" } })
    const { stdout } = await npm(["pack", "--pack-destination", work, "--silent"], root)
    const tarball = path.join(work, stdout.trim().split("\n").pop()!)
    expect(fs.existsSync(tarball)).toBe(true)

    const project = path.join(work, "consumer")
    fs.mkdirSync(project)
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
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
    fs.writeFileSync(path.join(project, "main.ts"), consumer)
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
    await npm(
      ["install", "--prefer-offline", tarball, `typescript@${pkg.devDependencies.typescript}`, `@types/node@${pkg.devDependencies["@types/node"]}`],
      project
    )
    // Node does not strip types inside node_modules: what runs is the compiled JavaScript.
    expect(fs.existsSync(path.join(project, "node_modules/pod-cleanup/dist/index.js"))).toBe(true)
    expect(fs.existsSync(path.join(project, "node_modules/pod-cleanup/dist/index.d.ts"))).toBe(true)
    expect(fs.existsSync(path.join(project, "node_modules/pod-cleanup/src"))).toBe(false)

    await exec(path.join(project, "node_modules/.bin/tsc"), ["-p", "."], { cwd: project, timeout: 120_000 })
    const run = await exec(process.execPath, ["main.ts"], { cwd: project, timeout: 60_000 })
    expect(JSON.parse(run.stdout.trim())).toEqual({ execTimeoutMs: 45_000, decision: "Act" })
  }, 300_000)
})
