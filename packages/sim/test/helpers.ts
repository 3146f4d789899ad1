// Shared helpers for the simulator tests: client-node configs, raw HTTP and WebSocket access.

import { request as httpRequest } from "node:http"
import type { IncomingMessage } from "node:http"
import { request as httpsRequest } from "node:https"
import { ApiException, KubeConfig } from "@kubernetes/client-node"
import { WebSocket } from "ws"
import type { SimCluster } from "../src/index.ts"

export const kubeConfig = (sim: SimCluster, options: { readonly token?: string } = {}): KubeConfig => {
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfigYaml(options))
  return kc
}

export interface RawResponse {
  readonly status: number
  readonly headers: IncomingMessage["headers"]
  readonly text: string
  readonly json: any
}

/** One HTTP request on a fresh connection (no keep-alive), body as JSON unless a string. */
export const http = (
  sim: SimCluster,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const url = new URL(path, sim.url)
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body)
    const make = url.protocol === "https:" ? httpsRequest : httpRequest
    const req = make(
      url,
      {
        method,
        agent: false,
        ca: sim.caPem,
        headers: {
          ...(payload === undefined ? {} : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) }),
          ...headers
        }
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8")
          let json: unknown
          try {
            json = JSON.parse(text)
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
        })
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    if (payload !== undefined) req.write(payload)
    req.end()
  })

export interface WatchLine {
  readonly type: string
  readonly object: any
}

/** A raw watch stream: collects the parsed lines; `ended` resolves when the server ends or drops it. */
export interface RawWatch {
  readonly status: number
  readonly lines: Array<WatchLine>
  readonly bytes: () => number
  readonly ended: Promise<"end" | "error">
  close(): void
}

export const rawWatch = (sim: SimCluster, path: string, headers: Record<string, string> = {}): Promise<RawWatch> =>
  new Promise((resolve, reject) => {
    const url = new URL(path, sim.url)
    const make = url.protocol === "https:" ? httpsRequest : httpRequest
    const req = make(url, { method: "GET", agent: false, ca: sim.caPem, headers }, (res) => {
      const lines: Array<WatchLine> = []
      let buffer = ""
      let bytes = 0
      const ended = new Promise<"end" | "error">((done) => {
        res.on("end", () => done("end"))
        res.on("error", () => done("error"))
        res.on("aborted", () => done("error"))
        res.on("close", () => done(res.complete ? "end" : "error"))
      })
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length
        buffer += chunk.toString("utf8")
        let i: number
        while ((i = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, i)
          buffer = buffer.slice(i + 1)
          if (line.trim() !== "") lines.push(JSON.parse(line) as WatchLine)
        }
      })
      resolve({ status: res.statusCode ?? 0, lines, bytes: () => bytes, ended, close: () => req.destroy() })
    })
    req.on("error", (e) => reject(e))
    req.end()
  })

export const execPath = (
  namespace: string,
  pod: string,
  command: ReadonlyArray<string>,
  options: { readonly container?: string; readonly stdout?: boolean; readonly stderr?: boolean; readonly stdin?: boolean } = {}
): string => {
  const q = new URLSearchParams()
  for (const c of command) q.append("command", c)
  if (options.container !== undefined) q.set("container", options.container)
  q.set("stdout", String(options.stdout ?? true))
  q.set("stderr", String(options.stderr ?? true))
  q.set("stdin", String(options.stdin ?? false))
  q.set("tty", "false")
  return `/api/v1/namespaces/${namespace}/pods/${pod}/exec?${q.toString()}`
}

export interface RawExec {
  readonly ws: WebSocket
  readonly frames: Array<{ readonly channel: number; readonly data: string }>
  /** Resolves at `open`, rejects with the unexpected response (status + body) or an error. */
  readonly opened: Promise<void>
  readonly closed: Promise<{ readonly code: number }>
}

/** An exec WebSocket through `ws`, recording every frame. */
export const rawExec = (
  sim: SimCluster,
  path: string,
  protocols: ReadonlyArray<string> = ["v5.channel.k8s.io", "v4.channel.k8s.io"],
  options: { readonly token?: string; readonly handshakeTimeout?: number } = {}
): RawExec => {
  const ws = new WebSocket(`${sim.url.replace(/^http/, "ws")}${path}`, [...protocols], {
    ca: sim.caPem,
    ...(options.handshakeTimeout === undefined ? {} : { handshakeTimeout: options.handshakeTimeout }),
    headers: options.token === undefined ? {} : { Authorization: `Bearer ${options.token}` }
  })
  const frames: Array<{ channel: number; data: string }> = []
  ws.on("message", (data: Buffer) => frames.push({ channel: data[0], data: data.subarray(1).toString("utf8") }))
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve())
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        const err = Object.assign(new Error(`unexpected response ${res.statusCode}`), {
          status: res.statusCode,
          body: JSON.parse(Buffer.concat(chunks).toString("utf8"))
        })
        reject(err)
        ws.terminate()
      })
    })
    ws.once("error", reject)
  })
  opened.catch(() => {})
  const closed = new Promise<{ code: number }>((resolve) => ws.once("close", (code) => resolve({ code })))
  ws.on("error", () => {})
  return { ws, frames, opened, closed }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The ApiException a client-node call fails with (fails the test if it succeeds). */
export const failure = async (p: Promise<unknown>): Promise<ApiException<string>> => {
  try {
    await p
  } catch (e) {
    if (e instanceof ApiException) return e as ApiException<string>
    throw e
  }
  throw new Error("expected the call to fail")
}
