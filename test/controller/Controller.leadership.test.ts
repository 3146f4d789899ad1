/**
 * Two instances of the service against one simulated cluster with leader election on: only the
 * leader cleans; when it stops, the other takes over within the lease duration; no pod is ever
 * exec'd or deleted by both at the same time.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Result, Scope } from "effect"
import * as os from "node:os"
import * as path from "node:path"
import { parseConfig } from "../../src/config/Config.ts"
import { Controller } from "../../src/controller/Controller.ts"
import { type RequestLogEntry, seedWorkflowPods } from "@pod-cleanup/sim"
import { useSim, waitFor } from "../support/sim.ts"
import { serviceAgainst } from "../support/service.ts"

const sim = useSim()

const leaseDuration = Duration.seconds(3)

const instance = (name: string) =>
  Effect.gen(function*() {
    const config = parseConfig([
      "--namespaces", "lead",
      "--identity", name,
      "--lease-namespace", "kube-system",
      "--lease-duration", "3s",
      "--renew-deadline", "2s",
      "--retry-period", "250ms",
      "--shutdown-grace", "2s"
    ], {})
    if (Result.isFailure(config)) return yield* Effect.die(config.failure)
    const file = sim.writeKubeconfig(path.join(os.tmpdir(), `pod-cleanup-${name}-${process.pid}.yaml`), { token: name })
    const scope = yield* Scope.make()
    const services = yield* Layer.buildWithScope(serviceAgainst(sim, config.success, { kubeconfig: file }), scope)
    return { name, scope, controller: Context.get(services, Controller) }
  })

/** Exec and delete requests per pod and client, as [start, end] intervals. */
const writesByPod = (log: ReadonlyArray<RequestLogEntry>) => {
  const byPod = new Map<string, Map<string, Array<[number, number]>>>()
  for (const r of log) {
    if ((r.verb !== "exec" && r.verb !== "delete") || r.namespace !== "lead" || r.client === undefined) continue
    const pod = byPod.get(r.name!) ?? new Map<string, Array<[number, number]>>()
    byPod.set(r.name!, pod)
    const spans = pod.get(r.client) ?? []
    pod.set(r.client, spans)
    spans.push([r.at, r.endedAt ?? Number.POSITIVE_INFINITY])
  }
  return byPod
}

describe("leader election with two instances", () => {
  it.live("only the leader cleans; the other takes over within the lease duration when it stops", () =>
    Effect.gen(function*() {
      const a = yield* instance("instance-a")
      const b = yield* instance("instance-b")
      yield* waitFor(sim, () => a.controller.status().leader !== b.controller.status().leader, 10_000)
      const [leader, follower] = a.controller.status().leader ? [a, b] : [b, a]
      assert.isTrue(leader.controller.status().leader)
      assert.isFalse(follower.controller.status().leader)

      const first = seedWorkflowPods(sim, { pods: 20, nodes: 2, namespace: "lead", podGCStrategy: "OnPodCompletion", workflowPrefix: "one" })
      yield* waitFor(sim, () => first.pods.every((p) => sim.getPod("lead", p.metadata!.name!) === undefined), 15_000)

      // The leader stops (SIGTERM: it releases the lease); a second batch arrives: the follower must clean it.
      const stoppedAt = Date.now()
      yield* Scope.close(leader.scope, Exit.void)
      const second = seedWorkflowPods(sim, { pods: 20, nodes: 2, namespace: "lead", podGCStrategy: "OnPodCompletion", workflowPrefix: "two" })
      yield* waitFor(sim, () => follower.controller.status().leader, Duration.toMillis(leaseDuration))
      const takeoverMs = Date.now() - stoppedAt
      assert.isBelow(takeoverMs, Duration.toMillis(leaseDuration), "took over within the lease duration")
      yield* waitFor(sim, () => second.pods.every((p) => sim.getPod("lead", p.metadata!.name!) === undefined), 15_000)

      const writes = writesByPod(sim.requestLog)
      assert.isAbove(writes.size, 0)
      for (const [pod, clients] of writes) {
        const spans = [...clients.entries()]
        if (spans.length < 2) continue
        const [[, x], [, y]] = spans as [[string, Array<[number, number]>], [string, Array<[number, number]>]]
        for (const [s1, e1] of x) {
          for (const [s2, e2] of y) {
            assert.isFalse(s1 < e2 && s2 < e1, `pod ${pod}: exec/delete by both instances at the same time`)
          }
        }
      }
      // Only the leader of each period wrote: the first batch by the first leader, the second by the other.
      for (const p of first.pods) {
        const clients = [...(writes.get(p.metadata!.name!)?.keys() ?? [])]
        assert.deepStrictEqual(clients, [leader.name])
      }
      for (const p of second.pods) {
        const clients = [...(writes.get(p.metadata!.name!)?.keys() ?? [])]
        assert.deepStrictEqual(clients, [follower.name])
      }
      yield* Scope.close(follower.scope, Exit.void)
    }))
})
