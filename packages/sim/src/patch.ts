// The three patch formats of `PATCH` requests, pure and table-testable:
// JSON merge patch (RFC 7386), strategic merge patch (the subset pods, leases and their metadata
// need: finalizers merged as a set, lists of containers merged by `name`, `$patch` and
// `$deleteFromPrimitiveList` directives) and JSON patch (RFC 6902). Errors are `StatusError`s with
// the codes a real API server uses: a malformed body is 400, a JSON patch that does not apply 422.

import { badRequest, StatusError } from "./status.ts"

export type PatchType = "merge" | "strategic" | "json"

export const patchContentTypes: Readonly<Record<string, PatchType>> = {
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/json-patch+json": "json"
}

type Json = null | boolean | number | string | Array<Json> | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v)

const clone = <A>(v: A): A => (v === undefined ? v : structuredClone(v))

export const deepEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
  }
  return false
}

// ---------------------------------------------------------------------------------------------
// RFC 7386 JSON merge patch

export const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isObject(patch)) return clone(patch)
  const result: JsonObject = isObject(target) ? clone(target) : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = mergePatch(result[key], value) as Json
  }
  return result
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch

/** How a list field merges; lists not described here are replaced whole, as for atomic lists. */
export interface ListStrategy {
  readonly mergeKey?: string
  /** A list of primitives merged as a set (`metadata.finalizers`). */
  readonly set?: boolean
  readonly item?: SmpSchema
}

export interface SmpSchema {
  readonly lists?: Readonly<Record<string, ListStrategy>>
  readonly fields?: Readonly<Record<string, SmpSchema>>
}

const metadataSchema: SmpSchema = {
  lists: { finalizers: { set: true }, ownerReferences: { mergeKey: "uid" } }
}

const containerSchema: SmpSchema = {
  lists: {
    env: { mergeKey: "name" },
    ports: { mergeKey: "containerPort" },
    volumeMounts: { mergeKey: "mountPath" },
    volumeDevices: { mergeKey: "devicePath" }
  }
}

/** Metadata only: enough for any object (leases). */
export const objectSmpSchema: SmpSchema = { fields: { metadata: metadataSchema } }

export const podSmpSchema: SmpSchema = {
  fields: {
    metadata: metadataSchema,
    spec: {
      lists: {
        containers: { mergeKey: "name", item: containerSchema },
        initContainers: { mergeKey: "name", item: containerSchema },
        ephemeralContainers: { mergeKey: "name", item: containerSchema },
        volumes: { mergeKey: "name" },
        imagePullSecrets: { mergeKey: "name" }
      }
    },
    status: { lists: { conditions: { mergeKey: "type" } } }
  }
}

const deleteMarker = Symbol("delete")
const deleteFromPrimitiveList = "$deleteFromPrimitiveList/"
const setElementOrder = "$setElementOrder/"

/** A patch fragment as it should land in the object: directives removed. */
const stripDirectives = (v: Json): Json => {
  if (Array.isArray(v)) return v.filter((x) => !(isObject(x) && x.$patch === "delete")).map(stripDirectives)
  if (!isObject(v)) return v
  const out: JsonObject = {}
  for (const [k, x] of Object.entries(v)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith(deleteFromPrimitiveList) || k.startsWith(setElementOrder)) {
      continue
    }
    if (x !== null) out[k] = stripDirectives(x)
  }
  return out
}

const mergeList = (target: Json | undefined, patch: Array<Json>, strategy: ListStrategy): Json => {
  const current = Array.isArray(target) ? clone(target) : []
  if (patch.some((x) => isObject(x) && x.$patch === "replace")) {
    return stripDirectives(patch.filter((x) => !(isObject(x) && x.$patch === "replace")))
  }
  if (strategy.set === true) {
    for (const v of patch) if (!current.some((c) => deepEqual(c, v))) current.push(clone(v))
    return current
  }
  const key = strategy.mergeKey
  if (key === undefined) return stripDirectives(patch)
  let result = current
  for (const item of patch) {
    if (!isObject(item) || !Object.hasOwn(item, key)) {
      throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`)
    }
    const index = result.findIndex((c) => isObject(c) && deepEqual(c[key], item[key]))
    if (item.$patch === "delete") {
      result = result.filter((c) => !(isObject(c) && deepEqual(c[key], item[key])))
    } else if (index >= 0) {
      result[index] = smp(result[index], item, strategy.item ?? {}) as Json
    } else {
      result.push(stripDirectives(item))
    }
  }
  return result
}

const smp = (target: Json | undefined, patch: Json, schema: SmpSchema): Json | typeof deleteMarker => {
  if (!isObject(patch)) return clone(patch)
  if (patch.$patch === "delete") return deleteMarker
  if (patch.$patch === "replace") return stripDirectives(patch)
  const result: JsonObject = isObject(target) ? clone(target) : {}
  const retain = patch.$retainKeys
  if (Array.isArray(retain)) {
    for (const k of Object.keys(result)) if (!retain.includes(k)) delete result[k]
  }
  // Directives first, then the fields they refer to may be merged by the rest of the patch.
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith(deleteFromPrimitiveList)) {
      const field = k.slice(deleteFromPrimitiveList.length)
      if (!Array.isArray(v)) throw badRequest(`${k}: must be a list`)
      const list = result[field]
      if (Array.isArray(list)) result[field] = list.filter((x) => !v.some((d) => deepEqual(d, x)))
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith(deleteFromPrimitiveList) || k.startsWith(setElementOrder)) {
      continue
    }
    if (v === null) {
      delete result[k]
      continue
    }
    const list = schema.lists?.[k]
    if (list !== undefined && Array.isArray(v)) {
      result[k] = mergeList(result[k], v, list)
      continue
    }
    const merged = smp(result[k], v, schema.fields?.[k] ?? {})
    if (merged === deleteMarker) delete result[k]
    else result[k] = isObject(v) ? merged : stripDirectives(merged)
  }
  return result
}

export const strategicMergePatch = (target: unknown, patch: unknown, schema: SmpSchema = podSmpSchema): unknown => {
  const result = smp(clone(target) as Json, patch as Json, schema)
  return result === deleteMarker ? {} : result
}

// ---------------------------------------------------------------------------------------------
// RFC 6902 JSON patch

const unprocessable = (message: string) => new StatusError(422, "Invalid", message)

const parsePointer = (pointer: unknown): Array<string> => {
  if (typeof pointer !== "string") throw badRequest(`json patch: path must be a string, got ${JSON.stringify(pointer)}`)
  if (pointer === "") return []
  if (!pointer.startsWith("/")) throw unprocessable(`JSON Pointer must start with '/': ${pointer}`)
  return pointer.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
}

const arrayIndex = (token: string, length: number, forAdd: boolean): number => {
  if (forAdd && token === "-") return length
  if (!/^(0|[1-9]\d*)$/.test(token)) throw unprocessable(`invalid array index: ${token}`)
  const i = Number(token)
  if (i > length || (!forAdd && i === length)) throw unprocessable(`array index out of bounds: ${token}`)
  return i
}

interface Located {
  readonly parent: JsonObject | Array<Json>
  readonly token: string
}

const locate = (doc: Json, path: Array<string>, op: string): Located => {
  let node: Json = doc
  for (const token of path.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length, false)]
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token]
    else throw unprocessable(`${op} operation does not apply: doc is missing path: "/${path.join("/")}": missing value`)
  }
  if (!Array.isArray(node) && !isObject(node)) {
    throw unprocessable(`${op} operation does not apply: doc is missing path: "/${path.join("/")}": missing value`)
  }
  return { parent: node, token: path[path.length - 1] }
}

const getAt = (doc: Json, path: Array<string>, op: string): Json => {
  if (path.length === 0) return doc
  const { parent, token } = locate(doc, path, op)
  if (Array.isArray(parent)) return parent[arrayIndex(token, parent.length, false)]
  if (!Object.hasOwn(parent, token)) {
    throw unprocessable(`${op} operation does not apply: doc is missing key: /${path.join("/")}: missing value`)
  }
  return parent[token]
}

const removeAt = (doc: Json, path: Array<string>, op: string): Json => {
  if (path.length === 0) throw unprocessable(`${op} operation does not apply: cannot remove the document root`)
  const { parent, token } = locate(doc, path, op)
  if (Array.isArray(parent)) {
    const i = arrayIndex(token, parent.length, false)
    return parent.splice(i, 1)[0]
  }
  if (!Object.hasOwn(parent, token)) {
    throw unprocessable(`${op} operation does not apply: doc is missing key: /${path.join("/")}: missing value`)
  }
  const old = parent[token]
  delete parent[token]
  return old
}

const addAt = (doc: Json, path: Array<string>, value: Json, op: string): Json => {
  if (path.length === 0) return value
  const { parent, token } = locate(doc, path, op)
  if (Array.isArray(parent)) parent.splice(arrayIndex(token, parent.length, true), 0, value)
  else parent[token] = value
  return doc
}

export const jsonPatch = (target: unknown, operations: unknown): unknown => {
  if (!Array.isArray(operations)) {
    throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
  }
  let doc = clone(target) as Json
  for (const raw of operations) {
    if (!isObject(raw)) throw badRequest("json: cannot unmarshal into Go value of type jsonpatch.Operation")
    const op = raw.op
    const path = parsePointer(raw.path)
    switch (op) {
      case "add":
        if (!Object.hasOwn(raw, "value")) throw unprocessable("add operation does not apply: missing value")
        doc = addAt(doc, path, clone(raw.value), "add")
        break
      case "remove":
        removeAt(doc, path, "remove")
        break
      case "replace":
        if (!Object.hasOwn(raw, "value")) throw unprocessable("replace operation does not apply: missing value")
        if (path.length === 0) {
          doc = clone(raw.value)
        } else {
          removeAt(doc, path, "replace")
          doc = addAt(doc, path, clone(raw.value), "replace")
        }
        break
      case "move": {
        const from = parsePointer(raw.from)
        if (from.length < path.length && from.every((t, i) => t === path[i])) {
          throw unprocessable("move operation does not apply: cannot move a value into one of its children")
        }
        const value = removeAt(doc, from, "move")
        doc = addAt(doc, path, value, "move")
        break
      }
      case "copy": {
        const value = clone(getAt(doc, parsePointer(raw.from), "copy"))
        doc = addAt(doc, path, value, "copy")
        break
      }
      case "test": {
        let actual: Json | undefined
        try {
          actual = getAt(doc, path, "test")
        } catch {
          actual = undefined
        }
        if (!deepEqual(actual, raw.value)) {
          throw unprocessable(`testing value /${path.join("/")} failed: test failed`)
        }
        break
      }
      default:
        throw unprocessable(`Unexpected kind: ${String(op)}`)
    }
  }
  return doc
}

/** Applies a patch body (already parsed JSON) of the given type. */
export const applyPatch = (type: PatchType, target: unknown, body: unknown, schema?: SmpSchema): unknown => {
  switch (type) {
    case "json":
      return jsonPatch(target, body)
    case "merge":
      if (!isObject(body)) throw badRequest("json: cannot unmarshal array into Go value of type map[string]interface {}")
      return mergePatch(target, body)
    case "strategic":
      if (!isObject(body)) throw badRequest("json: cannot unmarshal array into Go value of type map[string]interface {}")
      return strategicMergePatch(target, body, schema)
  }
}
