/**
 * Live progress for long commands: on a terminal one line rewritten in place, otherwise a plain
 * line on stderr every few seconds (so CI logs and `kubectl logs` stay readable). It runs as a
 * fiber of its caller and stops with it.
 *
 * On a terminal the line never wraps (it is cut to the terminal's width, read at every redraw, 80
 * columns when unknown), because `\r` + erase-line only clears the last row of a wrapped line and
 * every redraw would leave the rest behind. And whatever else writes to the stream meanwhile (log
 * lines, warnings) is not glued onto it: while the loop runs, a write first erases the progress
 * line, and the line is drawn again under the text once that ends with a newline.
 */
import { Duration, Effect } from "effect"

/** The part of a stream the progress line needs (`process.stderr`, or a fake in tests). */
export interface ProgressStream {
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
  write(chunk: string | Uint8Array, ...rest: Array<any>): boolean
}

/** The terminal's width in columns, 80 when unknown. */
export const terminalColumns = (stream: Pick<ProgressStream, "columns">): number =>
  typeof stream.columns === "number" && stream.columns > 0 ? Math.floor(stream.columns) : 80

/**
 * `line` on one terminal row of `columns` cells: control characters and newlines become spaces, and
 * a line longer than `columns - 1` is cut with "…" (the last cell stays free, so the cursor never
 * wraps to the next row).
 */
export const fitLine = (line: string, columns: number): string => {
  // eslint-disable-next-line no-control-regex
  const flat = line.replace(/[\u0000-\u001f\u007f]+/g, " ")
  const width = Math.max(1, columns - 1)
  const chars = [...flat]
  return chars.length <= width ? flat : `${chars.slice(0, width - 1).join("")}…`
}

/**
 * Segments joined by " | ", most important first: the ones that do not fit on one row of
 * `columns` cells are left out from the end (never cut in the middle), and the first is cut if even
 * it alone does not fit.
 */
export const fitSegments = (segments: ReadonlyArray<string>, columns: number): string => {
  const width = Math.max(1, columns - 1)
  let line = ""
  for (const segment of segments) {
    if (segment === "") continue
    const next = line === "" ? segment : `${line} | ${segment}`
    if ([...next].length > width) break
    line = next
  }
  return line === "" ? fitLine(segments.find((s) => s !== "") ?? "", columns) : line
}

const CLEAR = "\r\x1b[2K"

const endsWithNewline = (chunk: string | Uint8Array): boolean =>
  typeof chunk === "string" ? chunk.endsWith("\n") : chunk.length > 0 && chunk[chunk.length - 1] === 0x0a

/**
 * The progress line on a terminal stream, sharing it with other writers. `draw` shows a line in
 * place of the previous one; any other `stream.write` in between erases it first and has it drawn
 * again below. `close` erases it and gives the stream its own `write` back.
 */
export const makeLiveLine = (stream: ProgressStream) => {
  const original = stream.write
  const raw = (chunk: string) => original.call(stream, chunk)
  /** The text of the line on screen, "" when none. */
  let shown = ""
  /** Someone else's text ends the current row without a newline: draw below it, not over it. */
  let partial = false
  const intercept = function(this: unknown, chunk: string | Uint8Array, ...rest: Array<any>): boolean {
    if (shown !== "") raw(CLEAR)
    const ok = original.call(stream, chunk, ...rest)
    if (endsWithNewline(chunk)) {
      partial = false
      if (shown !== "") raw(shown)
    } else {
      partial = true
      shown = ""
    }
    return ok
  }
  ;(stream as { write: ProgressStream["write"] }).write = intercept
  return {
    draw: (line: string): void => {
      const fitted = fitLine(line, terminalColumns(stream))
      raw(partial ? `\n${fitted}` : `${CLEAR}${fitted}`)
      partial = false
      shown = fitted
    },
    close: (): void => {
      if (stream.write === intercept) (stream as { write: ProgressStream["write"] }).write = original
      if (shown !== "") raw(CLEAR)
      shown = ""
    }
  }
}

/**
 * Redraws `render(columns)` every `interval` until interrupted. `render` gets the terminal's width
 * (use `fitSegments` to drop what does not fit); the result is cut to it in any case.
 */
export const progressLoop = (
  render: (columns: number) => string,
  options: { readonly isTty?: boolean; readonly interval?: Duration.Duration; readonly stream?: ProgressStream } = {}
) => {
  const stream: ProgressStream = options.stream ?? process.stderr
  const tty = options.isTty ?? stream.isTTY === true
  const interval = options.interval ?? (tty ? Duration.millis(250) : Duration.seconds(5))
  if (!tty) {
    const write = Effect.suspend(() => Effect.sync(() => void stream.write(`${render(terminalColumns(stream))}\n`)))
    return Effect.forever(Effect.andThen(Effect.sleep(interval), write))
  }
  return Effect.acquireUseRelease(
    Effect.sync(() => makeLiveLine(stream)),
    (live) => Effect.forever(Effect.andThen(Effect.sleep(interval), Effect.sync(() => live.draw(render(terminalColumns(stream)))))),
    (live) => Effect.sync(() => live.close())
  )
}
