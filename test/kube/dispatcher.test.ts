/**
 * Connection reuse: every REST request made through `KubeClient.call` and every watch go through
 * one keep-alive pool owned by the KubeClient layer, over HTTP and over HTTPS (CA + rotating
 * service-account token). Connections are counted on the wire, by a TCP relay placed between the
 * client and the simulated API server: each accepted socket there is one TCP (TLS) connection the
 * client opened. When the layer's scope closes, the client closes every socket it still holds.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { KubeClient } from "../../src/kube/KubeClient.ts"
import { inCluster, type LoadedKubeConfig, loadKubeConfig } from "../../src/kube/KubeConfigSource.ts"
import { PodApi } from "../../src/kube/PodApi.ts"
import { SimCluster } from "@pod-cleanup/sim"
import { kubeconfigYaml } from "@pod-cleanup/sim"
import { realSleep, runningPod, serviceAccountDir, waitFor } from "../support/sim.ts"

/** A TCP relay in front of `target` that counts the connections it accepts and keeps the open ones. */
interface Relay {
  readonly port: number
  /** Connections accepted since the relay started. */
  readonly total: () => number
  /** Connections still open (client side not closed yet). */
  readonly open: () => number
  readonly close: () => Promise<void>
}

const relayTo = (targetUrl: string): Promise<Relay> => {
  const target = new URL(targetUrl)
  const open = new Set<net.Socket>()
  let total = 0
  const server = net.createServer((client) => {
    total++
    open.add(client)
    const upstream = net.connect(Number(target.port), target.hostname)
    client.pipe(upstream)
    upstream.pipe(client)
    client.on("close", () => {
      open.delete(client)
      upstream.destroy()
    })
    upstream.on("close", () => client.destroy())
    client.on("error", () => upstream.destroy())
    upstream.on("error", () => client.destroy())
  })
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        total: () => total,
        open: () => open.size,
        close: () =>
          new Promise<void>((done) => {
            for (const s of open) s.destroy()
            server.close(() => done())
          })
      })
    })
  })
}

const TOKEN = "connections-test-token"
let http: SimCluster
let https: SimCluster
let tmp: string
let saDir: string
beforeAll(async () => {
  http = await SimCluster.start()
  https = await SimCluster.start({ tls: true, token: TOKEN })
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pod-cleanup-conn-"))
  saDir = serviceAccountDir(https, TOKEN)
  for (const sim of [http, https]) {
    for (let i = 0; i < 3; i++) sim.addPod(runningPod(`conn-${i}`))
  }
})
afterAll(async () => {
  await http?.close()
  await https?.close()
  for (const dir of [tmp, saDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

/** HTTP: a kubeconfig (insecure-skip-tls-verify, which makes client-node build a dispatcher) at the relay. */
const httpConfig = (relay: Relay): Effect.Effect<LoadedKubeConfig> => {
  const file = path.join(tmp, `http-${relay.port}.yaml`)
  fs.writeFileSync(file, kubeconfigYaml({ server: `http://127.0.0.1:${relay.port}` }))
  return Effect.orDie(loadKubeConfig({ kubeconfig: file, env: {} }))
}

/** HTTPS: the in-cluster service account (CA file, token file re-read per request) at the relay. */
const httpsConfig = (relay: Relay): Effect.Effect<LoadedKubeConfig> =>
  Effect.orDie(inCluster({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(relay.port) }, saDir))

const apiLayer = (loaded: LoadedKubeConfig) => PodApi.layer.pipe(Layer.provideMerge(KubeClient.layerFromLoaded(loaded)))

const N = 200

/** Polls (real time) until the relay sees no open connection, for at most `ms`; returns how many remain. */
const openAfter = (relay: Relay, ms: number) =>
  Effect.gen(function*() {
    const until = Date.now() + ms
    while (relay.open() > 0 && Date.now() < until) yield* realSleep(20)
    return relay.open()
  })

const cases = [
  { name: "HTTP", sim: () => http, config: httpConfig },
  { name: "HTTPS (in-cluster CA + token file)", sim: () => https, config: httpsConfig }
] as const

describe("one keep-alive pool per KubeClient", () => {
  for (const c of cases) {
    it.live(`${c.name}: ${N} sequential and ${N} concurrent GETs reuse a handful of connections; none stays open after the scope closes`, () =>
      Effect.gen(function*() {
        const relay = yield* Effect.promise(() => relayTo(c.sim().url))
        const loaded = yield* c.config(relay)
        const counts = yield* Effect.gen(function*() {
          const pods = yield* PodApi
          for (let i = 0; i < N; i++) yield* pods.get("default", `conn-${i % 3}`)
        // undici + fetch alone alternate two connections here; `call` holds its slot one event-loop
        // turn longer, so the connection is back in the pool first: one connection.
          const sequential = relay.total()
          yield* Effect.forEach(Array.from({ length: N }, (_, i) => i), (i) => pods.get("default", `conn-${i % 3}`), {
            concurrency: "unbounded",
            discard: true
          })
          return { sequential, concurrent: relay.total() - sequential }
        }).pipe(Effect.provide(apiLayer(loaded)))
        const remaining = yield* openAfter(relay, 1000)
        yield* Effect.log(`${c.name}: ${N} sequential GETs -> ${counts.sequential} connection(s); ${N} concurrent GETs -> ${counts.concurrent} new connection(s); open 1 s after close: ${remaining}`)
        yield* Effect.promise(() => relay.close())
        assert.strictEqual(counts.sequential, 1, `${N} sequential GETs opened ${counts.sequential} connections`)
        // maxConcurrentRequests (16) requests on the wire at once, one of them on the idle connection.
        assert.isAtMost(counts.concurrent, 15, `${N} concurrent GETs opened ${counts.concurrent} more connections`)
        assert.strictEqual(remaining, 0, "every socket is closed once the KubeClient's scope has closed")
      }))
  }

  it.live("HTTPS: a watch and requests share the pool (the watch reuses an idle request connection), and the scope closes the watch's socket too", () =>
    Effect.gen(function*() {
      const relay = yield* Effect.promise(() => relayTo(https.url))
      const loaded = yield* httpsConfig(relay)
      const counts = yield* Effect.gen(function*() {
        const pods = yield* PodApi
        yield* pods.get("default", "conn-0")
        const afterGet = relay.total()
        const before = https.stats().watchOpen
        const watch = yield* Stream.runDrain(pods.watch({ namespace: "conn-watch", timeoutSeconds: 60 })).pipe(Effect.forkChild)
        yield* waitFor(https, () => https.stats().watchOpen > before)
        const afterWatch = relay.total()
        // A request while the watch holds its connection needs a second one; later ones reuse it.
        for (let i = 0; i < 20; i++) yield* pods.get("default", "conn-1")
        const afterMore = relay.total()
        yield* Fiber.interrupt(watch)
        // Aborting the watch destroys its socket; requests go on in the pool (undici may open one
        // connection in the aborted one's place, never one per request).
        for (let i = 0; i < 20; i++) yield* pods.get("default", "conn-2")
        return { afterGet, afterWatch, afterMore, end: relay.total(), openAtEnd: relay.open() }
      }).pipe(Effect.provide(apiLayer(loaded)))
      // A watch still running when the layer's scope closes (its fiber is not the scope's): the
      // pool's closing ends its connection too.
      const leftOpen = yield* Effect.gen(function*() {
        const pods = yield* PodApi
        const before = https.stats().watchOpen
        yield* Stream.runDrain(pods.watch({ namespace: "conn-watch-2", timeoutSeconds: 60 })).pipe(Effect.forkChild)
        yield* waitFor(https, () => https.stats().watchOpen > before)
        return relay.open()
      }).pipe(Effect.provide(apiLayer(loaded)))
      const remaining = yield* openAfter(relay, 1000)
      yield* Effect.log(`watch sharing: ${JSON.stringify(counts)}; open while a watch ran: ${leftOpen}; open 1 s after close: ${remaining}`)
      yield* Effect.promise(() => relay.close())
      assert.strictEqual(counts.afterGet, 1)
      assert.strictEqual(counts.afterWatch, 1, "the watch went out on the request's idle pooled connection")
      assert.strictEqual(counts.afterMore, 2, "requests beside an open watch share one more connection")
      assert.isAtMost(counts.end, 3)
      assert.isAtMost(counts.openAtEnd, 2)
      assert.isAtLeast(leftOpen, 1)
      assert.strictEqual(remaining, 0, "every socket is closed once the KubeClient's scope has closed")
    }))

  it.live("HTTPS: the token is still read per request (a rotated token is used at once on pooled connections)", () =>
    Effect.gen(function*() {
      const relay = yield* Effect.promise(() => relayTo(https.url))
      const loaded = yield* httpsConfig(relay)
      const tokenFile = path.join(saDir, "token")
      const result = yield* Effect.gen(function*() {
        const pods = yield* PodApi
        yield* pods.get("default", "conn-0")
        fs.writeFileSync(tokenFile, "a-revoked-token\n")
        const refused = yield* Effect.flip(pods.get("default", "conn-0"))
        fs.writeFileSync(tokenFile, `${TOKEN}\n`)
        yield* pods.get("default", "conn-0")
        return { refused, total: relay.total() }
      }).pipe(Effect.provide(apiLayer(loaded)), Effect.ensuring(Effect.sync(() => fs.writeFileSync(tokenFile, TOKEN))))
      yield* Effect.promise(() => relay.close())
      assert.strictEqual((result.refused as { code?: number }).code, 401)
      assert.strictEqual(result.total, 1, "all three requests on one connection")
    }))
})
