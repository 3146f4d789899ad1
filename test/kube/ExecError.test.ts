import { Duration } from "effect"
import { describe, expect, it } from "vitest"
import {
  classifyExec,
  type ExecClass,
  ExecConnectionLostError,
  type ExecError,
  ExecNonZeroExitError,
  ExecRejectedError,
  ExecTimeoutError,
  isTransientExecRefusal
} from "../../src/kube/ExecError.ts"

const base = { namespace: "default", pod: "p", container: "main", node: "node-1", elapsedMs: 10, message: "m" }
const rejected = (code: number) => new ExecRejectedError({ ...base, code, reason: "r", retryAfter: code === 429 ? Duration.seconds(3) : undefined })

describe("classifyExec", () => {
  const rows: ReadonlyArray<readonly [string, ExecError, ExecClass]> = [
    ["non-zero exit (no such process)", new ExecNonZeroExitError({ ...base, exitCode: 1 }), "gone"],
    ["404 pod or container gone", rejected(404), "gone"],
    ["400 container not running", rejected(400), "gone"],
    ["handshake timeout", new ExecTimeoutError({ ...base, phase: "handshake", timeoutMs: 5000 }), "unreachable"],
    ["stream timeout", new ExecTimeoutError({ ...base, phase: "stream", timeoutMs: 30_000 }), "unreachable"],
    ["connection lost on the stream (heartbeat)", new ExecConnectionLostError({ ...base, phase: "stream", reason: "heartbeat" }), "unreachable"],
    ["connection lost in the handshake (could not connect)", new ExecConnectionLostError({ ...base, phase: "handshake", reason: "ECONNREFUSED" }), "unconnected"],
    ["429 throttled", rejected(429), "refused-transient"],
    ["500", rejected(500), "refused-transient"],
    ["502", rejected(502), "refused-transient"],
    ["503", rejected(503), "refused-transient"],
    ["504", rejected(504), "refused-transient"],
    ["403 forbidden", rejected(403), "refused"],
    ["401", rejected(401), "refused"],
    ["409", rejected(409), "refused"],
    ["501 not implemented", rejected(501), "refused"]
  ]
  for (const [name, error, expected] of rows) {
    it(`${name} → ${expected}`, () => {
      expect(classifyExec(error)).toBe(expected)
      expect(isTransientExecRefusal(error)).toBe(expected === "refused-transient")
    })
  }
})
