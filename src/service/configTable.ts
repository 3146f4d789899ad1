/**
 * Every setting of pod-cleanup in one table: its environment variable, flag, default, help text and
 * the Schema that decodes its text. `--help` and the README are rendered from here, and the engine
 * defaults shown are read from `defaultEngineSettings`, so the documentation cannot drift.
 * A codec never puts the input into its message: the caller decides what may be echoed.
 */
import { Duration, Effect, Equal, Result, Schema, SchemaGetter, SchemaIssue } from "effect"
import { LabelKeyCompleted, LabelKeyWorkflow } from "../domain/argo.ts"
import { formatGoDuration, parseGoDuration } from "../domain/duration.ts"
import { argoCompatible, defaultEngineSettings, type EngineSettings } from "../engine/EngineSettings.ts"

// ---- Codecs: text in, value out; a failure's message is the expected form --------------------

/** A Schema that decodes a setting's text (from a flag or an environment variable). */
export type TextCodec<A> = Schema.Codec<A, string>

const fromText = <A>(
  to: Schema.Codec<A>,
  parse: (text: string) => Result.Result<A, string>,
  print: (value: A) => string
): TextCodec<A> =>
  Schema.String.pipe(Schema.decodeTo(to, {
    decode: SchemaGetter.transformEffect((text: string) => {
      const parsed = parse(text)
      return Result.isSuccess(parsed)
        ? Effect.succeed(parsed.success)
        : Effect.fail(new SchemaIssue.InvalidValue({ message: parsed.failure }))
    }),
    encode: SchemaGetter.transform(print)
  }))

const DURATION_EXAMPLES = "30s, 1m30s or 500ms"
const DURATION = `a duration such as ${DURATION_EXAMPLES}`

/** Whole milliseconds become a millisecond Duration, so decoded values compare equal to `Duration.seconds(…)`. */
const normalizeDuration = (duration: Duration.Duration): Duration.Duration => {
  const nanos = Duration.toNanosUnsafe(duration)
  return nanos % 1_000_000n === 0n ? Duration.millis(Number(nanos / 1_000_000n)) : duration
}

/** A Go duration (`time.ParseDuration` syntax). A bare number is refused: "30" is not "30s". */
const goDuration = (minimum: "positive" | "nonNegative"): TextCodec<Duration.Duration> =>
  fromText(
    Schema.Duration,
    (text) => Result.mapError(Result.map(parseGoDuration(text.trim()), normalizeDuration), () => DURATION),
    formatGoDuration
  ).check(
    minimum === "positive"
      ? Schema.makeFilter((d: Duration.Duration) => Duration.isGreaterThan(d, Duration.zero), {
        message: `a duration greater than 0, such as ${DURATION_EXAMPLES}`
      })
      : Schema.makeFilter((d: Duration.Duration) => !Duration.isNegative(d), {
        message: `a duration of 0 or more, such as ${DURATION_EXAMPLES}`
      })
  )

const INTEGER = /^[+-]?[0-9]+$/

const parseInteger = (expected: string) => (text: string): Result.Result<number, string> => {
  const trimmed = text.trim()
  const n = Number(trimmed)
  return INTEGER.test(trimmed) && Number.isSafeInteger(n) ? Result.succeed(n) : Result.fail(expected)
}

const integerExpected = (minimum: number, maximum: number | undefined): string =>
  maximum === undefined ? `an integer of ${minimum} or more` : `an integer from ${minimum} to ${maximum}`

const integer = (minimum: number, maximum?: number): TextCodec<number> => {
  const expected = integerExpected(minimum, maximum)
  return fromText(Schema.Int, parseInteger(expected), String).check(
    maximum === undefined
      ? Schema.isGreaterThanOrEqualTo(minimum, { message: expected })
      : Schema.isBetween({ minimum, maximum }, { message: expected })
  )
}

/** An integer, or `undefined` for the empty string. */
const optionalInteger = (minimum: number): TextCodec<number | undefined> => {
  const expected = `${integerExpected(minimum, undefined)}, or empty for unset`
  const parse = parseInteger(expected)
  return fromText(
    Schema.UndefinedOr(Schema.Int),
    (text) => text.trim() === "" ? Result.succeed(undefined) : parse(text),
    (n) => n === undefined ? "" : String(n)
  ).check(Schema.makeFilter((n: number | undefined) => n === undefined || n >= minimum, { message: expected }))
}

const DECIMAL = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/

const nonNegativeNumber = (): TextCodec<number> => {
  const expected = "a number of 0 or more, such as 20 or 0.5"
  return fromText(Schema.Finite, (text) => {
    const trimmed = text.trim()
    return DECIMAL.test(trimmed) ? Result.succeed(Number(trimmed)) : Result.fail(expected)
  }, String).check(Schema.isGreaterThanOrEqualTo(0, { message: expected }))
}

const TRUE = ["true", "1", "yes"]
const FALSE = ["false", "0", "no"]

/** `true`/`false`, `1`/`0`, `yes`/`no`, in any case. */
const boolean = (): TextCodec<boolean> =>
  fromText(Schema.Boolean, (text) => {
    const lower = text.trim().toLowerCase()
    if (TRUE.includes(lower)) return Result.succeed(true)
    if (FALSE.includes(lower)) return Result.succeed(false)
    return Result.fail("true or false (also 1/0, yes/no)")
  }, String)

const oneOf = <const L extends string>(values: readonly [L, ...Array<L>]): TextCodec<L> => {
  const expected = `one of ${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}`
  return fromText(Schema.Literals(values), (text) => {
    const lower = text.trim().toLowerCase()
    const found = values.find((v) => v === lower)
    return found === undefined ? Result.fail(expected) : Result.succeed(found)
  }, (value) => value)
}

/** Any text; the empty string (after trimming) is `undefined`. */
const optionalText = (): TextCodec<string | undefined> =>
  fromText(Schema.UndefinedOr(Schema.String), (text) => {
    const trimmed = text.trim()
    return Result.succeed(trimmed === "" ? undefined : trimmed)
  }, (value) => value ?? "")

// ---- Kubernetes names and label selectors ---------------------------------------------------

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

const isDns1123Label = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s)
const isDns1123Subdomain = (s: string): boolean => s.length <= 253 && DNS1123_SUBDOMAIN.test(s)

/** `validation.IsQualifiedName`: `[prefix/]name`, the prefix a DNS-1123 subdomain, the name at most 63 characters. */
const isLabelKey = (key: string): boolean => {
  const parts = key.split("/")
  if (parts.length > 2) return false
  const name = parts[parts.length - 1]
  if (parts.length === 2 && !isDns1123Subdomain(parts[0])) return false
  return name.length <= 63 && QUALIFIED_NAME.test(name)
}

const isLabelValue = (value: string): boolean => value.length <= 63 && LABEL_VALUE.test(value)

type SelectorToken =
  | { readonly kind: "word"; readonly text: string }
  | { readonly kind: "op"; readonly text: "=" | "==" | "!=" | "!" }
  | { readonly kind: "punct"; readonly text: "(" | ")" | "," }
  | { readonly kind: "unsupported"; readonly text: string }

const tokenizeSelector = (input: string): Array<SelectorToken> => {
  const tokens: Array<SelectorToken> = []
  let i = 0
  while (i < input.length) {
    const c = input[i]
    if (/\s/.test(c)) {
      i++
    } else if (c === "(" || c === ")" || c === ",") {
      tokens.push({ kind: "punct", text: c })
      i++
    } else if (c === "=" || c === "!") {
      if (input[i + 1] === "=") {
        tokens.push({ kind: "op", text: c === "=" ? "==" : "!=" })
        i += 2
      } else {
        tokens.push({ kind: "op", text: c })
        i++
      }
    } else if (c === "<" || c === ">") {
      tokens.push({ kind: "unsupported", text: c })
      i++
    } else {
      let j = i
      while (j < input.length && !/[\s=!(),<>]/.test(input[j])) j++
      tokens.push({ kind: "word", text: input.slice(i, j) })
      i = j
    }
  }
  return tokens
}

const shown = (token: SelectorToken | undefined): string =>
  token === undefined ? "the end" : JSON.stringify(token.text)

const isPunct = (token: SelectorToken | undefined, text: "(" | ")" | ","): boolean =>
  token !== undefined && token.kind === "punct" && token.text === text

const keyProblem = (key: string): string | undefined =>
  isLabelKey(key) ? undefined : `${JSON.stringify(key)} is not a valid label key`

const valueProblem = (value: string): string | undefined =>
  isLabelValue(value) ? undefined : `${JSON.stringify(value)} is not a valid label value`

/**
 * Checks a label selector in the string form the API server takes (`labels.Parse`): comma-separated
 * `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, with valid keys and values.
 * The set-based `>`/`<` forms are refused. Returns the first problem, or `undefined`.
 */
export const labelSelectorProblem = (input: string): string | undefined => {
  const tokens = tokenizeSelector(input)
  if (tokens.length === 0) return undefined
  let i = 0
  for (;;) {
    const first = tokens[i++]
    if (first?.kind === "op" && first.text === "!") {
      const key = tokens[i++]
      if (key?.kind !== "word") return `missing label key after "!" (found ${shown(key)})`
      const problem = keyProblem(key.text)
      if (problem !== undefined) return problem
    } else if (first?.kind === "word" && first.text !== "in" && first.text !== "notin") {
      const key = first.text
      const problem = keyProblem(key)
      if (problem !== undefined) return problem
      const op = tokens[i]
      if (op === undefined || isPunct(op, ",")) {
        // `key`: exists.
      } else if (op.kind === "op" && op.text !== "!") {
        i++
        const value = tokens[i]
        if (value?.kind === "word") {
          i++
          const vp = valueProblem(value.text)
          if (vp !== undefined) return vp
        } else if (value !== undefined && !isPunct(value, ",")) {
          return `missing value after "${key}${op.text}" (found ${shown(value)})`
        } // else `key=`: the empty value, as labels.Parse allows.
      } else if (op.kind === "word" && (op.text === "in" || op.text === "notin")) {
        i++
        const open = tokens[i++]
        if (!isPunct(open, "(")) return `missing "(" after "${key} ${op.text}" (found ${shown(open)})`
        const values: Array<string> = []
        let wantValue = true
        for (;;) {
          const t = tokens[i++]
          if (t === undefined) return `missing ")" after "${key} ${op.text} (" (found the end)`
          if (isPunct(t, ")")) {
            if (wantValue && values.length > 0) values.push("") // `(a,)`: labels.Parse adds the empty value
            break
          }
          if (isPunct(t, ",")) {
            if (wantValue) values.push("") // `(,a)` / `(a,,b)`: the empty value
            wantValue = true
          } else if (t.kind === "word" && wantValue) {
            const vp = valueProblem(t.text)
            if (vp !== undefined) return vp
            values.push(t.text)
            wantValue = false
          } else {
            return `missing "," or ")" in the values of "${key} ${op.text}" (found ${shown(t)})`
          }
        }
        if (values.length === 0) return `"${key} ${op.text} ()" has no values`
      } else if (op.kind === "unsupported") {
        return `operator ${JSON.stringify(op.text)} is not supported`
      } else {
        return `missing operator after "${key}" (found ${shown(op)})`
      }
    } else {
      return `missing label key (found ${shown(first)})`
    }
    const separator = tokens[i++]
    if (separator === undefined) return undefined
    if (!isPunct(separator, ",")) return `missing "," before ${shown(separator)}`
  }
}

const SELECTOR = "a label selector such as app=web,tier in (a,b),!legacy"

const labelSelector = (): TextCodec<string> =>
  fromText(Schema.String, (text) => Result.succeed(text.trim()), (s) => s).check(
    Schema.makeFilter((selector: string) => {
      const problem = labelSelectorProblem(selector)
      return problem === undefined ? undefined : `${SELECTOR}: ${problem}`
    })
  )

/** Splits a comma-separated list, trims each entry and drops repeats; blank input is the empty list. */
const splitList = (text: string): ReadonlyArray<string> =>
  text.trim() === "" ? [] : [...new Set(text.split(",").map((s) => s.trim()))]

const nameList = (options: {
  readonly expected: string
  readonly nonEmpty: boolean
  readonly what: string
}): TextCodec<ReadonlyArray<string>> =>
  fromText(Schema.Array(Schema.String), (text) => Result.succeed(splitList(text)), (list) => list.join(",")).check(
    Schema.makeFilter((names: ReadonlyArray<string>) => {
      if (options.nonEmpty && names.length === 0) return `${options.expected}: the list is empty`
      if (names.includes("")) return `${options.expected}: the list has an empty entry`
      const bad = names.find((name) => !isDns1123Label(name))
      return bad === undefined ? undefined : `${options.expected}: ${JSON.stringify(bad)} is not ${options.what}`
    })
  )

const dnsSubdomain = (expected: string): TextCodec<string> =>
  fromText(Schema.String, (text) => Result.succeed(text.trim()), (s) => s).check(
    Schema.makeFilter((name: string) => isDns1123Subdomain(name), { message: expected })
  )

const optionalDnsLabel = (expected: string): TextCodec<string | undefined> =>
  fromText(Schema.UndefinedOr(Schema.String), (text) => {
    const trimmed = text.trim()
    return Result.succeed(trimmed === "" ? undefined : trimmed)
  }, (value) => value ?? "").check(
    Schema.makeFilter((name: string | undefined) => name === undefined || isDns1123Label(name), {
      message: `${expected}, or empty for unset`
    })
  )

// ---- The table --------------------------------------------------------------------------------

export type SettingGroup = "Kubernetes" | "Cleanup" | "API client" | "Leader election" | "Service"

/** One setting: where it is read from, how its text is decoded, and how it is documented. */
export interface Setting<A> {
  /** Where the value lands in `ServiceConfig`, e.g. `engine.execTimeout`. */
  readonly setting: string
  readonly env: string
  readonly flag: string
  /** The placeholder shown after the flag in `--help`, e.g. `duration`. */
  readonly metavar: string
  readonly group: SettingGroup
  readonly description: string
  readonly codec: TextCodec<A>
  /** Used when neither the flag nor the variable is set (engine settings: see `engine`). */
  readonly default: A
  /** The default as documented, when the encoded default alone says too little. */
  readonly defaultText?: string
  /** For engine settings: the field in `EngineSettings`; the fallback is then read from the base settings. */
  readonly engine?: (settings: EngineSettings) => A
  /** A bare `--flag` means true and `--no-flag` false. */
  readonly boolean?: boolean
  /** Never echoed in an error message. */
  readonly secret?: boolean
  /** The variable is documented here but read by another module, not by `parseConfig`. */
  readonly envReadElsewhere?: boolean
}

const define = <A>(setting: Setting<A>): Setting<A> => setting

const engineSetting = <A>(
  get: (settings: EngineSettings) => A,
  setting: Omit<Setting<A>, "default" | "engine" | "group">
): Setting<A> => define({ ...setting, group: "Cleanup", default: get(defaultEngineSettings), engine: get })

const DEFAULT_LABEL_SELECTOR = `${LabelKeyWorkflow},${LabelKeyCompleted}!=true`

/** Every setting, in documentation order. */
export const settings = {
  kubeconfig: define<string | undefined>({
    setting: "kubeconfig",
    env: "KUBECONFIG",
    flag: "--kubeconfig",
    metavar: "path",
    group: "Kubernetes",
    description:
      "Kubeconfig file to use. Without it: $KUBECONFIG, then the in-cluster service account (`once` also tries ~/.kube/config; `run` never does).",
    codec: optionalText(),
    default: undefined,
    defaultText: "unset",
    envReadElsewhere: true
  }),
  namespaces: define<ReadonlyArray<string>>({
    setting: "namespaces",
    env: "POD_CLEANUP_NAMESPACES",
    flag: "--namespaces",
    metavar: "list",
    group: "Kubernetes",
    description: "Namespaces to watch, comma-separated; empty watches all namespaces.",
    codec: nameList({
      expected: "a comma-separated list of namespaces such as argo,ci",
      nonEmpty: false,
      what: "a valid namespace name"
    }),
    default: [],
    defaultText: "\"\" (all namespaces)"
  }),
  labelSelector: define<string>({
    setting: "labelSelector",
    env: "POD_CLEANUP_LABEL_SELECTOR",
    flag: "--label-selector",
    metavar: "selector",
    group: "Kubernetes",
    description: "Pods to watch, as a Kubernetes label selector (k=v, k!=v, k in (a,b), k notin (a,b), k, !k).",
    codec: labelSelector(),
    default: DEFAULT_LABEL_SELECTOR
  }),
  workers: engineSetting((e) => e.workers, {
    setting: "engine.workers",
    env: "POD_CLEANUP_WORKERS",
    flag: "--workers",
    metavar: "n",
    description: "Worker fibers that run cleanup actions (1..256).",
    codec: integer(1, 256)
  }),
  execTimeout: engineSetting((e) => e.execTimeout, {
    setting: "engine.execTimeout",
    env: "POD_CLEANUP_EXEC_TIMEOUT",
    flag: "--exec-timeout",
    metavar: "duration",
    description: "Deadline of one exec that signals a container.",
    codec: goDuration("positive")
  }),
  execRetries: engineSetting((e) => e.execRetries, {
    setting: "engine.execRetries",
    env: "POD_CLEANUP_EXEC_RETRIES",
    flag: "--exec-retries",
    metavar: "n",
    description: "Times a timed-out exec is tried again, never while its node's breaker is open (0..10).",
    codec: integer(0, 10)
  }),
  signalConcurrency: engineSetting((e) => e.signalConcurrency, {
    setting: "engine.signalConcurrency",
    env: "POD_CLEANUP_SIGNAL_CONCURRENCY",
    flag: "--signal-concurrency",
    metavar: "n",
    description: "Containers of one pod signalled at once (Argo: 1).",
    codec: integer(1)
  }),
  nodeExecCap: engineSetting((e) => e.perNodeExecCap, {
    setting: "engine.perNodeExecCap",
    env: "POD_CLEANUP_NODE_EXEC_CAP",
    flag: "--node-exec-cap",
    metavar: "n",
    description: "Concurrent execs per node; 0 = no cap.",
    codec: integer(0)
  }),
  execCap: engineSetting((e) => e.execCap, {
    setting: "engine.execCap",
    env: "POD_CLEANUP_EXEC_CAP",
    flag: "--exec-cap",
    metavar: "n",
    description:
      "Concurrent execs cluster-wide (API priority and fairness does not cover exec); more wait for a slot within the exec timeout; 0 = no cap.",
    codec: integer(0)
  }),
  breakerThreshold: engineSetting((e) => e.breakerThreshold, {
    setting: "engine.breakerThreshold",
    env: "POD_CLEANUP_BREAKER_THRESHOLD",
    flag: "--breaker-threshold",
    metavar: "n",
    description: "Consecutive exec timeouts on a node that open its breaker; 0 = no breaker.",
    codec: integer(0)
  }),
  breakerCooldown: engineSetting((e) => e.breakerCooldown, {
    setting: "engine.breakerCooldown",
    env: "POD_CLEANUP_BREAKER_COOLDOWN",
    flag: "--breaker-cooldown",
    metavar: "duration",
    description: "How long an open breaker keeps execs off its node.",
    codec: goDuration("positive")
  }),
  mainContainers: engineSetting((e) => e.policy.mainContainers, {
    setting: "engine.policy.mainContainers",
    env: "POD_CLEANUP_MAIN_CONTAINERS",
    flag: "--main-containers",
    metavar: "list",
    description: "Names of the containers that run a step, comma-separated.",
    codec: nameList({
      expected: "a comma-separated list of container names such as main or main,sidecar",
      nonEmpty: true,
      what: "a valid container name"
    })
  }),
  deleteDelay: engineSetting((e) => e.policy.defaultDeleteDelay, {
    setting: "engine.policy.defaultDeleteDelay",
    env: "POD_CLEANUP_DELETE_DELAY",
    flag: "--delete-delay",
    metavar: "duration",
    description: "Delay before a pod is deleted when its workflow sets no spec.podGC.deleteDelayDuration.",
    codec: goDuration("nonNegative")
  }),
  deleteGracePeriod: engineSetting((e) => e.deleteGracePeriodSeconds, {
    setting: "engine.deleteGracePeriodSeconds",
    env: "POD_CLEANUP_DELETE_GRACE_PERIOD",
    flag: "--delete-grace-period",
    metavar: "seconds",
    description: "gracePeriodSeconds of pod deletes; unset = the pod's own.",
    codec: optionalInteger(0),
    defaultText: "unset (the pod's own)"
  }),
  maxDestructivePerMinute: engineSetting((e) => e.maxDestructivePerMinute, {
    setting: "engine.maxDestructivePerMinute",
    env: "POD_CLEANUP_MAX_DESTRUCTIVE_PER_MINUTE",
    flag: "--max-destructive-per-minute",
    metavar: "n",
    description:
      "Pod deletes and finalizer removals per minute; past it they wait for the next minute (labelling goes on) and an error is logged once a minute; 0 = no cap.",
    codec: integer(0)
  }),
  dryRun: engineSetting((e) => e.dryRun, {
    setting: "engine.dryRun",
    env: "POD_CLEANUP_DRY_RUN",
    flag: "--dry-run",
    metavar: "bool",
    description:
      "Shadow mode: watch and decide as usual, log and count (pod_cleanup_dry_run_actions_total) every action it would take, change nothing: no exec, patch or delete.",
    codec: boolean(),
    boolean: true
  }),
  resyncPeriod: define<Duration.Duration>({
    setting: "resyncPeriod",
    env: "POD_CLEANUP_RESYNC_PERIOD",
    flag: "--resync-period",
    metavar: "duration",
    group: "Cleanup",
    description:
      "How often every known pod is decided again (jittered ±10 %), so actions given up on during a fault are retried once it is gone; 0 turns it off.",
    codec: goDuration("nonNegative"),
    default: Duration.minutes(5)
  }),
  apiQps: define<number>({
    setting: "engine.apiQps",
    env: "POD_CLEANUP_API_QPS",
    flag: "--api-qps",
    metavar: "qps",
    group: "API client",
    description: "Client-side limit on Kubernetes API requests per second; 0 = no limit.",
    codec: nonNegativeNumber(),
    default: defaultEngineSettings.apiQps,
    engine: (e) => e.apiQps
  }),
  apiBurst: define<number>({
    setting: "engine.apiBurst",
    env: "POD_CLEANUP_API_BURST",
    flag: "--api-burst",
    metavar: "n",
    group: "API client",
    description: "Requests allowed in a burst above the QPS limit; at least 1 when --api-qps > 0.",
    codec: integer(0),
    default: defaultEngineSettings.apiBurst,
    defaultText: "0 (2 × QPS, at least 1, when --api-qps > 0)",
    engine: (e) => e.apiBurst
  }),
  leaderElect: define<boolean>({
    setting: "leaderElection.enabled",
    env: "POD_CLEANUP_LEADER_ELECT",
    flag: "--leader-elect",
    metavar: "bool",
    group: "Leader election",
    description: "Elect a leader through a Lease, so only one replica cleans at a time.",
    codec: boolean(),
    default: true,
    boolean: true
  }),
  leaseName: define<string>({
    setting: "leaderElection.leaseName",
    env: "POD_CLEANUP_LEASE_NAME",
    flag: "--lease-name",
    metavar: "name",
    group: "Leader election",
    description: "Name of the Lease object.",
    codec: dnsSubdomain("a Lease name such as pod-cleanup (a lowercase RFC 1123 subdomain)"),
    default: "pod-cleanup"
  }),
  leaseNamespace: define<string | undefined>({
    setting: "leaderElection.leaseNamespace",
    env: "POD_CLEANUP_LEASE_NAMESPACE",
    flag: "--lease-namespace",
    metavar: "namespace",
    group: "Leader election",
    description: "Namespace of the Lease object.",
    codec: optionalDnsLabel("a namespace name such as argo"),
    default: undefined,
    defaultText: "unset (the service account's namespace)"
  }),
  leaseDuration: define<Duration.Duration>({
    setting: "leaderElection.leaseDuration",
    env: "POD_CLEANUP_LEASE_DURATION",
    flag: "--lease-duration",
    metavar: "duration",
    group: "Leader election",
    description: "How long followers wait before taking over an unrenewed lease; must exceed --renew-deadline.",
    codec: goDuration("positive"),
    default: Duration.seconds(15)
  }),
  renewDeadline: define<Duration.Duration>({
    setting: "leaderElection.renewDeadline",
    env: "POD_CLEANUP_RENEW_DEADLINE",
    flag: "--renew-deadline",
    metavar: "duration",
    group: "Leader election",
    description: "How long the leader keeps retrying to renew before it gives up; must exceed 1.2 × --retry-period.",
    codec: goDuration("positive"),
    default: Duration.seconds(10)
  }),
  retryPeriod: define<Duration.Duration>({
    setting: "leaderElection.retryPeriod",
    env: "POD_CLEANUP_RETRY_PERIOD",
    flag: "--retry-period",
    metavar: "duration",
    group: "Leader election",
    description: "Interval between attempts to acquire or renew the lease.",
    codec: goDuration("positive"),
    default: Duration.seconds(2)
  }),
  identity: define<string | undefined>({
    setting: "leaderElection.identity",
    env: "POD_NAME",
    flag: "--identity",
    metavar: "name",
    group: "Leader election",
    description: "This replica's identity in the Lease (set POD_NAME from the downward API).",
    codec: optionalText(),
    default: undefined,
    defaultText: "unset"
  }),
  httpPort: define<number>({
    setting: "httpPort",
    env: "POD_CLEANUP_HTTP_PORT",
    flag: "--http-port",
    metavar: "port",
    group: "Service",
    description: "Port of the health and metrics HTTP server (0..65535).",
    codec: integer(0, 65535),
    default: 8080
  }),
  logFormat: define<"json" | "pretty" | "auto">({
    setting: "logFormat",
    env: "POD_CLEANUP_LOG_FORMAT",
    flag: "--log-format",
    metavar: "format",
    group: "Service",
    description: "json, pretty, or auto (pretty when stderr is a terminal, else json).",
    codec: oneOf(["json", "pretty", "auto"]),
    default: "auto"
  }),
  logLevel: define<"debug" | "info" | "warn" | "error">({
    setting: "logLevel",
    env: "POD_CLEANUP_LOG_LEVEL",
    flag: "--log-level",
    metavar: "level",
    group: "Service",
    description: "Minimum log level: debug, info, warn or error.",
    codec: oneOf(["debug", "info", "warn", "error"]),
    default: "info"
  }),
  events: define<boolean>({
    setting: "events",
    env: "POD_CLEANUP_EVENTS",
    flag: "--events",
    metavar: "bool",
    group: "Service",
    description:
      "Record Kubernetes Events (events.k8s.io/v1) on the pods acted on: signals, exec timeouts, breaker openings, deletes, skips and failures; aggregated and rate-limited as client-go does.",
    codec: boolean(),
    default: true,
    boolean: true
  }),
  shutdownGrace: define<Duration.Duration>({
    setting: "shutdownGrace",
    env: "POD_CLEANUP_SHUTDOWN_GRACE",
    flag: "--shutdown-grace",
    metavar: "duration",
    group: "Service",
    description: "On shutdown, how long in-flight actions may finish before they are interrupted.",
    codec: goDuration("nonNegative"),
    default: Duration.seconds(20)
  }),
  argoCompatible: define<boolean>({
    setting: "argoCompatible",
    env: "POD_CLEANUP_ARGO_COMPATIBLE",
    flag: "--argo-compatible",
    metavar: "bool",
    group: "Service",
    description:
      "Start from Argo's behaviour (one container at a time, 2m exec timeout, no exec retry, no per-node cap, no breaker); explicit settings still win.",
    codec: boolean(),
    default: false,
    boolean: true
  })
} as const

export type Settings = typeof settings
export type SettingKey = keyof Settings
export type SettingValue<K extends SettingKey> = Settings[K] extends Setting<infer A> ? A : never

export const settingKeys = Object.keys(settings) as ReadonlyArray<SettingKey>

// ---- Documentation ----------------------------------------------------------------------------

/** One row of the documented table (README and `--help`). */
export interface SettingsTableRow {
  readonly setting: string
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

const documentedDefault = <A>(s: Setting<A>): string => {
  const text = s.defaultText ?? Schema.encodeSync(s.codec)(s.default)
  if (s.engine === undefined) return text
  const argo = s.engine(argoCompatible(defaultEngineSettings))
  return Equal.equals(argo, s.default) ? text : `${text} (${Schema.encodeSync(s.codec)(argo)} with --argo-compatible)`
}

/** The single source for the README's settings table and `--help`. */
export const settingsTable: ReadonlyArray<SettingsTableRow> = settingKeys.map((key) => {
  const s: Setting<unknown> = settings[key]
  return {
    setting: s.setting,
    env: s.env,
    flag: s.flag,
    metavar: s.metavar,
    group: s.group,
    default: documentedDefault(s),
    description: s.description,
    boolean: s.boolean === true,
    secret: s.secret === true,
    envReadElsewhere: s.envReadElsewhere === true
  }
})

const flagUsage = (row: SettingsTableRow): string =>
  row.boolean ? `${row.flag}[=${row.metavar}], --no-${row.flag.slice(2)}` : `${row.flag} <${row.metavar}>`

const envUsage = (row: SettingsTableRow): string =>
  row.envReadElsewhere ? `${row.env} (read by the kubeconfig loader)` : row.env

/**
 * `--help` for a command that takes these settings; `command` is printed as given.
 *
 * @example
 * console.log(helpText("pod-cleanup run"))
 */
export const helpText = (command: string): string => {
  const lines: Array<string> = [
    `Usage: ${command} [flags]`,
    "",
    "Every setting comes from a flag or an environment variable: the flag wins over the variable,",
    "the variable over the default. Flags take --flag value or --flag=value; boolean flags may be",
    "bare (--flag, --no-flag). Durations use Go syntax: 30s, 1m30s, 500ms."
  ]
  let group: SettingGroup | undefined
  for (const row of settingsTable) {
    if (row.group !== group) {
      group = row.group
      lines.push("", `${group}:`)
    }
    lines.push(`  ${flagUsage(row)}`, `      ${row.description}`, `      env ${envUsage(row)}; default ${row.default}`)
  }
  return lines.join("\n")
}

const cell = (text: string): string => text.replaceAll("|", "\\|")

/** The settings as a Markdown table, for the README. */
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
