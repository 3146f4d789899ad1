/**
 * The live view and the summary as pure functions: the progress line fits the terminal (80 columns
 * by default), and log lines written meanwhile are never glued onto it.
 */
import { describe, expect, it } from "vitest"
import { demoProgressLine } from "../../src/cli/demo.ts"
import { fitLine, fitSegments, makeLiveLine, type ProgressStream, terminalColumns } from "../../src/cli/progress.ts"

const busy = { elapsedMs: 12_345, cleaned: 240, total: 300, done: 12_753, skipped: 1_052, failed: 17, ready: 290, delayed: 36, waitingForArgo: 41 }

/** A terminal: what was written, and what the screen shows (rows, with \r and erase-line applied). */
const fakeTerminal = (columns: number | undefined) => {
  const writes: Array<string> = []
  const stream: ProgressStream & { columns: number | undefined } = {
    isTTY: true,
    columns,
    write(chunk: string | Uint8Array) {
      writes.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString())
      return true
    }
  }
  const screen = () => {
    const rows: Array<string> = [""]
    const text = writes.join("")
    for (let i = 0; i < text.length; i++) {
      if (text.startsWith("\r\x1b[2K", i)) {
        rows[rows.length - 1] = ""
        i += 4
      } else if (text[i] === "\r") rows[rows.length - 1] = ""
      else if (text[i] === "\n") rows.push("")
      else rows[rows.length - 1] += text[i]
    }
    return rows
  }
  return { stream, writes, screen }
}

describe("the progress line", () => {
  it("is cut to the terminal's width, leaving the last cell free, and flattened to one row", () => {
    expect(fitLine("short", 80)).toBe("short")
    const long = "x".repeat(200)
    expect([...fitLine(long, 80)].length).toBe(79)
    expect(fitLine(long, 80).endsWith("…")).toBe(true)
    expect(fitLine("a\nb\tc\x1b[2K", 80)).toBe("a b c [2K")
    expect(terminalColumns({ columns: undefined })).toBe(80)
    expect(terminalColumns({ columns: 0 })).toBe(80)
    expect(terminalColumns({ columns: 132 })).toBe(132)
  })

  it("drops whole segments from the end rather than cutting one", () => {
    expect(fitSegments(["aaaa", "bbbb", "cccc"], 12)).toBe("aaaa | bbbb")
    expect(fitSegments(["aaaa", "bbbb", "cccc"], 100)).toBe("aaaa | bbbb | cccc")
    expect(fitSegments(["a".repeat(30), "b"], 11)).toBe(`${"a".repeat(9)}…`)
  })

  it("the demo's line fits 80 columns with its first three parts, and any width with as many as fit", () => {
    const at80 = demoProgressLine(busy, 80)
    expect(at80.length).toBeLessThan(80)
    expect(at80).toBe("12.3s cleaned 240/300 | done 12753 skipped 1052 failed 17 | queue 290 later 36")
    expect(demoProgressLine(busy, 200)).toContain("41 waiting for Argo")
    for (const columns of [20, 40, 60, 80, 100, 120]) expect([...demoProgressLine(busy, columns)].length).toBeLessThan(columns)
  })

  it("log lines written while it is shown erase it first and have it drawn again below", () => {
    const term = fakeTerminal(80)
    const live = makeLiveLine(term.stream)
    live.draw("x".repeat(150))
    term.stream.write("{\"level\":\"WARN\",\"message\":\"exec timed out\"}\n")
    live.draw("progress 2")
    term.stream.write("a partial line")
    live.draw("progress 3")
    live.close()
    expect(term.screen()).toEqual(["{\"level\":\"WARN\",\"message\":\"exec timed out\"}", "a partial line", ""])
    // Every progress line drawn fit one row; the stream's own write is back.
    for (const w of term.writes) for (const row of w.split("\n")) expect(row.replace("\r\x1b[2K", "").length).toBeLessThan(80)
    term.stream.write("after\n")
    expect(term.writes.at(-1)).toBe("after\n")
  })

  it("while running, the screen shows the log lines in order and the progress line last", () => {
    const term = fakeTerminal(undefined)
    const live = makeLiveLine(term.stream)
    live.draw("progress 1")
    term.stream.write("warning 1\n")
    term.stream.write(new TextEncoder().encode("warning 2\n"))
    live.draw("progress 2")
    expect(term.screen()).toEqual(["warning 1", "warning 2", "progress 2"])
    live.close()
    expect(term.screen()).toEqual(["warning 1", "warning 2", ""])
  })
})
