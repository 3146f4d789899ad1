import { Duration, Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  type ConfigProblem,
  type ConfigTree,
  formatProblem,
  looksLikeCredential,
  parseCommandConfig,
  parseConfig,
  type ServiceConfig,
  ServiceConfigError
} from "../../src/config/Config.ts"
import { settings } from "../../src/config/settings.ts"
import { argoCompatible, defaultEngineSettings } from "../../src/engine/EngineSettings.ts"
import { acceptedSelectors, DEFAULT_SELECTOR, refusedSelectors } from "../support/labelSelectors.ts"

type Env = Readonly<Record<string, string | undefined>>

const config = (argv: ReadonlyArray<string>, env: Env = {}): ServiceConfig => {
  const result = parseConfig(argv, env)
  if (Result.isFailure(result)) throw new Error(`unexpected ServiceConfigError:\n${result.failure.message}`)
  return result.success
}

const failure = (argv: ReadonlyArray<string>, env: Env = {}): ServiceConfigError => {
  const result = parseConfig(argv, env)
  if (Result.isSuccess(result)) throw new Error("expected a ServiceConfigError")
  return result.failure
}

const lines = (argv: ReadonlyArray<string>, env: Env = {}): ReadonlyArray<string> =>
  failure(argv, env).message.split("\n")


const defaults: ServiceConfig = {
  engine: defaultEngineSettings,
  kubeconfig: undefined,
  namespaces: [],
  labelSelector: DEFAULT_SELECTOR,
  httpPort: 8080,
  leaderElection: {
    enabled: true,
    leaseName: "pod-cleanup",
    leaseNamespace: undefined,
    leaseDuration: Duration.seconds(15),
    renewDeadline: Duration.seconds(10),
    retryPeriod: Duration.seconds(2),
    identity: undefined
  },
  logFormat: "auto",
  events: true,
  logLevel: "info",
  shutdownGrace: Duration.seconds(20),
  resyncPeriod: Duration.minutes(5),
  argoCompatible: false
}

describe("defaults", () => {
  it("an empty environment and no flags give the documented defaults", () => {
    expect(config([], {})).toStrictEqual(defaults)
  })

  it("the engine defaults are defaultEngineSettings themselves", () => {
    expect(config([]).engine).toStrictEqual(defaultEngineSettings)
  })

  it("empty variables count as unset", () => {
    expect(config([], { POD_CLEANUP_WORKERS: "", POD_CLEANUP_EXEC_TIMEOUT: "", POD_NAME: "" })).toStrictEqual(defaults)
  })

  it("unrelated variables are ignored, and KUBECONFIG is left to the kubeconfig loader", () => {
    expect(config([], { HOME: "/root", KUBECONFIG: "/etc/kube/config", POD_CLEANUP: "x" })).toStrictEqual(defaults)
  })
})

describe("environment variables", () => {
  it("set every setting", () => {
    const env: Env = {
      POD_CLEANUP_EXEC_TIMEOUT: "1m30s",
      POD_CLEANUP_WORKERS: "16",
      POD_CLEANUP_NAMESPACES: "argo,ci",
      POD_CLEANUP_LABEL_SELECTOR: "app=web",
      POD_CLEANUP_MAIN_CONTAINERS: "main,sidecar",
      POD_CLEANUP_DELETE_DELAY: "0",
      POD_CLEANUP_DELETE_GRACE_PERIOD: "10",
      POD_CLEANUP_EXEC_RETRIES: "3",
      POD_CLEANUP_SIGNAL_CONCURRENCY: "2",
      POD_CLEANUP_NODE_EXEC_CAP: "0",
      POD_CLEANUP_EXEC_CAP: "64",
      POD_CLEANUP_MAX_DESTRUCTIVE_PER_MINUTE: "500",
      POD_CLEANUP_DRY_RUN: "yes",
      POD_CLEANUP_BREAKER_THRESHOLD: "0",
      POD_CLEANUP_BREAKER_COOLDOWN: "2m",
      POD_CLEANUP_API_QPS: "20",
      POD_CLEANUP_API_BURST: "30",
      POD_CLEANUP_HTTP_PORT: "9090",
      POD_CLEANUP_LEADER_ELECT: "no",
      POD_CLEANUP_LEASE_NAME: "cleanup.argo",
      POD_CLEANUP_LEASE_NAMESPACE: "argo",
      POD_CLEANUP_LEASE_DURATION: "30s",
      POD_CLEANUP_RENEW_DEADLINE: "20s",
      POD_CLEANUP_RETRY_PERIOD: "500ms",
      POD_CLEANUP_LOG_FORMAT: "json",
      POD_CLEANUP_LOG_LEVEL: "debug",
      POD_CLEANUP_SHUTDOWN_GRACE: "45s",
      POD_CLEANUP_ARGO_COMPATIBLE: "false",
      POD_NAME: "pod-cleanup-7d9f-abcde"
    }
    expect(config([], env)).toStrictEqual({
      engine: {
        ...defaultEngineSettings,
        workers: 16,
        execTimeout: Duration.seconds(90),
        execRetries: 3,
        signalConcurrency: 2,
        perNodeExecCap: 0,
        execCap: 64,
        maxDestructivePerMinute: 500,
        dryRun: true,
        breakerThreshold: 0,
        breakerCooldown: Duration.minutes(2),
        apiQps: 20,
        apiBurst: 30,
        deleteGracePeriodSeconds: 10,
        policy: { ...defaultEngineSettings.policy, mainContainers: ["main", "sidecar"], defaultDeleteDelay: Duration.zero }
      },
      kubeconfig: undefined,
      namespaces: ["argo", "ci"],
      labelSelector: "app=web",
      httpPort: 9090,
      leaderElection: {
        enabled: false,
        leaseName: "cleanup.argo",
        leaseNamespace: "argo",
        leaseDuration: Duration.seconds(30),
        renewDeadline: Duration.seconds(20),
        retryPeriod: Duration.millis(500),
        identity: "pod-cleanup-7d9f-abcde"
      },
      logFormat: "json",
      events: true,
      logLevel: "debug",
      shutdownGrace: Duration.seconds(45),
      resyncPeriod: Duration.minutes(5),
      argoCompatible: false
    } satisfies ServiceConfig)
  })

  it("booleans accept true/false, 1/0 and yes/no in any case", () => {
    const enabled = (value: string) => config([], { POD_CLEANUP_LEADER_ELECT: value }).leaderElection.enabled
    expect(["true", "1", "yes", "TRUE", "Yes"].map(enabled)).toStrictEqual([true, true, true, true, true])
    expect(["false", "0", "no", "False", "NO"].map(enabled)).toStrictEqual([false, false, false, false, false])
  })

  it("values are trimmed", () => {
    const c = config([], { POD_CLEANUP_WORKERS: " 8 ", POD_CLEANUP_LOG_LEVEL: " WARN ", POD_CLEANUP_EXEC_TIMEOUT: "\t10s\n" })
    expect([c.engine.workers, c.logLevel, c.engine.execTimeout]).toStrictEqual([8, "warn", Duration.seconds(10)])
  })

  it("durations use Go syntax, including fractions and sub-millisecond units", () => {
    const timeout = (value: string) => Duration.toNanosUnsafe(config([`--exec-timeout=${value}`]).engine.execTimeout)
    expect(["30s", "1m30s", "500ms", "1.5s", "1h", "2h45m", "1500us", "1ns"].map(timeout)).toStrictEqual([
      30_000_000_000n,
      90_000_000_000n,
      500_000_000n,
      1_500_000_000n,
      3_600_000_000_000n,
      9_900_000_000_000n,
      1_500_000n,
      1n
    ])
  })
})

describe("flags", () => {
  it("win over environment variables", () => {
    const c = config(
      ["--workers", "12", "--exec-timeout", "5s", "--log-format", "pretty", "--no-leader-elect", "--identity", "me"],
      {
        POD_CLEANUP_WORKERS: "3",
        POD_CLEANUP_EXEC_TIMEOUT: "1m",
        POD_CLEANUP_LOG_FORMAT: "json",
        POD_CLEANUP_LEADER_ELECT: "true",
        POD_NAME: "from-env"
      }
    )
    expect([c.engine.workers, c.engine.execTimeout, c.logFormat, c.leaderElection.enabled, c.leaderElection.identity])
      .toStrictEqual([12, Duration.seconds(5), "pretty", false, "me"])
  })

  it("--flag=value and --flag value are the same", () => {
    const spaced = config(["--namespaces", "argo", "--label-selector", "app in (a,b)", "--http-port", "0"])
    const joined = config(["--namespaces=argo", "--label-selector=app in (a,b)", "--http-port=0"])
    expect(joined).toStrictEqual(spaced)
    expect([joined.namespaces, joined.labelSelector, joined.httpPort]).toStrictEqual([["argo"], "app in (a,b)", 0])
  })

  it("a value may contain '='", () => {
    expect(config(["--label-selector=app=web,tier!=db"]).labelSelector).toBe("app=web,tier!=db")
    expect(config(["--label-selector", "app=web"]).labelSelector).toBe("app=web")
  })

  it("boolean flags may be bare, negated, or take a value after '='", () => {
    expect(config(["--leader-elect"], { POD_CLEANUP_LEADER_ELECT: "false" }).leaderElection.enabled).toBe(true)
    expect(config(["--no-leader-elect"]).leaderElection.enabled).toBe(false)
    expect(config(["--leader-elect=no"]).leaderElection.enabled).toBe(false)
    expect(config(["--argo-compatible"]).argoCompatible).toBe(true)
    expect(config(["--no-argo-compatible"], { POD_CLEANUP_ARGO_COMPATIBLE: "yes" }).argoCompatible).toBe(false)
  })

  it("the last occurrence of a flag wins", () => {
    expect(config(["--workers=2", "--workers", "7"]).engine.workers).toBe(7)
    expect(config(["--leader-elect", "--no-leader-elect"]).leaderElection.enabled).toBe(false)
  })

  it("an explicit empty flag unsets an optional setting the environment set", () => {
    const c = config(["--delete-grace-period=", "--lease-namespace="], {
      POD_CLEANUP_DELETE_GRACE_PERIOD: "5",
      POD_CLEANUP_LEASE_NAMESPACE: "argo"
    })
    expect([c.engine.deleteGracePeriodSeconds, c.leaderElection.leaseNamespace]).toStrictEqual([undefined, undefined])
  })

  it("--kubeconfig is the only way to set kubeconfig here", () => {
    expect(config(["--kubeconfig", "/tmp/kc.yaml"], { KUBECONFIG: "/other" }).kubeconfig).toBe("/tmp/kc.yaml")
  })

  it("a value that begins with a single '-' is still a value", () => {
    expect(lines(["--workers", "-1"])).toStrictEqual([
      "POD_CLEANUP_WORKERS (--workers) = \"-1\": expected an integer from 1 to 256"
    ])
  })
})

describe("bad values", () => {
  it.each<[string, string, string]>([
    ["POD_CLEANUP_EXEC_TIMEOUT", "30", "POD_CLEANUP_EXEC_TIMEOUT (--exec-timeout) = \"30\": expected a duration such as 30s, 1m30s or 500ms"],
    ["POD_CLEANUP_EXEC_TIMEOUT", "30 s", "POD_CLEANUP_EXEC_TIMEOUT (--exec-timeout) = \"30 s\": expected a duration such as 30s, 1m30s or 500ms"],
    ["POD_CLEANUP_EXEC_TIMEOUT", "5d", "POD_CLEANUP_EXEC_TIMEOUT (--exec-timeout) = \"5d\": expected a duration such as 30s, 1m30s or 500ms"],
    ["POD_CLEANUP_EXEC_TIMEOUT", "0s", "POD_CLEANUP_EXEC_TIMEOUT (--exec-timeout) = \"0s\": expected a duration greater than 0, such as 30s, 1m30s or 500ms"],
    ["POD_CLEANUP_BREAKER_COOLDOWN", "-1m", "POD_CLEANUP_BREAKER_COOLDOWN (--breaker-cooldown) = \"-1m\": expected a duration greater than 0, such as 30s, 1m30s or 500ms"],
    ["POD_CLEANUP_DELETE_DELAY", "-5s", "POD_CLEANUP_DELETE_DELAY (--delete-delay) = \"-5s\": expected a duration of 0 or more, such as 30s, 1m30s or 500ms"],
    ["POD_CLEANUP_SHUTDOWN_GRACE", "soon", "POD_CLEANUP_SHUTDOWN_GRACE (--shutdown-grace) = \"soon\": expected a duration such as 30s, 1m30s or 500ms"],
    ["POD_CLEANUP_WORKERS", "0", "POD_CLEANUP_WORKERS (--workers) = \"0\": expected an integer from 1 to 256"],
    ["POD_CLEANUP_WORKERS", "257", "POD_CLEANUP_WORKERS (--workers) = \"257\": expected an integer from 1 to 256"],
    ["POD_CLEANUP_WORKERS", "4.5", "POD_CLEANUP_WORKERS (--workers) = \"4.5\": expected an integer from 1 to 256"],
    ["POD_CLEANUP_WORKERS", "four", "POD_CLEANUP_WORKERS (--workers) = \"four\": expected an integer from 1 to 256"],
    ["POD_CLEANUP_WORKERS", "0x10", "POD_CLEANUP_WORKERS (--workers) = \"0x10\": expected an integer from 1 to 256"],
    ["POD_CLEANUP_EXEC_RETRIES", "11", "POD_CLEANUP_EXEC_RETRIES (--exec-retries) = \"11\": expected an integer from 0 to 10"],
    ["POD_CLEANUP_SIGNAL_CONCURRENCY", "0", "POD_CLEANUP_SIGNAL_CONCURRENCY (--signal-concurrency) = \"0\": expected an integer of 1 or more"],
    ["POD_CLEANUP_NODE_EXEC_CAP", "-1", "POD_CLEANUP_NODE_EXEC_CAP (--node-exec-cap) = \"-1\": expected an integer of 0 or more"],
    ["POD_CLEANUP_BREAKER_THRESHOLD", "99999999999999999999", "POD_CLEANUP_BREAKER_THRESHOLD (--breaker-threshold) = \"99999999999999999999\": expected an integer of 0 or more"],
    ["POD_CLEANUP_DELETE_GRACE_PERIOD", "-1", "POD_CLEANUP_DELETE_GRACE_PERIOD (--delete-grace-period) = \"-1\": expected an integer of 0 or more, or empty for unset"],
    ["POD_CLEANUP_DELETE_GRACE_PERIOD", "30s", "POD_CLEANUP_DELETE_GRACE_PERIOD (--delete-grace-period) = \"30s\": expected an integer of 0 or more, or empty for unset"],
    ["POD_CLEANUP_API_QPS", "-1", "POD_CLEANUP_API_QPS (--api-qps) = \"-1\": expected a number of 0 or more, such as 20 or 0.5"],
    ["POD_CLEANUP_API_QPS", "fast", "POD_CLEANUP_API_QPS (--api-qps) = \"fast\": expected a number of 0 or more, such as 20 or 0.5"],
    ["POD_CLEANUP_API_BURST", "1.5", "POD_CLEANUP_API_BURST (--api-burst) = \"1.5\": expected an integer of 0 or more"],
    ["POD_CLEANUP_HTTP_PORT", "65536", "POD_CLEANUP_HTTP_PORT (--http-port) = \"65536\": expected an integer from 0 to 65535"],
    ["POD_CLEANUP_LEADER_ELECT", "maybe", "POD_CLEANUP_LEADER_ELECT (--leader-elect) = \"maybe\": expected true or false (also 1/0, yes/no)"],
    ["POD_CLEANUP_ARGO_COMPATIBLE", "on", "POD_CLEANUP_ARGO_COMPATIBLE (--argo-compatible) = \"on\": expected true or false (also 1/0, yes/no)"],
    ["POD_CLEANUP_LOG_FORMAT", "text", "POD_CLEANUP_LOG_FORMAT (--log-format) = \"text\": expected one of json, pretty or auto"],
    ["POD_CLEANUP_LOG_LEVEL", "warning", "POD_CLEANUP_LOG_LEVEL (--log-level) = \"warning\": expected one of debug, info, warn or error"],
    ["POD_CLEANUP_LEASE_NAME", "Pod_Cleanup", "POD_CLEANUP_LEASE_NAME (--lease-name) = \"Pod_Cleanup\": expected a Lease name such as pod-cleanup (a lowercase RFC 1123 subdomain)"],
    ["POD_CLEANUP_LEASE_NAMESPACE", "argo.system", "POD_CLEANUP_LEASE_NAMESPACE (--lease-namespace) = \"argo.system\": expected a namespace name such as argo, or empty for unset"],
    ["POD_CLEANUP_NAMESPACES", "argo,Prod", "POD_CLEANUP_NAMESPACES (--namespaces) = \"argo,Prod\": expected a comma-separated list of namespaces such as argo,ci: \"Prod\" is not a valid namespace name"],
    ["POD_CLEANUP_NAMESPACES", "argo,,ci", "POD_CLEANUP_NAMESPACES (--namespaces) = \"argo,,ci\": expected a comma-separated list of namespaces such as argo,ci: the list has an empty entry"],
    ["POD_CLEANUP_MAIN_CONTAINERS", ",", "POD_CLEANUP_MAIN_CONTAINERS (--main-containers) = \",\": expected a comma-separated list of container names such as main or main,sidecar: the list has an empty entry"],
    ["POD_CLEANUP_MAIN_CONTAINERS", "main,Side_car", "POD_CLEANUP_MAIN_CONTAINERS (--main-containers) = \"main,Side_car\": expected a comma-separated list of container names such as main or main,sidecar: \"Side_car\" is not a valid container name"],
    ["POD_CLEANUP_LABEL_SELECTOR", "app=!x", "POD_CLEANUP_LABEL_SELECTOR (--label-selector) = \"app=!x\": expected a label selector such as app=web,tier in (a,b),!legacy: missing value after \"app=\" (found \"!\")"]
  ])("%s=%j", (env, value, message) => {
    const error = failure([], { [env]: value })
    expect(error.message).toBe(message)
    expect(error.problems.map(formatProblem)).toStrictEqual([message])
  })

  it("an explicit empty flag is a bad value for a required setting", () => {
    expect(lines(["--workers=", "--main-containers="])).toStrictEqual([
      "POD_CLEANUP_WORKERS (--workers) = \"\": expected an integer from 1 to 256",
      "POD_CLEANUP_MAIN_CONTAINERS (--main-containers) = \"\": expected a comma-separated list of container names such as main or main,sidecar: the list is empty"
    ])
  })

  it("reports every problem at once, command line first, then settings in table order", () => {
    const error = failure(
      ["--exec-timeout", "30", "--workrs=4", "--log-level=loud", "extra"],
      {
        POD_CLEANUP_NAMESPACES: "Argo",
        POD_CLEANUP_HTTP_PORT: "http",
        POD_CLEANUP_EXEC_TIMEOUT: "1m",
        POD_CLEANUP_LEADER_ELECT: "sometimes"
      }
    )
    expect(error).toBeInstanceOf(ServiceConfigError)
    expect(error._tag).toBe("ServiceConfigError")
    expect(error.problems).toStrictEqual<ReadonlyArray<ConfigProblem>>([
      { setting: "argv", env: "", flag: "--workrs", value: "", expected: "unknown flag (did you mean --workers?)" },
      { setting: "argv", env: "", flag: "", value: "extra", expected: "only flags are accepted" },
      {
        setting: "namespaces",
        env: "POD_CLEANUP_NAMESPACES",
        flag: "--namespaces",
        value: "Argo",
        expected: "a comma-separated list of namespaces such as argo,ci: \"Argo\" is not a valid namespace name"
      },
      {
        setting: "engine.execTimeout",
        env: "POD_CLEANUP_EXEC_TIMEOUT",
        flag: "--exec-timeout",
        value: "30",
        expected: "a duration such as 30s, 1m30s or 500ms"
      },
      {
        setting: "leaderElection.enabled",
        env: "POD_CLEANUP_LEADER_ELECT",
        flag: "--leader-elect",
        value: "sometimes",
        expected: "true or false (also 1/0, yes/no)"
      },
      {
        setting: "httpPort",
        env: "POD_CLEANUP_HTTP_PORT",
        flag: "--http-port",
        value: "http",
        expected: "an integer from 0 to 65535"
      },
      {
        setting: "logLevel",
        env: "POD_CLEANUP_LOG_LEVEL",
        flag: "--log-level",
        value: "loud",
        expected: "one of debug, info, warn or error"
      }
    ])
    expect(error.message).toBe([
      "--workrs: unknown flag (did you mean --workers?)",
      "unexpected argument \"extra\": only flags are accepted",
      "POD_CLEANUP_NAMESPACES (--namespaces) = \"Argo\": expected a comma-separated list of namespaces such as argo,ci: \"Argo\" is not a valid namespace name",
      "POD_CLEANUP_EXEC_TIMEOUT (--exec-timeout) = \"30\": expected a duration such as 30s, 1m30s or 500ms",
      "POD_CLEANUP_LEADER_ELECT (--leader-elect) = \"sometimes\": expected true or false (also 1/0, yes/no)",
      "POD_CLEANUP_HTTP_PORT (--http-port) = \"http\": expected an integer from 0 to 65535",
      "POD_CLEANUP_LOG_LEVEL (--log-level) = \"loud\": expected one of debug, info, warn or error"
    ].join("\n"))
  })

  it("cross-setting checks still run while other settings are bad", () => {
    expect(lines([], { POD_CLEANUP_WORKERS: "0", POD_CLEANUP_LEASE_DURATION: "10s" })).toStrictEqual([
      "POD_CLEANUP_WORKERS (--workers) = \"0\": expected an integer from 1 to 256",
      "POD_CLEANUP_LEASE_DURATION (--lease-duration) = \"10s\": expected a duration longer than the renew deadline (10s)"
    ])
  })

  it("never echoes a value that looks like a credential", () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"
    const error = failure(["--exec-timeout", jwt, "Bearer abc.def"], { POD_CLEANUP_LEASE_NAME: "https://user:hunter2@example.com" })
    expect(error.message).toBe([
      "unexpected argument <redacted>: only flags are accepted",
      "POD_CLEANUP_EXEC_TIMEOUT (--exec-timeout) = <redacted>: expected a duration such as 30s, 1m30s or 500ms",
      "POD_CLEANUP_LEASE_NAME (--lease-name) = <redacted>: expected a Lease name such as pod-cleanup (a lowercase RFC 1123 subdomain)"
    ].join("\n"))
    expect(error.problems.map((p) => p.value)).toStrictEqual(["<redacted>", "<redacted>", "<redacted>"])
    expect(error.message.includes("hunter2") || error.message.includes("eyJ")).toBe(false)
  })

  it("recognises credential-looking values and leaves ordinary ones alone", () => {
    expect([
      "Bearer abc",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
      "-----BEGIN RSA PRIVATE KEY-----",
      "https://u:p@host",
      "token=abc",
      "ghp_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0UvWx"
    ].map(looksLikeCredential)).toStrictEqual([true, true, true, true, true, true])
    expect([
      "30",
      "argo,ci-2024,some-very-long-namespace-name-1234567890",
      DEFAULT_SELECTOR,
      "/home/me/.kube/config",
      "pod-cleanup-7d9f8b6c5d-x2x4q"
    ].map(looksLikeCredential)).toStrictEqual([false, false, false, false, false])
  })

  it("redacts settings marked secret in the table (none are today)", () => {
    expect(settings.filter((row) => row.secret === true).map((row) => row.flag)).toStrictEqual([])
    expect(formatProblem({ setting: "x", env: "X", flag: "--x", value: "<redacted>", expected: "y" })).toBe(
      "X (--x) = <redacted>: expected y"
    )
  })
})

describe("leader election timings (client-go: leaseDuration > renewDeadline > retryPeriod × 1.2)", () => {
  it("accepts the defaults and a consistent custom set", () => {
    const le = config(["--lease-duration=60s", "--renew-deadline=40s", "--retry-period=5s"]).leaderElection
    expect([le.leaseDuration, le.renewDeadline, le.retryPeriod]).toStrictEqual([
      Duration.seconds(60),
      Duration.seconds(40),
      Duration.seconds(5)
    ])
  })

  it("blames the lease duration when it alone was given", () => {
    expect(lines(["--lease-duration=10s"])).toStrictEqual([
      "POD_CLEANUP_LEASE_DURATION (--lease-duration) = \"10s\": expected a duration longer than the renew deadline (10s)"
    ])
  })

  it("blames the renew deadline when it alone was given", () => {
    expect(lines([], { POD_CLEANUP_RENEW_DEADLINE: "20s" })).toStrictEqual([
      "POD_CLEANUP_RENEW_DEADLINE (--renew-deadline) = \"20s\": expected a duration shorter than the lease duration (15s)"
    ])
  })

  it("blames the retry period when it alone was given; 1.2 × retry equal to the deadline fails", () => {
    expect(lines(["--retry-period", "8333333334ns"])).toStrictEqual([
      "POD_CLEANUP_RETRY_PERIOD (--retry-period) = \"8333333334ns\": expected a duration whose 1.2 × stays below the renew deadline (10s)"
    ])
    expect(lines(["--renew-deadline=12s", "--retry-period=10s"])).toStrictEqual([
      "POD_CLEANUP_RENEW_DEADLINE (--renew-deadline) = \"12s\": expected a duration longer than 1.2 × the retry period (12s)"
    ])
    expect(config(["--retry-period=8s"]).leaderElection.retryPeriod).toStrictEqual(Duration.seconds(8))
  })

  it("reports both rules at once, on the larger setting when both sides were given", () => {
    expect(lines(["--lease-duration=5s", "--renew-deadline=5s", "--retry-period=5s"])).toStrictEqual([
      "POD_CLEANUP_LEASE_DURATION (--lease-duration) = \"5s\": expected a duration longer than the renew deadline (5s)",
      "POD_CLEANUP_RENEW_DEADLINE (--renew-deadline) = \"5s\": expected a duration longer than 1.2 × the retry period (6s)"
    ])
  })

  it("is checked even with leader election off", () => {
    expect(lines(["--no-leader-elect", "--renew-deadline=1m"])).toStrictEqual([
      "POD_CLEANUP_RENEW_DEADLINE (--renew-deadline) = \"1m\": expected a duration shorter than the lease duration (15s)"
    ])
  })

  it("is skipped when one of the three is itself bad (that problem is reported instead)", () => {
    expect(lines(["--lease-duration=5", "--renew-deadline=20s"])).toStrictEqual([
      "POD_CLEANUP_LEASE_DURATION (--lease-duration) = \"5\": expected a duration such as 30s, 1m30s or 500ms"
    ])
  })
})

describe("API rate limit", () => {
  it("has no client-side limit by default", () => {
    expect([config([]).engine.apiQps, config([]).engine.apiBurst]).toStrictEqual([0, 0])
  })

  it("defaults the burst to twice the QPS, at least 1", () => {
    expect([config(["--api-qps=5"]).engine.apiBurst, config(["--api-qps=0.2"]).engine.apiBurst]).toStrictEqual([10, 1])
  })

  it("keeps an explicit burst", () => {
    const engine = config([], { POD_CLEANUP_API_QPS: "50", POD_CLEANUP_API_BURST: "60" }).engine
    expect([engine.apiQps, engine.apiBurst]).toStrictEqual([50, 60])
  })

  it("refuses a zero burst with a QPS limit", () => {
    expect(lines(["--api-qps=5", "--api-burst=0"])).toStrictEqual([
      "POD_CLEANUP_API_BURST (--api-burst) = \"0\": expected an integer of 1 or more when the API QPS is above 0 (it is 5)"
    ])
  })
})

describe("argoCompatible", () => {
  it("starts the engine from argoCompatible(), and explicit settings still win", () => {
    const c = config(["--argo-compatible", "--exec-timeout=45s"], { POD_CLEANUP_WORKERS: "8" })
    expect(c.argoCompatible).toBe(true)
    expect(c.engine).toStrictEqual({ ...argoCompatible(defaultEngineSettings), execTimeout: Duration.seconds(45), workers: 8 })
  })

  it("from the environment, with a breaker override", () => {
    const engine = config(["--breaker-threshold", "5"], { POD_CLEANUP_ARGO_COMPATIBLE: "1" }).engine
    expect([engine.execTimeout, engine.execRetries, engine.signalConcurrency, engine.perNodeExecCap, engine.breakerThreshold])
      .toStrictEqual([Duration.minutes(2), 0, 1, 0, 5])
  })

  it("is off by default, so the engine keeps its own defaults", () => {
    expect(config([], { POD_CLEANUP_EXEC_RETRIES: "2" }).engine).toStrictEqual({ ...defaultEngineSettings, execRetries: 2 })
  })
})

describe("namespaces", () => {
  it.each<[string, ReadonlyArray<string>]>([
    ["", []],
    ["  ", []],
    ["argo", ["argo"]],
    ["argo,ci", ["argo", "ci"]],
    [" argo , ci ", ["argo", "ci"]],
    ["argo,ci,argo", ["argo", "ci"]],
    ["a-1,0", ["a-1", "0"]]
  ])("--namespaces=%j", (value, expected) => {
    expect(config([`--namespaces=${value}`], { POD_CLEANUP_NAMESPACES: "other" }).namespaces).toStrictEqual(expected)
  })

  it.each<[string, string]>([
    ["argo,", "the list has an empty entry"],
    ["-argo", "\"-argo\" is not a valid namespace name"],
    ["argo-", "\"argo-\" is not a valid namespace name"],
    ["kube_system", "\"kube_system\" is not a valid namespace name"],
    ["a.b", "\"a.b\" is not a valid namespace name"],
    ["x".repeat(64), `"${"x".repeat(64)}" is not a valid namespace name`]
  ])("refuses %j", (value, detail) => {
    expect(failure(["--namespaces", value]).problems.map((p) => p.expected)).toStrictEqual([
      `a comma-separated list of namespaces such as argo,ci: ${detail}`
    ])
  })
})

// The grammar itself is tested in test/domain/labelSelector.test.ts; here, that the setting uses it.
describe("label selector", () => {
  it.each(acceptedSelectors)("accepts %j", (selector) => {
    expect(config(["--label-selector", selector]).labelSelector).toBe(selector.trim())
  })

  it.each(refusedSelectors)("refuses %j, naming the problem the domain's grammar finds", (selector, problem) => {
    expect(lines([], { POD_CLEANUP_LABEL_SELECTOR: selector })).toStrictEqual([
      `POD_CLEANUP_LABEL_SELECTOR (--label-selector) = ${JSON.stringify(selector)}: expected a label selector such as app=web,tier in (a,b),!legacy: ${problem}`
    ])
  })
})

describe("commands", () => {
  const tree = (command: "run" | "once" | "demo", argv: ReadonlyArray<string>, env: Env = {}): ConfigTree => {
    const result = parseCommandConfig(command, argv, env)
    if (Result.isFailure(result)) throw new Error(`unexpected ServiceConfigError:\n${result.failure.message}`)
    return result.success
  }
  const onceLines = (argv: ReadonlyArray<string>, env: Env = {}): ReadonlyArray<string> => {
    const result = parseCommandConfig("once", argv, env)
    if (Result.isSuccess(result)) throw new Error("expected a ServiceConfigError")
    return result.failure.message.split("\n")
  }

  it("once's pass options are rows: --dry-run, --output, --timeout, with their defaults", () => {
    expect(tree("once", []).once).toStrictEqual({ dryRun: false, output: "table", timeout: Duration.minutes(10) })
    expect(tree("once", ["--dry-run", "--output", "json", "--timeout=90s"]).once).toStrictEqual({
      dryRun: true,
      output: "json",
      timeout: Duration.seconds(90)
    })
    expect(tree("once", ["--output=table", "--timeout", "10m"]).once).toStrictEqual({
      dryRun: false,
      output: "table",
      timeout: Duration.minutes(10)
    })
  })

  it("POD_CLEANUP_DRY_RUN is once's dry run, and the service's shadow mode for run", () => {
    expect(tree("once", [], { POD_CLEANUP_DRY_RUN: "true" }).once.dryRun).toBe(true)
    expect(tree("once", [], { POD_CLEANUP_DRY_RUN: "true" }).engine.dryRun).toBe(false)
    expect(tree("run", [], { POD_CLEANUP_DRY_RUN: "true" }).engine.dryRun).toBe(true)
    expect(tree("once", ["--no-dry-run"], { POD_CLEANUP_DRY_RUN: "true" }).once.dryRun).toBe(false)
  })

  it("once's bad pass options name the flag and the expected form", () => {
    expect(onceLines(["--timeout", "soon", "--output=yaml"])).toStrictEqual([
      "--output = \"yaml\": expected one of table or json",
      "--timeout = \"soon\": expected a duration such as 30s, 1m30s or 500ms"
    ])
    expect(onceLines(["--timeout=0s"])).toStrictEqual([
      "--timeout = \"0s\": expected a duration greater than 0, such as 30s, 1m30s or 500ms"
    ])
    expect(onceLines(["--timeout"])).toStrictEqual(["--timeout: missing value (--timeout <duration> or --timeout=<duration>)"])
  })

  it("a command ignores the variables of settings it does not read, which keep their defaults", () => {
    const once = tree("once", [], { POD_CLEANUP_HTTP_PORT: "http", POD_CLEANUP_LEASE_DURATION: "1s" })
    expect([once.httpPort, once.leaderElection]).toStrictEqual([defaults.httpPort, defaults.leaderElection])
    expect(tree("demo", [], { KUBECONFIG: "/x" }).kubeconfig).toBe(undefined)
  })

  it("run and demo know nothing of once's pass options", () => {
    expect(lines(["--output=json"])).toStrictEqual(["--output: unknown flag"])
    expect(tree("demo", []).once).toStrictEqual(tree("run", []).once)
  })

  it("every command but once reads the same service configuration as parseConfig", () => {
    const { once: _, ...run } = tree("run", ["--workers=3"], { POD_CLEANUP_LOG_LEVEL: "warn" })
    expect(run).toStrictEqual(config(["--workers=3"], { POD_CLEANUP_LOG_LEVEL: "warn" }))
  })
})
