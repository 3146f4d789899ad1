// Small HTTP helpers shared by the REST, watch and exec handlers: JSON responses with the headers
// a real API server sends, Status errors, and raw responses on a socket that is being upgraded.

import type { Server as NetServer } from "node:net"
import type { IncomingMessage, ServerResponse } from "node:http"
import { STATUS_CODES } from "node:http"
import type { Duplex } from "node:stream"
import { badRequest, StatusError } from "./status.ts"
import type { Status } from "./status.ts"

const auditId = (): string => crypto.randomUUID()

export const sendJson = (
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {}
): void => {
  if (res.headersSent || res.destroyed) return
  const payload = Buffer.from(JSON.stringify(body))
  res.writeHead(code, {
    "Audit-Id": auditId(),
    "Cache-Control": "no-cache, private",
    "Content-Type": "application/json",
    "Content-Length": String(payload.length),
    ...headers
  })
  res.end(payload)
}

export const toStatusError = (error: unknown): StatusError =>
  error instanceof StatusError
    ? error
    : new StatusError(500, "InternalError", `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`)

export const sendError = (res: ServerResponse, error: unknown): void => {
  const e = toStatusError(error)
  sendJson(res, e.code, e.toStatus(), e.headers)
}

/** Writes an HTTP response straight to a socket that asked for an upgrade, then closes it. */
export const writeRawStatus = (socket: Duplex, status: Status, headers: Readonly<Record<string, string>> = {}): void => {
  if (socket.destroyed) return
  const body = Buffer.from(JSON.stringify(status))
  const lines = [
    `HTTP/1.1 ${status.code} ${STATUS_CODES[status.code] ?? "Error"}`,
    `Audit-Id: ${auditId()}`,
    "Cache-Control: no-cache, private",
    "Content-Type: application/json",
    `Content-Length: ${body.length}`,
    "Connection: close",
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    "",
    ""
  ]
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n")), body]))
}

export const readBody = (req: IncomingMessage, limit = 3 * 1024 * 1024): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        reject(new StatusError(413, "BadRequest", "Request entity too large: limit is 3145728"))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

export const parseJsonBody = (raw: Buffer, kind: string): unknown => {
  if (raw.length === 0) return undefined
  try {
    return JSON.parse(raw.toString("utf8"))
  } catch (e) {
    throw badRequest(`${kind} in version "v1" cannot be handled as a ${kind}: ${e instanceof Error ? e.message : String(e)}`)
  }
}

export const mediaType = (header: string | undefined): string => (header ?? "").split(";")[0].trim().toLowerCase()

export const isTrue = (v: string | null): boolean => v === "true" || v === "1"

/** Listens on 127.0.0.1 (`port` 0: an ephemeral one) and resolves with the port bound. */
export const listenLoopback = (server: NetServer, port = 0): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject)
      const address = server.address()
      resolve(typeof address === "object" && address !== null ? address.port : 0)
    })
  })
