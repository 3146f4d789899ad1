/**
 * The `pod-cleanup` command line: `run` (the service), `once` (one pass), `demo` (the service
 * against the built-in simulated cluster). Loaded by `../main.ts` once the Node.js version is known
 * to be good. Configuration errors exit with code 2 before anything starts; SIGTERM/SIGINT shut
 * down cleanly and exit 0. `--help` on every command lists exactly the flags that command reads;
 * `--version` on every command prints the package version.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Duration, Effect, Exit, Layer, Result } from "effect"
import * as fs from "node:fs"
import { parseGoDuration } from "../domain/duration.ts"
import { redactUrl } from "../kube/ApiError.ts"
import { KubeClient } from "../kube/KubeClient.ts"
import { type KubeConfigError, loadKubeConfig } from "../kube/KubeConfigSource.ts"
import { parseConfig, type ServiceConfig, settingsTable, type SettingsTableRow } from "../service/Config.ts"
import { loggingLayer } from "../service/logging.ts"
import { podCleanupLayer } from "../service/PodCleanup.ts"
import { defaultDemoOptions, runDemo } from "./demo.ts"
import { runOnce } from "./once.ts"

/** The package's version (`../../package.json` from both `src/cli/` and `dist/cli/`). */
export const version: string = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version

export const usage = `Usage: pod-cleanup <command> [flags]

Commands:
  run     the cleanup service: watches pods and workflows, cleans finished pods (in-cluster or KUBECONFIG)
  once    one pass over the pods that exist now [--dry-run] [--output table|json] [--timeout 10m]
  demo    the service against a built-in simulated cluster with a partitioned node; ends on its own

Flags on every command:
  --help, -h    the command's flags and environment variables
  --version     the version of pod-cleanup (${version})

From a clone of the repository (the npm scripts run the Node 24 of the \`node\` devDependency):
  npm start -- [flags]           = pod-cleanup run [flags]
  npm run once -- [flags]        = pod-cleanup once [flags]
  npm run demo [-- flags]        = pod-cleanup demo [flags]
  npm run pod-cleanup -- <command> [flags]

Run pod-cleanup <command> --help for its flags and environment variables.`

// ---- --help, per command ------------------------------------------------------------------------

/**
 * The settings \`once\` reads. It runs the same controller and engine as \`run\` with leadership always
 * held and serves no HTTP endpoints, so the leader-election settings and --http-port are not among
 * them (and are refused as flags). --shutdown-grace applies when --timeout ends the pass with actions
 * still running; --resync-period when the pass is longer than it. Its own --dry-run (the plan of
 * every pod, printed) stands for the service's shadow mode, and POD_CLEANUP_DRY_RUN means it too.
 */
export const onceSettings: ReadonlyArray<string> = settingsTable
  .map((row) => row.setting)
  .filter((setting) => !setting.startsWith("leaderElection.") && setting !== "httpPort" && setting !== "engine.dryRun")

/** The settings \`demo\` takes (as flags only): \`run\`'s, but its cluster is its own (no --kubeconfig). */
export const demoSettings: ReadonlyArray<string> = settingsTable.map((row) => row.setting).filter((s) => s !== "kubeconfig")

/** The demo's own defaults (it reads no POD_CLEANUP_* variable but POD_CLEANUP_LOG_FORMAT). */
export const demoDefaults: Readonly<Record<string, string>> = {
  POD_CLEANUP_EXEC_TIMEOUT: "3s",
  POD_CLEANUP_LEADER_ELECT: "false",
  POD_CLEANUP_HTTP_PORT: "0",
  POD_CLEANUP_LOG_LEVEL: "warn",
  POD_CLEANUP_SHUTDOWN_GRACE: "2s"
}

const flagUsage = (row: SettingsTableRow): string =>
  row.boolean ? `${row.flag}[=${row.metavar}], --no-${row.flag.slice(2)}` : `${row.flag} <${row.metavar}>`

const settingsHelp = (
  settings: ReadonlyArray<string>,
  options: { readonly env: boolean; readonly defaults?: Readonly<Record<string, string>> }
): Array<string> => {
  const lines: Array<string> = []
  let group: string | undefined
  for (const row of settingsTable) {
    if (!settings.includes(row.setting)) continue
    if (row.group !== group) {
      group = row.group
      lines.push("", `${group}:`)
    }
    const own = options.defaults?.[row.env]
    const fallback = own === undefined ? row.default : row.setting === "httpPort" && own === "0" ? "0 (a free port)" : own
    lines.push(
      `  ${flagUsage(row)}`,
      `      ${row.description}`,
      options.env
        ? `      env ${row.env}${row.envReadElsewhere ? " (read by the kubeconfig loader)" : ""}; default ${fallback}`
        : `      default ${fallback}`
    )
  }
  return lines
}

const FLAG_RULES = [
  "Every setting comes from a flag or an environment variable: the flag wins over the variable,",
  "the variable over the default. Flags take --flag value or --flag=value; boolean flags may be",
  "bare (--flag, --no-flag). Durations use Go syntax: 30s, 1m30s, 500ms."
]

export const runHelp = (): string =>
  [
    "Usage: pod-cleanup run [flags]      (from the repository: npm start -- [flags])",
    "",
    "The cleanup service: lists and watches pods and Argo workflows, and cleans every finished workflow",
    "pod (signals its containers, then labels, deletes or strips its finalizer per its PodGC policy).",
    "Serves /healthz, /readyz and /metrics on --http-port. The cluster comes from --kubeconfig, KUBECONFIG",
    "or the in-cluster service account, never from ~/.kube/config. SIGTERM: stops intake, lets running",
    "actions finish within --shutdown-grace, releases the lease, exits 0.",
    "",
    ...FLAG_RULES,
    ...settingsHelp(settingsTable.map((r) => r.setting), { env: true }),
    "",
    "  --version",
    "      Print the version of pod-cleanup and exit."
  ].join("\n")

export const onceHelp = (): string =>
  [
    "Usage: pod-cleanup once [flags]     (from the repository: npm run once -- [flags])",
    "",
    "One pass over the pods that exist now: lists the matching pods, cleans each one as the service",
    "would (leadership always held, no HTTP endpoints), prints one row per action (namespace, pod,",
    "action, outcome, reason) on stdout and progress on stderr. Exits 1 if any action failed or the",
    "pass ended at --timeout, 2 on bad configuration. The cluster comes from --kubeconfig, KUBECONFIG,",
    "the in-cluster service account, then ~/.kube/config.",
    "",
    "Pass:",
    "  --dry-run",
    "      Print what would be done to each pod, and why; change nothing.",
    "  --output <table|json>",
    "      The report's format; default table.",
    "  --timeout <duration>",
    "      The whole pass's deadline; pods not settled by then are reported as waiting. Default 10m.",
    "",
    ...FLAG_RULES,
    ...settingsHelp(onceSettings, { env: true }),
    "",
    "  --version",
    "      Print the version of pod-cleanup and exit."
  ].join("\n")

export const demoHelp = (): string =>
  [
    "Usage: pod-cleanup demo [flags]     (from the repository: npm run demo [-- flags])",
    "",
    `Shows the service at work without a cluster: starts a simulated Kubernetes API server in this`,
    `process with ${defaultDemoOptions.pods} finished Argo workflow pods on ${defaultDemoOptions.nodes} nodes (${defaultDemoOptions.partitioned} partitioned: every`,
    `exec hangs half-open; ${defaultDemoOptions.slow} slow) and a model of Argo's workflow-controller, runs the real`,
    "service against it over real sockets, shows live progress and the /metrics URL, and ends on its own",
    "(about 12 s) with a per-node summary (pods, cleaned, exec timeouts, breaker openings), the reasons",
    "recorded for the pods it could not clean, and the workflow nodes harmed (must be 0). Exits 0 when",
    "every pod on a healthy node was cleaned and no workflow node was harmed. Nothing outside this",
    "process is touched.",
    "",
    "It takes run's flags (flags only: POD_CLEANUP_* variables are ignored, but POD_CLEANUP_LOG_FORMAT),",
    "with its own defaults where shown.",
    ...settingsHelp(demoSettings, { env: false, defaults: demoDefaults }),
    "",
    "  --version",
    "      Print the version of pod-cleanup and exit."
  ].join("\n")

// ---- running -------------------------------------------------------------------------------------

const fail = (code: number, message: string): never => {
  process.stderr.write(`${message}\n`)
  process.exit(code)
}

/** Runs `program` as the process: exit 0 on success or a clean signal-driven shutdown. */
const launch = <E>(config: ServiceConfig, program: Effect.Effect<unknown, E>) =>
  NodeRuntime.runMain(
    program.pipe(
      Effect.catchIf(
        (e: E): e is E & KubeConfigError => (e as { readonly _tag?: unknown })?._tag === "KubeConfigError",
        (e) =>
          Effect.sync(() => {
            process.stderr.write(`pod-cleanup: ${e.message}\n`)
            process.exitCode = 2
          })
      ),
      Effect.provide(loggingLayer(config.logFormat, config.logLevel))
    ),
    {
      teardown: (exit, onExit) =>
        onExit(
          Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)
            ? typeof process.exitCode === "number" ? process.exitCode : 0
            : 1
        )
    }
  )

const wantsHelp = (args: ReadonlyArray<string>) => args.includes("--help") || args.includes("-h")
const wantsVersion = (args: ReadonlyArray<string>) => args.includes("--version")

/**
 * The flags among `args` that belong to a setting the command does not read (`--http-port` for
 * `once`): refused, so that `--help` and what is accepted agree. Their variables are ignored.
 */
export const unusedFlags = (args: ReadonlyArray<string>, used: ReadonlyArray<string>): ReadonlyArray<string> => {
  const unused = new Set(settingsTable.filter((row) => !used.includes(row.setting)).map((row) => row.flag))
  return args.filter((arg) => {
    if (!arg.startsWith("--")) return false
    const name = arg.slice(2).split("=")[0]!
    return unused.has(`--${name}`) || (name.startsWith("no-") && unused.has(`--${name.slice(3)}`))
  })
}

const refuseUnused = (command: string, args: ReadonlyArray<string>, used: ReadonlyArray<string>, why: string) => {
  const refused = unusedFlags(args, used)
  if (refused.length > 0) {
    fail(2, `pod-cleanup ${command}: ${refused.map((f) => f.split("=")[0]).join(", ")}: not used by ${command} (${why}); see pod-cleanup ${command} --help`)
  }
}

/** The command line: `argv` without the node binary and script (`process.argv.slice(2)`). */
export const main = (argv: ReadonlyArray<string>): void => {
  const [command, ...args] = argv

  const configFrom = (flags: ReadonlyArray<string>, env: Readonly<Record<string, string | undefined>>): ServiceConfig => {
    const parsed = parseConfig(flags, env)
    if (Result.isFailure(parsed)) {
      return fail(2, `pod-cleanup: invalid configuration:\n${parsed.failure.message}\n\nSee pod-cleanup ${command} --help.`)
    }
    return parsed.success
  }

  const known = command === "run" || command === "once" || command === "demo"
  if (known && wantsHelp(args)) {
    process.stdout.write(`${command === "run" ? runHelp() : command === "once" ? onceHelp() : demoHelp()}\n`)
    return
  }
  if ((known && wantsVersion(args)) || command === "--version" || command === "version") {
    process.stdout.write(`${version}\n`)
    return
  }

  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${usage}\n`)
      return

    case "run": {
      const config = configFrom(args, process.env)
      launch(
        config,
        Effect.gen(function*() {
          const loaded = yield* loadKubeConfig({
            kubeconfig: config.kubeconfig,
            env: process.env,
            serviceAccountDir: process.env.POD_CLEANUP_SERVICE_ACCOUNT_DIR,
            homeConfig: false
          })
          yield* Effect.logInfo("pod-cleanup starting").pipe(
            Effect.annotateLogs({
              version,
              kubeconfig: loaded.source,
              server: redactUrl(loaded.server),
              namespaces: config.namespaces.length === 0 ? "all" : config.namespaces.join(","),
              workers: config.engine.workers,
              execTimeout: Duration.format(config.engine.execTimeout),
              leaderElection: config.leaderElection.enabled,
              httpPort: config.httpPort
            })
          )
          return yield* Layer.launch(
            podCleanupLayer(config, { defaultLeaseNamespace: loaded.namespace }).pipe(Layer.provide(KubeClient.fromLoaded(loaded)))
          )
        })
      )
      return
    }

    case "once": {
      let dryRun = false
      let output: "table" | "json" = "table"
      let timeout: Duration.Duration | undefined
      const rest: Array<string> = []
      for (let i = 0; i < args.length; i++) {
        const arg = args[i]!
        if (arg === "--dry-run") dryRun = true
        else if (arg === "--output" || arg.startsWith("--output=")) {
          const value = arg === "--output" ? args[++i] : arg.slice("--output=".length)
          if (value !== "table" && value !== "json") fail(2, `pod-cleanup once: --output = ${JSON.stringify(value ?? "")}: expected table or json`)
          output = value as "table" | "json"
        } else if (arg === "--timeout" || arg.startsWith("--timeout=")) {
          const value = arg === "--timeout" ? args[++i] : arg.slice("--timeout=".length)
          const parsed = parseGoDuration((value ?? "").trim())
          if (Result.isFailure(parsed) || !Duration.isGreaterThan(parsed.success, Duration.zero)) {
            fail(2, `pod-cleanup once: --timeout = ${JSON.stringify(value ?? "")}: expected a duration greater than 0, such as 10m or 90s`)
          } else timeout = parsed.success
        } else rest.push(arg)
      }
      refuseUnused("once", rest, onceSettings, "it elects no leader and serves no HTTP endpoints")
      const config = configFrom(rest, process.env)
      launch(
        config,
        Effect.gen(function*() {
          const loaded = yield* loadKubeConfig({ kubeconfig: config.kubeconfig, env: process.env })
          const report = yield* runOnce(config, loaded, { dryRun: dryRun || config.engine.dryRun, output, timeout })
          process.stdout.write(`${report.text}\n`)
          if (report.failed > 0) {
            process.stderr.write(`${report.failed} action(s) failed\n`)
            process.exitCode = 1
          }
          if (report.timedOut) {
            process.stderr.write("the pass ended at its deadline (--timeout) with pods not settled; rows marked waiting say why\n")
            process.exitCode = 1
          }
        })
      )
      return
    }

    case "demo": {
      refuseUnused("demo", args, demoSettings, "it runs against its own simulated cluster")
      const config = configFrom(args, { ...demoDefaults, POD_CLEANUP_LOG_FORMAT: process.env.POD_CLEANUP_LOG_FORMAT })
      launch(
        config,
        Effect.scoped(
          Effect.gen(function*() {
            const result = yield* runDemo(config)
            if (!result.completed || !result.healthyCleaned) process.exitCode = 1
          })
        )
      )
      return
    }

    default:
      fail(2, `pod-cleanup: unknown command ${JSON.stringify(command)}\n\n${usage}`)
  }
}
