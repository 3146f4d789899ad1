/**
 * The command line as flags: `--flag value`, `--flag=value`, and for boolean flags a bare `--flag`
 * (true) or `--no-flag` (false); the last occurrence wins. Everything that is not a known flag is
 * a problem (with a suggestion for a near miss), never silently ignored. Pure: it knows the flags
 * it is given, not the settings behind them, and redacts nothing (the caller decides what may be
 * echoed).
 */

/** What the tokenizer needs to know of a flag. */
export interface FlagSpec {
  readonly flag: string
  /** The setting's environment variable, so that `--POD_CLEANUP_WORKERS` can suggest `--workers`. */
  readonly env?: string | undefined
  readonly metavar: string
  readonly boolean?: boolean | undefined
}

/** A problem with the command line itself: `flag` is the offending flag, empty for a stray argument (then in `value`). */
export interface ArgvProblem {
  readonly flag: string
  readonly value: string
  readonly expected: string
}

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
const suggestFlag = (name: string, specs: ReadonlyArray<FlagSpec>): string | undefined => {
  const byEnv = specs.find((spec) => spec.env === name)
  if (byEnv !== undefined) return byEnv.flag
  const wanted = name.toLowerCase().replaceAll("_", "-")
  const candidates = [
    ...specs.map((spec) => spec.flag.slice(2)),
    ...specs.filter((spec) => spec.boolean === true).map((spec) => `no-${spec.flag.slice(2)}`)
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

/**
 * The text given to each flag of `specs` among `argv` (flags only: the CLI strips the command
 * first), and every problem with the rest.
 */
export const readArgv = <S extends FlagSpec>(
  argv: ReadonlyArray<string>,
  specs: ReadonlyArray<S>
): { readonly values: ReadonlyMap<S, string>; readonly problems: ReadonlyArray<ArgvProblem> } => {
  const byFlag = new Map(specs.map((spec) => [spec.flag.slice(2), spec]))
  const values = new Map<S, string>()
  const problems: Array<ArgvProblem> = []
  const problem = (flag: string, value: string, expected: string) => problems.push({ flag, value, expected })
  let previousBareBoolean: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const bareBoolean = previousBareBoolean
    previousBareBoolean = undefined
    if (arg === "--") {
      for (const rest of argv.slice(i + 1)) problem("", rest, "only flags are accepted")
      break
    }
    if (!arg.startsWith("-") || arg === "-") {
      const hint = bareBoolean !== undefined && /^(true|false|1|0|yes|no)$/i.test(arg)
        ? `a boolean flag takes its value after "=", e.g. ${bareBoolean}=${arg}`
        : "only flags are accepted"
      problem("", arg, hint)
      continue
    }
    const doubleDash = arg.startsWith("--")
    const body = arg.slice(doubleDash ? 2 : 1)
    const eq = body.indexOf("=")
    const name = eq < 0 ? body : body.slice(0, eq)
    const inline = eq < 0 ? undefined : body.slice(eq + 1)
    const flag = `${doubleDash ? "--" : "-"}${name}`
    const spec = doubleDash ? byFlag.get(name) : undefined
    const negated = doubleDash && name.startsWith("no-") ? byFlag.get(name.slice(3)) : undefined

    if (spec !== undefined) {
      if (spec.boolean === true) {
        values.set(spec, inline ?? "true")
        if (inline === undefined) previousBareBoolean = flag
      } else if (inline !== undefined) {
        values.set(spec, inline)
      } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
        values.set(spec, argv[++i])
      } else {
        problem(flag, "", `missing value (${flag} <${spec.metavar}> or ${flag}=<${spec.metavar}>)`)
      }
    } else if (negated !== undefined && negated.boolean === true) {
      if (inline !== undefined) problem(flag, "", `takes no value (use ${negated.flag}=<bool>)`)
      else values.set(negated, "false")
    } else {
      const suggestion = negated !== undefined ? undefined : suggestFlag(name, specs)
      problem(
        flag,
        "",
        negated !== undefined
          ? `unknown flag (${negated.flag} is not a boolean flag)`
          : suggestion === undefined
          ? "unknown flag"
          : `unknown flag (did you mean ${suggestion}?)`
      )
      // `--unknown value`: the value belongs to the unknown flag, not a stray argument.
      if (inline === undefined && i + 1 < argv.length && !argv[i + 1].startsWith("-")) i++
    }
  }
  return { values, problems }
}
