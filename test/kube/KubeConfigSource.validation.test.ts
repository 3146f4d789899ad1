/** Kubeconfigs that can never work are rejected when they are loaded, naming what is wrong and never a credential. */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { inCluster, loadKubeConfig } from "../../src/kube/KubeConfigSource.ts"

const SECRET = "do-not-print-me-4711"
let tmp: string
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pod-cleanup-kcv-"))
})
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

const writeKubeconfig = (dir: string, cluster: string, user: string, name = "prod"): string => {
  const file = path.join(dir, `kc-${Math.random().toString(36).slice(2)}.yaml`)
  fs.writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: ${name}\n  cluster:\n${cluster}\nusers:\n- name: u\n  user:\n${user}\n` +
      `contexts:\n- name: ctx\n  context:\n    cluster: ${name}\n    user: u\ncurrent-context: ctx\n`
  )
  return file
}

const load = (file: string) => Effect.flip(loadKubeConfig({ kubeconfig: file, env: {} }))

describe("kubeconfig validation at load time", () => {
  const bad: ReadonlyArray<readonly [string, string, string, RegExp]> = [
    ["a server without a scheme", `    server: 10.0.0.1:6443`, `    token: ${SECRET}`, /not an absolute URL|scheme/],
    ["a relative server", `    server: /api`, `    token: ${SECRET}`, /not an absolute URL/],
    ["an ftp server", `    server: ftp://10.0.0.1`, `    token: ${SECRET}`, /scheme is "ftp"/],
    ["http with a token", `    server: http://10.0.0.1:8080`, `    token: ${SECRET}`, /plain http:.*a bearer token/],
    ["http with basic auth", `    server: http://10.0.0.1:8080`, `    username: admin\n    password: ${SECRET}`, /basic-auth credentials/],
    ["http with a client certificate", `    server: http://10.0.0.1:8080`, `    client-certificate-data: ${Buffer.from(SECRET).toString("base64")}\n    client-key-data: eA==`, /client certificate/],
    ["http with an exec plugin", `    server: http://10.0.0.1:8080`, `    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: get-${SECRET}`, /exec credential plugin/],
    ["http with an auth provider", `    server: http://10.0.0.1:8080`, `    auth-provider:\n      name: oidc\n      config:\n        id-token: ${SECRET}`, /auth provider \(oidc\)/],
    ["http without credentials or skip-tls-verify", `    server: http://10.0.0.1:8080`, `    {}`.trim(), /plain http:/],
    ["user info in the server URL", `    server: https://admin:${SECRET}@10.0.0.1:6443`, `    {}`.trim(), /user info/]
  ]
  for (const [label, cluster, user, problem] of bad) {
    it.effect(`rejects ${label}, naming the source and the cluster, never the credential`, () =>
      Effect.gen(function*() {
        const file = writeKubeconfig(tmp, cluster, user.startsWith("{") ? `    ${user}` : user)
        const error = yield* load(file)
        assert.strictEqual(error._tag, "KubeConfigError")
        assert.include(error.message, file)
        assert.include(error.message, `cluster "prod"`)
        assert.match(error.message, problem)
        assert.notInclude(error.message, SECRET)
        assert.notInclude(JSON.stringify(error), SECRET)
      }))
  }

  it.effect("accepts https with a token, http with insecure-skip-tls-verify, and http without credentials behind a proxy", () =>
    Effect.gen(function*() {
      const https = yield* loadKubeConfig({ kubeconfig: writeKubeconfig(tmp, `    server: https://10.0.0.1:6443`, `    token: ${SECRET}`), env: {} })
      assert.strictEqual(https.server, "https://10.0.0.1:6443")
      const local = yield* loadKubeConfig({
        kubeconfig: writeKubeconfig(tmp, `    server: http://127.0.0.1:8080\n    insecure-skip-tls-verify: true`, `    token: ${SECRET}`),
        env: {}
      })
      assert.strictEqual(local.server, "http://127.0.0.1:8080")
      yield* loadKubeConfig({
        kubeconfig: writeKubeconfig(tmp, `    server: http://10.0.0.1:8080\n    proxy-url: http://proxy:3128`, `    {}`),
        env: {}
      })
    }))

  it.effect("an in-cluster host that makes no URL is rejected", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(tmp, "sa-"))
      fs.writeFileSync(path.join(dir, "token"), SECRET)
      const error = yield* Effect.flip(inCluster({ KUBERNETES_SERVICE_HOST: "bad host", KUBERNETES_SERVICE_PORT: "443" }, dir))
      assert.strictEqual(error._tag, "KubeConfigError")
      assert.match(error.message, /in-cluster.*not an absolute URL/)
      assert.notInclude(error.message, SECRET)
    }))
})
