/**
 * The configuration, read from the command line and the environment (a flag wins over its
 * variable, a variable over the default) by the rows of `settings.ts`: each decoded value is
 * written at its row's path, so there is no hand-written mapping to keep in step. Nothing starts
 * half-configured: every problem is collected and reported at once, one line each, and a value
 * that is secret or looks like a credential is never echoed. Pure: the environment is passed in,
 * nothing reads `process.env`.
 */
import { Data, Duration, Result, Schema, SchemaIssue } from "effect"
import { formatGoDuration } from "../domain/duration.ts"
import { argoCompatible as argoCompatibleSettings, defaultEngineSettings, type EngineSettings } from "../engine/EngineSettings.ts"
import { type LeaseTimings, timingViolationMessage, timingViolations } from "../controller/leaseTime.ts"
import { readArgv } from "./argv.ts"
import {
  type AnySetting,
  type Command,
  getPath,
  hasPath,
  readsSetting,
  rowAt,
  setPath,
  settingAt,
  type SettingPath,
  settings,
  type ValueAt
} from "./settings.ts"

export interface ServiceConfig {
  readonly engine: EngineSettings
  /** An explicit kubeconfig file (`--kubeconfig`); `KUBECONFIG` is read by the kubeconfig loader. */
  readonly kubeconfig: string | undefined
  /** Empty = all namespaces. */
  readonly namespaces: ReadonlyArray<string>
  readonly labelSelector: string
  readonly httpPort: number
  readonly leaderElection: {
    readonly enabled: boolean
    readonly leaseName: string
    /** Undefined = the service account's namespace. */
    readonly leaseNamespace: string | undefined
    readonly leaseDuration: Duration.Duration
    readonly renewDeadline: Duration.Duration
    readonly retryPeriod: Duration.Duration
    readonly identity: string | undefined
  }
  /** `auto` = pretty when stderr is a terminal, else json (decided by the logging layer). */
  readonly logFormat: "json" | "pretty" | "auto"
  readonly logLevel: "debug" | "info" | "warn" | "error"
  /** Record Kubernetes Events on the pods acted on (`POD_CLEANUP_EVENTS`). */
  readonly events: boolean
  readonly shutdownGrace: Duration.Duration
  /** How often the leader decides every known pod again; zero = never. */
  readonly resyncPeriod: Duration.Duration
  /** The engine started from `argoCompatible()`; explicit engine settings were applied on top. */
  readonly argoCompatible: boolean
}

/** The options of one `pod-cleanup once` pass. */
export interface OncePass {
  /** Print the plan of every pod instead of acting (`--dry-run`, `POD_CLEANUP_DRY_RUN`). */
  readonly dryRun: boolean
  readonly output: "table" | "json"
  /** The whole pass's deadline. */
  readonly timeout: Duration.Duration
}

/** Everything a command line decides, addressed by the rows' paths: the service's configuration and a `once` pass. */
export interface ConfigTree extends ServiceConfig {
  readonly once: OncePass
}

/**
 * One problem. For a setting: where it lands (`engine.workers`), its variable and flag, the value as
 * given (or `<redacted>`) and the expected form. For the command line itself: `setting` is `"argv"`,
 * `env` is empty, `flag` is the offending flag (empty for a stray argument, whose text is then in
 * `value`), and `expected` says what is wrong.
 */
export interface ConfigProblem {
  readonly setting: string
  readonly env: string
  readonly flag: string
  readonly value: string
  readonly expected: string
}

export class ServiceConfigError extends Data.TaggedError("ServiceConfigError")<{
  readonly problems: ReadonlyArray<ConfigProblem>
  readonly message: string
}> {}

export const REDACTED = "<redacted>"

/** Heuristics for values that must not end up in logs: tokens, keys, passwords in URLs. */
export const looksLikeCredential = (value: string): boolean =>
  /^\s*(bearer|basic)\s+\S/i.test(value) ||
  /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}/.test(value) || // a JWT
  /-----BEGIN [A-Z ]+-----/.test(value) ||
  /:\/\/[^/\s:@]+:[^/\s@]+@/.test(value) || // user:password@ in a URL
  /(password|passwd|secret|token|api[-_]?key)\s*[=:]/i.test(value) ||
  (value.length >= 32 && /^[A-Za-z0-9+/=_-]+$/.test(value) && /[a-z]/.test(value) && /[A-Z]/.test(value) &&
    /[0-9]/.test(value))

/** The problem as one line, e.g. `POD_CLEANUP_WORKERS (--workers) = "0": expected an integer from 1 to 256`. */
export const formatProblem = (p: ConfigProblem): string => {
  if (p.setting === "argv") {
    return p.flag !== "" ? `${p.flag}: ${p.expected}` : `unexpected argument ${showValue(p.value)}: ${p.expected}`
  }
  const name = p.env === "" ? p.flag : `${p.env} (${p.flag})`
  return `${name} = ${showValue(p.value)}: expected ${p.expected}`
}

const showValue = (value: string): string => value === REDACTED ? value : JSON.stringify(value)

// ---- Problems ---------------------------------------------------------------------------------

const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/** The messages of a failed decode, by the first path segment (a field of a cross-check, or "" for the whole). */
const issuesOf = (error: Schema.SchemaError): ReadonlyArray<{ readonly key: string; readonly message: string }> =>
  formatIssue(error.issue).issues.map((issue) => ({
    key: issue.path !== undefined && issue.path.length > 0 ? String(issue.path[0]) : "",
    message: issue.message
  }))

const settingProblem = (setting: AnySetting, value: string, expected: string): ConfigProblem => ({
  setting: setting.path,
  env: setting.envReadElsewhere === true ? "" : setting.env ?? "",
  flag: setting.flag,
  value: setting.secret === true || looksLikeCredential(value) ? REDACTED : value,
  expected
})

const codecOf = (setting: AnySetting): Schema.Codec<unknown, string> => setting.codec as Schema.Codec<unknown, string>

// ---- Checks across settings -------------------------------------------------------------------

/** A rule over several settings: each issue names the one to blame (a key of `paths`). */
interface CrossCheck<K extends string> {
  readonly paths: Readonly<Record<K, SettingPath>>
  readonly issues: (values: Readonly<Record<K, unknown>>, given: (key: K) => boolean) => ReadonlyArray<{
    readonly key: K
    readonly expected: string
  }>
}

/**
 * Leader election timings, by `leaseTime.timingViolations` (client-go's rules). A problem goes to
 * the setting that was given explicitly; if both or neither were, to the larger one.
 */
const leaseTimings: CrossCheck<keyof LeaseTimings> = {
  paths: {
    leaseDuration: "leaderElection.leaseDuration",
    renewDeadline: "leaderElection.renewDeadline",
    retryPeriod: "leaderElection.retryPeriod"
  },
  issues: (values, given) =>
    timingViolations(values as unknown as LeaseTimings).flatMap((v): ReadonlyArray<{ key: keyof LeaseTimings; expected: string }> => {
      switch (v._tag) {
        case "LeaseNotAboveRenew":
          return given("renewDeadline") && !given("leaseDuration")
            ? [{ key: "renewDeadline", expected: `a duration shorter than the lease duration (${formatGoDuration(v.leaseDuration)})` }]
            : [{ key: "leaseDuration", expected: `a duration longer than the renew deadline (${formatGoDuration(v.renewDeadline)})` }]
        case "RenewNotAboveJitteredRetry":
          return given("retryPeriod") && !given("renewDeadline")
            ? [{ key: "retryPeriod", expected: `a duration whose 1.2 × stays below the renew deadline (${formatGoDuration(v.renewDeadline)})` }]
            : [{ key: "renewDeadline", expected: `a duration longer than 1.2 × the retry period (${formatGoDuration(v.jitteredRetry)})` }]
        default:
          // Zero and infinite durations: the codecs refuse them first.
          return [{ key: "leaseDuration", expected: `timings client-go accepts (${timingViolationMessage(v)})` }]
      }
    })
}

/** An explicit burst must be at least 1 under a QPS limit. */
const apiRate: CrossCheck<"apiQps" | "apiBurst"> = {
  paths: { apiQps: "engine.apiQps", apiBurst: "engine.apiBurst" },
  issues: (values, given) => {
    const qps = values.apiQps as number
    return qps > 0 && given("apiBurst") && (values.apiBurst as number) < 1
      ? [{ key: "apiBurst", expected: `an integer of 1 or more when the API QPS is above 0 (it is ${qps})` }]
      : []
  }
}

/** A QPS limit without an explicit burst: twice the QPS, at least 1 (client-go's own defaults are 5 and 10). */
const defaultBurst = (qps: number): number => Math.max(1, Math.ceil(2 * qps))

// ---- Parsing ----------------------------------------------------------------------------------

/**
 * Reads every setting `command` reads from `argv` (flags only: the CLI strips the command first)
 * and `env`; the settings it does not read keep their defaults (their variables are ignored).
 * Either the whole configuration, or every problem found, command line first, then in table order.
 */
export const parseCommandConfig = (
  command: Command,
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Result.Result<ConfigTree, ServiceConfigError> => {
  const rows = settings.filter((s) => readsSetting(command, s))
  const fromArgv = readArgv(argv, rows)
  const problems: Array<ConfigProblem> = fromArgv.problems.map((p) => ({
    setting: "argv",
    env: "",
    flag: p.flag,
    value: looksLikeCredential(p.value) ? REDACTED : p.value,
    expected: p.expected
  }))

  // The text of every setting given explicitly: the flag, else a non-empty variable.
  const given = new Map<AnySetting, string>()
  for (const setting of rows) {
    const flagValue = fromArgv.values.get(setting)
    const envValue = setting.envReadElsewhere === true || setting.env === undefined ? undefined : env[setting.env]
    if (flagValue !== undefined) given.set(setting, flagValue)
    else if (envValue !== undefined && envValue !== "") given.set(setting, envValue)
  }
  const decoded = new Map<AnySetting, unknown>()
  for (const [setting, text] of given) {
    const result = Schema.decodeUnknownResult(codecOf(setting))(text)
    if (Result.isSuccess(result)) decoded.set(setting, result.success)
    else for (const issue of issuesOf(result.failure)) problems.push(settingProblem(setting, text, issue.message))
  }

  // The tree: the base engine (Argo's behaviour when asked), every other setting at its default,
  // then every decoded value at its path.
  const argo = settingAt("argoCompatible")
  const base = (decoded.get(argo) ?? argo.default) ? argoCompatibleSettings(defaultEngineSettings) : defaultEngineSettings
  let tree: Record<string, unknown> = { engine: base }
  for (const setting of settings) if (!hasPath(tree, setting.path)) tree = setPath(tree, setting.path, setting.default)
  for (const [setting, value] of decoded) tree = setPath(tree, setting.path, value)
  const burst = settingAt("engine.apiBurst")
  const qps = getPath(tree, "engine.apiQps") as ValueAt<ConfigTree, "engine.apiQps">
  if (!given.has(burst) && qps > 0) tree = setPath(tree, burst.path, defaultBurst(qps))

  // Checks across settings, on the values that decoded.
  const crossCheck = <K extends string>(check: CrossCheck<K>): void => {
    const keys = Object.keys(check.paths) as Array<K>
    const rowOf = (key: K): AnySetting => rowAt(check.paths[key])
    if (keys.some((key) => given.has(rowOf(key)) && !decoded.has(rowOf(key)))) return
    const values = Object.fromEntries(keys.map((key) => [key, getPath(tree, check.paths[key])])) as Record<K, unknown>
    for (const issue of check.issues(values, (key) => given.has(rowOf(key)))) {
      const setting = rowOf(issue.key)
      const text = given.get(setting) ?? Schema.encodeSync(codecOf(setting))(values[issue.key])
      problems.push(settingProblem(setting, text, issue.expected))
    }
  }
  crossCheck(leaseTimings)
  crossCheck(apiRate)

  if (problems.length > 0) {
    return Result.fail(new ServiceConfigError({ problems, message: problems.map(formatProblem).join("\n") }))
  }
  // Every path of `ConfigTree` is a row's (the types check each row's path and codec), and every
  // row was written above, so the tree is whole.
  return Result.succeed(tree as unknown as ConfigTree)
}

/** The service's part of a command's configuration. */
export const serviceConfigOf = ({ once: _, ...service }: ConfigTree): ServiceConfig => service

/**
 * Reads the service's settings (those of `pod-cleanup run`) from `argv` (flags only) and `env`.
 * Either the whole configuration, or every problem found.
 *
 * @example
 * const config = parseConfig(process.argv.slice(3), process.env)
 * if (Result.isFailure(config)) { console.error(config.failure.message); process.exit(2) }
 */
export const parseConfig = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Result.Result<ServiceConfig, ServiceConfigError> => Result.map(parseCommandConfig("run", argv, env), serviceConfigOf)
