// A watch stream as the API server serves it: headers flushed at once, one JSON event per line
// (ADDED / MODIFIED / DELETED / BOOKMARK / ERROR), nothing at all while nothing happens.
// resourceVersion "" or "0" starts with synthetic ADDED events for what exists; an older
// resourceVersion replays history, or yields one ERROR 410 event and ends when it was compacted.
// Selectors are applied per event, so an object that stops matching is seen as DELETED.
// Faults (faults.ts) act on open sessions: silent, drop, end, gone, bookmarkOnly (a wedged watch
// cache: bookmarks at the current resourceVersion, no events) and raw (one line written as is).

import type { IncomingMessage, ServerResponse } from "node:http"
import type { AppliedWatchFault } from "./faults.ts"
import { apiVersionOf } from "./resources.ts"
import type { ResourceDef } from "./resources.ts"
import { selects } from "./rest.ts"
import type { Selection } from "./rest.ts"
import { badRequest, StatusError } from "./status.ts"
import type { Store, StoreEvent, KubeObject } from "./store.ts"

export interface WatchParams {
  readonly def: ResourceDef
  readonly selection: Selection
  readonly resourceVersion: string | undefined
  readonly allowBookmarks: boolean
  readonly timeoutSeconds: number | undefined
  readonly bookmarkIntervalMs: number
  /** A fault to apply as soon as the headers are out (`faults.watch(..., { next })`). */
  readonly pendingFault: AppliedWatchFault | undefined
}

export class WatchSession {
  readonly resource: string
  readonly namespace: string | undefined
  readonly #res: ServerResponse
  readonly #def: ResourceDef
  readonly #store: Store
  #unsubscribe: (() => void) | undefined
  #bookmarks: ReturnType<typeof setInterval> | undefined
  #timeout: ReturnType<typeof setTimeout> | undefined
  #silent = false
  /** bookmarkOnly: events are no longer delivered (bookmarks are). */
  #eventsOff = false
  #done = false
  readonly #onDone: () => void

  private constructor(res: ServerResponse, def: ResourceDef, store: Store, namespace: string | undefined, onDone: () => void) {
    this.#res = res
    this.#def = def
    this.#store = store
    this.resource = def.plural
    this.namespace = namespace
    this.#onDone = onDone
  }

  /** Starts streaming; `onDone` runs once when the connection is over, however it ends. */
  static start(
    store: Store,
    req: IncomingMessage,
    res: ServerResponse,
    params: WatchParams,
    onDone: (session: WatchSession) => void
  ): WatchSession {
    const { def, selection } = params
    const rawRv = params.resourceVersion
    let fromRv: number | undefined
    if (rawRv !== undefined && rawRv !== "" && rawRv !== "0") {
      if (!/^\d+$/.test(rawRv)) throw badRequest(`invalid resource version "${rawRv}"`)
      fromRv = Number(rawRv)
    }
    const session: WatchSession = new WatchSession(res, def, store, selection.namespace, () => onDone(session))
    res.writeHead(200, {
      "Audit-Id": crypto.randomUUID(),
      "Cache-Control": "no-cache, private",
      "Content-Type": "application/json",
      "Transfer-Encoding": "chunked"
    })
    res.flushHeaders()
    res.on("close", () => session.#finish())
    req.socket.setNoDelay(true)

    const pending = params.pendingFault
    if (pending === "silent" || pending === "drop" || pending === "end" || pending === "gone") {
      session.apply(pending)
      return session
    }
    // A raw line goes out first, then the watch carries on; bookmarkOnly never subscribes.
    if (pending !== undefined) session.apply(pending)

    const deliver = (event: StoreEvent) => session.#deliver(event, selection)
    try {
      if (session.#eventsOff) {
        // Wedged from the start: no initial ADDED events, no subscription, bookmarks only.
      } else if (fromRv === undefined) {
        for (const obj of store.list(def.plural, selection.namespace)) {
          if (selects(def, selection, obj)) session.#write("ADDED", obj)
        }
        session.#unsubscribe = store.watch(def.plural, fromRv, deliver)
      } else {
        session.#unsubscribe = store.watch(def.plural, fromRv, deliver)
      }
    } catch (e) {
      if (e instanceof StatusError && e.code === 410) {
        session.#writeError(e)
        session.#end()
        return session
      }
      throw e
    }
    if (params.allowBookmarks && params.bookmarkIntervalMs > 0) {
      session.#bookmarks = setInterval(() => session.#bookmark(), params.bookmarkIntervalMs)
      session.#bookmarks.unref()
    }
    if (params.timeoutSeconds !== undefined && params.timeoutSeconds > 0) {
      session.#timeout = setTimeout(() => session.#end(), params.timeoutSeconds * 1000)
      session.#timeout.unref()
    }
    return session
  }

  #deliver(event: StoreEvent, selection: Selection): void {
    if (this.#eventsOff) return
    const now = selects(this.#def, selection, event.object)
    const before = event.previous !== undefined && selects(this.#def, selection, event.previous)
    switch (event.type) {
      case "ADDED":
        if (now) this.#write("ADDED", event.object)
        return
      case "DELETED":
        if (now || before) this.#write("DELETED", event.object)
        return
      case "MODIFIED":
        if (now && before) this.#write("MODIFIED", event.object)
        else if (now) this.#write("ADDED", event.object)
        else if (before) this.#write("DELETED", event.object)
        return
    }
  }

  #line(payload: unknown): void {
    if (this.#done || this.#silent || this.#res.destroyed || this.#res.writableEnded) return
    this.#res.write(`${JSON.stringify(payload)}\n`)
  }

  #write(type: string, obj: KubeObject): void {
    this.#line({ type, object: { ...obj, apiVersion: apiVersionOf(this.#def), kind: this.#def.kind } })
  }

  #writeError(e: StatusError): void {
    this.#line({ type: "ERROR", object: e.toStatus() })
  }

  #bookmark(): void {
    this.#line({
      type: "BOOKMARK",
      object: {
        kind: this.#def.kind,
        apiVersion: apiVersionOf(this.#def),
        metadata: { resourceVersion: String(this.#store.resourceVersion) }
      }
    })
  }

  #stopTimers(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    if (this.#bookmarks !== undefined) clearInterval(this.#bookmarks)
    if (this.#timeout !== undefined) clearTimeout(this.#timeout)
    this.#bookmarks = undefined
    this.#timeout = undefined
  }

  #end(): void {
    this.#stopTimers()
    if (!this.#res.writableEnded && !this.#res.destroyed) this.#res.end()
  }

  #finish(): void {
    if (this.#done) return
    this.#done = true
    this.#stopTimers()
    this.#onDone()
  }

  /** Applies a watch fault to this open stream. */
  apply(fault: AppliedWatchFault): void {
    if (typeof fault === "object") {
      if (!this.#done && !this.#silent && !this.#res.destroyed && !this.#res.writableEnded) this.#res.write(`${fault.line}\n`)
      return
    }
    switch (fault) {
      case "bookmarkOnly":
        // Bookmarks (and the timeout's end) go on; events are no longer delivered.
        this.#eventsOff = true
        this.#unsubscribe?.()
        this.#unsubscribe = undefined
        return
      case "silent":
        // Keep the connection, send nothing more (not even bookmarks, nor the timeout's end).
        this.#stopTimers()
        this.#silent = true
        return
      case "drop":
        this.#stopTimers()
        this.#res.socket?.destroy()
        this.#res.destroy()
        return
      case "end":
        this.#end()
        return
      case "gone":
        this.#writeError(
          new StatusError(410, "Expired", `too old resource version: ${this.#store.resourceVersion} (${this.#store.resourceVersion + 1})`)
        )
        this.#end()
        return
    }
  }

  /** Ends the stream from the server side (cluster shutdown). */
  destroy(): void {
    this.#stopTimers()
    this.#res.socket?.destroy()
  }
}
