/**
 * Every setting of pod-cleanup in one table: where its value lands in the configuration (its
 * path), its environment variable and flag, the commands that read it, its default, its help text
 * and the codec that decodes its text. Parsing, `--help` and the README are all driven by these
 * rows, so a new setting is one row here plus its field in `ServiceConfig`; the types check that
 * the path exists and that the codec decodes the field's type. Engine defaults are read from
 * `defaultEngineSettings` by path, so they are never restated.
 */
import { Duration } from "effect"
import { LabelKeyCompleted, LabelKeyWorkflow } from "../domain/argo.ts"
import { defaultEngineSettings } from "../engine/EngineSettings.ts"
import {
  boolean,
  dnsSubdomain,
  goDuration,
  integer,
  labelSelector,
  nameList,
  nonNegativeNumber,
  oneOf,
  optionalDnsLabel,
  optionalInteger,
  optionalText,
  type TextCodec
} from "./codecs.ts"
import type { ConfigTree } from "./Config.ts"

// ---- Paths into the configuration -------------------------------------------------------------

type Leaf = Duration.Duration | ReadonlyArray<unknown> | string | number | boolean | undefined

/** Every path to a value in `T`, e.g. `"engine.policy.mainContainers"`. */
export type PathOf<T> = {
  [K in keyof T & string]: T[K] extends Leaf ? K : `${K}.${PathOf<T[K]>}`
}[keyof T & string]

/** The type of the value at `path` in `T`. */
export type ValueAt<T, P extends string> = P extends `${infer Head}.${infer Rest}`
  ? Head extends keyof T ? ValueAt<T[Head], Rest> : never
  : P extends keyof T ? T[P]
  : never

export type SettingPath = PathOf<ConfigTree>

/** The value at a dotted path of a plain object (`undefined` when a step is missing). */
export const getPath = (tree: unknown, path: string): unknown =>
  path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], tree)

/** Whether the dotted path ends at a property that exists (even with the value `undefined`). */
export const hasPath = (tree: unknown, path: string): boolean => {
  const keys = path.split(".")
  const parent = getPath(tree, keys.slice(0, -1).join("."))
  return keys.length === 1
    ? typeof tree === "object" && tree !== null && keys[0] in tree
    : typeof parent === "object" && parent !== null && keys[keys.length - 1] in parent
}

/** A copy of `tree` with `value` at the dotted path; the objects along the path are copied, nothing is mutated. */
export const setPath = (tree: Readonly<Record<string, unknown>>, path: string, value: unknown): Record<string, unknown> => {
  const [key, ...rest] = path.split(".")
  if (rest.length === 0) return { ...tree, [key]: value }
  const child = tree[key]
  return { ...tree, [key]: setPath(typeof child === "object" && child !== null ? child as Record<string, unknown> : {}, rest.join("."), value) }
}

// ---- Rows -------------------------------------------------------------------------------------

/** The commands that read settings: each reads the rows that name it (or every row that names none). */
export type Command = "run" | "once" | "demo"

export type SettingGroup = "Pass" | "Kubernetes" | "Cleanup" | "API client" | "Leader election" | "Service"

/** One setting: where it lands, where it is read from, how its text is decoded, how it is documented. */
export interface Setting<P extends SettingPath> {
  /** Where the decoded value lands in the configuration, e.g. `engine.execTimeout`. */
  readonly path: P
  /** The environment variable; none for a flag-only setting. */
  readonly env?: string | undefined
  readonly flag: string
  /** The placeholder shown after the flag in `--help`, e.g. `duration`. */
  readonly metavar: string
  readonly group: SettingGroup
  readonly description: string
  readonly codec: TextCodec<ValueAt<ConfigTree, P>>
  /** Used when neither the flag nor the variable is set (engine settings: the base engine's value wins). */
  readonly default: ValueAt<ConfigTree, P>
  /** The default as documented, when the encoded default alone says too little. */
  readonly defaultText?: string
  /** The commands that read it; every command when absent. The others keep its default. */
  readonly commands?: ReadonlyArray<Command>
  /** A bare `--flag` means true and `--no-flag` false. */
  readonly boolean?: boolean
  /** Never echoed in an error message. */
  readonly secret?: boolean
  /** The variable is documented here but read by another module, not by `parseConfig`. */
  readonly envReadElsewhere?: boolean
}

/** Any row of the table. */
export type AnySetting = { [P in SettingPath]: Setting<P> }[SettingPath]

export const readsSetting = (command: Command, setting: AnySetting): boolean =>
  setting.commands === undefined || setting.commands.includes(command)

const row = <P extends SettingPath>(setting: Setting<P>): Setting<P> => setting

type EnginePath = SettingPath & `engine.${string}`

/** An engine setting: its default is `defaultEngineSettings`' value at its path. */
const engineSetting = <P extends EnginePath>(
  setting: Omit<Setting<P>, "default" | "group"> & { readonly group?: SettingGroup }
): Setting<P> =>
  row<P>({
    ...setting,
    group: setting.group ?? "Cleanup",
    default: getPath({ engine: defaultEngineSettings }, setting.path) as ValueAt<ConfigTree, P>
  })

/** The long-running service's own settings: leader election, HTTP, shadow mode (`demo` runs the service). */
const SERVICE: ReadonlyArray<Command> = ["run", "demo"]
const ONCE: ReadonlyArray<Command> = ["once"]

const DEFAULT_LABEL_SELECTOR = `${LabelKeyWorkflow},${LabelKeyCompleted}!=true`

/** Every setting, in documentation order. */
export const settings: ReadonlyArray<AnySetting> = [
  row({
    path: "once.dryRun",
    env: "POD_CLEANUP_DRY_RUN",
    flag: "--dry-run",
    metavar: "bool",
    group: "Pass",
    description: "Print what would be done to each pod, and why; change nothing.",
    codec: boolean(),
    default: false,
    boolean: true,
    commands: ONCE
  }),
  row({
    path: "once.output",
    flag: "--output",
    metavar: "table|json",
    group: "Pass",
    description: "The report's format.",
    codec: oneOf(["table", "json"]),
    default: "table",
    commands: ONCE
  }),
  row({
    path: "once.timeout",
    flag: "--timeout",
    metavar: "duration",
    group: "Pass",
    description: "The whole pass's deadline; pods not settled by then are reported as waiting.",
    codec: goDuration("positive"),
    default: Duration.minutes(10),
    commands: ONCE
  }),
  row({
    path: "kubeconfig",
    env: "KUBECONFIG",
    flag: "--kubeconfig",
    metavar: "path",
    group: "Kubernetes",
    description:
      "Kubeconfig file to use. Without it: $KUBECONFIG, then the in-cluster service account (`once` also tries ~/.kube/config; `run` never does).",
    codec: optionalText(),
    default: undefined,
    defaultText: "unset",
    envReadElsewhere: true,
    commands: ["run", "once"]
  }),
  row({
    path: "namespaces",
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
  row({
    path: "labelSelector",
    env: "POD_CLEANUP_LABEL_SELECTOR",
    flag: "--label-selector",
    metavar: "selector",
    group: "Kubernetes",
    description: "Pods to watch, as a Kubernetes label selector (k=v, k!=v, k in (a,b), k notin (a,b), k, !k).",
    codec: labelSelector(),
    default: DEFAULT_LABEL_SELECTOR
  }),
  engineSetting({
    path: "engine.workers",
    env: "POD_CLEANUP_WORKERS",
    flag: "--workers",
    metavar: "n",
    description: "Worker fibers that signal containers (exec), and run every action when --api-workers is 0 (1..256).",
    codec: integer(1, 256)
  }),
  engineSetting({
    path: "engine.apiWorkers",
    env: "POD_CLEANUP_API_WORKERS",
    flag: "--api-workers",
    metavar: "n",
    description: "Worker fibers of their own for labels, deletes and finalizer removals, so they never wait behind an exec (0..256; 0 = they share --workers, as Argo).",
    codec: integer(0, 256)
  }),
  engineSetting({
    path: "engine.execTimeout",
    env: "POD_CLEANUP_EXEC_TIMEOUT",
    flag: "--exec-timeout",
    metavar: "duration",
    description: "Deadline of one exec that signals a container.",
    codec: goDuration("positive")
  }),
  engineSetting({
    path: "engine.execRetries",
    env: "POD_CLEANUP_EXEC_RETRIES",
    flag: "--exec-retries",
    metavar: "n",
    description: "Times a timed-out exec is tried again, never while its node's breaker is open (0..10).",
    codec: integer(0, 10)
  }),
  engineSetting({
    path: "engine.signalConcurrency",
    env: "POD_CLEANUP_SIGNAL_CONCURRENCY",
    flag: "--signal-concurrency",
    metavar: "n",
    description: "Containers of one pod signalled at once (Argo: 1).",
    codec: integer(1)
  }),
  engineSetting({
    path: "engine.perNodeExecCap",
    env: "POD_CLEANUP_NODE_EXEC_CAP",
    flag: "--node-exec-cap",
    metavar: "n",
    description: "Concurrent execs per node; 0 = no cap.",
    codec: integer(0)
  }),
  engineSetting({
    path: "engine.execCap",
    env: "POD_CLEANUP_EXEC_CAP",
    flag: "--exec-cap",
    metavar: "n",
    description:
      "Concurrent execs cluster-wide (API priority and fairness does not cover exec); more wait for a slot within the exec timeout; 0 = no cap.",
    codec: integer(0)
  }),
  engineSetting({
    path: "engine.breakerThreshold",
    env: "POD_CLEANUP_BREAKER_THRESHOLD",
    flag: "--breaker-threshold",
    metavar: "n",
    description: "Consecutive exec timeouts on a node that open its breaker; 0 = no breaker.",
    codec: integer(0)
  }),
  engineSetting({
    path: "engine.breakerCooldown",
    env: "POD_CLEANUP_BREAKER_COOLDOWN",
    flag: "--breaker-cooldown",
    metavar: "duration",
    description: "How long an open breaker keeps execs off its node.",
    codec: goDuration("positive")
  }),
  engineSetting({
    path: "engine.policy.mainContainers",
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
  engineSetting({
    path: "engine.policy.defaultDeleteDelay",
    env: "POD_CLEANUP_DELETE_DELAY",
    flag: "--delete-delay",
    metavar: "duration",
    description: "Delay before a pod is deleted when its workflow sets no spec.podGC.deleteDelayDuration.",
    codec: goDuration("nonNegative")
  }),
  engineSetting({
    path: "engine.deleteGracePeriodSeconds",
    env: "POD_CLEANUP_DELETE_GRACE_PERIOD",
    flag: "--delete-grace-period",
    metavar: "seconds",
    description: "gracePeriodSeconds of pod deletes; unset = the pod's own.",
    codec: optionalInteger(0),
    defaultText: "unset (the pod's own)"
  }),
  engineSetting({
    path: "engine.maxDestructivePerMinute",
    env: "POD_CLEANUP_MAX_DESTRUCTIVE_PER_MINUTE",
    flag: "--max-destructive-per-minute",
    metavar: "n",
    description:
      "Pod deletes and finalizer removals per minute; past it they wait for the next minute (labelling goes on) and an error is logged once a minute; 0 = no cap.",
    codec: integer(0)
  }),
  engineSetting({
    path: "engine.dryRun",
    env: "POD_CLEANUP_DRY_RUN",
    flag: "--dry-run",
    metavar: "bool",
    description:
      "Shadow mode: watch and decide as usual, log and count (pod_cleanup_dry_run_actions_total) every action it would take, change nothing: no exec, patch or delete.",
    codec: boolean(),
    boolean: true,
    // `once` has a dry run of its own (`once.dryRun`, the same variable): the plan, printed.
    commands: SERVICE
  }),
  row({
    path: "resyncPeriod",
    env: "POD_CLEANUP_RESYNC_PERIOD",
    flag: "--resync-period",
    metavar: "duration",
    group: "Cleanup",
    description:
      "How often every known pod is decided again (jittered ±10 %), so actions given up on during a fault are retried once it is gone; 0 turns it off.",
    codec: goDuration("nonNegative"),
    default: Duration.minutes(5)
  }),
  engineSetting({
    path: "engine.apiQps",
    env: "POD_CLEANUP_API_QPS",
    flag: "--api-qps",
    metavar: "qps",
    group: "API client",
    description: "Client-side limit on Kubernetes API requests per second; 0 = no limit.",
    codec: nonNegativeNumber()
  }),
  engineSetting({
    path: "engine.apiBurst",
    env: "POD_CLEANUP_API_BURST",
    flag: "--api-burst",
    metavar: "n",
    group: "API client",
    description: "Requests allowed in a burst above the QPS limit; at least 1 when --api-qps > 0.",
    codec: integer(0),
    defaultText: "0 (2 × QPS, at least 1, when --api-qps > 0)"
  }),
  row({
    path: "leaderElection.enabled",
    env: "POD_CLEANUP_LEADER_ELECT",
    flag: "--leader-elect",
    metavar: "bool",
    group: "Leader election",
    description: "Elect a leader through a Lease, so only one replica cleans at a time.",
    codec: boolean(),
    default: true,
    boolean: true,
    commands: SERVICE
  }),
  row({
    path: "leaderElection.leaseName",
    env: "POD_CLEANUP_LEASE_NAME",
    flag: "--lease-name",
    metavar: "name",
    group: "Leader election",
    description: "Name of the Lease object.",
    codec: dnsSubdomain("a Lease name such as pod-cleanup (a lowercase RFC 1123 subdomain)"),
    default: "pod-cleanup",
    commands: SERVICE
  }),
  row({
    path: "leaderElection.leaseNamespace",
    env: "POD_CLEANUP_LEASE_NAMESPACE",
    flag: "--lease-namespace",
    metavar: "namespace",
    group: "Leader election",
    description: "Namespace of the Lease object.",
    codec: optionalDnsLabel("a namespace name such as argo"),
    default: undefined,
    defaultText: "unset (the service account's namespace)",
    commands: SERVICE
  }),
  row({
    path: "leaderElection.leaseDuration",
    env: "POD_CLEANUP_LEASE_DURATION",
    flag: "--lease-duration",
    metavar: "duration",
    group: "Leader election",
    description: "How long followers wait before taking over an unrenewed lease; must exceed --renew-deadline.",
    codec: goDuration("positive"),
    default: Duration.seconds(15),
    commands: SERVICE
  }),
  row({
    path: "leaderElection.renewDeadline",
    env: "POD_CLEANUP_RENEW_DEADLINE",
    flag: "--renew-deadline",
    metavar: "duration",
    group: "Leader election",
    description: "How long the leader keeps retrying to renew before it gives up; must exceed 1.2 × --retry-period.",
    codec: goDuration("positive"),
    default: Duration.seconds(10),
    commands: SERVICE
  }),
  row({
    path: "leaderElection.retryPeriod",
    env: "POD_CLEANUP_RETRY_PERIOD",
    flag: "--retry-period",
    metavar: "duration",
    group: "Leader election",
    description: "Interval between attempts to acquire or renew the lease.",
    codec: goDuration("positive"),
    default: Duration.seconds(2),
    commands: SERVICE
  }),
  row({
    path: "leaderElection.identity",
    env: "POD_NAME",
    flag: "--identity",
    metavar: "name",
    group: "Leader election",
    description: "This replica's identity in the Lease (set POD_NAME from the downward API).",
    codec: optionalText(),
    default: undefined,
    defaultText: "unset",
    commands: SERVICE
  }),
  row({
    path: "httpPort",
    env: "POD_CLEANUP_HTTP_PORT",
    flag: "--http-port",
    metavar: "port",
    group: "Service",
    description: "Port of the health and metrics HTTP server (0..65535).",
    codec: integer(0, 65535),
    default: 8080,
    commands: SERVICE
  }),
  row({
    path: "logFormat",
    env: "POD_CLEANUP_LOG_FORMAT",
    flag: "--log-format",
    metavar: "format",
    group: "Service",
    description: "json, pretty, or auto (pretty when stderr is a terminal, else json).",
    codec: oneOf(["json", "pretty", "auto"]),
    default: "auto"
  }),
  row({
    path: "logLevel",
    env: "POD_CLEANUP_LOG_LEVEL",
    flag: "--log-level",
    metavar: "level",
    group: "Service",
    description: "Minimum log level: debug, info, warn or error.",
    codec: oneOf(["debug", "info", "warn", "error"]),
    default: "info"
  }),
  row({
    path: "events",
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
  row({
    path: "shutdownGrace",
    env: "POD_CLEANUP_SHUTDOWN_GRACE",
    flag: "--shutdown-grace",
    metavar: "duration",
    group: "Service",
    description: "On shutdown, how long in-flight actions may finish before they are interrupted.",
    codec: goDuration("nonNegative"),
    default: Duration.seconds(20)
  }),
  row({
    path: "argoCompatible",
    env: "POD_CLEANUP_ARGO_COMPATIBLE",
    flag: "--argo-compatible",
    metavar: "bool",
    group: "Service",
    description:
      "Start from Argo's behaviour (one container at a time, 2m exec timeout, no exec retry, no per-node cap, no breaker, one pool of workers for every action); explicit settings still win.",
    codec: boolean(),
    default: false,
    boolean: true
  })
]

/** The row at `path`; the rules that name a setting (cross-checks, argoCompatible) look it up here. */
export const rowAt = (path: SettingPath): AnySetting => {
  const found = settings.find((s) => s.path === path)
  if (found === undefined) throw new Error(`pod-cleanup: no setting at ${path}`)
  return found
}

/** `rowAt`, typed by its path. */
export const settingAt = <P extends SettingPath>(path: P): Setting<P> => rowAt(path) as unknown as Setting<P>
