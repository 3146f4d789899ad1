/** Exec upgrades the API server refuses because it is overloaded: typed, retryable, with Retry-After. */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { ExecRejectedError, isTransientExecRefusal } from "../../src/kube/ExecError.ts"
import { PodExec } from "../../src/kube/PodExec.ts"
import { kubeLayer, runningPod, useSim } from "../support/sim.ts"

const sim = useSim()

const target = (pod: string) => ({ namespace: "default", pod, container: "main", node: "node-0" })

describe("exec refusals", () => {
  it.live("429 with Retry-After: 3 is a transient ExecRejectedError carrying 3 s; then the exec succeeds", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("throttled"))
      const rule = sim.faults.api({ verb: "exec" }, { kind: "status", code: 429, retryAfterSeconds: 3 }, { times: 2 })
      const exec = yield* PodExec
      for (let i = 0; i < 2; i++) {
        const error = yield* Effect.flip(exec.run({ ...target("throttled"), command: ["kill", "-15", "1"] }))
        assert.strictEqual(error._tag, "ExecRejectedError")
        if (error._tag !== "ExecRejectedError") return
        assert.strictEqual(error.code, 429)
        assert.isDefined(error.retryAfter)
        assert.strictEqual(Duration.toMillis(error.retryAfter!), 3000)
        assert.isTrue(isTransientExecRefusal(error))
      }
      sim.faults.clear(rule)
      yield* exec.run({ ...target("throttled"), command: ["true"] })
    }).pipe(Effect.provide(kubeLayer(sim))))

  it.live("500 and 503 refusals are transient; 503 carries its Retry-After, 500 has none", () =>
    Effect.gen(function*() {
      sim.addPod(runningPod("failing"))
      const exec = yield* PodExec
      const r503 = sim.faults.api({ verb: "exec" }, { kind: "status", code: 503, retryAfterSeconds: 5 }, { times: 1 })
      const unavailable = yield* Effect.flip(exec.run({ ...target("failing"), command: ["true"] }))
      sim.faults.clear(r503)
      assert.isTrue(isTransientExecRefusal(unavailable))
      if (unavailable._tag === "ExecRejectedError") assert.strictEqual(Duration.toMillis(unavailable.retryAfter!), 5000)
      const r500 = sim.faults.api({ verb: "exec" }, { kind: "status", code: 500 }, { times: 1 })
      const internal = yield* Effect.flip(exec.run({ ...target("failing"), command: ["true"] }))
      sim.faults.clear(r500)
      assert.strictEqual(internal._tag, "ExecRejectedError")
      assert.isTrue(isTransientExecRefusal(internal))
      if (internal._tag === "ExecRejectedError") assert.isUndefined(internal.retryAfter)
      const missing = yield* Effect.flip(exec.run({ ...target("no-such-pod"), command: ["true"] }))
      assert.strictEqual(missing._tag, "ExecRejectedError")
      assert.isFalse(isTransientExecRefusal(missing))
    }).pipe(Effect.provide(kubeLayer(sim))))

  it("isTransientExecRefusal: only 429 and 500/502/503/504 refusals", () => {
    const base = { namespace: "n", pod: "p", container: "c", elapsedMs: 1, message: "m", reason: "r" }
    for (const code of [429, 500, 502, 503, 504]) assert.isTrue(isTransientExecRefusal(new ExecRejectedError({ ...base, code })))
    for (const code of [400, 401, 403, 404, 409, 501]) assert.isFalse(isTransientExecRefusal(new ExecRejectedError({ ...base, code })))
  })
})
