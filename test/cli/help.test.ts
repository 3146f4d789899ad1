/**
 * What the command line says about itself, rendered from the settings table: the documented rows
 * and defaults, each command's --help (only the flags it reads), and the README's Markdown table.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseConfig, type ServiceConfig } from "../../src/config/Config.ts"
import { DEFAULT_SELECTOR } from "../support/labelSelectors.ts"
import { demoHelp, helpText, onceHelp, runHelp, settingsMarkdown, settingsTable, settingsTableFor } from "../../src/cli/help.ts"

type Env = Readonly<Record<string, string | undefined>>

const config = (argv: ReadonlyArray<string>, env: Env = {}): ServiceConfig => Result.getOrThrow(parseConfig(argv, env))

/** The default configuration (test/config/Config.test.ts checks it field by field). */
const defaults = config([])

describe("settingsTable and help", () => {
  it("documents every setting of the brief, with its variable, flag and default", () => {
    expect(settingsTable.map((row) => [row.env, row.flag, row.default])).toStrictEqual([
      ["KUBECONFIG", "--kubeconfig", "unset"],
      ["POD_CLEANUP_NAMESPACES", "--namespaces", "\"\" (all namespaces)"],
      ["POD_CLEANUP_LABEL_SELECTOR", "--label-selector", DEFAULT_SELECTOR],
      ["POD_CLEANUP_WORKERS", "--workers", "4"],
      ["POD_CLEANUP_API_WORKERS", "--api-workers", "4 (0 with --argo-compatible)"],
      ["POD_CLEANUP_EXEC_TIMEOUT", "--exec-timeout", "30s (2m0s with --argo-compatible)"],
      ["POD_CLEANUP_EXEC_RETRIES", "--exec-retries", "1 (0 with --argo-compatible)"],
      ["POD_CLEANUP_SIGNAL_CONCURRENCY", "--signal-concurrency", "8 (1 with --argo-compatible)"],
      ["POD_CLEANUP_NODE_EXEC_CAP", "--node-exec-cap", "2 (0 with --argo-compatible)"],
      ["POD_CLEANUP_EXEC_CAP", "--exec-cap", "32"],
      ["POD_CLEANUP_BREAKER_THRESHOLD", "--breaker-threshold", "3 (0 with --argo-compatible)"],
      ["POD_CLEANUP_BREAKER_COOLDOWN", "--breaker-cooldown", "1m0s"],
      ["POD_CLEANUP_MAIN_CONTAINERS", "--main-containers", "main"],
      ["POD_CLEANUP_DELETE_DELAY", "--delete-delay", "5s"],
      ["POD_CLEANUP_DELETE_GRACE_PERIOD", "--delete-grace-period", "unset (the pod's own)"],
      ["POD_CLEANUP_MAX_DESTRUCTIVE_PER_MINUTE", "--max-destructive-per-minute", "0"],
      ["POD_CLEANUP_DRY_RUN", "--dry-run", "false"],
      ["POD_CLEANUP_RESYNC_PERIOD", "--resync-period", "5m0s"],
      ["POD_CLEANUP_API_QPS", "--api-qps", "0"],
      ["POD_CLEANUP_API_BURST", "--api-burst", "0 (2 × QPS, at least 1, when --api-qps > 0)"],
      ["POD_CLEANUP_LEADER_ELECT", "--leader-elect", "true"],
      ["POD_CLEANUP_LEASE_NAME", "--lease-name", "pod-cleanup"],
      ["POD_CLEANUP_LEASE_NAMESPACE", "--lease-namespace", "unset (the service account's namespace)"],
      ["POD_CLEANUP_LEASE_DURATION", "--lease-duration", "15s"],
      ["POD_CLEANUP_RENEW_DEADLINE", "--renew-deadline", "10s"],
      ["POD_CLEANUP_RETRY_PERIOD", "--retry-period", "2s"],
      ["POD_NAME", "--identity", "unset"],
      ["POD_CLEANUP_HTTP_PORT", "--http-port", "8080"],
      ["POD_CLEANUP_LOG_FORMAT", "--log-format", "auto"],
      ["POD_CLEANUP_LOG_LEVEL", "--log-level", "info"],
      ["POD_CLEANUP_EVENTS", "--events", "true"],
      ["POD_CLEANUP_SHUTDOWN_GRACE", "--shutdown-grace", "20s"],
      ["POD_CLEANUP_ARGO_COMPATIBLE", "--argo-compatible", "false"]
    ])
  })

  it("every documented default parses back to the default configuration", () => {
    const env = Object.fromEntries(
      settingsTable
        .filter((row) => !row.envReadElsewhere && !row.default.startsWith("unset") && !row.default.startsWith("\"\""))
        .map((row) => [row.env, row.default.replace(/ \(.*\)$/, "")])
    )
    expect(config([], env)).toStrictEqual(defaults)
  })

  it("help lists every flag with its variable and default", () => {
    const help = helpText("pod-cleanup run")
    expect(help.split("\n").slice(0, 1)).toStrictEqual(["Usage: pod-cleanup run [flags]"])
    for (const row of settingsTable) expect(help).toContain(row.flag)
    expect(help).toContain([
      "  --exec-timeout <duration>",
      "      Deadline of one exec that signals a container.",
      "      env POD_CLEANUP_EXEC_TIMEOUT; default 30s (2m0s with --argo-compatible)"
    ].join("\n"))
    expect(help).toContain([
      "  --leader-elect[=bool], --no-leader-elect",
      "      Elect a leader through a Lease, so only one replica cleans at a time.",
      "      env POD_CLEANUP_LEADER_ELECT; default true"
    ].join("\n"))
  })

  it("renders a Markdown table for the README", () => {
    const md = settingsMarkdown().split("\n")
    expect(md.length).toBe(settingsTable.length + 2)
    expect(md[0]).toBe("| Environment variable | Flag | Default | Description |")
    expect(md[5]).toBe(
      "| `POD_CLEANUP_WORKERS` | `--workers <n>` | 4 | Worker fibers that signal containers (exec), and run every action when --api-workers is 0 (1..256). |"
    )
  })
})

/** The flags a help text lists, one per setting line (`  --flag ...`). */
const flagsOf = (help: string): ReadonlyArray<string> =>
  help.split("\n").filter((line) => /^ {2}--/.test(line)).map((line) => line.trim().split(/[ [=]/)[0]!)

describe("each command's --help", () => {
  const demoShape = { pods: 300, nodes: 6, partitioned: "node-4", slow: "node-5" }

  it("lists exactly the flags the command reads, and --version", () => {
    const run = settingsTableFor("run").map((row) => row.flag)
    expect(flagsOf(runHelp())).toStrictEqual([...run, "--version"])
    expect(flagsOf(onceHelp())).toStrictEqual([...settingsTableFor("once").map((row) => row.flag), "--version"])
    expect(flagsOf(demoHelp(demoShape, {}))).toStrictEqual([...settingsTableFor("demo").map((row) => row.flag), "--version"])
  })

  it("once: its pass options first, and nothing of leader election, HTTP or shadow mode", () => {
    const once = settingsTableFor("once").map((row) => row.setting)
    expect(once.slice(0, 3)).toStrictEqual(["once.dryRun", "once.output", "once.timeout"])
    for (const setting of ["httpPort", "engine.dryRun", "leaderElection.enabled", "leaderElection.identity"]) {
      expect(once).not.toContain(setting)
    }
    expect(onceHelp()).toContain([
      "  --timeout <duration>",
      "      The whole pass's deadline; pods not settled by then are reported as waiting.",
      "      default 10m0s"
    ].join("\n"))
    expect(onceHelp()).toContain("  --output <table|json>")
    expect(onceHelp()).toContain("      env POD_CLEANUP_DRY_RUN; default false")
  })

  it("demo: no variables, its own defaults, no --kubeconfig", () => {
    const help = demoHelp(demoShape, { POD_CLEANUP_EXEC_TIMEOUT: "3s", POD_CLEANUP_HTTP_PORT: "0" })
    expect(help).toContain("300 finished Argo workflow pods on 6 nodes (node-4 partitioned")
    expect(help).toContain(["  --exec-timeout <duration>", "      Deadline of one exec that signals a container.", "      default 3s"].join("\n"))
    expect(help).toContain("      default 0 (a free port)")
    expect(help).not.toContain("env POD_CLEANUP_")
    expect(help).not.toContain("--kubeconfig")
  })
})
