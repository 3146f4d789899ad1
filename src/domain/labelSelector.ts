/**
 * `metav1.LabelSelector` matching with Kubernetes' semantics: requirements are ANDed, an empty
 * selector matches everything, and a selector Kubernetes would reject (bad operator, bad key or
 * value, values given to Exists or missing for In) is an `InvalidLabelSelectorError`, never a guess.
 *
 * Sources: kubernetes/apimachinery `pkg/apis/meta/v1/helpers.go` (`LabelSelectorAsSelector`),
 * `pkg/labels/selector.go` (`NewRequirement`, `Requirement.Matches`),
 * `pkg/util/validation/validation.go` (`IsQualifiedName`, `IsValidLabelValue`, `IsDNS1123Subdomain`).
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

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

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
    if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) {
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
  return Result.succeed({
    matches: (labels) => requirements.every((r) => requirementMatches(r, labels)),
    text: requirements.map(requirementText).join(",")
  })
}

/** One-shot match. An empty selector (and an absent one) matches every label set. */
export const matchesLabelSelector = (
  selector: LabelSelector | null | undefined,
  labels: Labels | undefined
): Result.Result<boolean, InvalidLabelSelectorError> =>
  Result.map(compileLabelSelector(selector), (compiled) => compiled.matches(labels))
