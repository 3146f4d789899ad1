/**
 * Log output: JSON lines by default (what log collectors parse), pretty when stderr is a terminal.
 * Logs go to stderr, so `pod-cleanup once --output json` keeps stdout for its report.
 *
 * A JSON line is flat, as Kubernetes controllers write them:
 * `{"ts":"2026-11-28T10:00:00.123Z","level":"warn","msg":"...","namespace":"argo","pod":"wf-1",...}`:
 * `ts` in RFC 3339 (UTC, milliseconds), `level` lower case (debug, info, warn, error), `msg`, then
 * every log annotation as a top-level key. A failure's cause is one string, `error` (plus
 * `stacktrace` for a defect); log spans appear as `spans` only when there are some. No fiber ids.
 */
import { Cause, Inspectable, Layer, Logger, type LogLevel, References } from "effect"

export type LogFormat = "json" | "pretty" | "auto"
export type LogLevelName = "debug" | "info" | "warn" | "error"

const levels = { debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const

const levelName = (level: LogLevel.LogLevel): LogLevelName =>
  level === "Debug" || level === "Trace" || level === "All"
    ? "debug"
    : level === "Info"
    ? "info"
    : level === "Warn"
    ? "warn"
    : "error"

/** The keys every line has; an annotation of the same name is written as `annotation_<key>`. */
const reserved = new Set(["ts", "level", "msg", "error", "stacktrace", "spans"])

const field = (value: unknown): unknown => {
  switch (typeof value) {
    case "bigint":
      return value.toString()
    case "function":
    case "symbol":
      return String(value)
    default:
      return Inspectable.toJson(value)
  }
}

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) && Object.getPrototypeOf(u) === Object.prototype

const errorText = (u: unknown): string =>
  u instanceof Error
    ? u.message
    : typeof u === "object" && u !== null && typeof (u as { message?: unknown }).message === "string"
    ? (u as { message: string }).message
    : typeof u === "string"
    ? u
    : JSON.stringify(field(u))

/** The cause as one line per failure: messages only; defects keep their stack in `stacktrace`. */
const causeFields = (cause: Cause.Cause<unknown>): Record<string, string> => {
  if (cause.reasons.length === 0) return {}
  const parts: Array<string> = []
  let defect = false
  for (const reason of cause.reasons) {
    if (Cause.isFailReason(reason)) parts.push(errorText(reason.error))
    else if (Cause.isDieReason(reason)) {
      defect = true
      parts.push(errorText(reason.defect))
    } else parts.push("interrupted")
  }
  return { error: parts.join("; "), ...(defect ? { stacktrace: Cause.pretty(cause) } : {}) }
}

/**
 * The JSON line of one log call. Strings in the message are joined into `msg`; a plain object
 * among them (`Effect.log("msg", { key })`) adds its keys like annotations; an `Error` becomes
 * `error`.
 */
export const formatJsonLine: Logger.Logger<unknown, string> = Logger.make(({ cause, date, fiber, logLevel, message }) => {
  const parts = Array.isArray(message) ? message : [message]
  const text: Array<string> = []
  const extra: Record<string, unknown> = {}
  const errors: Array<string> = []
  for (const part of parts) {
    if (typeof part === "string") text.push(part)
    else if (part instanceof Error) errors.push(part.message)
    else if (isPlainObject(part)) Object.assign(extra, part)
    else text.push(typeof part === "object" ? JSON.stringify(field(part)) : String(part))
  }
  const line: Record<string, unknown> = { ts: date.toISOString(), level: levelName(logLevel), msg: text.join(" ") }
  const put = (key: string, value: unknown) => {
    line[reserved.has(key) ? `annotation_${key}` : key] = field(value)
  }
  for (const [key, value] of Object.entries(fiber.getRef(References.CurrentLogAnnotations))) put(key, value)
  for (const [key, value] of Object.entries(extra)) put(key, value)
  const spans = fiber.getRef(References.CurrentLogSpans)
  if (spans.length > 0) {
    const now = date.getTime()
    line.spans = Object.fromEntries(spans.map(([label, start]) => [label, now - start]))
  }
  const failure = causeFields(cause)
  if (errors.length > 0) line.error = [...errors, ...(failure.error === undefined ? [] : [failure.error])].join("; ")
  else if (failure.error !== undefined) line.error = failure.error
  if (failure.stacktrace !== undefined) line.stacktrace = failure.stacktrace
  return JSON.stringify(line)
})

export const loggingLayer = (format: LogFormat, level: LogLevelName, isTty: boolean = process.stderr.isTTY === true) =>
  Layer.mergeAll(
    Logger.layer([
      format === "pretty" || (format === "auto" && isTty) ? Logger.consolePretty() : Logger.withConsoleError(formatJsonLine)
    ]),
    Layer.succeed(Logger.LogToStderr, true),
    Layer.succeed(References.MinimumLogLevel, levels[level])
  )
