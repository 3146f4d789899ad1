/**
 * The service's configuration, read from the command line and the environment (a flag wins over
 * its variable, a variable over the default) and decoded with the codecs of `configTable.ts`.
 * Nothing starts half-configured: every problem is collected and reported at once, one line each,
 * and a value that is secret or looks like a credential is never echoed. Pure: the environment is
 * passed in, nothing reads `process.env`.
 */
import { Data, Duration, Result, Schema, SchemaIssue } from "effect"
import { formatGoDuration } from "../domain/duration.ts"
import { argoCompatible as argoCompatibleSettings, defaultEngineSettings, type EngineSettings } from "../engine/EngineSettings.ts"
import { type Setting, type SettingKey, settingKeys, settings, type SettingValue } from "./configTable.ts"

export { helpText, settingsMarkdown, settingsTable, type SettingsTableRow } from "./configTable.ts"

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

export class ConfigError extends Data.TaggedError("ConfigError")<{
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

// ---- The command line -------------------------------------------------------------------------

const byFlag: ReadonlyMap<string, SettingKey> = new Map(settingKeys.map((key) => [settings[key].flag.slice(2), key]))

const levenshtein = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

/** The known flag closest to `name` (typo, wrong case, `_` for `-`, env var name, unique prefix). */
const suggestFlag = (name: string): string | undefined => {
  const byEnv = settingKeys.find((key) => settings[key].env === name)
  if (byEnv !== undefined) return settings[byEnv].flag
  const wanted = name.toLowerCase().replaceAll("_", "-")
  const candidates = [
    ...byFlag.keys(),
    ...settingKeys.filter((key) => settings[key].boolean === true).map((key) => `no-${settings[key].flag.slice(2)}`)
  ]
  // Close enough: 1 edit for short names, up to 3 for long ones.
  const threshold = Math.min(3, Math.max(1, Math.floor(wanted.length / 4)))
  let best: { readonly flag: string; readonly distance: number } | undefined
  for (const candidate of candidates) {
    const distance = levenshtein(wanted, candidate)
    if (distance <= threshold && (best === undefined || distance < best.distance)) best = { flag: candidate, distance }
  }
  if (best !== undefined) return `--${best.flag}`
  const prefixed = wanted.length >= 3 ? candidates.filter((c) => c.startsWith(wanted)) : []
  return prefixed.length === 1 ? `--${prefixed[0]}` : undefined
}

const argvProblem = (flag: string, value: string, expected: string): ConfigProblem => ({
  setting: "argv",
  env: "",
  flag,
  value,
  expected
})

const redactedIfCredential = (value: string): string => looksLikeCredential(value) ? REDACTED : value

/** Reads `--flag value`, `--flag=value`, `--flag` / `--no-flag` (booleans); the last occurrence wins. */
const readArgv = (
  argv: ReadonlyArray<string>,
  problems: Array<ConfigProblem>
): Map<SettingKey, string> => {
  const values = new Map<SettingKey, string>()
  let previousBareBoolean: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const bareBoolean = previousBareBoolean
    previousBareBoolean = undefined
    if (arg === "--") {
      for (const rest of argv.slice(i + 1)) {
        problems.push(argvProblem("", redactedIfCredential(rest), "only flags are accepted"))
      }
      break
    }
    if (!arg.startsWith("-") || arg === "-") {
      const hint = bareBoolean !== undefined && /^(true|false|1|0|yes|no)$/i.test(arg)
        ? `a boolean flag takes its value after "=", e.g. ${bareBoolean}=${arg}`
        : "only flags are accepted"
      problems.push(argvProblem("", redactedIfCredential(arg), hint))
      continue
    }
    const doubleDash = arg.startsWith("--")
    const body = arg.slice(doubleDash ? 2 : 1)
    const eq = body.indexOf("=")
    const name = eq < 0 ? body : body.slice(0, eq)
    const inline = eq < 0 ? undefined : body.slice(eq + 1)
    const flag = `${doubleDash ? "--" : "-"}${name}`
    const key = doubleDash ? byFlag.get(name) : undefined
    const negated = doubleDash && name.startsWith("no-") ? byFlag.get(name.slice(3)) : undefined

    if (key !== undefined) {
      const setting: Setting<unknown> = settings[key]
      if (setting.boolean === true) {
        values.set(key, inline ?? "true")
        if (inline === undefined) previousBareBoolean = flag
      } else if (inline !== undefined) {
        values.set(key, inline)
      } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
        values.set(key, argv[++i])
      } else {
        problems.push(argvProblem(flag, "", `missing value (${flag} <${setting.metavar}> or ${flag}=<${setting.metavar}>)`))
      }
    } else if (negated !== undefined && settings[negated].boolean === true) {
      if (inline !== undefined) {
        problems.push(argvProblem(flag, "", `takes no value (use ${settings[negated].flag}=<bool>)`))
      } else {
        values.set(negated, "false")
      }
    } else {
      const suggestion = negated !== undefined ? undefined : suggestFlag(name)
      problems.push(argvProblem(
        flag,
        "",
        negated !== undefined
          ? `unknown flag (${settings[negated].flag} is not a boolean flag)`
          : suggestion === undefined
          ? "unknown flag"
          : `unknown flag (did you mean ${suggestion}?)`
      ))
      // `--unknown value`: the value belongs to the unknown flag, not a stray argument.
      if (inline === undefined && i + 1 < argv.length && !argv[i + 1].startsWith("-")) i++
    }
  }
  return values
}

// ---- Decoding ---------------------------------------------------------------------------------

const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

const settingProblem = (key: SettingKey, value: string, expected: string): ConfigProblem => {
  const setting: Setting<unknown> = settings[key]
  return {
    setting: setting.setting,
    env: setting.envReadElsewhere === true ? "" : setting.env,
    flag: setting.flag,
    value: setting.secret === true || looksLikeCredential(value) ? REDACTED : value,
    expected
  }
}

const codecOf = (key: SettingKey): Schema.Codec<unknown, string> => settings[key].codec as Schema.Codec<unknown, string>

/** The messages of a failed decode, by the first path segment (a setting key, or "" for the whole). */
const issuesOf = (error: Schema.SchemaError): ReadonlyArray<{ readonly key: string; readonly message: string }> =>
  formatIssue(error.issue).issues.map((issue) => ({
    key: issue.path !== undefined && issue.path.length > 0 ? String(issue.path[0]) : "",
    message: issue.message
  }))

const LeaseTimings = Schema.Struct({
  leaseDuration: Schema.Duration,
  renewDeadline: Schema.Duration,
  retryPeriod: Schema.Duration
})

/** client-go's `leaderelection.JitterFactor`: renewDeadline must exceed retryPeriod × 1.2. */
const JITTER_FACTOR = 1.2

/**
 * client-go's checks (`NewLeaderElector`): leaseDuration > renewDeadline > retryPeriod × 1.2. The
 * problem goes to the setting that was given explicitly; if both or neither were, to the larger one.
 */
const leaseTimingsRule = (given: (key: SettingKey) => boolean) =>
  LeaseTimings.check(Schema.makeFilter((t) => {
    const issues: Array<Schema.FilterIssue> = []
    const nanos = Duration.toNanosUnsafe
    if (nanos(t.leaseDuration) <= nanos(t.renewDeadline)) {
      issues.push(
        given("renewDeadline") && !given("leaseDuration")
          ? {
            path: ["renewDeadline"],
            issue: `a duration shorter than the lease duration (${formatGoDuration(t.leaseDuration)})`
          }
          : {
            path: ["leaseDuration"],
            issue: `a duration longer than the renew deadline (${formatGoDuration(t.renewDeadline)})`
          }
      )
    }
    const jittered = BigInt(Math.trunc(JITTER_FACTOR * Number(nanos(t.retryPeriod))))
    if (nanos(t.renewDeadline) <= jittered) {
      issues.push(
        given("retryPeriod") && !given("renewDeadline")
          ? {
            path: ["retryPeriod"],
            issue: `a duration whose 1.2 × stays below the renew deadline (${formatGoDuration(t.renewDeadline)})`
          }
          : {
            path: ["renewDeadline"],
            issue: `a duration longer than 1.2 × the retry period (${formatGoDuration(Duration.nanos(jittered))})`
          }
      )
    }
    return issues
  }))

const ApiRate = Schema.Struct({ apiQps: Schema.Number, apiBurst: Schema.UndefinedOr(Schema.Number) }).check(
  Schema.makeFilter((r) =>
    r.apiQps > 0 && r.apiBurst !== undefined && r.apiBurst < 1
      ? { path: ["apiBurst"], issue: `an integer of 1 or more when the API QPS is above 0 (it is ${r.apiQps})` }
      : undefined
  )
)

/**
 * Reads every setting from `argv` (flags only: the CLI strips the command first) and `env`.
 * Either the whole configuration, or every problem found.
 *
 * @example
 * const config = parseConfig(process.argv.slice(3), process.env)
 * if (Result.isFailure(config)) { console.error(config.failure.message); process.exit(2) }
 */
export const parseConfig = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Result.Result<ServiceConfig, ConfigError> => {
  const problems: Array<ConfigProblem> = []
  const fromArgv = readArgv(argv, problems)

  // The text of every setting given explicitly: the flag, else a non-empty variable.
  const given = new Map<SettingKey, string>()
  for (const key of settingKeys) {
    const setting: Setting<unknown> = settings[key]
    const flagValue = fromArgv.get(key)
    const envValue = setting.envReadElsewhere === true ? undefined : env[setting.env]
    if (flagValue !== undefined) given.set(key, flagValue)
    else if (envValue !== undefined && envValue !== "") given.set(key, envValue)
  }

  const decoded = new Map<SettingKey, unknown>()
  for (const [key, text] of given) {
    const result = Schema.decodeUnknownResult(codecOf(key))(text)
    if (Result.isSuccess(result)) decoded.set(key, result.success)
    else for (const issue of issuesOf(result.failure)) problems.push(settingProblem(key, text, issue.message))
  }
  const failed = (key: SettingKey): boolean => given.has(key) && !decoded.has(key)
  /** The explicit value if one was given, else `fallback`. */
  const value = <K extends SettingKey>(key: K, fallback: SettingValue<K>): SettingValue<K> =>
    decoded.has(key) ? decoded.get(key) as SettingValue<K> : fallback
  const setting = <K extends SettingKey>(key: K): SettingValue<K> =>
    value(key, settings[key].default as SettingValue<K>)

  const argoCompatible = setting("argoCompatible")
  const base = argoCompatible ? argoCompatibleSettings(defaultEngineSettings) : defaultEngineSettings

  // Checks across settings, on the values that decoded.
  const crossCheck = <A>(schema: Schema.Codec<A>, keys: ReadonlyArray<SettingKey>, input: A): void => {
    if (keys.some(failed)) return
    const result = Schema.decodeUnknownResult(schema)(input)
    if (Result.isSuccess(result)) return
    for (const issue of issuesOf(result.failure)) {
      const key = keys.find((k) => k === issue.key) ?? keys[0]
      const text = given.get(key) ?? Schema.encodeSync(codecOf(key))(setting(key))
      problems.push(settingProblem(key, text, issue.message))
    }
  }
  crossCheck(leaseTimingsRule((key) => given.has(key)), ["leaseDuration", "renewDeadline", "retryPeriod"], {
    leaseDuration: setting("leaseDuration"),
    renewDeadline: setting("renewDeadline"),
    retryPeriod: setting("retryPeriod")
  })
  const apiQps = value("apiQps", base.apiQps)
  const apiBurst = given.has("apiBurst") ? value("apiBurst", base.apiBurst) : undefined
  crossCheck(ApiRate, ["apiQps", "apiBurst"], { apiQps, apiBurst })

  if (problems.length > 0) {
    return Result.fail(new ConfigError({ problems, message: problems.map(formatProblem).join("\n") }))
  }

  const engine: EngineSettings = {
    ...base,
    workers: value("workers", base.workers),
    execTimeout: value("execTimeout", base.execTimeout),
    execRetries: value("execRetries", base.execRetries),
    signalConcurrency: value("signalConcurrency", base.signalConcurrency),
    perNodeExecCap: value("nodeExecCap", base.perNodeExecCap),
    execCap: value("execCap", base.execCap),
    maxDestructivePerMinute: value("maxDestructivePerMinute", base.maxDestructivePerMinute),
    dryRun: value("dryRun", base.dryRun),
    breakerThreshold: value("breakerThreshold", base.breakerThreshold),
    breakerCooldown: value("breakerCooldown", base.breakerCooldown),
    apiQps,
    // A QPS limit without a burst: twice the QPS, at least 1 (client-go's own defaults are 5 and 10).
    apiBurst: apiBurst ?? (apiQps > 0 ? Math.max(1, Math.ceil(2 * apiQps)) : base.apiBurst),
    deleteGracePeriodSeconds: value("deleteGracePeriod", base.deleteGracePeriodSeconds),
    policy: {
      ...base.policy,
      mainContainers: value("mainContainers", base.policy.mainContainers),
      defaultDeleteDelay: value("deleteDelay", base.policy.defaultDeleteDelay)
    }
  }
  return Result.succeed({
    engine,
    kubeconfig: setting("kubeconfig"),
    namespaces: setting("namespaces"),
    labelSelector: setting("labelSelector"),
    httpPort: setting("httpPort"),
    leaderElection: {
      enabled: setting("leaderElect"),
      leaseName: setting("leaseName"),
      leaseNamespace: setting("leaseNamespace"),
      leaseDuration: setting("leaseDuration"),
      renewDeadline: setting("renewDeadline"),
      retryPeriod: setting("retryPeriod"),
      identity: setting("identity")
    },
    logFormat: setting("logFormat"),
    logLevel: setting("logLevel"),
    events: setting("events"),
    shutdownGrace: setting("shutdownGrace"),
    resyncPeriod: setting("resyncPeriod"),
    argoCompatible
  })
}
