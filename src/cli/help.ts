/**
 * What the command line says about itself: `--help` of each command and the README's settings
 * table, all rendered from the rows of `config/settings.ts`. Each command's help lists exactly the
 * settings that command reads, and the defaults shown are the ones it uses (engine defaults read
 * from `defaultEngineSettings`), so the documentation cannot drift. Pure text, no I/O.
 */
import { Equal, Schema } from "effect"
import { argoCompatible, defaultEngineSettings } from "../engine/EngineSettings.ts"
import { type AnySetting, type Command, getPath, readsSetting, type SettingGroup, settings } from "../config/settings.ts"

/** One documented setting (README and `--help`). */
export interface SettingsTableRow {
  /** Where the value lands in the configuration, e.g. `engine.execTimeout`. */
  readonly setting: string
  /** Empty for a flag-only setting. */
  readonly env: string
  readonly flag: string
  readonly metavar: string
  readonly group: SettingGroup
  readonly default: string
  readonly description: string
  readonly boolean: boolean
  readonly secret: boolean
  readonly envReadElsewhere: boolean
}

const encoded = (s: AnySetting, value: unknown): string =>
  Schema.encodeSync(s.codec as Schema.Codec<unknown, string>)(value)

/** The default as documented; for an engine setting that `--argo-compatible` changes, both values. */
const documentedDefault = (s: AnySetting): string => {
  const text = s.defaultText ?? encoded(s, s.default)
  if (!s.path.startsWith("engine.")) return text
  const argo = getPath({ engine: argoCompatible(defaultEngineSettings) }, s.path)
  return Equal.equals(argo, s.default) ? text : `${text} (${encoded(s, argo)} with --argo-compatible)`
}

/** The settings `command` reads, as documented. */
export const settingsTableFor = (command: Command): ReadonlyArray<SettingsTableRow> =>
  settings.filter((s) => readsSetting(command, s)).map((s) => ({
    setting: s.path,
    env: s.env ?? "",
    flag: s.flag,
    metavar: s.metavar,
    group: s.group,
    default: documentedDefault(s),
    description: s.description,
    boolean: s.boolean === true,
    secret: s.secret === true,
    envReadElsewhere: s.envReadElsewhere === true
  }))

/** The service's settings (`pod-cleanup run`): the single source for the README's table and `helpText`. */
export const settingsTable: ReadonlyArray<SettingsTableRow> = settingsTableFor("run")

const flagUsage = (row: SettingsTableRow): string =>
  row.boolean ? `${row.flag}[=${row.metavar}], --no-${row.flag.slice(2)}` : `${row.flag} <${row.metavar}>`

const envUsage = (row: SettingsTableRow): string =>
  row.envReadElsewhere ? `${row.env} (read by the kubeconfig loader)` : row.env

/**
 * The settings of `command`, by group. With `env: false` the variables are left out (the demo
 * reads flags only); `defaults` are a command's own defaults by variable, shown instead of the table's.
 */
const settingsHelp = (
  command: Command,
  options: { readonly env: boolean; readonly defaults?: Readonly<Record<string, string>> }
): Array<string> => {
  const lines: Array<string> = []
  let group: SettingGroup | undefined
  for (const row of settingsTableFor(command)) {
    if (row.group !== group) {
      group = row.group
      lines.push("", `${group}:`)
    }
    const own = options.defaults?.[row.env]
    const fallback = own === undefined ? row.default : row.setting === "httpPort" && own === "0" ? "0 (a free port)" : own
    const source = options.env && row.env !== "" ? `env ${envUsage(row)}; ` : ""
    lines.push(`  ${flagUsage(row)}`, `      ${row.description}`, `      ${source}default ${fallback}`)
  }
  return lines
}

const FLAG_RULES = [
  "Every setting comes from a flag or an environment variable: the flag wins over the variable,",
  "the variable over the default. Flags take --flag value or --flag=value; boolean flags may be",
  "bare (--flag, --no-flag). Durations use Go syntax: 30s, 1m30s, 500ms."
]

const VERSION_FLAG = ["", "  --version", "      Print the version of pod-cleanup and exit."]

/**
 * `--help` for a command that takes the service's settings; `command` is printed as given.
 *
 * @example
 * console.log(helpText("pod-cleanup run"))
 */
export const helpText = (command: string): string =>
  [`Usage: ${command} [flags]`, "", ...FLAG_RULES, ...settingsHelp("run", { env: true })].join("\n")

/** `pod-cleanup --help`: the commands. */
export const usage = (version: string): string =>
  `Usage: pod-cleanup <command> [flags]

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
    ...settingsHelp("run", { env: true }),
    ...VERSION_FLAG
  ].join("\n")

/**
 * `once` runs the same controller and engine as `run` with leadership always held and serves no
 * HTTP endpoints, so the leader-election settings and --http-port are not among its settings.
 * --shutdown-grace applies when --timeout ends the pass with actions still running; --resync-period
 * when the pass is longer than it. Its own --dry-run (the plan of every pod, printed) stands for
 * the service's shadow mode, and POD_CLEANUP_DRY_RUN means it too.
 */
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
    ...FLAG_RULES,
    ...settingsHelp("once", { env: true }),
    ...VERSION_FLAG
  ].join("\n")

/** What the demo's help says about its cluster. */
export interface DemoShape {
  readonly pods: number
  readonly nodes: number
  /** The partitioned node's name. */
  readonly partitioned: string
  /** The slow node's name. */
  readonly slow: string
}

/** `demo` takes run's flags but --kubeconfig, and no variables (but POD_CLEANUP_LOG_FORMAT); `defaults` are its own. */
export const demoHelp = (demo: DemoShape, defaults: Readonly<Record<string, string>>): string =>
  [
    "Usage: pod-cleanup demo [flags]     (from the repository: npm run demo [-- flags])",
    "",
    `Shows the service at work without a cluster: starts a simulated Kubernetes API server in this`,
    `process with ${demo.pods} finished Argo workflow pods on ${demo.nodes} nodes (${demo.partitioned} partitioned: every`,
    `exec hangs half-open; ${demo.slow} slow) and a model of Argo's workflow-controller, runs the real`,
    "service against it over real sockets, shows live progress and the /metrics URL, and ends on its own",
    "(about 12 s) with a per-node summary (pods, cleaned, exec timeouts, breaker openings), the reasons",
    "recorded for the pods it could not clean, and the workflow nodes harmed (must be 0). Exits 0 when",
    "every pod on a healthy node was cleaned and no workflow node was harmed. Nothing outside this",
    "process is touched.",
    "",
    "It takes run's flags (flags only: POD_CLEANUP_* variables are ignored, but POD_CLEANUP_LOG_FORMAT),",
    "with its own defaults where shown.",
    ...settingsHelp("demo", { env: false, defaults }),
    ...VERSION_FLAG
  ].join("\n")

const cell = (text: string): string => text.replaceAll("|", "\\|")

/** The service's settings as a Markdown table: the README's "Configuration" table. */
export const settingsMarkdown = (): string =>
  [
    "| Environment variable | Flag | Default | Description |",
    "| --- | --- | --- | --- |",
    ...settingsTable.map((row) =>
      `| \`${row.env}\`${row.envReadElsewhere ? " (read by the kubeconfig loader)" : ""} | \`${flagUsage(row)}\` | ${
        cell(row.default)
      } | ${cell(row.description)} |`
    )
  ].join("\n")
