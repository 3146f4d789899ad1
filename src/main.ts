#!/usr/bin/env node
/**
 * The `pod-cleanup` command line: `run` (the service), `once` (one pass), `demo` (the service
 * against the built-in simulated cluster). Configuration errors exit with code 2 before anything
 * starts; SIGTERM/SIGINT shut down cleanly and exit 0.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Duration, Effect, Exit, Layer, Result } from "effect"
import { defaultDemoOptions, runDemo } from "./cli/demo.ts"
import { runOnce } from "./cli/once.ts"
import { redactUrl } from "./kube/ApiError.ts"
import { KubeClient } from "./kube/KubeClient.ts"
import { type KubeConfigError, loadKubeConfig } from "./kube/KubeConfigSource.ts"
import { parseGoDuration } from "./domain/duration.ts"
import { helpText, parseConfig, type ServiceConfig } from "./service/Config.ts"
import { loggingLayer } from "./service/logging.ts"
import { podCleanupLayer } from "./service/PodCleanup.ts"

const usage = `Usage: pod-cleanup <command> [flags]

Commands:
  run     the cleanup service: watches pods and workflows, cleans finished pods (in-cluster or KUBECONFIG)
  once    one pass over the pods that exist now [--dry-run] [--output table|json]
  demo    the service against a built-in simulated cluster, with a partitioned node

Run pod-cleanup <command> --help for its flags and environment variables.`

const fail = (code: number, message: string): never => {
  process.stderr.write(`${message}\n`)
  process.exit(code)
}

const configFrom = (args: ReadonlyArray<string>, env: Readonly<Record<string, string | undefined>>): ServiceConfig => {
  const parsed = parseConfig(args, env)
  if (Result.isFailure(parsed)) {
    return fail(2, `pod-cleanup: invalid configuration:\n${parsed.failure.message}\n\nSee pod-cleanup ${command} --help.`)
  }
  return parsed.success
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

const [command, ...args] = process.argv.slice(2)

switch (command) {
  case undefined:
  case "help":
  case "--help":
  case "-h":
    process.stdout.write(`${usage}\n`)
    break

  case "run": {
    if (wantsHelp(args)) {
      process.stdout.write(`${helpText("pod-cleanup run")}\n`)
      break
    }
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
    break
  }

  case "once": {
    if (wantsHelp(args)) {
      process.stdout.write(
        `${helpText("pod-cleanup once")}\n\nAlso:\n  --dry-run              print what would be done; change nothing\n` +
          `  --output table|json    the report's format (default table)\n` +
          `  --timeout <duration>   the whole pass's deadline (default 10m); pods not settled by then are reported as waiting\n`
      )
      break
    }
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
    const config = configFrom(rest, process.env)
    launch(
      config,
      Effect.gen(function*() {
        const loaded = yield* loadKubeConfig({ kubeconfig: config.kubeconfig, env: process.env })
        const report = yield* runOnce(config, loaded, { dryRun, output, timeout })
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
    break
  }

  case "demo": {
    if (wantsHelp(args)) {
      process.stdout.write(
        `Usage: pod-cleanup demo [flags]\n\nRuns the real service against a simulated cluster it starts in-process ` +
          `(${defaultDemoOptions.pods} pods, ${defaultDemoOptions.nodes} nodes, ${defaultDemoOptions.partitioned} partitioned). ` +
          `Takes the flags of pod-cleanup run; its defaults differ: --exec-timeout 3s, --no-leader-elect, --http-port 0 ` +
          `(a free port), --log-level warn, --shutdown-grace 2s.\n`
      )
      break
    }
    const config = configFrom(args, {
      POD_CLEANUP_EXEC_TIMEOUT: "3s",
      POD_CLEANUP_LEADER_ELECT: "false",
      POD_CLEANUP_HTTP_PORT: "0",
      POD_CLEANUP_LOG_LEVEL: "warn",
      POD_CLEANUP_SHUTDOWN_GRACE: "2s",
      POD_CLEANUP_LOG_FORMAT: process.env.POD_CLEANUP_LOG_FORMAT
    })
    launch(
      config,
      Effect.scoped(
        Effect.gen(function*() {
          const result = yield* runDemo(config)
          if (!result.completed || !result.healthyCleaned) process.exitCode = 1
        })
      )
    )
    break
  }

  default:
    fail(2, `pod-cleanup: unknown command ${JSON.stringify(command)}\n\n${usage}`)
}
