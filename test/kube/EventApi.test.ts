/**
 * pod-cleanup's Event writer (`makeEventApi`, through `KubeClient.requestJson`) against the simulator's
 * `events.k8s.io/v1` Events: what it creates and patches is accepted and stored as written.
 */
import { EventsV1Api } from "@kubernetes/client-node"
import { kubeConfig } from "@pod-cleanup/sim/testing"
import { Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { makeEventApi, microTime } from "../../src/kube/EventApi.ts"
import { KubeClient } from "../../src/kube/KubeClient.ts"
import { clientLayer, useSim } from "../support/sim.ts"

const sim = useSim()
let api: EventsV1Api
beforeAll(() => {
  api = kubeConfig(sim).makeApiClient(EventsV1Api)
})

describe("makeEventApi", () => {
  it("pod-cleanup's Event writer (KubeClient.requestJson) creates and patches Events the simulator accepts", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function*() {
        const events = makeEventApi(yield* KubeClient)
        const regarding = { apiVersion: "v1", kind: "Pod", namespace: "own", name: "wf-9", uid: "u-9" }
        const created = yield* events.create({
          namespace: "own",
          name: "wf-9.17",
          eventTime: Date.parse("2026-11-28T10:00:00.250Z"),
          reportingController: "pod-cleanup",
          reportingInstance: "pod-cleanup-0",
          action: "Exec",
          reason: "ExecTimedOut",
          note: "kill exec in container main timed out on node node-4 (phase stream: connected, but no status came back)",
          type: "Warning",
          regarding
        })
        const patched = yield* events.patchSeries("own", created.name, { count: 5, lastObservedTime: Date.parse("2026-11-28T10:05:00Z") })
        return { created, patched }
      }).pipe(Effect.provide(clientLayer(sim)))
    )
    expect(Number(result.patched.resourceVersion)).toBeGreaterThan(Number(result.created.resourceVersion))
    const stored = await api.readNamespacedEvent({ namespace: "own", name: "wf-9.17" })
    expect(stored.eventTime as unknown).toBe("2026-11-28T10:00:00.250000Z")
    expect(stored.series).toEqual({ count: 5, lastObservedTime: microTime(Date.parse("2026-11-28T10:05:00Z")) })
    expect(stored.type).toBe("Warning")
  })
})
