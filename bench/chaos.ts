/**
 * `npm run chaos [-- --seed N | --seeds A-B] [--pods N] [--duration SECONDS] [--settle SECONDS]
 * [--quiet-period SECONDS] [--log-file PATH] [--report-dir DIR] [--quiet]`: the chaos suite
 * (bench/chaosRun.ts). Without --seed a random one is drawn and printed first, so any run can be
 * replayed. Exit 0 only if every pod was cleaned, none harmed, no exec socket is left open, no
 * promise rejection went unhandled and the service is healthy at the end; otherwise 1.
 *
 * `--seeds 1-20` (or `--seeds 3,7,9`) runs each seed in turn, each in a fresh Node process (one at
 * a time: a run is not disturbed by the previous one's leftovers), prints one line per seed and a
 * summary, and exits 1 if any failed. With `--report-dir DIR` each seed's full report goes to
 * `DIR/seed-N.txt` and its service log to `DIR/seed-N.log`.
 */
import { spawn } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { formatReport, formatSummaryLine } from "./chaosReport.ts"
import { runChaos } from "./chaosRun.ts"

const usage = "usage: npm run chaos -- [--seed N | --seeds A-B|A,B,..] [--pods N (1000)] [--duration SECONDS (30)] [--settle SECONDS]" +
  " [--quiet-period SECONDS (65..70 from the seed)] [--log-file PATH] [--report-dir DIR] [--quiet]"

const fail = (message: string): never => {
  process.stderr.write(`${message}\n${usage}\n`)
  process.exit(2)
}

const valued = ["seed", "seeds", "pods", "duration", "settle", "quiet-period", "log-file", "report-dir"] as const

const parseSeeds = (raw: string): Array<number> => {
  const seeds: Array<number> = []
  for (const part of raw.split(",")) {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part)
    if (range === null) return fail(`chaos: --seeds ${JSON.stringify(raw)} is not valid (e.g. 1-20 or 3,7,9)`)
    const from = Number(range[1])
    const to = range[2] === undefined ? from : Number(range[2])
    if (to < from || to - from > 10_000) return fail(`chaos: --seeds ${JSON.stringify(raw)} is not valid`)
    for (let s = from; s <= to; s++) seeds.push(s)
  }
  return seeds
}

const parseArgs = (argv: ReadonlyArray<string>) => {
  const values = new Map<string, string>()
  let quiet = false
  let summaryJson = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${usage}\n`)
      process.exit(0)
    }
    if (arg === "--quiet") {
      quiet = true
      continue
    }
    // Internal: a --seeds child prints its summary as one JSON line.
    if (arg === "--summary-json") {
      summaryJson = true
      continue
    }
    const match = new RegExp(`^--(${valued.join("|")})(?:=(.*))?$`).exec(arg)
    if (match === null) return fail(`chaos: unknown argument ${JSON.stringify(arg)}`)
    const value = match[2] ?? argv[++i]
    if (value === undefined) return fail(`chaos: --${match[1]} needs a value`)
    values.set(match[1]!, value)
  }
  const number = (name: string, fallback: number | undefined, check: (n: number) => boolean) => {
    const raw = values.get(name)
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isFinite(n) || !check(n)) return fail(`chaos: --${name} ${JSON.stringify(raw)} is not valid`)
    return n
  }
  if (values.has("seed") && values.has("seeds")) fail("chaos: --seed and --seeds exclude each other")
  const seed = number("seed", undefined, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32) ??
    Math.floor(Math.random() * 2 ** 31)
  return {
    seed,
    seedGiven: values.has("seed"),
    seeds: values.has("seeds") ? parseSeeds(values.get("seeds")!) : undefined,
    pods: number("pods", 1000, (n) => Number.isInteger(n) && n >= 1 && n <= 20_000)!,
    durationS: number("duration", 30, (n) => n >= 2 && n <= 600)!,
    settleS: number("settle", undefined, (n) => n >= 1 && n <= 600),
    quietS: number("quiet-period", undefined, (n) => n >= 0 && n <= 600),
    logFile: values.get("log-file"),
    reportDir: values.get("report-dir"),
    quiet,
    summaryJson,
    passThrough: argv.filter((a, i) => {
      // Everything but --seeds (and its value), --report-dir and --log-file goes to the children.
      const prev = argv[i - 1]
      if (/^--(seeds|report-dir|log-file)(=|$)/.test(a)) return false
      if (prev !== undefined && /^--(seeds|report-dir|log-file)$/.test(prev)) return false
      return a !== "--quiet"
    })
  }
}

const args = parseArgs(process.argv.slice(2))

interface Summary {
  readonly seed: number
  readonly line: string
  readonly passed: boolean
}

const runOne = async (seed: number): Promise<void> => {
  if (!args.summaryJson) {
    process.stdout.write(
      `chaos: seed ${seed}${args.seedGiven ? "" : " (random)"}, ${args.pods} pods, fault window ${args.durationS} s` +
        ` (replay with: npm run chaos -- --seed ${seed} --pods ${args.pods} --duration ${args.durationS})\n`
    )
  }
  const report = await runChaos({
    seed,
    pods: args.pods,
    durationMs: args.durationS * 1000,
    settleMaxMs: args.settleS === undefined ? undefined : args.settleS * 1000,
    quietMs: args.quietS === undefined ? undefined : args.quietS * 1000,
    logFile: args.logFile,
    onProgress: args.quiet ? undefined : (line) => process.stderr.write(`${line}\n`)
  })
  const text = formatReport(report)
  if (args.summaryJson) {
    // The full report first (the parent stores it), then the summary as the last line.
    process.stdout.write(`${text}\n`)
    process.stdout.write(`CHAOS-SUMMARY ${JSON.stringify({ seed, line: formatSummaryLine(report), passed: report.failures.length === 0 })}\n`)
  } else {
    process.stdout.write(`\n${text}\n`)
  }
  process.exitCode = report.failures.length === 0 ? 0 : 1
}

/** One seed in a child process; its report to `reportDir`, its summary back. */
const runChild = (seed: number): Promise<Summary> =>
  new Promise((resolve) => {
    const script = fileURLToPath(import.meta.url)
    const childArgs = [...args.passThrough, "--seed", String(seed), "--summary-json", "--quiet"]
    if (args.reportDir !== undefined) childArgs.push("--log-file", join(args.reportDir, `seed-${seed}.log`))
    const child = spawn(process.execPath, [script, ...childArgs], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (d: Buffer) => void (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => void (err += d.toString()))
    child.on("close", (code) => {
      if (args.reportDir !== undefined) writeFileSync(join(args.reportDir, `seed-${seed}.txt`), `${out}${err === "" ? "" : `\n--- stderr\n${err}`}`)
      const last = out.trim().split("\n").reverse().find((l) => l.startsWith("CHAOS-SUMMARY "))
      if (last === undefined) {
        resolve({ seed, line: `seed ${String(seed).padStart(4)}  FAIL  the run crashed (exit ${code}): ${err.trim().split("\n").slice(-3).join(" / ")}`, passed: false })
        return
      }
      const parsed = JSON.parse(last.slice("CHAOS-SUMMARY ".length)) as Summary
      resolve(parsed)
    })
  })

if (args.seeds === undefined) {
  await runOne(args.seed)
} else {
  if (args.reportDir !== undefined) mkdirSync(args.reportDir, { recursive: true })
  process.stdout.write(
    `chaos: seeds ${args.seeds[0]}..${args.seeds[args.seeds.length - 1]} (${args.seeds.length}), ${args.pods} pods, fault window ${args.durationS} s, one at a time` +
      `${args.reportDir === undefined ? "" : `; reports in ${args.reportDir}`}\n`
  )
  const results: Array<Summary> = []
  for (const seed of args.seeds) {
    const summary = await runChild(seed)
    results.push(summary)
    process.stdout.write(`${summary.line}\n`)
  }
  const failed = results.filter((r) => !r.passed)
  process.stdout.write(
    `\nchaos summary: ${results.length - failed.length} of ${results.length} seeds passed` +
      `${failed.length === 0 ? "" : `; failed: ${failed.map((r) => r.seed).join(", ")}`}\n`
  )
  process.exitCode = failed.length === 0 ? 0 : 1
}
