import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as path from "node:path"
import { promisify } from "node:util"
import { program } from "../examples/embed-with-testclock.ts"

describe("examples/embed-with-testclock.ts", () => {
  it.effect("embeds the service with one Layer.provide; TestClock drives the grace period", () =>
    Effect.gen(function*() {
      const result = yield* program
      assert.deepStrictEqual(result.lines.map((l) => l.split(" (")[0]), [
        "terminateContainers: done",
        "killContainers: done",
        "deletePod: done"
      ])
      assert.isTrue(result.deleted)
    }))

  it("runs as a program on its own", async () => {
    const file = path.resolve(import.meta.dirname, "../examples/embed-with-testclock.ts")
    const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 60_000 })
    assert.include(stdout, "the pod was deleted")
  })
})
