import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { KubeClient, makeKubeClient } from "../../src/kube/KubeClient.ts"
import { inCluster, loadKubeConfig } from "../../src/kube/KubeConfigSource.ts"
import { PodApi } from "../../src/kube/PodApi.ts"
import { PodExec } from "../../src/kube/PodExec.ts"
import { SimCluster } from "@pod-cleanup/sim"
import { runningPod, serviceAccountDir } from "../support/sim.ts"

const TOKEN = "sa-token-for-tests"
let sim: SimCluster
let tmp: string
beforeAll(async () => {
  sim = await SimCluster.start({ tls: true, token: TOKEN })
  tmp = serviceAccountDir(sim, TOKEN)
})
afterAll(async () => {
  await sim?.close()
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

const inClusterEnv = () => {
  const url = new URL(sim.url)
  return { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port }
}

describe("configuration sources", () => {
  it.live("in-cluster: service-account token and CA over HTTPS, list and exec work", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("ic-1"))
      const loaded = yield* inCluster(inClusterEnv(), tmp)
      assert.strictEqual(loaded.namespace, "pod-cleanup-system")
      assert.match(loaded.server, /^https:\/\/127\.0\.0\.1:\d+$/)
      const layer = Layer.mergeAll(PodApi.layer, PodExec.layer()).pipe(Layer.provide(Layer.succeed(KubeClient, makeKubeClient(loaded))))
      const result = yield* Effect.gen(function*() {
        const pods = yield* PodApi
        const exec = yield* PodExec
        const list = yield* pods.list({ namespace: "default" })
        const out = yield* exec.run({ namespace: "default", pod: "ic-1", container: "main", command: ["echo", "tls"] })
        return { names: list.items.map((p) => p.metadata?.name), out: out.stdout.trim() }
      }).pipe(Effect.provide(layer))
      assert.include(result.names, "ic-1")
      assert.strictEqual(result.out, "tls")
    }))

  it.live("the resolver prefers an explicit path, then KUBECONFIG, then in-cluster, then ~/.kube/config", () =>
    Effect.gen(function*() {
      const file = sim.writeKubeconfig(path.join(tmp, "explicit.yaml"))
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "pod-cleanup-home-"))
      fs.mkdirSync(path.join(home, ".kube"))
      fs.copyFileSync(file, path.join(home, ".kube", "config"))
      const env = { ...inClusterEnv(), HOME: home }

      const explicit = yield* loadKubeConfig({ kubeconfig: file, env: { ...env, KUBECONFIG: "/nonexistent" }, serviceAccountDir: tmp })
      assert.strictEqual(explicit.source, `kubeconfig ${file}`)
      const fromEnv = yield* loadKubeConfig({ env: { ...env, KUBECONFIG: file }, serviceAccountDir: tmp })
      assert.strictEqual(fromEnv.source, `KUBECONFIG=${file}`)
      const cluster = yield* loadKubeConfig({ env, serviceAccountDir: tmp })
      assert.match(cluster.source, /^in-cluster/)
      const homeConfig = yield* loadKubeConfig({ env: { HOME: home }, serviceAccountDir: tmp })
      assert.strictEqual(homeConfig.source, `kubeconfig ${path.join(home, ".kube", "config")}`)
      fs.rmSync(home, { recursive: true, force: true })
    }))

  it.effect("no configuration at all is a typed error that points at the demo", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadKubeConfig({ env: { HOME: "/nonexistent-home" }, serviceAccountDir: "/nonexistent-sa" }))
      assert.strictEqual(error._tag, "KubeConfigError")
      assert.match(error.message, /npm run demo/)
      const missingFile = yield* Effect.flip(loadKubeConfig({ kubeconfig: "/nonexistent/kubeconfig", env: {} }))
      assert.match(missingFile.message, /\/nonexistent\/kubeconfig/)
    }))

  it.live("a wrong token is a typed forbidden error", () =>
    Effect.gen(function*() {
      const badDir = fs.mkdtempSync(path.join(os.tmpdir(), "pod-cleanup-sa-bad-"))
      fs.writeFileSync(path.join(badDir, "token"), "wrong")
      fs.writeFileSync(path.join(badDir, "ca.crt"), sim.caPem!)
      const loaded = yield* inCluster(inClusterEnv(), badDir)
      const error = yield* Effect.flip(
        PodApi.use((pods) => pods.list()).pipe(
          Effect.provide(PodApi.layer.pipe(Layer.provide(Layer.succeed(KubeClient, makeKubeClient(loaded)))))
        )
      )
      assert.strictEqual(error._tag, "KubeForbiddenError")
      fs.rmSync(badDir, { recursive: true, force: true })
    }))
})
