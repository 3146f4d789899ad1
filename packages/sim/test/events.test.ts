/**
 * The simulator serves `events.k8s.io/v1` Events as an API server does: create (validated as
 * `ValidateEventCreate` does for that group), get, list with a resourceVersion, patch of the series
 * (strategic merge and merge patch), watch, discovery. (pod-cleanup's own Event writer against it:
 * test/kube/EventApi.test.ts.)
 */
import { EventsV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node"
import type { EventsV1Event } from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimCluster } from "../src/index.ts"
import { failure, http, kubeConfig, rawWatch } from "./helpers.ts"

let sim: SimCluster
let api: EventsV1Api

beforeAll(async () => {
  sim = await SimCluster.start()
  api = kubeConfig(sim).makeApiClient(EventsV1Api)
})
afterAll(() => sim.close())

const event = (name: string, extra: Record<string, unknown> = {}): EventsV1Event => ({
  metadata: { name },
  eventTime: "2026-11-28T10:00:00.123456Z",
  reportingController: "pod-cleanup",
  reportingInstance: "pod-cleanup-0",
  action: "Terminating",
  reason: "SentSIGTERM",
  note: "SIGTERM sent to main",
  type: "Normal",
  regarding: { apiVersion: "v1", kind: "Pod", namespace: "argo", name: "wf-1", uid: "u-1" },
  ...extra
} as unknown as EventsV1Event)

describe("events.k8s.io/v1 Events", () => {
  it("create, get, list (with the list's resourceVersion), patch the series, delete", async () => {
    const created = await api.createNamespacedEvent({ namespace: "argo", body: event("wf-1.1") })
    expect(created.metadata?.uid).toBeTruthy()
    expect(created.metadata?.resourceVersion).toMatch(/^\d+$/)
    expect(created.eventTime as unknown).toBe("2026-11-28T10:00:00.123456Z")
    expect(created.regarding).toMatchObject({ kind: "Pod", name: "wf-1", uid: "u-1" })

    const got = await api.readNamespacedEvent({ namespace: "argo", name: "wf-1.1" })
    expect(got.reason).toBe("SentSIGTERM")
    const list = await api.listNamespacedEvent({ namespace: "argo" })
    expect(list.items.map((e) => e.metadata?.name)).toEqual(["wf-1.1"])
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(created.metadata?.resourceVersion))

    const patched = await api.patchNamespacedEvent(
      { namespace: "argo", name: "wf-1.1", body: { series: { count: 2, lastObservedTime: "2026-11-28T10:01:00.000000Z" } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch)
    )
    expect(patched.series?.count).toBe(2)
    expect(Number(patched.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion))
    const merged = await api.patchNamespacedEvent(
      { namespace: "argo", name: "wf-1.1", body: { series: { count: 7, lastObservedTime: "2026-11-28T10:02:00.000000Z" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch)
    )
    expect(merged.series?.count).toBe(7)
    expect(merged.note).toBe("SIGTERM sent to main")

    // Field selectors kubectl uses for `kubectl events --for pod/wf-1`.
    const forPod = await api.listNamespacedEvent({ namespace: "argo", fieldSelector: "regarding.name=wf-1,regarding.kind=Pod" })
    expect(forPod.items).toHaveLength(1)
    const none = await api.listNamespacedEvent({ namespace: "argo", fieldSelector: "regarding.name=other" })
    expect(none.items).toHaveLength(0)

    await api.deleteNamespacedEvent({ namespace: "argo", name: "wf-1.1" })
    expect((await failure(api.readNamespacedEvent({ namespace: "argo", name: "wf-1.1" }))).code).toBe(404)
    expect((await failure(api.patchNamespacedEvent(
      { namespace: "argo", name: "wf-1.1", body: { series: { count: 8, lastObservedTime: "2026-11-28T10:03:00.000000Z" } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch)
    ))).code).toBe(404)
  })

  it("an existing name is 409 AlreadyExists", async () => {
    await api.createNamespacedEvent({ namespace: "argo", body: event("dup.1") })
    const e = await failure(api.createNamespacedEvent({ namespace: "argo", body: event("dup.1") }))
    expect(e.code).toBe(409)
    expect(JSON.parse(e.body).reason).toBe("AlreadyExists")
  })

  it.each([
    ["type must be Normal or Warning", { type: "Error" }, 422, "type"],
    ["reportingController is required", { reportingController: "" }, 422, "reportingController"],
    ["reportingInstance is required", { reportingInstance: undefined }, 422, "reportingInstance"],
    ["action is required", { action: "" }, 422, "action"],
    ["reason is required", { reason: undefined }, 422, "reason"],
    ["the note is at most 1 KB", { note: "x".repeat(1025) }, 422, "note"],
    ["a series counts 2 or more", { series: { count: 1, lastObservedTime: "2026-11-28T10:00:00.000000Z" } }, 422, "series.count"],
    ["a series has its lastObservedTime", { series: { count: 2 } }, 422, "series.lastObservedTime"],
    ["the regarding object is in the Event's namespace", { regarding: { kind: "Pod", namespace: "other", name: "x" } }, 422, "regarding.namespace"],
    ["eventTime is required", { eventTime: undefined }, 400, "eventTime"]
  ])("invalid: %s", async (_, extra, code, field) => {
    const e = await failure(api.createNamespacedEvent({ namespace: "argo", body: event(`bad.${field}`, extra) }))
    expect(e.code).toBe(code)
    expect(JSON.parse(e.body).message).toContain(field)
  })

  it("watch delivers created and patched Events; discovery lists the group", async () => {
    const list = await api.listNamespacedEvent({ namespace: "w" })
    const watch = await rawWatch(sim, `/apis/events.k8s.io/v1/namespaces/w/events?watch=true&resourceVersion=${list.metadata?.resourceVersion}`)
    try {
      await api.createNamespacedEvent({ namespace: "w", body: event("w.1", { regarding: { apiVersion: "v1", kind: "Pod", namespace: "w", name: "p" } }) })
      await api.patchNamespacedEvent(
        { namespace: "w", name: "w.1", body: { series: { count: 2, lastObservedTime: "2026-11-28T10:01:00.000000Z" } } },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch)
      )
      await sim.waitFor(() => watch.lines.length >= 2, 5000)
      expect(watch.lines.map((l) => [l.type, l.object.kind, l.object.apiVersion])).toEqual([
        ["ADDED", "Event", "events.k8s.io/v1"],
        ["MODIFIED", "Event", "events.k8s.io/v1"]
      ])
    } finally {
      watch.close()
    }
    const groups = await http(sim, "GET", "/apis")
    expect(groups.json.groups.map((g: { name: string }) => g.name)).toContain("events.k8s.io")
    const resources = await http(sim, "GET", "/apis/events.k8s.io/v1")
    expect(resources.json.resources.map((r: { name: string }) => r.name)).toEqual(["events"])
  })
})
