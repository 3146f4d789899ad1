/**
 * The codecs of settings: Schemas that decode a setting's text (from a flag or an environment
 * variable) into its value and encode the value back (for documented defaults). A failure's message
 * is the expected form, e.g. "an integer from 1 to 256"; a codec never puts the input into its
 * message: the caller decides what may be echoed.
 */
import { Duration, Effect, Result, Schema, SchemaGetter, SchemaIssue } from "effect"
import { formatGoDuration, parseGoDuration } from "../domain/duration.ts"
import { isDns1123Label, isDns1123Subdomain, labelSelectorProblem } from "../domain/labelSelector.ts"

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
export const goDuration = (minimum: "positive" | "nonNegative"): TextCodec<Duration.Duration> =>
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

export const integer = (minimum: number, maximum?: number): TextCodec<number> => {
  const expected = integerExpected(minimum, maximum)
  return fromText(Schema.Int, parseInteger(expected), String).check(
    maximum === undefined
      ? Schema.isGreaterThanOrEqualTo(minimum, { message: expected })
      : Schema.isBetween({ minimum, maximum }, { message: expected })
  )
}

/** An integer, or `undefined` for the empty string. */
export const optionalInteger = (minimum: number): TextCodec<number | undefined> => {
  const expected = `${integerExpected(minimum, undefined)}, or empty for unset`
  const parse = parseInteger(expected)
  return fromText(
    Schema.UndefinedOr(Schema.Int),
    (text) => text.trim() === "" ? Result.succeed(undefined) : parse(text),
    (n) => n === undefined ? "" : String(n)
  ).check(Schema.makeFilter((n: number | undefined) => n === undefined || n >= minimum, { message: expected }))
}

const DECIMAL = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/

export const nonNegativeNumber = (): TextCodec<number> => {
  const expected = "a number of 0 or more, such as 20 or 0.5"
  return fromText(Schema.Finite, (text) => {
    const trimmed = text.trim()
    return DECIMAL.test(trimmed) ? Result.succeed(Number(trimmed)) : Result.fail(expected)
  }, String).check(Schema.isGreaterThanOrEqualTo(0, { message: expected }))
}

const TRUE = ["true", "1", "yes"]
const FALSE = ["false", "0", "no"]

/** `true`/`false`, `1`/`0`, `yes`/`no`, in any case. */
export const boolean = (): TextCodec<boolean> =>
  fromText(Schema.Boolean, (text) => {
    const lower = text.trim().toLowerCase()
    if (TRUE.includes(lower)) return Result.succeed(true)
    if (FALSE.includes(lower)) return Result.succeed(false)
    return Result.fail("true or false (also 1/0, yes/no)")
  }, String)

export const oneOf = <const L extends string>(values: readonly [L, ...Array<L>]): TextCodec<L> => {
  const expected = `one of ${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}`
  return fromText(Schema.Literals(values), (text) => {
    const lower = text.trim().toLowerCase()
    const found = values.find((v) => v === lower)
    return found === undefined ? Result.fail(expected) : Result.succeed(found)
  }, (value) => value)
}

/** Any text; the empty string (after trimming) is `undefined`. */
export const optionalText = (): TextCodec<string | undefined> =>
  fromText(Schema.UndefinedOr(Schema.String), (text) => {
    const trimmed = text.trim()
    return Result.succeed(trimmed === "" ? undefined : trimmed)
  }, (value) => value ?? "")

// ---- Kubernetes names and label selectors ---------------------------------------------------

const SELECTOR = "a label selector such as app=web,tier in (a,b),!legacy"

/** A label selector in the string form (the domain's `labels.Parse` grammar), kept as trimmed text. */
export const labelSelector = (): TextCodec<string> =>
  fromText(Schema.String, (text) => Result.succeed(text.trim()), (s) => s).check(
    Schema.makeFilter((selector: string) => {
      const problem = labelSelectorProblem(selector)
      return problem === undefined ? undefined : `${SELECTOR}: ${problem}`
    })
  )

/** Splits a comma-separated list, trims each entry and drops repeats; blank input is the empty list. */
const splitList = (text: string): ReadonlyArray<string> =>
  text.trim() === "" ? [] : [...new Set(text.split(",").map((s) => s.trim()))]

/** A comma-separated list of DNS-1123 labels (namespaces, container names). */
export const nameList = (options: {
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

/** A DNS-1123 subdomain, e.g. a Lease name. */
export const dnsSubdomain = (expected: string): TextCodec<string> =>
  fromText(Schema.String, (text) => Result.succeed(text.trim()), (s) => s).check(
    Schema.makeFilter((name: string) => isDns1123Subdomain(name), { message: expected })
  )

/** A DNS-1123 label, e.g. a namespace; the empty string is `undefined`. */
export const optionalDnsLabel = (expected: string): TextCodec<string | undefined> =>
  fromText(Schema.UndefinedOr(Schema.String), (text) => {
    const trimmed = text.trim()
    return Result.succeed(trimmed === "" ? undefined : trimmed)
  }, (value) => value ?? "").check(
    Schema.makeFilter((name: string | undefined) => name === undefined || isDns1123Label(name), {
      message: `${expected}, or empty for unset`
    })
  )
