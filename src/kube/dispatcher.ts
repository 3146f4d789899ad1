/**
 * One keep-alive connection pool for every HTTP request to the API server.
 *
 * client-node 2.0.1 builds a new undici `Agent` on every request whose cluster has any TLS option
 * (a CA, a client certificate, `insecure-skip-tls-verify`, a server name) or a proxy
 * (`KubeConfig.applySecurityAuthentication` → `createDispatcher`), and the generated API clients
 * and `Watch` each send that request on it: every request opened its own TCP (TLS) connection,
 * which then lingered until the keep-alive timeout. `makeDispatcher` builds that same dispatcher
 * (undici `Agent` with the cluster's TLS material, `ProxyAgent` for an http(s) `proxy-url`, a SOCKS
 * connector for `socks*://`) once; `pooledKubeConfig` is a view of the configuration whose requests
 * all go out on it, while authentication headers (tokens, exec plugins, basic auth, impersonation)
 * are still computed per request by client-node, so rotating tokens keep working.
 *
 * The pool has one owner: whoever builds it closes it (`KubeClient`'s layer does, when its scope
 * closes). TLS material (CA, client certificate and key) is read once, when the pool is built.
 */
import * as k8s from "@kubernetes/client-node"

/** undici's `Dispatcher`, as client-node's `RequestContext` types it (undici is not a direct dependency). */
export type Dispatcher = NonNullable<ReturnType<k8s.RequestContext["getDispatcher"]>>

type AgentOptions = Parameters<k8s.KubeConfig["createDispatcherOptions"]>[1]

interface DispatcherFactory {
  createDispatcher(cluster: k8s.Cluster | null, agentOptions: AgentOptions): Dispatcher | undefined
}

const factoryOf = (config: k8s.KubeConfig): DispatcherFactory["createDispatcher"] => {
  const create = (config as unknown as Partial<DispatcherFactory>).createDispatcher
  if (typeof create !== "function") {
    throw new Error("@kubernetes/client-node has no KubeConfig.createDispatcher (this code targets 2.0.1)")
  }
  return create
}

/**
 * The TLS options client-node hands `createDispatcher` for a request (`applyHTTPSOptions` as read
 * by `applySecurityAuthentication`): none at all without a current user, as client-node does.
 */
export const tlsOptionsOf = (config: k8s.KubeConfig): AgentOptions => {
  const cluster = config.getCurrentCluster()
  const user = config.getCurrentUser()
  const options: AgentOptions = {}
  if (!user) return options
  if (cluster?.skipTLSVerify) options.rejectUnauthorized = false
  if (cluster?.tlsServerName) options.servername = cluster.tlsServerName
  const ca = cluster ? k8s.bufferFromFileOrString(cluster.caFile, cluster.caData) : null
  if (ca) options.ca = ca
  const cert = k8s.bufferFromFileOrString(user.certFile, user.certData)
  if (cert) options.cert = cert
  const key = k8s.bufferFromFileOrString(user.keyFile, user.keyData)
  if (key) options.key = key
  return options
}

/**
 * Builds, once, the dispatcher client-node would build for each request to the current cluster.
 * Where client-node would build none (https with no TLS option and no proxy: it then falls back to
 * undici's process-wide pool, which nobody closes), an `Agent` is built all the same, with the
 * certificate check Node would apply (`NODE_TLS_REJECT_UNAUTHORIZED`), so this pool owns every
 * socket. Throws what client-node would throw for every request (plain http without
 * `insecure-skip-tls-verify` and without a proxy).
 */
export const makeDispatcher = (config: k8s.KubeConfig): Dispatcher => {
  const cluster = config.getCurrentCluster()
  const options = tlsOptionsOf(config)
  if (config.createDispatcherOptions(cluster, options).type === "none") {
    options.rejectUnauthorized = process.env.NODE_TLS_REJECT_UNAUTHORIZED !== "0"
  }
  const dispatcher = factoryOf(config).call(config, cluster, options)
  if (dispatcher === undefined) throw new Error("client-node built no dispatcher for the current cluster")
  return dispatcher
}

/**
 * A view of `config` (it reads everything else from `config`) whose `createDispatcher` returns
 * `dispatcher`: client-node's own `applySecurityAuthentication` then sets the shared pool on every
 * request, after it has set the per-request authentication headers. Use it for `makeApiClient`
 * and for `Watch`.
 */
export const pooledKubeConfig = (config: k8s.KubeConfig, dispatcher: Dispatcher): k8s.KubeConfig => {
  factoryOf(config) // the method this view overrides must exist (fails loudly after an upgrade)
  const view = Object.create(config) as k8s.KubeConfig
  Object.defineProperty(view, "createDispatcher", { value: () => dispatcher, enumerable: false })
  return view
}

/**
 * Closes the pool: waits up to `graceMs` for requests still on the wire, then destroys every
 * connection that is left (a watch nobody aborted, a request nobody awaits). Real time, not the
 * Effect clock, so it also ends under a TestClock.
 */
export const closeDispatcher = (dispatcher: Dispatcher, graceMs = 0): Promise<void> =>
  new Promise<void>((resolve) => {
    const destroy = () => {
      dispatcher.destroy().then(resolve, () => resolve())
    }
    if (graceMs <= 0) return destroy()
    const timer = setTimeout(destroy, graceMs)
    dispatcher.close().then(
      () => {
        clearTimeout(timer)
        resolve()
      },
      () => {
        clearTimeout(timer)
        destroy()
      }
    )
  })
