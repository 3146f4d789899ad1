// The object store: one global, strictly increasing resourceVersion (like etcd's revision), a
// bounded per-resource event history and synchronous watchers. Every write emits exactly one
// event; a watch from a resourceVersion older than the retained history fails with 410 Expired.
// Objects inside the store are never handed out: reads and events are deep copies.

import { expired } from "./status.ts"

export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  deletionGracePeriodSeconds?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  finalizers?: Array<string>
  ownerReferences?: Array<unknown>
  generateName?: string
  [key: string]: unknown
}

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  [key: string]: unknown
}

export type StoreEventType = "ADDED" | "MODIFIED" | "DELETED"

export interface StoreEvent {
  readonly type: StoreEventType
  readonly object: KubeObject
  /** The object before a MODIFIED event (lets a filtered watch turn it into ADDED / DELETED). */
  readonly previous: KubeObject | undefined
  readonly resourceVersion: number
}

export type StoreListener = (event: StoreEvent) => void

interface Bucket {
  readonly objects: Map<string, KubeObject>
  readonly history: Array<StoreEvent>
  /** resourceVersion of the newest event dropped from `history` (0: nothing dropped yet). */
  compactedAt: number
  readonly listeners: Set<StoreListener>
}

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ""}/${name}`

export const copy = <A>(value: A): A => structuredClone(value)

const deepFreeze = <A>(value: A): A => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

export class Store {
  readonly historyLimit: number
  readonly #freeze: boolean
  #revision = 0
  readonly #buckets = new Map<string, Bucket>()

  /** `freeze`: deep-freeze what is stored, so that a change in place throws (SimClusterOptions.freezeObjects). */
  constructor(options: { readonly historyLimit?: number; readonly freeze?: boolean } = {}) {
    this.historyLimit = Math.max(1, options.historyLimit ?? 1000)
    this.#freeze = options.freeze === true
  }

  /** The newest resourceVersion handed out, across all resources. */
  get resourceVersion(): number {
    return this.#revision
  }

  #bucket(resource: string): Bucket {
    let bucket = this.#buckets.get(resource)
    if (bucket === undefined) {
      bucket = { objects: new Map(), history: [], compactedAt: 0, listeners: new Set() }
      this.#buckets.set(resource, bucket)
    }
    return bucket
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.#bucket(resource).objects.get(keyOf(namespace, name))
    return found === undefined ? undefined : copy(found)
  }

  /**
   * The stored object itself, NOT copied: for readers that only read (an API server's watch cache
   * hands out its objects the same way). Stored objects are never changed in place (every write
   * stores a new object), so what `peek` returns stays as it was; never change it.
   */
  peek(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#bucket(resource).objects.get(keyOf(namespace, name))
  }

  /** Objects sorted by namespace then name (the order the API server lists them in). */
  list(resource: string, namespace?: string): Array<KubeObject> {
    return this.listAt(resource, namespace).map((o) => copy(o))
  }

  /**
   * The objects as they were at resourceVersion `at` (now when omitted), sorted by key, NOT copied:
   * copy what you hand out. Rebuilt from the retained history, as etcd serves a list at a past
   * revision; `at` must not be older than the compacted history (callers answer 410 then).
   */
  listAt(resource: string, namespace?: string, at?: number): Array<KubeObject> {
    const bucket = this.#bucket(resource)
    let objects: Map<string, KubeObject> = bucket.objects
    if (at !== undefined && at < this.#revision) {
      objects = new Map(bucket.objects)
      for (let i = bucket.history.length - 1; i >= 0; i--) {
        const event = bucket.history[i]!
        if (event.resourceVersion <= at) break
        const key = keyOf(event.object.metadata.namespace, event.object.metadata.name)
        if (event.type === "ADDED") objects.delete(key)
        else if (event.previous !== undefined) objects.set(key, event.previous)
        else if (event.type === "DELETED") objects.set(key, event.object)
      }
    }
    const out: Array<KubeObject> = []
    for (const obj of objects.values()) {
      if (namespace === undefined || obj.metadata.namespace === namespace) out.push(obj)
    }
    return out.sort((a, b) =>
      keyOf(a.metadata.namespace, a.metadata.name) < keyOf(b.metadata.namespace, b.metadata.name) ? -1 : 1
    )
  }

  create(resource: string, object: KubeObject): KubeObject {
    const bucket = this.#bucket(resource)
    const stored = copy(object)
    stored.metadata.resourceVersion = String(++this.#revision)
    bucket.objects.set(keyOf(stored.metadata.namespace, stored.metadata.name), stored)
    if (this.#freeze) deepFreeze(stored)
    this.#emit(bucket, "ADDED", stored, undefined)
    return copy(stored)
  }

  /**
   * Replaces an existing object (the caller has done all precondition checks). `owned`: the caller
   * hands `object` over and keeps no reference to it, so it is stored as is.
   */
  update(resource: string, object: KubeObject, options: { readonly owned?: boolean } = {}): KubeObject {
    const bucket = this.#bucket(resource)
    const key = keyOf(object.metadata.namespace, object.metadata.name)
    const previous = bucket.objects.get(key)
    if (previous === undefined) throw new Error(`store: update of missing ${resource} ${key}`)
    const stored = options.owned === true ? object : copy(object)
    stored.metadata.resourceVersion = String(++this.#revision)
    bucket.objects.set(key, stored)
    if (this.#freeze) deepFreeze(stored)
    this.#emit(bucket, "MODIFIED", stored, previous)
    return copy(stored)
  }

  /** Removes an object; the DELETED event carries its last state with a new resourceVersion. */
  delete(resource: string, namespace: string | undefined, name: string, last?: KubeObject): KubeObject | undefined {
    const bucket = this.#bucket(resource)
    const key = keyOf(namespace, name)
    const existing = bucket.objects.get(key)
    if (existing === undefined) return undefined
    bucket.objects.delete(key)
    const stored = copy(last ?? existing)
    stored.metadata.resourceVersion = String(++this.#revision)
    if (this.#freeze) deepFreeze(stored)
    this.#emit(bucket, "DELETED", stored, existing)
    return copy(stored)
  }

  // Events carry the stored objects themselves: they are never changed in place (see `peek`), and
  // listeners only read them.
  #emit(bucket: Bucket, type: StoreEventType, object: KubeObject, previous: KubeObject | undefined) {
    const event: StoreEvent = { type, object, previous, resourceVersion: this.#revision }
    bucket.history.push(event)
    while (bucket.history.length > this.historyLimit) {
      bucket.compactedAt = bucket.history.shift()!.resourceVersion
    }
    for (const listener of [...bucket.listeners]) listener(event)
  }

  /**
   * Subscribes to the events of a resource after `fromResourceVersion` (replayed from history,
   * synchronously, before any live event) or, with `undefined`, from now on.
   * Throws a 410 Expired `StatusError` when that history has been compacted away.
   */
  watch(resource: string, fromResourceVersion: number | undefined, listener: StoreListener): () => void {
    const bucket = this.#bucket(resource)
    if (fromResourceVersion !== undefined) {
      if (fromResourceVersion < bucket.compactedAt) {
        throw expired(`too old resource version: ${fromResourceVersion} (${bucket.compactedAt})`)
      }
      for (const event of bucket.history) {
        if (event.resourceVersion > fromResourceVersion) listener(event)
      }
    }
    bucket.listeners.add(listener)
    return () => {
      bucket.listeners.delete(listener)
    }
  }

  /** The oldest resourceVersion a watch of this resource can still start from. */
  oldestWatchable(resource: string): number {
    return this.#bucket(resource).compactedAt
  }
}
