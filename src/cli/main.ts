/**
 * The `pod-cleanup` command line: `run` (the service), `once` (one pass), `demo` (the service
 * against the built-in simulated cluster). Loaded by `../main.ts` once the Node.js version is known
 * to be good. Configuration errors exit with code 2 before anything starts; SIGTERM/SIGINT shut
 * down cleanly and exit 0. `--help` on every command lists exactly the flags that command reads;
 * `--version` on every command prints the package version.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Duration, Effect, Exit, Layer, Result } from "effect"
import { redactUrl } from "../kube/ApiError.ts"
import { KubeClient } from "../kube/KubeClient.ts"
import { type KubeConfigError, loadKubeConfig } from "../kube/KubeConfigSource.ts"
import { type ConfigTree, parseCommandConfig, type ServiceConfig } from "../config/Config.ts"
import { type Command, readsSetting, settings } from "../config/settings.ts"
import { loggingLayer } from "../controller/logging.ts"
import { podCleanupLayer } from "../controller/PodCleanup.ts"
import { defaultDemoOptions } from "./demoOptions.ts"
import { demoHelp, onceHelp, runHelp, usage } from "./help.ts"
import { runOnce } from "./once.ts"
import { packageVersion } from "../version.ts"

/** The demo's own defaults (it reads no POD_CLEANUP_* variable but POD_CLEANUP_LOG_FORMAT). */
export const demoDefaults: Readonly<Record<string, string>> = {
  POD_CLEANUP_EXEC_TIMEOUT: "3s",
  POD_CLEANUP_LEADER_ELECT: "false",
  POD_CLEANUP_HTTP_PORT: "0",
  POD_CLEANUP_LOG_LEVEL: "warn",
  POD_CLEANUP_SHUTDOWN_GRACE: "2s"
}

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
 * The flags among `args` that belong to a setting `command` does not read (`--http-port` for
 * `once`): refused, so that `--help` and what is accepted agree. Their variables are ignored.
 */
export const unusedFlags = (command: Command, args: ReadonlyArray<string>): ReadonlyArray<string> => {
  const read = new Set(settings.filter((s) => readsSetting(command, s)).map((s) => s.flag))
  const unused = new Set(settings.map((s) => s.flag).filter((flag) => !read.has(flag)))
  return args.filter((arg) => {
    if (!arg.startsWith("--")) return false
    const name = arg.slice(2).split("=")[0]!
    return unused.has(`--${name}`) || (name.startsWith("no-") && unused.has(`--${name.slice(3)}`))
  })
}

const refuseUnused = (command: Command, args: ReadonlyArray<string>, why: string) => {
  const refused = unusedFlags(command, args)
  if (refused.length > 0) {
    fail(2, `pod-cleanup ${command}: ${refused.map((f) => f.split("=")[0]).join(", ")}: not used by ${command} (${why}); see pod-cleanup ${command} --help`)
  }
}

/** The command line: `argv` without the node binary and script (`process.argv.slice(2)`). */
export const main = (argv: ReadonlyArray<string>): void => {
  const [command, ...args] = argv

  const configFrom = (reader: Command, flags: ReadonlyArray<string>, env: Readonly<Record<string, string | undefined>>): ConfigTree => {
    const parsed = parseCommandConfig(reader, flags, env)
    if (Result.isFailure(parsed)) {
      return fail(2, `pod-cleanup: invalid configuration:\n${parsed.failure.message}\n\nSee pod-cleanup ${command} --help.`)
    }
    return parsed.success
  }

  const known = command === "run" || command === "once" || command === "demo"
  if (known && wantsHelp(args)) {
    process.stdout.write(`${command === "run" ? runHelp() : command === "once" ? onceHelp() : demoHelp(defaultDemoOptions, demoDefaults)}\n`)
    return
  }
  if ((known && wantsVersion(args)) || command === "--version" || command === "version") {
    process.stdout.write(`${packageVersion}\n`)
    return
  }

  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${usage(packageVersion)}\n`)
      return

    case "run": {
      const config = configFrom("run", args, process.env)
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
              version: packageVersion,
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
            podCleanupLayer(config, { defaultLeaseNamespace: loaded.namespace }).pipe(Layer.provide(KubeClient.layerFromLoaded(loaded)))
          )
        })
      )
      return
    }

    case "once": {
      refuseUnused("once", args, "it elects no leader and serves no HTTP endpoints")
      const config = configFrom("once", args, process.env)
      launch(
        config,
        Effect.gen(function*() {
          const loaded = yield* loadKubeConfig({ kubeconfig: config.kubeconfig, env: process.env })
          const report = yield* runOnce(config, loaded, config.once)
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
      refuseUnused("demo", args, "it runs against its own simulated cluster")
      const config = configFrom("demo", args, { ...demoDefaults, POD_CLEANUP_LOG_FORMAT: process.env.POD_CLEANUP_LOG_FORMAT })
      launch(
        config,
        Effect.scoped(
          Effect.gen(function*() {
            // Loaded only here: the service and `once` never load the simulator.
            const { runDemo } = yield* Effect.promise(() => import("./demo.ts"))
            const result = yield* runDemo(config)
            if (!result.completed || !result.healthyCleaned) process.exitCode = 1
          })
        )
      )
      return
    }

    default:
      fail(2, `pod-cleanup: unknown command ${JSON.stringify(command)}\n\n${usage(packageVersion)}`)
  }
}
