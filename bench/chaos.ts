/**
 * `npm run chaos [-- --seed N] [--pods N] [--duration SECONDS] [--settle SECONDS] [--log-file PATH]`:
 * the chaos suite (bench/chaosRun.ts). Without --seed a random one is drawn and printed first, so
 * any run can be replayed. Exit 0 only if no pod was lost, no exec socket is left open, no promise
 * rejection went unhandled and the service is healthy at the end; otherwise 1.
 */
import { formatReport } from "./chaosReport.ts"
import { runChaos } from "./chaosRun.ts"

const usage = "usage: npm run chaos -- [--seed N] [--pods N (1000)] [--duration SECONDS (30)] [--settle SECONDS] [--log-file PATH] [--quiet]"

const fail = (message: string): never => {
  process.stderr.write(`${message}\n${usage}\n`)
  process.exit(2)
}

const parseArgs = (argv: ReadonlyArray<string>) => {
  const values = new Map<string, string>()
  let quiet = false
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
    const match = /^--(seed|pods|duration|settle|log-file)(?:=(.*))?$/.exec(arg)
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
  const seed = number("seed", undefined, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32) ??
    Math.floor(Math.random() * 2 ** 31)
  return {
    seed,
    seedGiven: values.has("seed"),
    pods: number("pods", 1000, (n) => Number.isInteger(n) && n >= 1 && n <= 20_000)!,
    durationS: number("duration", 30, (n) => n >= 2 && n <= 600)!,
    settleS: number("settle", undefined, (n) => n >= 1 && n <= 600),
    logFile: values.get("log-file"),
    quiet
  }
}

const args = parseArgs(process.argv.slice(2))
process.stdout.write(
  `chaos: seed ${args.seed}${args.seedGiven ? "" : " (random)"}, ${args.pods} pods, fault window ${args.durationS} s` +
    ` (replay with: npm run chaos -- --seed ${args.seed} --pods ${args.pods})\n`
)
const report = await runChaos({
  seed: args.seed,
  pods: args.pods,
  durationMs: args.durationS * 1000,
  settleMaxMs: args.settleS === undefined ? undefined : args.settleS * 1000,
  logFile: args.logFile,
  onProgress: args.quiet ? undefined : (line) => process.stderr.write(`${line}\n`)
})
process.stdout.write(`\n${formatReport(report)}\n`)
process.exitCode = report.failures.length === 0 ? 0 : 1
