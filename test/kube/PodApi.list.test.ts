/**
 * A pod list page over real HTTP, from the API's JSON to the compact records the caches keep: the
 * page is plain JSON (no client-node model objects, timestamps as the server's text), and every
 * field the policy and the kill commands read (the list of test/domain/Pod.compact.test.ts) arrives
 * in the record, on a pod the size of a real Argo pod; the decisions are those of the same pod in
 * client-node's form.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { ArgoExecBinMountPath, VarRunArgoPath } from "../../src/domain/argo.ts"
import { killCommand } from "../../src/domain/killCommand.ts"
import { compactPod, decodePod, type Pod, runningContainers } from "../../src/domain/Pod.ts"
import { decidePod, type WorkflowContext } from "../../src/domain/policy.ts"
import { workflowRecord } from "../../src/domain/workflow.ts"
import { PodApi } from "../../src/kube/PodApi.ts"
import { podListWatch } from "../../src/controller/sources.ts"
import { realisticPodParts } from "@pod-cleanup/sim"
import { kubeLayer, useSim } from "../support/sim.ts"

const sim = useSim()

const ns = "plain-list"
const selector = "workflows.argoproj.io/workflow"
const rfc3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/

/** A pod like Argo's (ARGO_TEMPLATE, volumes, managedFields), with every field the decision reads set. */
const partsOf = (name: string) => realisticPodParts({ namespace: ns, workflow: "wf", nodeName: `wf[0].${name}`, podName: name })

/** The mounts as the record keeps them: name and path of those the kill commands read. */
const mountsOf = (mounts: ReadonlyArray<{ readonly name?: string; readonly mountPath?: string }> | undefined) =>
  (mounts ?? [])
    .filter(({ mountPath }) => mountPath === ArgoExecBinMountPath || mountPath === VarRunArgoPath)
    .map(({ mountPath, name }) => ({ name: name ?? "", mountPath: mountPath ?? "" }))

const addArgoPod = (name: string, extra: { readonly deleting?: boolean } = {}) => {
  const parts = partsOf(name)
  return sim.addPod({
    namespace: ns,
    name,
    nodeName: "node-3",
    labels: { "workflows.argoproj.io/workflow": "wf", "workflows.argoproj.io/completed": "false", team: "a" },
    annotations: {
      "workflows.argoproj.io/node-id": `wf-${name}`,
      "workflows.argoproj.io/node-name": `wf[0].${name}`,
      "workflows.argoproj.io/pod-gc-strategy": "OnPodCompletion/0s",
      "workflows.argoproj.io/kill-cmd-sidecar": "[\"/bin/stop\", \"%d\"]",
      "kubectl.kubernetes.io/last-applied-configuration": "x".repeat(5_000)
    },
    finalizers: ["workflows.argoproj.io/status"],
    terminationGracePeriodSeconds: 17,
    ...(extra.deleting ? { deletionGracePeriodSeconds: 30 } : {}),
    metadata: parts.metadata,
    spec: parts.spec,
    containers: [
      { name: "wait", state: "running", ...parts.wait },
      { name: "main", state: "terminated", exitCode: 3, ...parts.main },
      { name: "sidecar", state: "running", volumeMounts: [{ name: "scratch", mountPath: "/scratch" }] },
      { name: "init-like", state: "waiting", waitingReason: "ImagePullBackOff" }
    ]
  })
}

const contexts: ReadonlyArray<WorkflowContext> = [
  { _tag: "Gone", reason: "404" },
  { _tag: "Unseen" },
  {
    _tag: "Known",
    workflow: workflowRecord({
      metadata: { namespace: ns, name: "wf" },
      spec: { podGC: { strategy: "OnPodCompletion" } },
      status: { phase: "Running", nodes: { "wf-a": { id: "wf-a", type: "Pod", phase: "Failed" } } }
    })
  },
  { _tag: "Known", workflow: workflowRecord({ metadata: { namespace: ns, name: "wf" }, spec: { shutdown: "Stop" }, status: { phase: "Running" } }) }
]

const decoded = (u: unknown): Pod => {
  const r = decodePod(u)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

describe("a pod list page as plain JSON", () => {
  it.live("is the server's JSON, and decodes into compact records with every field the policy reads", () =>
    Effect.gen(function*() {
      addArgoPod("a")
      addArgoPod("b", { deleting: true })
      const api = yield* PodApi

      // The page itself: plain objects, timestamps as the server wrote them.
      const page = yield* api.list({ namespace: ns, labelSelector: selector, limit: 500 })
      assert.strictEqual(page.items.length, 2)
      for (const item of page.items) {
        assert.strictEqual(Object.getPrototypeOf(item), Object.prototype, "no V1Pod was built")
        assert.strictEqual(Object.getPrototypeOf(item.metadata), Object.prototype)
        assert.match(item.metadata?.creationTimestamp as string, rfc3339)
        assert.isArray(item.metadata?.managedFields, "the whole object came over the wire")
      }
      const wire = new Map(page.items.map((p) => [p.metadata?.name ?? "", p]))

      // The informer's edge, one pod per page: compact records.
      const { list } = podListWatch(api, ns, selector)
      const first = yield* list({ limit: 1 })
      assert.isDefined(first.continue)
      const second = yield* list({ limit: 1, continue: first.continue })
      assert.isUndefined(second.continue)
      const records = [...first.items, ...second.items]
      assert.sameMembers(records.map((p) => p.metadata.name), ["a", "b"])

      for (const record of records) {
        const name = record.metadata.name
        const raw = wire.get(name)! as {
          metadata: { uid: string; resourceVersion: string; creationTimestamp: string; deletionTimestamp?: string }
          status: { containerStatuses: Array<{ name: string; state: Record<string, Record<string, unknown>> }> }
        }
        assert.deepStrictEqual(record, {
          metadata: {
            namespace: ns,
            name,
            uid: raw.metadata.uid,
            resourceVersion: raw.metadata.resourceVersion,
            labels: { "workflows.argoproj.io/workflow": "wf", "workflows.argoproj.io/completed": "false", team: "a" },
            annotations: {
              "workflows.argoproj.io/node-id": `wf-${name}`,
              "workflows.argoproj.io/node-name": `wf[0].${name}`,
              "workflows.argoproj.io/pod-gc-strategy": "OnPodCompletion/0s",
              "workflows.argoproj.io/kill-cmd-sidecar": "[\"/bin/stop\", \"%d\"]"
            },
            finalizers: ["workflows.argoproj.io/status"],
            ...(name === "b" ? { deletionTimestamp: raw.metadata.deletionTimestamp! } : {})
          },
          spec: {
            nodeName: "node-3",
            terminationGracePeriodSeconds: 17,
            containers: [
              { name: "wait", volumeMounts: mountsOf(partsOf(name).wait.volumeMounts) },
              { name: "main", volumeMounts: mountsOf(partsOf(name).main.volumeMounts) },
              { name: "sidecar", volumeMounts: [] },
              { name: "init-like", volumeMounts: [] }
            ]
          },
          status: {
            phase: "Running",
            containerStatuses: [
              { name: "wait", state: { running: {} } },
              {
                name: "main",
                state: { terminated: { exitCode: 3, reason: "Error" } }
              },
              { name: "sidecar", state: { running: {} } },
              { name: "init-like", state: { waiting: { reason: "ImagePullBackOff" } } }
            ]
          }
        })
        // The one timestamp the record keeps is the server's text.
        if (name === "b") assert.match(record.metadata.deletionTimestamp!, rfc3339)

        // The same pod in client-node's form (Date timestamps): the same decisions and kill commands.
        const viaModels = compactPod(decoded(sim.getPod(ns, name)))
        const now = Date.now()
        for (const context of contexts) {
          assert.deepStrictEqual(decidePod(record, context, undefined, now), decidePod(viaModels, context, undefined, now))
        }
        for (const container of runningContainers(record)) {
          for (const signal of ["SIGTERM", "SIGKILL"] as const) {
            assert.deepStrictEqual(killCommand(record, container, signal), killCommand(viaModels, container, signal))
          }
        }
      }
    }).pipe(Effect.provide(kubeLayer(sim))))
})
