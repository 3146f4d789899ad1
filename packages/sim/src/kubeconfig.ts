// A kubeconfig for the simulated cluster, usable by client-node (`KubeConfig.loadFromString`) and
// by kubectl. JSON-quoted strings are valid YAML scalars, so no YAML library is needed.

export interface KubeconfigOptions {
  readonly server: string
  readonly caPem?: string | undefined
  readonly token?: string | undefined
  readonly namespace?: string | undefined
  readonly name?: string
}

const q = (s: string): string => JSON.stringify(s)

export const kubeconfigYaml = (options: KubeconfigOptions): string => {
  const name = options.name ?? "pod-cleanup-sim"
  const tls = options.server.startsWith("https://") && options.caPem !== undefined
  const cluster = tls
    ? `    certificate-authority-data: ${q(Buffer.from(options.caPem ?? "").toString("base64"))}`
    : "    insecure-skip-tls-verify: true"
  const user = options.token === undefined ? "  user: {}" : `  user:\n    token: ${q(options.token)}`
  return [
    "apiVersion: v1",
    "kind: Config",
    "preferences: {}",
    "clusters:",
    `- name: ${q(name)}`,
    "  cluster:",
    `    server: ${q(options.server)}`,
    cluster,
    "contexts:",
    `- name: ${q(name)}`,
    "  context:",
    `    cluster: ${q(name)}`,
    `    user: ${q(name)}`,
    `    namespace: ${q(options.namespace ?? "default")}`,
    `current-context: ${q(name)}`,
    "users:",
    `- name: ${q(name)}`,
    user,
    ""
  ].join("\n")
}
