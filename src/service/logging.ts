/**
 * Log output: JSON lines by default (what log collectors parse), pretty when stderr is a terminal.
 * Logs go to stderr, so `pod-cleanup once --output json` keeps stdout for its report.
 */
import { Layer, Logger, References } from "effect"

export type LogFormat = "json" | "pretty" | "auto"
export type LogLevelName = "debug" | "info" | "warn" | "error"

const levels = { debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const

export const loggingLayer = (format: LogFormat, level: LogLevelName, isTty: boolean = process.stderr.isTTY === true) =>
  Layer.mergeAll(
    Logger.layer([
      format === "pretty" || (format === "auto" && isTty) ? Logger.consolePretty() : Logger.withConsoleError(Logger.formatJson)
    ]),
    Layer.succeed(Logger.LogToStderr, true),
    Layer.succeed(References.MinimumLogLevel, levels[level])
  )
