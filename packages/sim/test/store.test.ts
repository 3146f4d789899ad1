// The store's sharing rules: `get` hands out copies; `peek` and watch events hand out the stored
// objects themselves, which no write ever changes in place (every write stores a new object), and
// which a freezing store (the test suites' SimClusters) makes throw on a change in place.
import { describe, expect, it } from "vitest"
import { Store, type StoreEvent } from "../src/store.ts"

const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { namespace: "ns", name, labels },
  spec: { containers: [{ name: "main" }] }
})

describe("Store", () => {
  it("get copies; peek and events share the stored object, and a write stores a new one", () => {
    const store = new Store()
    const events: Array<StoreEvent> = []
    store.watch("pods", undefined, (e) => events.push(e))
    store.create("pods", pod("a", { x: "1" }))
    const first = store.peek("pods", "ns", "a")!
    expect(events[0]!.object).toBe(first)

    const copy = store.get("pods", "ns", "a")!
    copy.metadata.labels!["x"] = "changed"
    expect(store.peek("pods", "ns", "a")!.metadata.labels).toEqual({ x: "1" })

    store.update("pods", { ...pod("a", { x: "2" }), metadata: { ...pod("a", { x: "2" }).metadata, resourceVersion: "1" } })
    const second = store.peek("pods", "ns", "a")!
    expect(second).not.toBe(first)
    expect(first.metadata.labels).toEqual({ x: "1" })
    expect(first.metadata.resourceVersion).toBe("1")
    expect(second.metadata.resourceVersion).toBe("2")
    expect(events[1]!.object).toBe(second)
    expect(events[1]!.previous).toBe(first)
  })

  it("update with owned stores the object handed over; without, a copy", () => {
    const store = new Store()
    store.create("pods", pod("a"))
    const handed = pod("a", { y: "1" })
    store.update("pods", handed, { owned: true })
    expect(store.peek("pods", "ns", "a")).toBe(handed)
    const kept = pod("a", { y: "2" })
    store.update("pods", kept)
    expect(store.peek("pods", "ns", "a")).not.toBe(kept)
    kept.metadata.labels["y"] = "changed"
    expect(store.peek("pods", "ns", "a")!.metadata.labels).toEqual({ y: "2" })
  })

  it("a freezing store makes a change in place of a stored object throw, at any depth", () => {
    const store = new Store({ freeze: true })
    store.create("pods", pod("a", { x: "1" }))
    const stored = store.peek("pods", "ns", "a")!
    expect(() => {
      stored.metadata.labels!["x"] = "2"
    }).toThrow(TypeError)
    expect(() => {
      ;(stored["spec"] as { containers: Array<{ name: string }> }).containers[0]!.name = "other"
    }).toThrow(TypeError)
    expect(() => {
      delete stored.metadata.resourceVersion
    }).toThrow(TypeError)
    // What `get` hands out is a copy, free to change.
    const copy = store.get("pods", "ns", "a")!
    copy.metadata.labels!["x"] = "2"
    expect(store.peek("pods", "ns", "a")!.metadata.labels).toEqual({ x: "1" })
    // A non-freezing store does not freeze.
    const plain = new Store()
    plain.create("pods", pod("b"))
    expect(Object.isFrozen(plain.peek("pods", "ns", "b"))).toBe(false)
  })

  it("the test suites' simulated clusters freeze (SIM_FREEZE_OBJECTS=1 in vitest.config.ts)", () => {
    expect(process.env["SIM_FREEZE_OBJECTS"]).toBe("1")
  })
})
