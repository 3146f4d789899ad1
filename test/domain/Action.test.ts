import { describe, expect, it } from "vitest"
import { actionKey, ActionNames, isActionName, parseActionKey } from "../../src/domain/Action.ts"

describe("actions", () => {
  it("are Argo's six, by name", () => {
    expect([...ActionNames].sort()).toEqual([
      "deletePod",
      "deletePodByUID",
      "killContainers",
      "labelPodCompleted",
      "removeFinalizer",
      "terminateContainers"
    ])
    expect(isActionName("deletePod")).toBe(true)
    expect(isActionName("noAction")).toBe(false)
    expect(isActionName(undefined)).toBe(false)
  })
})

describe("actionKey (newPodCleanupKey / newPodCleanupKeyWithUID)", () => {
  it.each([
    ["terminateContainers", undefined, "argo/wf-a-1/terminateContainers"],
    ["killContainers", undefined, "argo/wf-a-1/killContainers"],
    ["labelPodCompleted", undefined, "argo/wf-a-1/labelPodCompleted"],
    ["deletePod", undefined, "argo/wf-a-1/deletePod"],
    ["removeFinalizer", undefined, "argo/wf-a-1/removeFinalizer"],
    ["deletePod", "uid-1", "argo/wf-a-1/deletePod"],
    ["deletePodByUID", "uid-1", "argo/wf-a-1/deletePodByUID/uid-1"],
    ["deletePodByUID", undefined, "argo/wf-a-1/deletePodByUID/"]
  ] as const)("%s uid=%s -> %s", (action, uid, key) => {
    expect(actionKey({ action, namespace: "argo", pod: "wf-a-1", uid })).toBe(key)
  })

  it("ignores the reason, so the same work on the same pod dedupes", () => {
    const a = actionKey({ action: "deletePod", namespace: "n", pod: "p" })
    const b = actionKey({ action: "deletePod", namespace: "n", pod: "p", uid: "x" })
    expect(a).toBe(b)
    expect(actionKey({ action: "labelPodCompleted", namespace: "n", pod: "p" })).not.toBe(a)
  })
})

describe("parseActionKey (parsePodCleanupKey)", () => {
  it("inverts actionKey", () => {
    expect(parseActionKey("argo/wf-a-1/deletePod")).toEqual({
      namespace: "argo",
      pod: "wf-a-1",
      action: "deletePod",
      uid: undefined
    })
    expect(parseActionKey("argo/wf-a-1/deletePodByUID/uid-1")).toEqual({
      namespace: "argo",
      pod: "wf-a-1",
      action: "deletePodByUID",
      uid: "uid-1"
    })
  })

  it.each([
    "argo/wf-a-1",
    "argo/wf-a-1/deletePod/uid/extra",
    "argo/wf-a-1/noAction",
    "argo/wf-a-1/deletePod/uid-1",
    "argo/wf-a-1/deletePodByUID",
    ""
  ])("rejects %j", (key) => {
    expect(parseActionKey(key)).toBe(undefined)
  })
})
