/**
 * Live progress for long commands: on a terminal one line rewritten in place, otherwise a plain
 * line on stderr every few seconds (so CI logs and `kubectl logs` stay readable). It runs as a
 * fiber of its caller and stops with it.
 */
import { Duration, Effect } from "effect"

export const progressLoop = (
  render: () => string,
  options: { readonly isTty?: boolean; readonly interval?: Duration.Duration } = {}
) => {
  const tty = options.isTty ?? process.stderr.isTTY === true
  const interval = options.interval ?? (tty ? Duration.millis(250) : Duration.seconds(5))
  const write = (line: string) =>
    Effect.sync(() => {
      if (tty) process.stderr.write(`\r\x1b[2K${line}`)
      else process.stderr.write(`${line}\n`)
    })
  return Effect.forever(Effect.andThen(Effect.sleep(interval), Effect.suspend(() => write(render())))).pipe(
    Effect.ensuring(tty ? Effect.sync(() => process.stderr.write(`\r\x1b[2K`)) : Effect.void)
  )
}
