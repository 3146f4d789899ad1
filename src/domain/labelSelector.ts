/**
 * Label selectors with Kubernetes' semantics, in both forms: the structured `metav1.LabelSelector`
 * of a workflow's `podGC` and the string form of `--label-selector` (`labels.Parse`). Both compile
 * to the same requirements: ANDed, an empty selector matches everything, and a selector Kubernetes
 * would reject (bad operator, bad key or value, values given to Exists or missing for In) is an
 * `InvalidLabelSelectorError`, never a guess. The name rules of keys, values and namespaces live
 * here too, once.
 *
 * Sources: kubernetes/apimachinery `pkg/apis/meta/v1/helpers.go` (`LabelSelectorAsSelector`),
 * `pkg/labels/selector.go` (`Parse`, `NewRequirement`, `Requirement.Matches`),
 * `pkg/util/validation/validation.go` (`IsQualifiedName`, `IsValidLabelValue`, `IsDNS1123Label`,
 * `IsDNS1123Subdomain`).
 * argoproj/argo-workflows `pkg/apis/workflow/v1alpha1/workflow_types.go` (`PodGC.GetLabelSelector`:
 * an absent `labelSelector` selects every pod).
 */
import { Data, Result } from "effect"

export const LabelSelectorOperators = ["In", "NotIn", "Exists", "DoesNotExist"] as const
export type LabelSelectorOperator = (typeof LabelSelectorOperators)[number]

/** One `matchExpressions` entry. `operator` is a plain string so that bad input can be reported. */
export interface LabelSelectorRequirement {
  readonly key: string
  readonly operator: LabelSelectorOperator | (string & {})
  readonly values?: ReadonlyArray<string> | null | undefined
}

/** `metav1.LabelSelector`, as it appears in JSON. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>> | null | undefined
  readonly matchExpressions?: ReadonlyArray<LabelSelectorRequirement> | null | undefined
}

export type Labels = Readonly<Record<string, string>>

export class InvalidLabelSelectorError extends Data.TaggedError("InvalidLabelSelectorError")<{
  readonly message: string
}> {}

/** A validated selector. */
export interface CompiledLabelSelector {
  readonly matches: (labels: Labels | undefined) => boolean
  /** A readable form for logs, e.g. `app=a,tier in (x,y),!gone`; empty for "everything". */
  readonly text: string
}

interface Requirement {
  readonly key: string
  readonly operator: LabelSelectorOperator
  readonly values: ReadonlyArray<string>
}

// ---- Names (validation.go) -------------------------------------------------------------------

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

/** `validation.IsDNS1123Label`: a namespace or container name (lowercase, at most 63 characters). */
export const isDns1123Label = (name: string): boolean => name.length <= 63 && DNS1123_LABEL.test(name)

/** `validation.IsDNS1123Subdomain`: e.g. a Lease name or a key's prefix (at most 253 characters). */
export const isDns1123Subdomain = (name: string): boolean => name.length <= 253 && DNS1123_SUBDOMAIN.test(name)

/** `validation.IsQualifiedName`: `[prefix/]name`, name ≤ 63, prefix a DNS-1123 subdomain ≤ 253. */
const keyProblem = (key: string): string | undefined => {
  const parts = key.split("/")
  let name: string
  if (parts.length === 1) {
    name = parts[0]
  } else if (parts.length === 2) {
    const prefix = parts[0]
    name = parts[1]
    if (prefix.length === 0) return "prefix part must be non-empty"
    if (!isDns1123Subdomain(prefix)) {
      return "prefix part must be a lowercase RFC 1123 subdomain of at most 253 characters"
    }
  } else {
    return "a qualified name must consist of an optional DNS subdomain prefix and a name, separated by one '/'"
  }
  if (name.length === 0) return "name part must be non-empty"
  if (name.length > 63) return "name part must be no more than 63 characters"
  if (!QUALIFIED_NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
  }
  return undefined
}

/** `validation.IsValidLabelValue`. */
const valueProblem = (value: string): string | undefined => {
  if (value.length > 63) return "must be no more than 63 characters"
  if (!LABEL_VALUE.test(value)) {
    return "a valid label value must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
  }
  return undefined
}

// ---- The structured form (metav1.LabelSelector) ------------------------------------------------

const isOperator = (op: string): op is LabelSelectorOperator =>
  (LabelSelectorOperators as ReadonlyArray<string>).includes(op)

const fail = (message: string): Result.Result<never, InvalidLabelSelectorError> =>
  Result.fail(new InvalidLabelSelectorError({ message: `invalid label selector: ${message}` }))

const has = (labels: Labels | undefined, key: string): boolean =>
  labels !== undefined && Object.prototype.hasOwnProperty.call(labels, key)

const requirementMatches = (r: Requirement, labels: Labels | undefined): boolean => {
  switch (r.operator) {
    case "In":
      return has(labels, r.key) && r.values.includes(labels![r.key])
    case "NotIn":
      return !has(labels, r.key) || !r.values.includes(labels![r.key])
    case "Exists":
      return has(labels, r.key)
    case "DoesNotExist":
      return !has(labels, r.key)
  }
}

const requirementText = (r: Requirement): string => {
  switch (r.operator) {
    case "In":
      return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(",")})`
    case "NotIn":
      return `${r.key} notin (${r.values.join(",")})`
    case "Exists":
      return r.key
    case "DoesNotExist":
      return `!${r.key}`
  }
}

const compiled = (requirements: ReadonlyArray<Requirement>): CompiledLabelSelector => ({
  matches: (labels) => requirements.every((r) => requirementMatches(r, labels)),
  text: requirements.map(requirementText).join(",")
})

/**
 * Validates a selector once so it can be matched many times. `undefined` / `null` selects every
 * pod, as Argo's `PodGC.GetLabelSelector` does when `labelSelector` is absent.
 */
export const compileLabelSelector = (
  selector: LabelSelector | null | undefined
): Result.Result<CompiledLabelSelector, InvalidLabelSelectorError> => {
  const requirements: Array<Requirement> = []
  if (selector !== null && selector !== undefined) {
    if (typeof selector !== "object" || Array.isArray(selector)) return fail("not an object")
    const matchLabels = selector.matchLabels ?? {}
    if (typeof matchLabels !== "object" || Array.isArray(matchLabels)) return fail("matchLabels is not an object")
    for (const [key, value] of Object.entries(matchLabels)) {
      const kp = keyProblem(key)
      if (kp !== undefined) return fail(`matchLabels key ${JSON.stringify(key)}: ${kp}`)
      if (typeof value !== "string") return fail(`matchLabels[${JSON.stringify(key)}] is not a string`)
      const vp = valueProblem(value)
      if (vp !== undefined) return fail(`matchLabels[${JSON.stringify(key)}] value ${JSON.stringify(value)}: ${vp}`)
      requirements.push({ key, operator: "In", values: [value] })
    }
    const expressions = selector.matchExpressions ?? []
    if (!Array.isArray(expressions)) return fail("matchExpressions is not an array")
    for (const [i, expr] of expressions.entries()) {
      const where = `matchExpressions[${i}]`
      if (typeof expr !== "object" || expr === null) return fail(`${where} is not an object`)
      const { key, operator } = expr
      if (typeof key !== "string") return fail(`${where}.key is not a string`)
      const kp = keyProblem(key)
      if (kp !== undefined) return fail(`${where} key ${JSON.stringify(key)}: ${kp}`)
      if (typeof operator !== "string" || !isOperator(operator)) {
        return fail(`${where}: ${JSON.stringify(operator)} is not a valid label selector operator`)
      }
      const values = expr.values ?? []
      if (!Array.isArray(values)) return fail(`${where}.values is not an array`)
      if ((operator === "In" || operator === "NotIn") && values.length === 0) {
        return fail(`${where}: for 'in', 'notin' operators, values set can't be empty`)
      }
      if ((operator === "Exists" || operator === "DoesNotExist") && values.length !== 0) {
        return fail(`${where}: values set must be empty for exists and does not exist`)
      }
      for (const value of values) {
        if (typeof value !== "string") return fail(`${where}.values contains a non-string`)
        const vp = valueProblem(value)
        if (vp !== undefined) return fail(`${where} value ${JSON.stringify(value)}: ${vp}`)
      }
      requirements.push({ key, operator, values: [...values] })
    }
  }
  return Result.succeed(compiled(requirements))
}

/** One-shot match. An empty selector (and an absent one) matches every label set. */
export const matchesLabelSelector = (
  selector: LabelSelector | null | undefined,
  labels: Labels | undefined
): Result.Result<boolean, InvalidLabelSelectorError> =>
  Result.map(compileLabelSelector(selector), (compiled) => compiled.matches(labels))

// ---- The string form (labels.Parse) -------------------------------------------------------------

type Token =
  | { readonly kind: "word"; readonly text: string }
  | { readonly kind: "op"; readonly text: "=" | "==" | "!=" | "!" }
  | { readonly kind: "punct"; readonly text: "(" | ")" | "," }
  | { readonly kind: "unsupported"; readonly text: string }

const tokenize = (input: string): Array<Token> => {
  const tokens: Array<Token> = []
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

const shown = (token: Token | undefined): string => token === undefined ? "the end" : JSON.stringify(token.text)

const isPunct = (token: Token | undefined, text: "(" | ")" | ","): boolean =>
  token !== undefined && token.kind === "punct" && token.text === text

const badKey = (key: string): string | undefined =>
  keyProblem(key) === undefined ? undefined : `${JSON.stringify(key)} is not a valid label key`

const badValue = (value: string): string | undefined =>
  valueProblem(value) === undefined ? undefined : `${JSON.stringify(value)} is not a valid label value`

/** The requirements of a string selector, or its first problem (short: the caller adds the context). */
const parseRequirements = (input: string): Result.Result<Array<Requirement>, string> => {
  const tokens = tokenize(input)
  const requirements: Array<Requirement> = []
  if (tokens.length === 0) return Result.succeed(requirements)
  let i = 0
  for (;;) {
    const first = tokens[i++]
    if (first?.kind === "op" && first.text === "!") {
      const key = tokens[i++]
      if (key?.kind !== "word") return Result.fail(`missing label key after "!" (found ${shown(key)})`)
      const problem = badKey(key.text)
      if (problem !== undefined) return Result.fail(problem)
      requirements.push({ key: key.text, operator: "DoesNotExist", values: [] })
    } else if (first?.kind === "word" && first.text !== "in" && first.text !== "notin") {
      const key = first.text
      const problem = badKey(key)
      if (problem !== undefined) return Result.fail(problem)
      const op = tokens[i]
      if (op === undefined || isPunct(op, ",")) {
        requirements.push({ key, operator: "Exists", values: [] })
      } else if (op.kind === "op" && op.text !== "!") {
        i++
        const value = tokens[i]
        let text = "" // `key=` (followed by "," or the end): the empty value, as labels.Parse allows
        if (value?.kind === "word") {
          i++
          const vp = badValue(value.text)
          if (vp !== undefined) return Result.fail(vp)
          text = value.text
        } else if (value !== undefined && !isPunct(value, ",")) {
          return Result.fail(`missing value after "${key}${op.text}" (found ${shown(value)})`)
        }
        requirements.push({ key, operator: op.text === "!=" ? "NotIn" : "In", values: [text] })
      } else if (op.kind === "word" && (op.text === "in" || op.text === "notin")) {
        i++
        const open = tokens[i++]
        if (!isPunct(open, "(")) return Result.fail(`missing "(" after "${key} ${op.text}" (found ${shown(open)})`)
        const values: Array<string> = []
        let wantValue = true
        for (;;) {
          const t = tokens[i++]
          if (t === undefined) return Result.fail(`missing ")" after "${key} ${op.text} (" (found the end)`)
          if (isPunct(t, ")")) {
            if (wantValue && values.length > 0) values.push("") // `(a,)`: labels.Parse adds the empty value
            break
          }
          if (isPunct(t, ",")) {
            if (wantValue) values.push("") // `(,a)` / `(a,,b)`: the empty value
            wantValue = true
          } else if (t.kind === "word" && wantValue) {
            const vp = badValue(t.text)
            if (vp !== undefined) return Result.fail(vp)
            values.push(t.text)
            wantValue = false
          } else {
            return Result.fail(`missing "," or ")" in the values of "${key} ${op.text}" (found ${shown(t)})`)
          }
        }
        if (values.length === 0) return Result.fail(`"${key} ${op.text} ()" has no values`)
        requirements.push({ key, operator: op.text === "in" ? "In" : "NotIn", values })
      } else if (op.kind === "unsupported") {
        return Result.fail(`operator ${JSON.stringify(op.text)} is not supported`)
      } else {
        return Result.fail(`missing operator after "${key}" (found ${shown(op)})`)
      }
    } else {
      return Result.fail(`missing label key (found ${shown(first)})`)
    }
    const separator = tokens[i++]
    if (separator === undefined) return Result.succeed(requirements)
    if (!isPunct(separator, ",")) return Result.fail(`missing "," before ${shown(separator)}`)
  }
}

/**
 * A selector in the string form the API server takes (`labels.Parse`): comma-separated `k=v`,
 * `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, with valid keys and values. The
 * set-based `>`/`<` forms are refused. The empty string selects everything.
 *
 * @example
 * parseLabelSelector("app=web,tier in (a,b),!legacy") // Result.succeed(compiled)
 */
export const parseLabelSelector = (text: string): Result.Result<CompiledLabelSelector, InvalidLabelSelectorError> => {
  const parsed = parseRequirements(text)
  return Result.isSuccess(parsed) ? Result.succeed(compiled(parsed.success)) : fail(parsed.failure)
}

/** The first problem of a string selector (without the "invalid label selector" prefix), or `undefined`. */
export const labelSelectorProblem = (text: string): string | undefined => {
  const parsed = parseRequirements(text)
  return Result.isSuccess(parsed) ? undefined : parsed.failure
}
