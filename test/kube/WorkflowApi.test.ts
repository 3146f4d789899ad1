/**
 * `WorkflowApi` against the simulated API server over real HTTP: lists paginate with continue
 * tokens, `get` hands out the Workflow's plain JSON and keeps a 404 a `KubeNotFoundError`, a watch
 * delivers what changes, and `crdPresent` tells an installed CRD from an absent one (or one RBAC hides).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import { WorkflowApi } from "../../src/kube/WorkflowApi.ts"
import { SimCluster } from "@pod-cleanup/sim"
import { clientLayer } from "../support/sim.ts"

let sim: SimCluster
let noCrd: SimCluster
beforeAll(async () => {
  ;[sim, noCrd] = await Promise.all([SimCluster.start(), SimCluster.start({ workflowsCrd: false })])
})
afterAll(async () => {
  await Promise.all([sim?.close(), noCrd?.close()])
})

const layer = (cluster: SimCluster) => WorkflowApi.layer.pipe(Layer.provide(clientLayer(cluster, { requestTimeout: "2 seconds" })))

/** Log lines of the effect, kept instead of printed. */
const capturingLogs = (lines: Array<string>) => Logger.layer([Logger.map(Logger.formatLogFmt, (line) => void lines.push(line))])

describe("WorkflowApi on loopback", () => {
  it.live("list paginates with continue tokens, in one namespace and across all", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 7; i++) sim.addWorkflow({ namespace: "wf-pages", name: `wf-${i}`, phase: "Succeeded" })
      sim.addWorkflow({ namespace: "wf-other", name: "elsewhere" })
      const api = yield* WorkflowApi
      const sizes: Array<number> = []
      const names: Array<string> = []
      let cont: string | undefined
      do {
        const page = yield* api.list({ namespace: "wf-pages", limit: 3, continue: cont })
        assert.notStrictEqual(page.resourceVersion, "")
        sizes.push(page.items.length)
        for (const wf of page.items) names.push(wf.metadata?.name ?? "")
        cont = page.continue
      } while (cont !== undefined)
      assert.deepStrictEqual(sizes, [3, 3, 1])
      assert.sameMembers(names, Array.from({ length: 7 }, (_, i) => `wf-${i}`))
      const all = yield* api.list({ limit: 500 })
      assert.includeMembers(all.items.map((wf) => `${wf.metadata?.namespace}/${wf.metadata?.name}`), ["wf-pages/wf-0", "wf-other/elsewhere"])
      assert.isUndefined(all.continue)
    }).pipe(Effect.provide(layer(sim))))

  it.live("get returns the workflow as plain JSON; a missing one is a KubeNotFoundError naming it", () =>
    Effect.gen(function*() {
      sim.addWorkflow({ namespace: "wf-get", name: "present", phase: "Failed", podGC: { strategy: "OnWorkflowSuccess" } })
      const api = yield* WorkflowApi
      const wf = yield* api.get("wf-get", "present")
      assert.strictEqual(wf.metadata?.name, "present")
      assert.strictEqual((wf.status as { phase?: string }).phase, "Failed")
      assert.deepStrictEqual((wf.spec as { podGC?: unknown }).podGC, { strategy: "OnWorkflowSuccess" })
      assert.strictEqual(Object.getPrototypeOf(wf), Object.prototype, "no model object was built")
      const missing = yield* Effect.flip(api.get("wf-get", "absent"))
      assert.strictEqual(missing._tag, "KubeNotFoundError")
      assert.strictEqual(missing.namespace, "wf-get")
      assert.strictEqual(missing.name, "absent")
      assert.strictEqual(missing.resource, "workflows.argoproj.io")
    }).pipe(Effect.provide(layer(sim))))

  it.live("watch from a list's resourceVersion delivers a workflow added after it", () =>
    Effect.gen(function*() {
      const api = yield* WorkflowApi
      const listed = yield* api.list({ namespace: "wf-watch", limit: 10 })
      const events = yield* Effect.forkChild(
        Stream.runCollect(api.watch({ namespace: "wf-watch", resourceVersion: listed.resourceVersion, allowWatchBookmarks: true }).pipe(
          Stream.filter((e) => e.type !== "BOOKMARK"),
          Stream.take(1)
        ))
      )
      yield* Effect.promise(() => sim.waitFor(() => sim.stats().watchOpen >= 1))
      sim.addWorkflow({ namespace: "wf-watch", name: "late", phase: "Running" })
      const [event] = yield* Fiber.join(events)
      assert.strictEqual(event?.type, "ADDED")
      assert.strictEqual(event !== undefined && "object" in event ? event.object.metadata?.name : undefined, "late")
    }).pipe(Effect.provide(layer(sim))))

  it.live("crdPresent: true where the CRD is installed, false where it is absent (and get is then a 404)", () =>
    Effect.gen(function*() {
      const present = yield* WorkflowApi.use((api) => api.crdPresent("wf-crd")).pipe(Effect.provide(layer(sim)))
      assert.isTrue(present)
      const absent = yield* WorkflowApi.use((api) => api.crdPresent()).pipe(Effect.provide(layer(noCrd)))
      assert.isFalse(absent)
      const gone = yield* Effect.flip(WorkflowApi.use((api) => api.get("default", "any")).pipe(Effect.provide(layer(noCrd))))
      assert.strictEqual(gone._tag, "KubeNotFoundError")
    }))

  it.live("crdPresent: a 403 reads as absent with an RBAC error logged; a 503 is tried again", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      sim.faults.api({ verb: "list", resource: "workflows", namespace: "wf-rbac" }, { kind: "status", code: 403 }, { times: 1 })
      const forbidden = yield* WorkflowApi.use((api) => api.crdPresent("wf-rbac")).pipe(
        Effect.provide(layer(sim)),
        Effect.provide(capturingLogs(lines))
      )
      assert.isFalse(forbidden)
      assert.isTrue(lines.some((l) => l.includes("level=ERROR") && l.includes("check the RBAC rules")), lines.join("\n"))

      sim.faults.api({ verb: "list", resource: "workflows", namespace: "wf-flaky" }, { kind: "status", code: 503 }, { times: 1 })
      const before = sim.requestLog.filter((r) => r.verb === "list" && r.namespace === "wf-flaky").length
      const flaky = yield* WorkflowApi.use((api) => api.crdPresent("wf-flaky")).pipe(Effect.provide(layer(sim)))
      assert.isTrue(flaky)
      const lists = sim.requestLog.filter((r) => r.verb === "list" && r.namespace === "wf-flaky")
      assert.deepStrictEqual(lists.slice(before).map((r) => r.status), [503, 200])
    }))
})
