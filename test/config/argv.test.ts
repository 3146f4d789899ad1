/**
 * The command line's own problems (unknown flags and their suggestions, missing values, stray
 * arguments), as `parseConfig` reports them, and the tokenizer on its own.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { readArgv } from "../../src/config/argv.ts"
import { parseConfig } from "../../src/config/Config.ts"

const lines = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const result = parseConfig(argv, {})
  if (Result.isSuccess(result)) throw new Error("expected a ServiceConfigError")
  return result.failure.message.split("\n")
}

describe("the command line", () => {
  it.each<[ReadonlyArray<string>, ReadonlyArray<string>]>([
    [["--exect-timeout=30s"], ["--exect-timeout: unknown flag (did you mean --exec-timeout?)"]],
    [["--namespace", "argo"], ["--namespace: unknown flag (did you mean --namespaces?)"]],
    [["--Workers=3"], ["--Workers: unknown flag (did you mean --workers?)"]],
    [["--log_level=debug"], ["--log_level: unknown flag (did you mean --log-level?)"]],
    [["--POD_CLEANUP_WORKERS=3"], ["--POD_CLEANUP_WORKERS: unknown flag (did you mean --workers?)"]],
    [["--no-leader-elec"], ["--no-leader-elec: unknown flag (did you mean --no-leader-elect?)"]],
    [["--http"], ["--http: unknown flag (did you mean --http-port?)"]],
    [["-workers", "3"], ["-workers: unknown flag (did you mean --workers?)"]],
    [["--pod-cleanup-workers", "3"], ["--pod-cleanup-workers: unknown flag"]],
    [["--timeout=5s"], ["--timeout: unknown flag"]],
    [["--lease"], ["--lease: unknown flag"]],
    [["--workers"], ["--workers: missing value (--workers <n> or --workers=<n>)"]],
    [["--workers", "--exec-timeout=5s"], ["--workers: missing value (--workers <n> or --workers=<n>)"]],
    [["--no-leader-elect=true"], ["--no-leader-elect: takes no value (use --leader-elect=<bool>)"]],
    [["--no-workers"], ["--no-workers: unknown flag (--workers is not a boolean flag)"]],
    [["--leader-elect", "false"], [
      "unexpected argument \"false\": a boolean flag takes its value after \"=\", e.g. --leader-elect=false"
    ]],
    [["run"], ["unexpected argument \"run\": only flags are accepted"]],
    [["--", "--workers=3"], ["unexpected argument \"--workers=3\": only flags are accepted"]]
  ])("%j", (argv, expected) => {
    expect(lines(argv)).toStrictEqual(expected)
  })
})

describe("readArgv", () => {
  const workers = { flag: "--workers", env: "POD_CLEANUP_WORKERS", metavar: "n" }
  const elect = { flag: "--leader-elect", metavar: "bool", boolean: true }

  it("gives each flag the text of its last occurrence, and raw stray arguments", () => {
    const { values, problems } = readArgv(["--workers", "2", "--no-leader-elect", "--workers=5", "--leader-elect", "x"], [workers, elect])
    expect([values.get(workers), values.get(elect)]).toStrictEqual(["5", "true"])
    expect(problems).toStrictEqual([{ flag: "", value: "x", expected: "only flags are accepted" }])
  })

  it("suggests only among the flags it was given", () => {
    expect(readArgv(["--workrs=1", "--POD_CLEANUP_WORKERS=2"], [workers]).problems.map((p) => p.expected)).toStrictEqual([
      "unknown flag (did you mean --workers?)",
      "unknown flag (did you mean --workers?)"
    ])
    expect(readArgv(["--workers=1"], [elect]).problems.map((p) => p.expected)).toStrictEqual(["unknown flag"])
  })
})
