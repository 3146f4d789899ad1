// The REST verbs over the store with the API server's semantics: resourceVersion and uid
// preconditions (409), finalizers (a delete only marks the object; removing the last finalizer of a
// deleting object completes the deletion), status as a subresource, no-op writes that do not bump
// the resourceVersion, continue tokens, and Table output for kubectl.

import { randomBytes, randomUUID } from "node:crypto"
import { parseFieldSelector, parseLabelSelector, matchesFields, matchesLabels } from "./selectors.ts"
import type { FieldSelector, LabelSelector } from "./selectors.ts"
import { applyPatch, deepEqual, patchContentTypes } from "./patch.ts"
import { apiVersionOf } from "./resources.ts"
import type { ResourceDef } from "./resources.ts"
import { admitPod, nowIso } from "./pods.ts"
import type { PodJson } from "./pods.ts"
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  invalid,
  notFound,
  staleResourceVersion,
  StatusError
} from "./status.ts"
import type { Store, KubeObject } from "./store.ts"
import { copy } from "./store.ts"
import { toTable } from "./table.ts"
import type { IncludeObject } from "./table.ts"

/** What the rest of the cluster (the kubelet, in the simulator the process model) learns about. */
export interface RestHooks {
  /** An object was created (pods: start their processes). */
  created(def: ResourceDef, obj: KubeObject): void
  /** Graceful deletion began on an object that stays because of finalizers (pods: stop containers). */
  deletionStarted(def: ResourceDef, obj: KubeObject, graceSeconds: number): void
  /** The object is gone from the store. */
  removed(def: ResourceDef, obj: KubeObject): void
}

export interface RestContext {
  readonly store: Store
  readonly hooks: RestHooks
  /**
   * Continue tokens carry the epoch they were issued in; bumping it expires every outstanding
   * token (410), as compaction does on a real server (`SimCluster.expireContinueTokens`).
   */
  readonly continueTokens?: { epoch: number }
}

export interface Selection {
  readonly namespace: string | undefined
  readonly labels: LabelSelector
  readonly fields: FieldSelector
}

export const parseSelection = (def: ResourceDef, namespace: string | undefined, query: URLSearchParams): Selection => ({
  namespace,
  labels: parseLabelSelector(query.get("labelSelector") ?? ""),
  fields: parseFieldSelector(query.get("fieldSelector") ?? "", def.fieldSelectors)
})

export const selects = (def: ResourceDef, selection: Selection, obj: KubeObject): boolean =>
  (selection.namespace === undefined || obj.metadata.namespace === selection.namespace) &&
  matchesLabels(selection.labels, obj.metadata.labels) &&
  matchesFields(selection.fields, (f) => def.fieldValue(obj, f))

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** An object as GET returns it (kind and apiVersion always set). */
const typed = (def: ResourceDef, obj: KubeObject): KubeObject => ({ ...obj, apiVersion: apiVersionOf(def), kind: def.kind })

// ---------------------------------------------------------------------------------------------
// list / get

interface ContinueToken {
  readonly rv: number
  readonly start: string
  /** The `continueTokens.epoch` it was issued in (absent: 0). */
  readonly epoch: number
}

const encodeContinue = (token: ContinueToken): string => Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", ...token })).toString("base64")

const decodeContinue = (raw: string): ContinueToken => {
  try {
    const parsed = JSON.parse(Buffer.from(raw, "base64").toString("utf8")) as Record<string, unknown>
    if (typeof parsed["rv"] === "number" && typeof parsed["start"] === "string") {
      return { rv: parsed["rv"], start: parsed["start"], epoch: typeof parsed["epoch"] === "number" ? parsed["epoch"] : 0 }
    }
  } catch {
    // fall through
  }
  throw badRequest(`continue key is not valid: illegal base64 data`)
}

const keyOf = (obj: KubeObject) => `${obj.metadata.namespace ?? ""}/${obj.metadata.name}`

/**
 * Sorted list snapshots, per store, keyed by resource, namespace and revision. A snapshot at a
 * revision never changes (writes make new revisions, and the store replaces objects instead of
 * mutating them), so an entry stays valid; only the few most recent are kept.
 */
const snapshots = new WeakMap<Store, Map<string, Array<KubeObject>>>()
const snapshotsKept = 8

const snapshotAt = (store: Store, resource: string, namespace: string | undefined, at: number): Array<KubeObject> => {
  let cache = snapshots.get(store)
  if (cache === undefined) snapshots.set(store, cache = new Map())
  const key = `${resource} ${namespace ?? ""} ${at}`
  let snapshot = cache.get(key)
  if (snapshot === undefined) {
    snapshot = store.listAt(resource, namespace, at)
    cache.set(key, snapshot)
    while (cache.size > snapshotsKept) cache.delete(cache.keys().next().value!)
  } else {
    // Most recently used last.
    cache.delete(key)
    cache.set(key, snapshot)
  }
  return snapshot
}

/** The index of the first object whose key sorts after `start` (the snapshot is sorted by key). */
const firstAfter = (snapshot: ReadonlyArray<KubeObject>, start: string): number => {
  let lo = 0
  let hi = snapshot.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keyOf(snapshot[mid]!) <= start) lo = mid + 1
    else hi = mid
  }
  return lo
}

export const list = (
  ctx: RestContext,
  def: ResourceDef,
  namespace: string | undefined,
  query: URLSearchParams,
  table: IncludeObject | undefined
): unknown => {
  const selection = parseSelection(def, namespace, query)
  // Every page of a paginated list is served from the snapshot of its first page (the revision
  // carried in the continue token), as a real API server does; the list's resourceVersion is that
  // revision, so a watch started from it misses nothing that changed while paging.
  const rawContinue = query.get("continue")
  let at = ctx.store.resourceVersion
  let start: string | undefined
  if (rawContinue !== null && rawContinue !== "") {
    const token = decodeContinue(rawContinue)
    if (token.rv < ctx.store.oldestWatchable(def.plural) || token.epoch !== (ctx.continueTokens?.epoch ?? 0)) {
      throw expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
    }
    at = token.rv
    start = token.start
  }
  // The sorted snapshot is built once per (resource, namespace, revision) and shared by every page
  // of the list: a page then costs a binary search plus its own items, not a rebuild and a sort.
  const snapshot = snapshotAt(ctx.store, def.plural, namespace, at)
  const limitParam = Number(query.get("limit") ?? "0")
  const limit = Number.isInteger(limitParam) && limitParam > 0 ? limitParam : Infinity
  let i = start === undefined ? 0 : firstAfter(snapshot, start)
  const items: Array<KubeObject> = []
  for (; i < snapshot.length && items.length < limit; i++) {
    if (selects(def, selection, snapshot[i]!)) items.push(snapshot[i]!)
  }
  const meta: Record<string, unknown> = { resourceVersion: String(at) }
  let more = false
  for (let j = i; j < snapshot.length && !more; j++) more = selects(def, selection, snapshot[j]!)
  if (more) {
    meta["continue"] = encodeContinue({ rv: at, start: keyOf(items[items.length - 1]!), epoch: ctx.continueTokens?.epoch ?? 0 })
    // As on a real server, the count is only given for a list without selectors (else it would need a scan).
    if (selection.labels.length === 0 && selection.fields.length === 0) meta["remainingItemCount"] = snapshot.length - i
  }
  // The page is only serialized: its items are the stored objects, not copies (Store.peek).
  if (table !== undefined) return toTable(def, items.map((o) => typed(def, o)), meta, table)
  return {
    kind: `${def.kind}List`,
    apiVersion: apiVersionOf(def),
    metadata: meta,
    items: items.map((o) => {
      if (!def.builtin) return typed(def, o)
      const { apiVersion: _a, kind: _k, ...rest } = o
      return rest
    })
  }
}

export const get = (
  ctx: RestContext,
  def: ResourceDef,
  namespace: string,
  name: string,
  table: IncludeObject | undefined
): unknown => {
  // Only serialized: the stored object itself (Store.peek).
  const obj = ctx.store.peek(def.plural, namespace, name)
  if (obj === undefined) throw notFound(def, name)
  if (table !== undefined) return toTable(def, [typed(def, obj)], { resourceVersion: obj.metadata.resourceVersion }, table)
  return typed(def, obj)
}

// ---------------------------------------------------------------------------------------------
// create

const checkBodyType = (def: ResourceDef, body: unknown): KubeObject => {
  if (!isObject(body)) throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: expected an object`)
  if (body["kind"] !== undefined && body["kind"] !== def.kind) {
    throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: unexpected kind ${String(body["kind"])}`)
  }
  if (body["apiVersion"] !== undefined && body["apiVersion"] !== apiVersionOf(def)) {
    throw badRequest(`the API version in the data (${String(body["apiVersion"])}) does not match the expected API version (${apiVersionOf(def)})`)
  }
  if (body["metadata"] !== undefined && !isObject(body["metadata"])) {
    throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: metadata: expected an object`)
  }
  return { ...body, apiVersion: apiVersionOf(def), kind: def.kind, metadata: { ...(body["metadata"] as object) } } as KubeObject
}

const randomSuffix = (): string => {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789"
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join("")
}

export const create = (ctx: RestContext, def: ResourceDef, namespace: string, body: unknown): KubeObject => {
  const obj = checkBodyType(def, body)
  if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== namespace) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request")
  }
  let name = obj.metadata.name
  if ((name === undefined || name === "") && typeof obj.metadata.generateName === "string") {
    name = `${obj.metadata.generateName}${randomSuffix()}`
  }
  if (typeof name !== "string" || name === "") {
    throw invalid(def.kind, "", "metadata.name", "Required value: name or generateName is required")
  }
  if (ctx.store.get(def.plural, namespace, name) !== undefined) throw alreadyExists(def, name)
  let fresh: KubeObject = {
    ...obj,
    metadata: {
      ...obj.metadata,
      name,
      namespace,
      uid: randomUUID(),
      creationTimestamp: nowIso(),
      generation: 1
    }
  }
  delete fresh.metadata.resourceVersion
  delete fresh.metadata.deletionTimestamp
  delete fresh.metadata.deletionGracePeriodSeconds
  def.validate(fresh)
  if (def.plural === "pods") fresh = admitPod(fresh as PodJson)
  const stored = ctx.store.create(def.plural, fresh)
  ctx.hooks.created(def, stored)
  return typed(def, stored)
}

// ---------------------------------------------------------------------------------------------
// update / patch

const podMutableSpec = (spec: unknown): unknown => {
  if (!isObject(spec)) return spec
  const out = copy(spec)
  for (const key of ["containers", "initContainers"]) {
    const list = out[key]
    if (Array.isArray(list)) for (const c of list) if (isObject(c)) delete c["image"]
  }
  delete out["activeDeadlineSeconds"]
  delete out["tolerations"]
  delete out["terminationGracePeriodSeconds"]
  return out
}

/** `a` and `b` are the same object but maybe for `metadata.resourceVersion` (compared without copying either). */
const sameButResourceVersion = (a: KubeObject, b: KubeObject): boolean => {
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) {
    if (!Object.hasOwn(b, key)) return false
    if (key !== "metadata") {
      if (!deepEqual(a[key], b[key])) return false
      continue
    }
    const ma = a.metadata as Record<string, unknown>
    const mb = b.metadata as Record<string, unknown>
    const metaKeys = Object.keys(ma).filter((k) => k !== "resourceVersion")
    if (metaKeys.length !== Object.keys(mb).filter((k) => k !== "resourceVersion").length) return false
    if (!metaKeys.every((k) => Object.hasOwn(mb, k) && deepEqual(ma[k], mb[k]))) return false
  }
  return true
}

export interface CommitOptions {
  /** A server-side writer (kubelet, controller in a test): skips client-facing rules. */
  readonly trusted?: boolean
  readonly subresource?: "status"
}

/**
 * Writes `next` over `previous` with the API server's update rules, and completes a deletion
 * when the last finalizer of a deleting object goes. Returns what an update call returns.
 */
export const commit = (
  ctx: RestContext,
  def: ResourceDef,
  previous: KubeObject,
  proposed: KubeObject,
  options: CommitOptions = {}
): KubeObject => {
  let next = copy(proposed)
  next.apiVersion = apiVersionOf(def)
  next.kind = def.kind
  if (!options.trusted) {
    const name = previous.metadata.name
    if (!isObject(next.metadata)) throw badRequest("metadata: expected an object")
    if (next.metadata.name !== undefined && next.metadata.name !== name) {
      throw badRequest(`the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${name})`)
    }
    if (next.metadata.namespace !== undefined && next.metadata.namespace !== previous.metadata.namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request")
    }
    if (next.metadata.uid !== undefined && next.metadata.uid !== "" && next.metadata.uid !== previous.metadata.uid) {
      throw conflict(def, name, `Precondition failed: UID in precondition: ${String(next.metadata.uid)}, UID in object meta: ${previous.metadata.uid}`)
    }
    const rv = next.metadata.resourceVersion
    if (rv !== undefined && rv !== "" && rv !== previous.metadata.resourceVersion) throw staleResourceVersion(def, name)
    if (options.subresource === "status") {
      next = { ...copy(previous), status: next["status"] }
    } else if (def.statusSubresource) {
      next["status"] = copy(previous["status"])
    }
    next.metadata = {
      ...next.metadata,
      name,
      namespace: previous.metadata.namespace,
      uid: previous.metadata.uid,
      creationTimestamp: previous.metadata.creationTimestamp,
      generation: previous.metadata.generation,
      ...(previous.metadata.deletionTimestamp === undefined
        ? {}
        : {
          deletionTimestamp: previous.metadata.deletionTimestamp,
          deletionGracePeriodSeconds: previous.metadata.deletionGracePeriodSeconds
        })
    }
    for (const [k, v] of Object.entries(next.metadata)) if (v === undefined) delete next.metadata[k]
    if (previous.metadata.deletionTimestamp === undefined) {
      delete next.metadata.deletionTimestamp
      delete next.metadata.deletionGracePeriodSeconds
    }
    if (next.metadata.deletionTimestamp !== undefined) {
      const before = new Set(previous.metadata.finalizers ?? [])
      if ((next.metadata.finalizers ?? []).some((f) => !before.has(f))) {
        throw invalid(def.kind, name, "metadata.finalizers", "Forbidden: no new finalizers can be added if the object is being deleted")
      }
    }
    if (def.plural === "pods" && options.subresource !== "status" && !deepEqual(podMutableSpec(previous["spec"]), podMutableSpec(next["spec"]))) {
      throw invalid(
        "Pod",
        name,
        "spec",
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
      )
    }
    def.validate(next)
  }
  if (next.metadata.finalizers !== undefined && next.metadata.finalizers.length === 0) delete next.metadata.finalizers
  next.metadata.resourceVersion = previous.metadata.resourceVersion
  if (sameButResourceVersion(next, previous)) return typed(def, previous)
  if (!deepEqual(next["spec"], previous["spec"]) && next.metadata.generation !== undefined) {
    next.metadata.generation = (previous.metadata.generation ?? 1) + 1
  }
  const lastFinalizerGone = (previous.metadata.finalizers ?? []).length > 0 && (next.metadata.finalizers ?? []).length === 0
  if (next.metadata.deletionTimestamp !== undefined && lastFinalizerGone) {
    const gone = ctx.store.delete(def.plural, next.metadata.namespace, next.metadata.name, next)
    if (gone !== undefined) ctx.hooks.removed(def, gone)
    return typed(def, gone ?? next)
  }
  // `next` was built here from copies (it shares nothing with the caller's object or the store's).
  return typed(def, ctx.store.update(def.plural, next, { owned: true }))
}

const current = (ctx: RestContext, def: ResourceDef, namespace: string, name: string): KubeObject => {
  const obj = ctx.store.get(def.plural, namespace, name)
  if (obj === undefined) throw notFound(def, name)
  return obj
}

export const update = (
  ctx: RestContext,
  def: ResourceDef,
  namespace: string,
  name: string,
  body: unknown,
  subresource?: "status"
): KubeObject => {
  const previous = current(ctx, def, namespace, name)
  const obj = checkBodyType(def, body)
  if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
    throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`)
  }
  return commit(ctx, def, previous, { ...obj, metadata: { ...obj.metadata, name } }, { subresource })
}

const acceptedPatchTypes = (def: ResourceDef): string =>
  [
    "application/json-patch+json",
    "application/merge-patch+json",
    ...(def.smpSchema === undefined ? [] : ["application/strategic-merge-patch+json"]),
    "application/apply-patch+yaml"
  ].join(", ")

export const patch = (
  ctx: RestContext,
  def: ResourceDef,
  namespace: string,
  name: string,
  contentType: string,
  body: unknown,
  subresource?: "status"
): KubeObject => {
  const type = patchContentTypes[contentType]
  if (type === undefined || (type === "strategic" && def.smpSchema === undefined)) {
    throw new StatusError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: ${acceptedPatchTypes(def)}`
    )
  }
  const previous = current(ctx, def, namespace, name)
  const patched = applyPatch(type, typed(def, previous), body, def.smpSchema)
  if (!isObject(patched) || !isObject(patched["metadata"])) throw badRequest("the patch removed the object's metadata")
  const next = patched as KubeObject
  if (next.metadata.name !== name) {
    throw invalid(def.kind, name, "metadata.name", `Invalid value: "${String(next.metadata.name)}": field is immutable`)
  }
  if (next.metadata.resourceVersion === null) delete next.metadata.resourceVersion
  return commit(ctx, def, previous, next, { subresource })
}

// ---------------------------------------------------------------------------------------------
// delete

export interface DeleteOptions {
  readonly gracePeriodSeconds?: number
  readonly propagationPolicy?: string
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string }
}

export const parseDeleteOptions = (query: URLSearchParams, body: unknown): DeleteOptions => {
  if (body !== undefined && !isObject(body)) throw badRequest("DeleteOptions: expected an object")
  const b = (body ?? {}) as Record<string, unknown>
  const rawGrace = b["gracePeriodSeconds"] ?? query.get("gracePeriodSeconds") ?? undefined
  const grace = rawGrace === undefined || rawGrace === null || rawGrace === "" ? undefined : Number(rawGrace)
  if (grace !== undefined && !Number.isInteger(grace)) throw badRequest(`gracePeriodSeconds: invalid value ${String(rawGrace)}`)
  const policy = (b["propagationPolicy"] ?? query.get("propagationPolicy") ?? undefined) as string | undefined
  if (policy !== undefined && policy !== null && !["Orphan", "Background", "Foreground"].includes(policy)) {
    throw invalid("DeleteOptions", "", "propagationPolicy", `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`)
  }
  const pre = b["preconditions"]
  return {
    gracePeriodSeconds: grace,
    propagationPolicy: policy ?? undefined,
    preconditions: isObject(pre)
      ? {
        uid: typeof pre["uid"] === "string" ? pre["uid"] : undefined,
        resourceVersion: typeof pre["resourceVersion"] === "string" ? pre["resourceVersion"] : undefined
      }
      : undefined
  }
}

const successStatus = (def: ResourceDef, obj: KubeObject) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Success",
  details: { name: obj.metadata.name, ...(def.group === "" ? {} : { group: def.group }), kind: def.plural, uid: obj.metadata.uid }
})

/**
 * Deletes an object. With finalizers it is only marked (deletionTimestamp, MODIFIED) and stays;
 * otherwise it is removed (DELETED). Pods return the object, other resources a Success Status.
 */
export const remove = (
  ctx: RestContext,
  def: ResourceDef,
  namespace: string,
  name: string,
  options: DeleteOptions
): unknown => {
  const obj = current(ctx, def, namespace, name)
  const pre = options.preconditions
  if (pre?.uid !== undefined && pre.uid !== obj.metadata.uid) {
    throw conflict(def, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`)
  }
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== obj.metadata.resourceVersion) {
    throw conflict(
      def,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`
    )
  }
  const podGrace = def.plural === "pods"
    ? options.gracePeriodSeconds ?? ((obj["spec"] as PodJson["spec"] | undefined)?.terminationGracePeriodSeconds ?? 30)
    : 0
  const grace = Math.max(0, podGrace)
  if ((obj.metadata.finalizers ?? []).length > 0) {
    const already = obj.metadata.deletionTimestamp !== undefined
    if (already && (obj.metadata.deletionGracePeriodSeconds ?? 0) <= grace) {
      return def.plural === "pods" ? typed(def, obj) : successStatus(def, obj)
    }
    const marked = copy(obj)
    marked.metadata.deletionTimestamp = nowIso(Date.now() + grace * 1000)
    marked.metadata.deletionGracePeriodSeconds = grace
    const stored = ctx.store.update(def.plural, marked)
    ctx.hooks.deletionStarted(def, stored, grace)
    return def.plural === "pods" ? typed(def, stored) : successStatus(def, stored)
  }
  const last = copy(obj)
  if (def.plural === "pods") {
    last.metadata.deletionTimestamp ??= nowIso(Date.now() + grace * 1000)
    last.metadata.deletionGracePeriodSeconds ??= grace
  }
  const gone = ctx.store.delete(def.plural, namespace, name, last)!
  ctx.hooks.removed(def, gone)
  return def.plural === "pods" ? typed(def, gone) : successStatus(def, gone)
}

export const removeCollection = (
  ctx: RestContext,
  def: ResourceDef,
  namespace: string | undefined,
  query: URLSearchParams,
  options: DeleteOptions
): unknown => {
  const selection = parseSelection(def, namespace, query)
  const removed: Array<unknown> = []
  for (const obj of ctx.store.list(def.plural, namespace)) {
    if (!selects(def, selection, obj)) continue
    removed.push(remove(ctx, def, obj.metadata.namespace ?? "", obj.metadata.name, { ...options, preconditions: undefined }))
  }
  return {
    kind: `${def.kind}List`,
    apiVersion: apiVersionOf(def),
    metadata: { resourceVersion: String(ctx.store.resourceVersion) },
    items: def.plural === "pods" ? removed : []
  }
}
