/**
 * Credentials never reach an error message or a startup line: not from a server URL with user
 * info, not from a proxy's error page that echoes the request's headers, not from a refused exec.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { redactSecrets, redactUrl } from "../../src/kube/ApiError.ts"
import { KubeClient, makeKubeClient } from "../../src/kube/KubeClient.ts"
import { loadKubeConfig } from "../../src/kube/KubeConfigSource.ts"
import { PodApi } from "../../src/kube/PodApi.ts"
import { PodExec } from "../../src/kube/PodExec.ts"
import { SimCluster } from "@pod-cleanup/sim"
import { kubeLayer } from "../support/sim.ts"

const JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLXBhcnQ"
const TOKEN = "s3cr3t-t0ken-value-42"

describe("redactUrl and redactSecrets", () => {
  it("redactUrl replaces user info and keeps the rest as written", () => {
    assert.strictEqual(redactUrl("https://admin:hunter2@10.0.0.1:6443"), "https://***@10.0.0.1:6443")
    assert.strictEqual(redactUrl("http://user@host/path?q=1"), "http://***@host/path?q=1")
    assert.strictEqual(redactUrl("https://10.0.0.1:6443"), "https://10.0.0.1:6443")
    assert.strictEqual(redactUrl("https://host/a@b"), "https://host/a@b")
  })

  it("redactSecrets masks tokens, JWTs, secret headers and key=value pairs, and keeps the rest", () => {
    const text = [
      `Authorization: Bearer ${TOKEN}`,
      `proxy-authorization: Basic YWRtaW46aHVudGVyMg==`,
      `Cookie: session=abc123; other=def456`,
      `{"authorization":"Bearer ${TOKEN}","path":"/api/v1/pods"}`,
      `token ${JWT} expired`,
      `login?user=bob&password=hunter2&next=/`,
      `token=${TOKEN}; client_secret: "xyz-987"`,
      `Request cannot be constructed from a URL that includes credentials: https://admin:hunter2@10.0.0.1:6443/api/v1/pods`,
      `then Bearer ${TOKEN} alone`
    ].join("\n")
    const out = redactSecrets(text)
    for (const secret of [TOKEN, "YWRtaW46aHVudGVyMg", "abc123", "def456", JWT.slice(0, 20), "hunter2", "xyz-987", "admin:"]) {
      assert.notInclude(out, secret)
    }
    assert.include(out, "Authorization: ***")
    assert.include(out, `"path":"/api/v1/pods"`)
    assert.include(out, "user=bob")
    assert.include(out, "next=/")
    assert.include(out, "https://***@10.0.0.1:6443/api/v1/pods")
    assert.include(out, "Bearer *** alone")
    assert.strictEqual(redactSecrets("Basic authentication failed for pods \"p\""), "Basic authentication failed for pods \"p\"")
    assert.strictEqual(redactSecrets(`pods "x" is forbidden: cannot delete`), `pods "x" is forbidden: cannot delete`)
  })
})

/** A proxy in front of the API server that answers 502 with a page echoing the request's headers. */
let proxy: http.Server
let proxyUrl: string
let tmp: string
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pod-cleanup-redact-"))
  const echo = (req: http.IncomingMessage) =>
    `<html><body><h1>502 Bad Gateway</h1><pre>${req.method} ${req.url}\n` +
    Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`).join("\n") +
    `\nX-Debug-JWT: ${JWT}</pre></body></html>`
  proxy = http.createServer((req, res) => {
    res.writeHead(502, { "Content-Type": "text/html" })
    res.end(echo(req))
  })
  // Exec upgrades get the same page as a refusal.
  proxy.on("upgrade", (req, socket) => {
    const body = echo(req)
    socket.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  })
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r))
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise<void>((r) => proxy?.close(() => r()))
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

const kubeconfigFor = (server: string, token: string) => {
  const file = path.join(tmp, `kubeconfig-${Math.random().toString(36).slice(2)}`)
  fs.writeFileSync(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: c\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
      `users:\n- name: u\n  user:\n    token: ${token}`,
      "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    namespace: default",
      "current-context: x",
      ""
    ].join("\n")
  )
  return file
}

describe("credentials in error messages", () => {
  it.live("a non-JSON 502 page that echoes Authorization is redacted in the API error", () =>
    Effect.gen(function*() {
      const loaded = yield* loadKubeConfig({ kubeconfig: kubeconfigFor(proxyUrl, JWT), env: {} })
      const error = yield* Effect.flip(
        PodApi.use((pods) => pods.list({ namespace: "default" })).pipe(
          Effect.provide(PodApi.layer.pipe(Layer.provide(Layer.succeed(KubeClient, makeKubeClient(loaded)))))
        )
      )
      assert.strictEqual(error._tag, "KubeTransientError")
      assert.strictEqual(error.code, 502)
      assert.include(error.message, "502 Bad Gateway") // the page is still there to read
      assert.match(error.message, /authorization: \*\*\*/i)
      assert.notInclude(error.message, JWT.slice(0, 20))
      assert.notInclude(JSON.stringify(error), JWT.slice(0, 20))
    }))

  it.live("a refused exec whose body echoes the headers is redacted", () =>
    Effect.gen(function*() {
      const loaded = yield* loadKubeConfig({ kubeconfig: kubeconfigFor(proxyUrl, JWT), env: {} })
      const error = yield* Effect.flip(
        PodExec.use((exec) => exec.run({ namespace: "default", pod: "p", container: "main", command: ["kill", "-15", "1"] })).pipe(
          Effect.provide(PodExec.layer().pipe(Layer.provide(Layer.succeed(KubeClient, makeKubeClient(loaded)))))
        )
      )
      assert.strictEqual(error._tag, "ExecRejectedError")
      if (error._tag === "ExecRejectedError") assert.strictEqual(error.code, 502)
      assert.include(error.message, "502")
      assert.notInclude(JSON.stringify(error), JWT.slice(0, 20))
    }))

  it.live("a JSON Status message from the sim that quotes a token is redacted too", () =>
    Effect.gen(function*() {
      const sim = yield* Effect.acquireRelease(Effect.promise(() => SimCluster.start()), (s) => Effect.promise(() => s.close()))
      sim.faults.api({ verb: "list" }, { kind: "status", code: 502, message: `upstream said: Authorization: Bearer ${JWT}` }, { times: 1 })
      const error = yield* Effect.flip(PodApi.use((pods) => pods.list()).pipe(Effect.provide(kubeLayer(sim))))
      assert.strictEqual(error.code, 502)
      assert.include(error.message, "upstream said")
      assert.notInclude(error.message, JWT.slice(0, 20))
    }).pipe(Effect.scoped))
})
