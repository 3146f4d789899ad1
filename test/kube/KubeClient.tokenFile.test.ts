/**
 * The in-cluster service-account token as the kubelet (or a person) writes it: with surrounding
 * whitespace, and changing on disk. REST calls and WebSocket execs both authenticate with it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { KubeClient, makeKubeClient } from "../../src/kube/KubeClient.ts"
import { inCluster, type LoadedKubeConfig } from "../../src/kube/KubeConfigSource.ts"
import { PodApi } from "../../src/kube/PodApi.ts"
import { PodExec } from "../../src/kube/PodExec.ts"
import { SimCluster } from "@pod-cleanup/sim"
import { runningPod, serviceAccountDir, waitFor } from "../support/sim.ts"

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.sa-token.signature"
let sim: SimCluster
let dir: string
beforeAll(async () => {
  sim = await SimCluster.start({ tls: true, token: TOKEN })
  dir = serviceAccountDir(sim, TOKEN)
})
afterAll(async () => {
  await sim?.close()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

const env = () => {
  const url = new URL(sim.url)
  return { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port }
}
const layerFor = (loaded: LoadedKubeConfig) =>
  Layer.mergeAll(PodApi.layer, PodExec.layer()).pipe(Layer.provide(Layer.succeed(KubeClient, makeKubeClient(loaded))))

const listAndKill = (pod: string) =>
  Effect.gen(function*() {
    const pods = yield* PodApi
    const exec = yield* PodExec
    const list = yield* pods.list({ namespace: "default" })
    yield* exec.run({ namespace: "default", pod, container: "main", command: ["kill", "-15", "1"] })
    return list.items.map((p) => p.metadata?.name)
  })

describe("in-cluster token file", () => {
  it.live("a token file ending in a newline works for list and for exec", () =>
    Effect.gen(function*() {
      fs.writeFileSync(path.join(dir, "token"), `${TOKEN}\n`)
      sim.addPod(runningPod("tok-nl"))
      const loaded = yield* inCluster(env(), dir)
      const names = yield* listAndKill("tok-nl").pipe(Effect.provide(layerFor(loaded)))
      assert.include(names, "tok-nl")
      yield* waitFor(sim, () => sim.getPod("default", "tok-nl")?.status?.phase !== "Running")
    }))

  it.live("a token that changes on disk is picked up by the next request, REST and exec alike", () =>
    Effect.gen(function*() {
      fs.writeFileSync(path.join(dir, "token"), "  stale-token \n")
      sim.addPod(runningPod("tok-rot"))
      const loaded = yield* inCluster(env(), dir)
      const before = yield* Effect.flip(listAndKill("tok-rot").pipe(Effect.provide(layerFor(loaded))))
      assert.strictEqual(before._tag, "KubeForbiddenError")
      // Rotation the way the kubelet does it for projected tokens: a new file renamed into place.
      const next = path.join(dir, "token.next")
      fs.writeFileSync(next, `\t${TOKEN}\r\n`)
      fs.renameSync(next, path.join(dir, "token"))
      const names = yield* listAndKill("tok-rot").pipe(Effect.provide(layerFor(loaded)))
      assert.include(names, "tok-rot")
      yield* waitFor(sim, () => sim.getPod("default", "tok-rot")?.status?.phase !== "Running")
    }))
})
