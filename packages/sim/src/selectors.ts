// Label and field selectors, parsed and matched the way the API server does it
// (k8s.io/apimachinery/pkg/labels and pkg/fields). Pure: a parse error is a 400 `StatusError`.

import { badRequest } from "./status.ts"

export type LabelOperator = "=" | "!=" | "in" | "notin" | "exists" | "!exists" | "gt" | "lt"

export interface LabelRequirement {
  readonly key: string
  readonly operator: LabelOperator
  readonly values: ReadonlyArray<string>
}

export type LabelSelector = ReadonlyArray<LabelRequirement>

type Token =
  | { readonly t: "id"; readonly v: string }
  | { readonly t: "op"; readonly v: "=" | "==" | "!=" | "!" | ">" | "<" }
  | { readonly t: "," | "(" | ")" }

const special = new Set(["=", "!", "(", ")", ",", ">", "<"])

const tokenize = (input: string): Array<Token> => {
  const tokens: Array<Token> = []
  let i = 0
  while (i < input.length) {
    const c = input[i]
    if (/\s/.test(c)) {
      i++
    } else if (c === "," || c === "(" || c === ")") {
      tokens.push({ t: c })
      i++
    } else if (c === "=" || c === "!") {
      if (input[i + 1] === "=") {
        tokens.push({ t: "op", v: c === "=" ? "==" : "!=" })
        i += 2
      } else {
        tokens.push({ t: "op", v: c })
        i++
      }
    } else if (c === ">" || c === "<") {
      tokens.push({ t: "op", v: c })
      i++
    } else {
      let j = i
      while (j < input.length && !special.has(input[j]) && !/\s/.test(input[j])) j++
      tokens.push({ t: "id", v: input.slice(i, j) })
      i = j
    }
  }
  return tokens
}

const keyPattern = /^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const valuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

const parseError = (selector: string, why: string) =>
  badRequest(`unable to parse requirement: ${why} (in label selector "${selector}")`)

const checkKey = (selector: string, key: string): string => {
  const name = key.includes("/") ? key.slice(key.indexOf("/") + 1) : key
  if (!keyPattern.test(key) || name.length > 63) {
    throw parseError(selector, `Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.'`)
  }
  return key
}

const checkValue = (selector: string, value: string): string => {
  if (value.length > 63 || !valuePattern.test(value)) {
    throw parseError(selector, `Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`)
  }
  return value
}

/** Parses `a=b,c!=d,e in (f,g),h notin (i),j,!k,l>3`; the empty string selects everything. */
export const parseLabelSelector = (selector: string): LabelSelector => {
  const tokens = tokenize(selector)
  const requirements: Array<LabelRequirement> = []
  let i = 0
  const peek = (): Token | undefined => tokens[i]
  const next = (): Token | undefined => tokens[i++]
  if (tokens.length === 0) return requirements
  for (;;) {
    const first = next()
    if (first === undefined) throw parseError(selector, "found '', expected: identifier")
    if (first.t === "op" && first.v === "!") {
      const key = next()
      if (key?.t !== "id") throw parseError(selector, "found '', expected: identifier after '!'")
      requirements.push({ key: checkKey(selector, key.v), operator: "!exists", values: [] })
    } else if (first.t === "id") {
      const key = checkKey(selector, first.v)
      const op = peek()
      if (op === undefined || op.t === ",") {
        requirements.push({ key, operator: "exists", values: [] })
      } else if (op.t === "op" && (op.v === "=" || op.v === "==" || op.v === "!=")) {
        i++
        const value = peek()
        let v = ""
        if (value?.t === "id") {
          v = value.v
          i++
        } else if (value !== undefined && value.t !== ",") {
          throw parseError(selector, `found '${value.t === "op" ? value.v : value.t}', expected: identifier`)
        }
        requirements.push({ key, operator: op.v === "!=" ? "!=" : "=", values: [checkValue(selector, v)] })
      } else if (op.t === "op" && (op.v === ">" || op.v === "<")) {
        i++
        const value = next()
        if (value?.t !== "id" || !/^-?\d+$/.test(value.v)) {
          throw parseError(selector, "for 'Gt', 'Lt' operators, the value must be an integer")
        }
        requirements.push({ key, operator: op.v === ">" ? "gt" : "lt", values: [value.v] })
      } else if (op.t === "id" && (op.v === "in" || op.v === "notin")) {
        i++
        if (next()?.t !== "(") throw parseError(selector, `found '', expected: '(' after '${op.v}'`)
        const values: Array<string> = []
        for (;;) {
          const v = next()
          if (v === undefined) throw parseError(selector, "found '', expected: ')'")
          if (v.t === ")") break
          if (v.t === ",") continue
          if (v.t !== "id") throw parseError(selector, "found an operator, expected: identifier")
          values.push(checkValue(selector, v.v))
        }
        if (values.length === 0) {
          throw parseError(selector, "for 'in', 'notin' operators, values set can't be empty")
        }
        requirements.push({ key, operator: op.v, values })
      } else {
        throw parseError(selector, `found '${op.t === "id" || op.t === "op" ? op.v : op.t}', expected: in, notin, =, ==, !=, gt, lt`)
      }
    } else {
      throw parseError(selector, `found '${first.t === "op" ? first.v : first.t}', expected: !, identifier`)
    }
    const sep = next()
    if (sep === undefined) return requirements
    if (sep.t !== ",") throw parseError(selector, "found extra input, expected: ','")
  }
}

export const matchesLabels = (
  selector: LabelSelector,
  labels: Readonly<Record<string, string>> | undefined
): boolean =>
  selector.every((r) => {
    const has = labels !== undefined && Object.hasOwn(labels, r.key)
    const value = has ? labels[r.key] : undefined
    switch (r.operator) {
      case "=":
      case "in":
        return has && r.values.includes(value as string)
      case "!=":
      case "notin":
        return !has || !r.values.includes(value as string)
      case "exists":
        return has
      case "!exists":
        return !has
      case "gt":
      case "lt": {
        if (!has || !/^-?\d+$/.test(value as string)) return false
        const n = Number(value)
        const bound = Number(r.values[0])
        return r.operator === "gt" ? n > bound : n < bound
      }
    }
  })

export interface FieldRequirement {
  readonly field: string
  readonly operator: "=" | "!="
  readonly value: string
}

export type FieldSelector = ReadonlyArray<FieldRequirement>

/** Splits on unescaped separators; `\,` `\=` `\\` escape (fields.EscapeValue). */
const splitEscaped = (input: string, sep: string): Array<string> => {
  const parts: Array<string> = []
  let current = ""
  for (let i = 0; i < input.length; i++) {
    if (input[i] === "\\" && i + 1 < input.length) {
      current += input[i] + input[i + 1]
      i++
    } else if (input[i] === sep) {
      parts.push(current)
      current = ""
    } else {
      current += input[i]
    }
  }
  parts.push(current)
  return parts
}

const unescape = (s: string): string => s.replace(/\\(.)/g, "$1")

/** Parses `metadata.name=x,spec.nodeName!=node-1`; fields outside `supported` are a 400 like the real server. */
export const parseFieldSelector = (selector: string, supported: ReadonlyArray<string>): FieldSelector => {
  if (selector.trim() === "") return []
  return splitEscaped(selector, ",").map((term) => {
    const m = /^([^=!]+?)\s*(!=|==|=)\s*(.*)$/s.exec(term.trim())
    if (m === null) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`)
    const field = m[1].trim()
    if (!supported.includes(field)) {
      throw badRequest(
        `"${field}" is not a known field selector: only ${supported.map((f) => `"${f}"`).join(", ")}`
      )
    }
    return { field, operator: m[2] === "!=" ? "!=" : "=", value: unescape(m[3]) }
  })
}

export const matchesFields = (
  selector: FieldSelector,
  valueOf: (field: string) => string | undefined
): boolean =>
  selector.every((r) => {
    const v = valueOf(r.field) ?? ""
    return r.operator === "=" ? v === r.value : v !== r.value
  })
