/**
 * The live view and the summary as pure functions: the progress line fits the terminal (80 columns
 * by default), log lines written meanwhile are never glued onto it, and the demo's summary counts
 * the recorded reasons.
 */
import { describe, expect, it } from "vitest"
import { demoProgressLine } from "../../src/cli/demo.ts"
import { fitLine, fitSegments, makeLiveLine, type ProgressStream, terminalColumns } from "../../src/cli/progress.ts"
import { formatReasons, reasonPattern, topReasons } from "../../src/cli/report.ts"
import type { Outcome } from "../../src/engine/Outcomes.ts"

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

const outcome = (pod: string, kind: Outcome["kind"], reason: string, action: Outcome["action"] = "terminateContainers"): Outcome => ({
  key: `argo/${pod}/${action}`,
  action,
  namespace: "argo",
  pod,
  kind,
  reason,
  attempts: 1,
  at: 0
})

describe("the recorded reasons in the summary", () => {
  it("group the same reason across pods: names, container order and retry timings aside", () => {
    expect(reasonPattern(outcome("etl-1", "skipped", "exec argo/etl-1 container wait on node-4: no status within the 3s deadline")))
      .toBe("exec <pod> container wait on node-4: no status within the 3s deadline")
    expect(reasonPattern(outcome("p", "skipped", "x: SIGTERM not sent to wait, main; trying again in 4s 168ms (retry 1 of 8)")))
      .toBe("x: SIGTERM not sent to main, wait; to be tried again")
  })

  it("are counted, failed first, then the most frequent", () => {
    const breaker = "node node-4: exec breaker open after 3 consecutive exec timeouts: SIGTERM not sent to wait"
    const outcomes = [
      outcome("a", "skipped", `${breaker}; trying again in 4s 143ms (retry 1 of 8)`),
      outcome("b", "skipped", `${breaker}; trying again in 10s 338ms (retry 2 of 8)`),
      outcome("c", "skipped", breaker),
      outcome("d", "failed", "exec refused (403) for main"),
      outcome("e", "done", "SIGTERM sent to main"),
      outcome("f", "skipped", "workflow wf not seen yet: waiting for it", "labelPodCompleted")
    ]
    const top = topReasons(outcomes)
    expect(top.map((r) => [r.count, r.kind, r.action])).toEqual([
      [1, "failed", "terminateContainers"],
      [2, "skipped", "terminateContainers"],
      [1, "skipped", "terminateContainers"],
      [1, "skipped", "labelPodCompleted"]
    ])
    const lines = formatReasons(topReasons(outcomes, 2), 5, 80)
    expect(lines[0]).toContain("2 more with other reasons")
    expect(lines[2]).toMatch(/^ {2}2 {2}skipped {2}terminateContainers: node node-4: exec breaker open/)
    for (const line of lines.slice(1)) expect(line.length).toBeLessThanOrEqual(80)
    expect(formatReasons([], 0)).toEqual(["recorded reasons: none (no action was skipped or failed)"])
  })
})
