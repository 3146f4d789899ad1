/**
 * Where the Kubernetes connection comes from, in controller-runtime's order: an explicit kubeconfig
 * path, `$KUBECONFIG`, the in-cluster service account, then `~/.kube/config`. Loading never falls
 * back silently to `http://localhost:8080` (client-node's `loadFromDefault` does): no
 * configuration is a typed error that says what was tried.
 */
import * as k8s from "@kubernetes/client-node"
import { redactSecrets, redactUrl } from "./ApiError.ts"
import { Data, Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

export const DEFAULT_SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

export class KubeConfigError extends Data.TaggedError("KubeConfigError")<{
  readonly source: string
  readonly message: string
}> {}

export interface KubeConfigInputs {
  /** An explicit kubeconfig file (flag or setting); wins over everything else. */
  readonly kubeconfig?: string | undefined
  /** The environment to read `KUBECONFIG`, `KUBERNETES_SERVICE_HOST/PORT` and `HOME` from. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** The service-account folder (token, ca.crt, namespace). */
  readonly serviceAccountDir?: string | undefined
  /**
   * Fall back to `~/.kube/config` (default true). The long-running service turns this off, so a
   * laptop's current context is never cleaned by accident.
   */
  readonly homeConfig?: boolean | undefined
}

/** What was loaded, and from where (logged at startup; never includes credentials: `server` is redacted). */
export interface LoadedKubeConfig {
  readonly config: k8s.KubeConfig
  readonly source: string
  readonly server: string
  readonly namespace: string | undefined
}

const fromFiles = (files: ReadonlyArray<string>, source: string): Effect.Effect<LoadedKubeConfig, KubeConfigError> =>
  Effect.try({
    try: () => {
      const config = new k8s.KubeConfig()
      const existing = files.filter((f) => fs.existsSync(f))
      if (existing.length === 0) throw new Error(`no such file: ${files.join(", ")}`)
      config.loadFromFile(existing[0]!)
      for (const extra of existing.slice(1)) {
        const more = new k8s.KubeConfig()
        more.loadFromFile(extra)
        config.mergeConfig(more, true)
      }
      return finish(config, source)
    },
    catch: (cause) => new KubeConfigError({ source, message: `cannot load ${source}: ${redactSecrets(messageOf(cause))}` })
  })

/** Builds the in-cluster configuration like client-go's `rest.InClusterConfig`, from any folder. */
export const inCluster = (
  env: Readonly<Record<string, string | undefined>>,
  dir: string = DEFAULT_SERVICE_ACCOUNT_DIR
): Effect.Effect<LoadedKubeConfig, KubeConfigError> =>
  Effect.try({
    try: () => {
      const host = env.KUBERNETES_SERVICE_HOST
      const port = env.KUBERNETES_SERVICE_PORT
      if (!host || !port) throw new Error("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")
      const tokenFile = path.join(dir, "token")
      const caFile = path.join(dir, "ca.crt")
      if (!fs.existsSync(tokenFile)) throw new Error(`no service-account token at ${tokenFile}`)
      const nsFile = path.join(dir, "namespace")
      const namespace = fs.existsSync(nsFile) ? fs.readFileSync(nsFile, "utf8").trim() : undefined
      const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`
      const config = new k8s.KubeConfig()
      // client-node's own `tokenFile` provider sends the file as is: a trailing newline (common when
      // a token is written by hand or by a secret tool) makes every WebSocket (exec) handshake throw
      // ERR_INVALID_CHAR. This provider trims, like client-go, and re-reads the file when it changes,
      // so projected (rotating) tokens keep working.
      config.addAuthenticator(new TrimmedTokenFileAuth())
      config.loadFromOptions({
        clusters: [{ name: "inCluster", server, caFile, skipTLSVerify: false }],
        users: [{ name: "inClusterUser", authProvider: { name: TOKEN_FILE_PROVIDER, config: { path: tokenFile } } }],
        contexts: [{ name: "inClusterContext", cluster: "inCluster", user: "inClusterUser", namespace }],
        currentContext: "inClusterContext"
      })
      return finish(config, `in-cluster service account (${dir})`)
    },
    catch: (cause) => new KubeConfigError({ source: "in-cluster", message: `in-cluster configuration: ${messageOf(cause)}` })
  })

const TOKEN_FILE_PROVIDER = "pod-cleanup-token-file"

/**
 * A bearer token read from a file, trimmed of surrounding whitespace (client-go does the same).
 * The file is stat'ed on every request and re-read when its identity, size or mtime changed, so a
 * rotated projected token (an atomic symlink swap) or a token rewritten on disk is picked up at
 * once, without a timer. Registered as a custom authenticator under its own provider name, so
 * client-node's untrimmed `tokenFile` provider never matches it.
 */
class TrimmedTokenFileAuth {
  #token: string | undefined
  #stamp = ""
  isAuthProvider(user: k8s.User): boolean {
    return user.authProvider?.name === TOKEN_FILE_PROVIDER && typeof user.authProvider.config?.path === "string"
  }
  async applyAuthentication(user: k8s.User, opts: { headers?: unknown }): Promise<void> {
    const file = String(user.authProvider?.config?.path)
    const stat = fs.statSync(file)
    const stamp = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`
    if (this.#token === undefined || stamp !== this.#stamp) {
      this.#token = fs.readFileSync(file, "utf8").trim()
      this.#stamp = stamp
    }
    if (this.#token.length > 0) {
      // client-node always hands a plain header object here (it creates one before calling us).
      if (opts.headers === undefined || opts.headers === null) opts.headers = {}
      ;(opts.headers as Record<string, string>).Authorization = `Bearer ${this.#token}`
    }
  }
}

/** Resolves the configuration in controller-runtime's order. */
export const loadKubeConfig = (inputs: KubeConfigInputs): Effect.Effect<LoadedKubeConfig, KubeConfigError> => {
  const { env } = inputs
  if (inputs.kubeconfig) return fromFiles([inputs.kubeconfig], `kubeconfig ${inputs.kubeconfig}`)
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(path.delimiter).filter((f) => f.length > 0)
    return fromFiles(files, `KUBECONFIG=${env.KUBECONFIG}`)
  }
  const dir = inputs.serviceAccountDir ?? DEFAULT_SERVICE_ACCOUNT_DIR
  if (env.KUBERNETES_SERVICE_HOST && fs.existsSync(path.join(dir, "token"))) return inCluster(env, dir)
  const home = env.HOME ?? env.USERPROFILE
  const homeConfig = home ? path.join(home, ".kube", "config") : undefined
  const useHome = inputs.homeConfig !== false
  if (useHome && homeConfig && fs.existsSync(homeConfig)) return fromFiles([homeConfig], `kubeconfig ${homeConfig}`)
  return Effect.fail(
    new KubeConfigError({
      source: "none",
      message: "no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, or run in a pod with a " +
        `service account (${dir})${useHome ? ", or create ~/.kube/config" : ""}. ` +
        "To try pod-cleanup without a cluster, run `npm run demo`."
    })
  )
}

const finish = (config: k8s.KubeConfig, source: string): LoadedKubeConfig => {
  // A kubeconfig `token` (or a `token-file` client-node read once) with surrounding whitespace
  // would break every WebSocket handshake; client-go trims it.
  if (config.getUsers().some((u) => typeof u.token === "string" && u.token !== u.token.trim())) {
    config.loadFromOptions({
      clusters: config.getClusters(),
      contexts: config.getContexts(),
      users: config.getUsers().map((u) => (typeof u.token === "string" ? { ...u, token: u.token.trim() } : u)),
      currentContext: config.getCurrentContext()
    })
  }
  const cluster = config.getCurrentCluster()
  if (!cluster) throw new Error("the current context names no cluster")
  const context = config.getContextObject(config.getCurrentContext())
  const problem = unusable(cluster, config.getCurrentUser())
  if (problem !== undefined) {
    throw new Error(`cluster ${JSON.stringify(cluster.name)} (server ${JSON.stringify(redactUrl(cluster.server))}): ${problem}`)
  }
  return { config, source, server: redactUrl(cluster.server), namespace: context?.namespace }
}

/**
 * Why a cluster/user pair can never work, or `undefined`. Checked at load time so `run` and
 * `once` exit 2 at startup instead of failing every request later. Names the kind of credential,
 * never its value.
 */
const unusable = (cluster: k8s.Cluster, user: k8s.User | null): string | undefined => {
  let url: URL
  try {
    url = new URL(cluster.server)
  } catch {
    return "the server is not an absolute URL (expected https://host:port)"
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return `the server's scheme is ${JSON.stringify(url.protocol.replace(/:$/, ""))} (expected https or http)`
  }
  if (url.hostname === "") return "the server URL has no host"
  if (url.username !== "" || url.password !== "") {
    // fetch refuses to build a request from such a URL, so every REST call would fail.
    return "the server URL contains user info (user:password@); put credentials in the user entry instead"
  }
  if (url.protocol === "http:" && !cluster.skipTLSVerify) {
    // client-node 2.0.1 throws "HTTP protocol is not allowed when skipTLSVerify is not set" for
    // every request to such a server unless a proxy is configured; credentials would also travel
    // unencrypted, so with credentials even a proxy does not make it acceptable.
    const credentials = credentialKinds(user)
    if (credentials.length > 0) {
      return `the server is plain http:// without insecure-skip-tls-verify: true, and the user has ${
        credentials.join(", ")
      } that would be sent unencrypted; use https:// (or, for a local test server only, set insecure-skip-tls-verify: true)`
    }
    if (!cluster.proxyUrl) {
      return "the server is plain http:// without insecure-skip-tls-verify: true, which client-node refuses for " +
        "every request; use https:// (or, for a local test server only, set insecure-skip-tls-verify: true)"
    }
  }
  return undefined
}

const credentialKinds = (user: k8s.User | null): Array<string> => {
  if (!user) return []
  const kinds: Array<string> = []
  if (user.token) kinds.push("a bearer token")
  if (user.username || user.password) kinds.push("basic-auth credentials")
  if (user.certData || user.certFile || user.keyData || user.keyFile) kinds.push("a client certificate")
  if (user.exec) kinds.push("an exec credential plugin")
  if (user.authProvider) kinds.push(`an auth provider (${String(user.authProvider.name ?? "unnamed")})`)
  return kinds
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))
