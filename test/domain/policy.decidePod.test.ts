/**
 * The whole decision (`decidePod`): the PodGC policy behind Argo's recorded node. A table over the
 * pod's state × what is known of its workflow × the state of the pod's node: labels, deletes and
 * finalizer removals wait until Argo has recorded the node; signalling never waits; native sidecars
 * never hold a pod "still running" and are never signalled.
 */
import { Duration, Result } from "effect"
import { describe, expect, it } from "vitest"
import type { PodPhase } from "../../src/domain/argo.ts"
import { killCommand } from "../../src/domain/killCommand.ts"
import { decodePod, mainContainersFinished, type Pod, runningContainers } from "../../src/domain/Pod.ts"
import { argoRecorded, type Decision, decidePod, defaultPolicyOptions, podNodeId, type WorkflowContext } from "../../src/domain/policy.ts"
import { argoNodeId, type WorkflowRecord, workflowRecord } from "../../src/domain/workflow.ts"

// ---- Fixtures -----------------------------------------------------------------------------------

const WF = "workflows.argoproj.io/workflow"
const COMPLETED = "workflows.argoproj.io/completed"
const GC = "workflows.argoproj.io/pod-gc-strategy"
const NODE_ID = "workflows.argoproj.io/node-id"
const NODE_NAME = "workflows.argoproj.io/node-name"
const FINALIZER = "workflows.argoproj.io/status"

type State = "running" | "waiting" | number

interface PodSpec {
  readonly phase?: PodPhase
  readonly labels?: Record<string, string>
  readonly annotations?: Record<string, string>
  readonly finalizers?: ReadonlyArray<string>
  readonly deleting?: boolean
  readonly containers?: Record<string, State>
  /** Native sidecars: init containers with restartPolicy Always, and their states. */
  readonly nativeSidecars?: Record<string, State>
}

const stateOf = (s: State) => (s === "running" ? { running: {} } : s === "waiting" ? { waiting: {} } : { terminated: { exitCode: s } })

/** The raw pod; defaults: a Succeeded pod of wf-1 (main and wait exited 0) with node-id wf-1-1. */
const rawPod = (p: PodSpec = {}) => {
  const containers = p.containers ?? { wait: 0, main: 0 }
  const sidecars = p.nativeSidecars ?? {}
  return {
    metadata: {
      namespace: "argo",
      name: "wf-1-step",
      uid: "uid-1",
      labels: p.labels ?? { [WF]: "wf-1", [COMPLETED]: "false" },
      annotations: p.annotations ?? { [NODE_ID]: "wf-1-1" },
      finalizers: p.finalizers ?? [],
      deletionTimestamp: p.deleting === true ? "2026-03-01T10:05:00Z" : undefined
    },
    spec: {
      initContainers: [
        { name: "init" },
        ...Object.keys(sidecars).map((name) => ({ name, restartPolicy: "Always" }))
      ],
      containers: Object.keys(containers).map((name) => ({
        name,
        ...(name === "wait" ? { volumeMounts: [{ name: "var-run-argo", mountPath: "/var/run/argo" }] } : {})
      }))
    },
    status: {
      phase: p.phase ?? "Succeeded",
      initContainerStatuses: [
        { name: "init", state: stateOf(0) },
        ...Object.entries(sidecars).map(([name, s]) => ({ name, state: stateOf(s), restartPolicy: "Always" }))
      ],
      containerStatuses: Object.entries(containers).map(([name, s]) => ({ name, state: stateOf(s) }))
    }
  }
}
const pod = (p: PodSpec = {}): Pod => Result.getOrThrow(decodePod(rawPod(p)))

/** Pod-node states by node ID. */
type NodeMap = Record<string, { readonly phase: string; readonly taskResultSynced?: boolean }>

interface WfSpec {
  readonly phase?: string
  readonly strategy?: string
  readonly delay?: string
  readonly shutdown?: string
  /** The Pod nodes (plain status.nodes); or the raw status fields for the other forms. */
  readonly nodes?: NodeMap
  readonly status?: Record<string, unknown>
}

const record = (w: WfSpec = {}): WorkflowRecord =>
  workflowRecord({
    metadata: { namespace: "argo", name: "wf-1", uid: "wf-uid", resourceVersion: "1" },
    spec: {
      ...(w.strategy === undefined ? {} : { podGC: { strategy: w.strategy, ...(w.delay === undefined ? {} : { deleteDelayDuration: w.delay }) } }),
      ...(w.shutdown === undefined ? {} : { shutdown: w.shutdown })
    },
    status: {
      phase: w.phase ?? "Running",
      ...(w.nodes === undefined
        ? {}
        : {
          nodes: {
            "wf-1": { id: "wf-1", name: "wf-1", type: "DAG", phase: "Running" },
            ...Object.fromEntries(Object.entries(w.nodes).map(([id, n]) => [id, { id, type: "Pod", ...n }]))
          }
        }),
      ...w.status
    }
  })

const known = (w: WfSpec = {}): WorkflowContext => ({ _tag: "Known", workflow: record(w) })
const gone: WorkflowContext = { _tag: "Gone", reason: "workflow argo/wf-1 not found (404)" }
const unseen: WorkflowContext = { _tag: "Unseen" }

type Expected =
  | { readonly tag: "Act"; readonly actions: ReadonlyArray<string>; readonly reason?: ReadonlyArray<RegExp>; readonly delayMs?: number }
  | { readonly tag: "Wait"; readonly reason: ReadonlyArray<RegExp>; readonly warning?: RegExp }
  | { readonly tag: "Skip"; readonly reason?: ReadonlyArray<RegExp> }

const actE = (actions: ReadonlyArray<string>, ...reason: ReadonlyArray<RegExp>): Expected => ({ tag: "Act", actions, reason })
const waitE = (...reason: ReadonlyArray<RegExp>): Expected => ({ tag: "Wait", reason })
const skipE = (...reason: ReadonlyArray<RegExp>): Expected => ({ tag: "Skip", reason })

const check = (decision: Decision, expected: Expected) => {
  expect(decision._tag, JSON.stringify(decision)).toBe(expected.tag)
  const reason = decision._tag === "Act" ? decision.actions.map((a) => a.reason).join(" | ") : decision.reason
  for (const r of expected.reason ?? []) expect(reason).toMatch(r)
  if (decision._tag === "Act" && expected.tag === "Act") {
    expect(decision.actions.map((a) => a.action)).toEqual(expected.actions)
    if (expected.delayMs !== undefined) expect(Duration.toMillis(decision.actions[0]!.delay)).toBe(expected.delayMs)
  }
  if (decision._tag === "Wait" && expected.tag === "Wait") {
    if (expected.warning === undefined) expect(decision.warning).toBeUndefined()
    else expect(decision.warning).toMatch(expected.warning)
  }
}

interface Case {
  readonly name: string
  readonly pod: Pod
  readonly context: WorkflowContext
  readonly expected: Expected
}

// Pod states used below.
const finished = pod() // Succeeded, nothing runs
const mainExited = pod({ phase: "Running", containers: { wait: "running", main: 0 } })
const mainFailed = pod({ phase: "Running", containers: { wait: "running", main: 2 } })
const stepRunning = pod({ phase: "Running", containers: { wait: "running", main: "running" } })
const pending = pod({ phase: "Pending", containers: { wait: "waiting", main: "waiting" } })
const deletingWithFinalizer = pod({ deleting: true, finalizers: [FINALIZER] })
const byName = (name: string) => pod({ annotations: { [NODE_NAME]: name } })
const anonymous = pod({ annotations: {} })

const derived = argoNodeId("wf-1", "wf-1[0].step")
const syncedFalse = { "wf-1-1": { phase: "Succeeded", taskResultSynced: false } }

const cases: ReadonlyArray<Case> = [
  // -- The node is recorded late: labels and deletes wait for it
  {
    name: "node recorded late: node Running → the label waits",
    pod: finished,
    context: known({ nodes: { "wf-1-1": { phase: "Running" } } }),
    expected: waitE(/^labelPodCompleted due, but /, /Argo has not recorded node wf-1-1 yet \(phase Running\)/)
  },
  {
    name: "node recorded late: node Pending → the label waits",
    pod: finished,
    context: known({ nodes: { "wf-1-1": { phase: "Pending" } } }),
    expected: waitE(/node wf-1-1/, /phase Pending/)
  },
  {
    name: "node recorded late: node without a phase yet → waits",
    pod: finished,
    context: known({ nodes: { "wf-1-1": { phase: "" } } }),
    expected: waitE(/phase \(none\)/)
  },
  {
    name: "node recorded: node Succeeded → labelled",
    pod: finished,
    context: known({ nodes: { "wf-1-1": { phase: "Succeeded" } } }),
    expected: actE(["labelPodCompleted"], /no podGC strategy/)
  },
  {
    name: "node recorded late, OnPodCompletion: the delete waits",
    pod: finished,
    context: known({ strategy: "OnPodCompletion", nodes: { "wf-1-1": { phase: "Running" } } }),
    expected: waitE(/^deletePod due, but Argo has not recorded node wf-1-1/)
  },
  {
    name: "node recorded, OnPodCompletion: deleted after the workflow's delay",
    pod: finished,
    context: known({ strategy: "OnPodCompletion", delay: "30s", nodes: { "wf-1-1": { phase: "Succeeded" } } }),
    expected: { tag: "Act", actions: ["deletePod"], reason: [/OnPodCompletion/], delayMs: 30_000 }
  },
  {
    name: "node Failed with the pod Failed → labelled (OnPodSuccess keeps failed pods)",
    pod: pod({ phase: "Failed", containers: { wait: 0, main: 1 } }),
    context: known({ strategy: "OnPodSuccess", nodes: { "wf-1-1": { phase: "Failed" } } }),
    expected: actE(["labelPodCompleted"], /OnPodSuccess and pod Failed/)
  },
  {
    name: "node Error → recorded",
    pod: finished,
    context: known({ nodes: { "wf-1-1": { phase: "Error" } } }),
    expected: actE(["labelPodCompleted"])
  },

  // -- taskResultSynced
  {
    name: "taskResultSynced false → waits, naming it",
    pod: finished,
    context: known({ nodes: syncedFalse }),
    expected: waitE(/Argo has not recorded node wf-1-1 yet \(phase Succeeded, taskResultSynced false\)/)
  },
  {
    name: "taskResultSynced true → labelled",
    pod: finished,
    context: known({ nodes: { "wf-1-1": { phase: "Succeeded", taskResultSynced: true } } }),
    expected: actE(["labelPodCompleted"])
  },
  {
    name: "taskResultSynced false on a Failed node → waits too",
    pod: finished,
    context: known({ strategy: "OnPodCompletion", nodes: { "wf-1-1": { phase: "Failed", taskResultSynced: false } } }),
    expected: waitE(/^deletePod due/, /taskResultSynced false/)
  },

  // -- The node is not in the map
  {
    name: "node missing from the map → waits",
    pod: finished,
    context: known({ nodes: { "wf-1-2": { phase: "Succeeded" } } }),
    expected: waitE(/node wf-1-1 is not in the status of workflow wf-1 yet/)
  },
  {
    name: "no node map at all (empty status) → waits",
    pod: finished,
    context: known({}),
    expected: waitE(/node wf-1-1 is not in the status of workflow wf-1 yet/)
  },
  {
    name: "only a non-Pod node carries the ID → waits",
    pod: pod({ annotations: { [NODE_ID]: "wf-1" } }),
    context: known({ nodes: {} }),
    expected: waitE(/node wf-1 is not in the status/)
  },

  // -- Node IDs from node-name
  {
    name: "node-name only: the derived ID (FNV-32a) finds the recorded node",
    pod: byName("wf-1[0].step"),
    context: known({ nodes: { [derived]: { phase: "Succeeded" } } }),
    expected: actE(["labelPodCompleted"])
  },
  {
    name: "node-name only: the derived node still Running → waits, naming the derived ID",
    pod: byName("wf-1[0].step"),
    context: known({ nodes: { [derived]: { phase: "Running" } } }),
    expected: waitE(new RegExp(`node ${derived} yet`))
  },
  {
    name: "node-name equal to the workflow's name: the ID is the workflow's name",
    pod: byName("wf-1"),
    context: known({ status: { nodes: { "wf-1": { id: "wf-1", type: "Pod", phase: "Succeeded" } } } }),
    expected: actE(["labelPodCompleted"])
  },
  {
    name: "an empty node-id falls back to node-name",
    pod: pod({ annotations: { [NODE_ID]: "", [NODE_NAME]: "wf-1[0].step" } }),
    context: known({ nodes: { [derived]: { phase: "Succeeded" } } }),
    expected: actE(["labelPodCompleted"])
  },
  {
    name: "node-id wins over node-name",
    pod: pod({ annotations: { [NODE_ID]: "wf-1-1", [NODE_NAME]: "wf-1[0].step" } }),
    context: known({ nodes: { "wf-1-1": { phase: "Running" }, [derived]: { phase: "Succeeded" } } }),
    expected: waitE(/node wf-1-1 yet/)
  },
  {
    name: "neither node-id nor node-name → waits for the workflow to complete",
    pod: anonymous,
    context: known({ nodes: { "wf-1-1": { phase: "Succeeded" } } }),
    expected: waitE(/neither workflows\.argoproj\.io\/node-id nor workflows\.argoproj\.io\/node-name/, /wf-1 to complete/)
  },
  {
    name: "neither annotation, workflow Succeeded → labelled",
    pod: anonymous,
    context: known({ phase: "Succeeded" }),
    expected: actE(["labelPodCompleted"])
  },

  // -- A completed workflow phase opens the gate, whatever the node map says
  {
    name: "workflow Failed, node still Running in the map → the gate is open",
    pod: finished,
    context: known({ phase: "Failed", strategy: "OnWorkflowCompletion", nodes: { "wf-1-1": { phase: "Running" } } }),
    expected: actE(["deletePod"], /OnWorkflowCompletion and workflow Failed/)
  },
  {
    name: "workflow Error, node missing → the gate is open",
    pod: finished,
    context: known({ phase: "Error", nodes: {} }),
    expected: actE(["labelPodCompleted"])
  },

  // -- Offloaded node status
  {
    name: "offloaded, workflow Running → waits",
    pod: finished,
    context: known({ strategy: "OnPodCompletion", status: { offloadNodeStatusVersion: "fnv:42" } }),
    expected: waitE(/^deletePod due/, /offloaded/, /waiting for the workflow to complete/)
  },
  {
    name: "offloaded, workflow Succeeded → acts",
    pod: finished,
    context: known({ phase: "Succeeded", strategy: "OnPodCompletion", status: { offloadNodeStatusVersion: "fnv:42" } }),
    expected: actE(["deletePod"])
  },

  // -- Unreadable node status
  {
    name: "unreadable compressedNodes, workflow Running → waits with a warning naming the problem",
    pod: finished,
    context: known({ status: { compressedNodes: "not*base64" } }),
    expected: { tag: "Wait", reason: [/cannot be read/, /waiting for the workflow to complete/], warning: /argo\/wf-1: status\.compressedNodes is not valid base64/ }
  },
  {
    name: "compressedNodes of non-JSON → waits with a warning naming the format",
    pod: finished,
    context: known({ status: { compressedNodes: Buffer.from("garbage that is no format at all").toString("base64") } }),
    expected: { tag: "Wait", reason: [/cannot be read/], warning: /status\.compressedNodes/ }
  },
  {
    name: "unreadable, workflow Succeeded → acts",
    pod: finished,
    context: known({ phase: "Succeeded", status: { compressedNodes: "not*base64" } }),
    expected: actE(["labelPodCompleted"])
  },

  // -- Gone: the orphan's own annotation, no gate
  {
    name: "gone, OnPodCompletion annotation → deletePod, no gate",
    pod: pod({ annotations: { [GC]: "OnPodCompletion/0s", [NODE_ID]: "wf-1-1" } }),
    context: gone,
    expected: { tag: "Act", actions: ["deletePod"], reason: [/workflow unknown, policy from workflows\.argoproj\.io\/pod-gc-strategy=OnPodCompletion\/0s/], delayMs: 0 }
  },
  {
    name: "gone, no annotation, no node annotations → labelled, no gate",
    pod: anonymous,
    context: gone,
    expected: actE(["labelPodCompleted"], /workflow unknown and no workflows\.argoproj\.io\/pod-gc-strategy annotation/)
  },
  {
    name: "gone, deleting pod with the finalizer → removeFinalizer, no gate",
    pod: deletingWithFinalizer,
    context: gone,
    expected: { tag: "Act", actions: ["removeFinalizer"], delayMs: 120_000 }
  },

  // -- Unseen: signalling goes on, cleanup waits
  {
    name: "unseen, main exited and wait running → terminateContainers",
    pod: mainExited,
    context: unseen,
    expected: actE(["terminateContainers"], /main containers \(main\) have exited; still running: wait/)
  },
  {
    name: "unseen, finished pod → the label waits for the workflow",
    pod: finished,
    context: unseen,
    expected: waitE(/workflow wf-1 not seen yet/)
  },
  {
    name: "unseen, OnPodCompletion annotation → the delete waits too",
    pod: pod({ annotations: { [GC]: "OnPodCompletion/0s" } }),
    context: unseen,
    expected: waitE(/not seen yet/)
  },
  {
    name: "unseen, deleting pod with the finalizer → removeFinalizer waits",
    pod: deletingWithFinalizer,
    context: unseen,
    expected: waitE(/not seen yet/)
  },
  {
    name: "unseen, running step → skip (nothing to wait for)",
    pod: stepRunning,
    context: unseen,
    expected: skipE(/pod is running/)
  },

  // -- Shutdown: a Pending pod is deleted instead of signalled, and that delete waits
  {
    name: "Terminate, Pending pod, node Pending → the delete waits",
    pod: pending,
    context: known({ shutdown: "Terminate", nodes: { "wf-1-1": { phase: "Pending" } } }),
    expected: waitE(/^deletePod due/, /phase Pending/)
  },
  {
    name: "Terminate, Pending pod, node Failed → deleted instead of signalled",
    pod: pending,
    context: known({ shutdown: "Terminate", nodes: { "wf-1-1": { phase: "Failed" } } }),
    expected: actE(["deletePod"], /pod is Pending and workflow shutdown strategy Terminate: deleted instead of signalled/)
  },
  {
    name: "Stop, Pending pod, node missing → waits",
    pod: pending,
    context: known({ shutdown: "Stop", nodes: {} }),
    expected: waitE(/not in the status/)
  },
  {
    name: "Terminate, Running step → terminateContainers at once (signals are never gated)",
    pod: stepRunning,
    context: known({ shutdown: "Terminate", nodes: { "wf-1-1": { phase: "Running" } } }),
    expected: actE(["terminateContainers"], /workflow shutdown strategy Terminate; still running: wait, main/)
  },

  // -- removeFinalizer waits too
  {
    name: "deleting pod with the finalizer, node Running → removeFinalizer waits",
    pod: deletingWithFinalizer,
    context: known({ nodes: { "wf-1-1": { phase: "Running" } } }),
    expected: waitE(/^removeFinalizer due, but Argo has not recorded node wf-1-1/)
  },
  {
    name: "deleting pod with the finalizer, node Succeeded → removeFinalizer after 2 minutes",
    pod: deletingWithFinalizer,
    context: known({ nodes: { "wf-1-1": { phase: "Succeeded" } } }),
    expected: { tag: "Act", actions: ["removeFinalizer"], delayMs: 120_000 }
  },
  {
    name: "finished pod with the finalizer, OnWorkflowCompletion not yet due, node Running → the release waits",
    pod: pod({ finalizers: [FINALIZER] }),
    context: known({ strategy: "OnWorkflowCompletion", nodes: { "wf-1-1": { phase: "Running" } } }),
    expected: waitE(/^removeFinalizer due/)
  },
  {
    name: "labelled pod still carrying the finalizer, node missing → the release waits",
    pod: pod({ labels: { [WF]: "wf-1", [COMPLETED]: "true" }, finalizers: [FINALIZER] }),
    context: known({ nodes: {} }),
    expected: waitE(/^removeFinalizer due/)
  },
  {
    name: "deleting pod without our finalizer → skip, whatever the node",
    pod: pod({ deleting: true }),
    context: known({ nodes: {} }),
    expected: skipE(/already being deleted/)
  },

  // -- Signalling is never gated
  {
    name: "node Running, main exited → terminateContainers",
    pod: mainExited,
    context: known({ nodes: { "wf-1-1": { phase: "Running" } } }),
    expected: actE(["terminateContainers"], /still running: wait/)
  },
  {
    name: "node missing, main failed → terminateContainers",
    pod: mainFailed,
    context: known({ nodes: {} }),
    expected: actE(["terminateContainers"], /main containers \(main\) have exited; still running: wait/)
  },
  {
    name: "offloaded, main exited → terminateContainers",
    pod: mainExited,
    context: known({ status: { offloadNodeStatusVersion: "v" } }),
    expected: actE(["terminateContainers"])
  },
  {
    name: "unreadable, main exited → terminateContainers (no warning: nothing waits)",
    pod: mainExited,
    context: known({ status: { compressedNodes: "!!" } }),
    expected: actE(["terminateContainers"])
  },
  {
    name: "a running step of a running workflow → skip",
    pod: stepRunning,
    context: known({ nodes: { "wf-1-1": { phase: "Running" } } }),
    expected: skipE(/pod is running/)
  },
  {
    name: "OnWorkflowCompletion, running workflow, finished pod → skip (nothing due, nothing to wait for)",
    pod: finished,
    context: known({ strategy: "OnWorkflowCompletion", nodes: { "wf-1-1": { phase: "Running" } } }),
    expected: skipE(/not yet satisfied/)
  },

  // -- Native sidecars (init containers with restartPolicy Always)
  {
    name: "native sidecar running, every container terminated, phase Running → done: labelled once the node is recorded",
    pod: pod({ phase: "Running", containers: { wait: 0, main: 0 }, nativeSidecars: { "istio-proxy": "running" } }),
    context: known({ nodes: { "wf-1-1": { phase: "Succeeded" } } }),
    expected: actE(["labelPodCompleted"])
  },
  {
    name: "native sidecar running, node not recorded → waits (for the node, not for the sidecar)",
    pod: pod({ phase: "Running", containers: { wait: 0, main: 0 }, nativeSidecars: { "istio-proxy": "running" } }),
    context: known({ strategy: "OnPodCompletion", nodes: { "wf-1-1": { phase: "Running" } } }),
    expected: waitE(/^deletePod due, but Argo has not recorded node wf-1-1/)
  },
  {
    name: "native sidecar and wait running, main exited → terminateContainers names only wait",
    pod: pod({ phase: "Running", containers: { wait: "running", main: 0 }, nativeSidecars: { "istio-proxy": "running" } }),
    context: known({ nodes: { "wf-1-1": { phase: "Running" } } }),
    expected: actE(["terminateContainers"], /still running: wait$/)
  }
]

describe("decidePod: the policy behind Argo's recorded node", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    check(decidePod(c.pod, c.context, defaultPolicyOptions, Date.parse("2026-03-01T10:00:00Z")), c.expected)
  })

  it("the same pod goes from Wait to Act as Argo records its node", () => {
    const steps: ReadonlyArray<readonly [NodeMap, Decision["_tag"]]> = [
      [{}, "Wait"],
      [{ "wf-1-1": { phase: "Pending" } }, "Wait"],
      [{ "wf-1-1": { phase: "Running" } }, "Wait"],
      [syncedFalse, "Wait"],
      [{ "wf-1-1": { phase: "Succeeded", taskResultSynced: true } }, "Act"]
    ]
    const p = pod({ annotations: { [NODE_ID]: "wf-1-1", [GC]: "OnPodCompletion/0s" } })
    for (const [nodes, tag] of steps) {
      expect(decidePod(p, known({ strategy: "OnPodCompletion", nodes }))._tag).toBe(tag)
    }
  })

  it("no action that takes a pod from Argo is ever returned while its node is not fulfilled", () => {
    const pods = [finished, mainExited, mainFailed, stepRunning, pending, deletingWithFinalizer, byName("x"), anonymous,
      pod({ finalizers: [FINALIZER] }), pod({ phase: "Failed", containers: { wait: 0, main: 1 } })]
    const strategies = [undefined, "OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess"]
    const shutdowns = [undefined, "Stop", "Terminate"]
    const nodeStates: ReadonlyArray<NodeMap> = [{}, { "wf-1-1": { phase: "Running" } }, { "wf-1-1": { phase: "Pending" } }, syncedFalse]
    const holds = ["labelPodCompleted", "deletePod", "deletePodByUID", "removeFinalizer"]
    let checked = 0
    for (const p of pods) {
      for (const strategy of strategies) {
        for (const shutdown of shutdowns) {
          for (const nodes of nodeStates) {
            for (const phase of ["Running", "Pending"]) {
              const d = decidePod(p, known({ phase, strategy, shutdown, nodes }))
              if (d._tag === "Act") for (const a of d.actions) expect(holds).not.toContain(a.action)
              checked++
            }
          }
        }
      }
    }
    expect(checked).toBe(10 * 5 * 3 * 4 * 2)
  })

  it("podNodeId and argoRecorded agree with the table", () => {
    expect(podNodeId(finished, "wf-1")).toBe("wf-1-1")
    expect(podNodeId(byName("wf-1[0].step"), "wf-1")).toBe("wf-1-4267915052")
    expect(podNodeId(anonymous, "wf-1")).toBeUndefined()
    expect(argoRecorded(finished, record({ nodes: { "wf-1-1": { phase: "Skipped" } } }))).toEqual({ open: true })
    expect(argoRecorded(finished, record({ nodes: { "wf-1-1": { phase: "Omitted" } } }))).toEqual({ open: true })
  })
})

describe("native sidecars are never 'still running' and never signalled", () => {
  const sidecarPod = pod({ phase: "Running", containers: { wait: "running", main: 0 }, nativeSidecars: { "istio-proxy": "running" } })
  const allDone = pod({ phase: "Running", containers: { wait: 0, main: 0 }, nativeSidecars: { "istio-proxy": "running" } })

  it("the decoded pod knows nothing of init containers", () => {
    expect(rawPod({ nativeSidecars: { "istio-proxy": "running" } }).status.initContainerStatuses).toHaveLength(2)
    expect(sidecarPod.status.containerStatuses.map((s) => s.name)).toEqual(["wait", "main"])
    expect(sidecarPod.spec.containers.map((c) => c.name)).toEqual(["wait", "main"])
  })

  it("runningContainers and mainContainersFinished ignore it", () => {
    expect(runningContainers(sidecarPod)).toEqual(["wait"])
    expect(runningContainers(allDone)).toEqual([])
    expect(mainContainersFinished(allDone, ["main"])).toBe(true)
  })

  it("the terminateContainers decision targets only regular containers, with their Argo kill commands", () => {
    const d = decidePod(sidecarPod, known({ nodes: { "wf-1-1": { phase: "Running" } } }))
    expect(d._tag).toBe("Act")
    if (d._tag !== "Act") return
    expect(d.actions.map((a) => a.action)).toEqual(["terminateContainers"])
    expect(d.actions[0]!.reason).not.toContain("istio-proxy")
    const commands = runningContainers(sidecarPod).map((c) => killCommand(sidecarPod, c, "SIGTERM").argv)
    expect(commands).toEqual([["argoexec", "kill", "15", "1"]])
    expect(JSON.stringify(commands)).not.toContain("istio-proxy")
  })

  it("with every regular container stopped the pod is done, not 'running with nothing to signal'", () => {
    const d = decidePod(allDone, known({ phase: "Succeeded" }))
    expect(d).toMatchObject({ _tag: "Act", actions: [{ action: "labelPodCompleted" }] })
  })
})
