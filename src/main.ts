/**
 * The `pod-cleanup` command line. Subcommands land with their issues; until then each says so
 * and exits non-zero, so no script pretends to work.
 */
const usage = `pod-cleanup <command>

Commands:
  run     the cleanup service (in-cluster or KUBECONFIG)        [not yet available]
  once    one cleanup pass over the current pods                 [not yet available]
  demo    the service against a built-in simulated cluster       [not yet available]

The simulated Kubernetes API server is available now: npm run simulate -- --help`

const [command] = process.argv.slice(2)
if (command === undefined || command === "--help" || command === "-h" || command === "help") {
  console.log(usage)
} else if (command === "run" || command === "once" || command === "demo") {
  console.error(`pod-cleanup ${command}: not yet available (the cleanup engine and service are still being built).`)
  process.exitCode = 1
} else {
  console.error(`pod-cleanup: unknown command "${command}"\n\n${usage}`)
  process.exitCode = 2
}
