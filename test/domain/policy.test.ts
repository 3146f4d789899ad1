import { Duration, Result } from "effect"
import { describe, expect, it } from "vitest"
import type { PodPhase } from "../../src/domain/argo.ts"
import { decodePod, type Pod } from "../../src/domain/Pod.ts"
import {
  type PolicyDecision,
  decide,
  defaultPolicyOptions,
  determinePodCleanupAction,
  parsePodGCAnnotation,
  type PolicyOptions,
  type WorkflowView
} from "../../src/domain/policy.ts"

// ---- Fixtures -----------------------------------------------------------------------------------

const WF = "workflows.argoproj.io/workflow"
const COMPLETED = "workflows.argoproj.io/completed"
const COMPONENT = "workflows.argoproj.io/component"
const ON_EXIT = "workflows.argoproj.io/on-exit"
const GC = "workflows.argoproj.io/pod-gc-strategy"
const FINALIZER = "workflows.argoproj.io/status"

type State = "running" | "waiting" | number

interface PodSpec {
  readonly phase?: PodPhase | null
  readonly labels?: Record<string, string>
  readonly extraLabels?: Record<string, string>
  readonly annotations?: Record<string, string>
  readonly finalizers?: ReadonlyArray<string>
  readonly deleting?: boolean
  readonly containers?: Record<string, State>
}

/** Defaults: a Succeeded workflow pod (main and wait exited 0), labelled completed=false. */
const pod = (p: PodSpec = {}): Pod => {
  const containers = p.containers ?? { wait: 0, main: 0 }
  return Result.getOrThrow(decodePod({
    metadata: {
      namespace: "argo",
      name: "wf-1-step",
      uid: "uid-1",
      labels: { ...(p.labels ?? { [WF]: "wf-1", [COMPLETED]: "false" }), ...p.extraLabels },
      annotations: p.annotations ?? {},
      finalizers: p.finalizers ?? [],
      deletionTimestamp: p.deleting === true ? "2025-03-01T10:05:00Z" : undefined
    },
    spec: { containers: Object.keys(containers).map((name) => ({ name })) },
    status: {
      phase: p.phase === null ? undefined : p.phase ?? "Succeeded",
      containerStatuses: Object.entries(containers).map(([name, s]) => ({
        name,
        state: s === "running" ? { running: {} } : s === "waiting" ? { waiting: {} } : { terminated: { exitCode: s } }
      }))
    }
  }))
}

const wf = (
  phase: WorkflowView["phase"],
  podGC?: WorkflowView["podGC"],
  extra: Omit<WorkflowView, "phase" | "podGC"> = {}
): WorkflowView => ({ phase, podGC, ...extra })

type Expected =
  | { readonly skip: string }
  | { readonly act: ReadonlyArray<readonly [string, number]>; readonly reason: string }

const summarize = (d: PolicyDecision): Expected =>
  d._tag === "Skip"
    ? { skip: d.reason }
    : {
      act: d.actions.map((a) => [a.action, Duration.toMillis(a.delay)] as const),
      reason: d.actions.map((a) => a.reason).join(" | ")
    }

const act = (action: string, delayMs: number, reason: string): Expected => ({ act: [[action, delayMs]], reason })
const skip = (reason: string): Expected => ({ skip: reason })

interface Case {
  readonly name: string
  readonly pod: Pod
  readonly workflow: WorkflowView | undefined
  readonly expected: Expected
  readonly options?: PolicyOptions
}

const cases: ReadonlyArray<Case> = [
  // -- Pods that are not ours, or already going away
  {
    name: "component pods are never touched",
    pod: pod({ extraLabels: { [COMPONENT]: "agent" } }),
    workflow: wf("Succeeded", { strategy: "OnPodCompletion" }),
    expected: skip(`pod has label ${COMPONENT}=agent: not subject to PodGC`)
  },
  {
    name: "pods without the workflow label are not workflow pods",
    pod: pod({ labels: { app: "x" } }),
    workflow: undefined,
    expected: skip(`pod has no ${WF} label: not a workflow pod`)
  },
  {
    name: "a deleting pod without our finalizer is left alone",
    pod: pod({ deleting: true, finalizers: ["example.com/keep"] }),
    workflow: wf("Running", { strategy: "OnPodCompletion" }),
    expected: skip("pod is already being deleted")
  },
  {
    name: "a deleting pod with our finalizer gets it removed after 2 minutes",
    pod: pod({ deleting: true, finalizers: [FINALIZER], phase: "Running", containers: { main: "running" } }),
    workflow: wf("Running"),
    expected: act("removeFinalizer", 120_000, "pod is being deleted and still carries the status finalizer")
  },
  {
    name: "the deleting-finalizer delay is configurable",
    pod: pod({ deleting: true, finalizers: [FINALIZER] }),
    workflow: undefined,
    options: { ...defaultPolicyOptions, deletingFinalizerDelay: Duration.zero },
    expected: act("removeFinalizer", 0, "pod is being deleted and still carries the status finalizer")
  },

  // -- Running pods: signalling
  {
    name: "a running step is left to run",
    pod: pod({ phase: "Running", containers: { wait: "running", main: "running" } }),
    workflow: wf("Running", { strategy: "OnPodCompletion" }),
    expected: skip("pod is running")
  },
  {
    name: "main finished, wait still running: terminate (no PodGC yet)",
    pod: pod({ phase: "Running", containers: { wait: "running", main: 0 } }),
    workflow: wf("Running", { strategy: "OnPodCompletion" }),
    expected: act("terminateContainers", 0, "main containers (main) have exited; still running: wait")
  },
  {
    name: "main failed, sidecar still running: terminate",
    pod: pod({ phase: "Running", containers: { wait: "running", main: 1, "istio-proxy": "running" } }),
    workflow: undefined,
    expected: act("terminateContainers", 0, "main containers (main) have exited; still running: wait, istio-proxy")
  },
  {
    name: "containerSet: one main exited non-zero while another runs: terminate",
    pod: pod({ phase: "Running", containers: { wait: "running", a: 2, b: "running" } }),
    workflow: wf("Running"),
    options: { ...defaultPolicyOptions, mainContainers: ["a", "b"] },
    expected: act("terminateContainers", 0, "main container a exited with code 2; still running: wait, b")
  },
  {
    name: "containerSet: one main exited 0 while another runs: keep running",
    pod: pod({ phase: "Running", containers: { wait: "running", a: 0, b: "running" } }),
    workflow: wf("Running"),
    options: { ...defaultPolicyOptions, mainContainers: ["a", "b"] },
    expected: skip("pod is running")
  },
  {
    name: "Running phase but nothing running yet: nothing to signal",
    pod: pod({ phase: "Running", containers: { wait: "waiting", main: "waiting" } }),
    workflow: wf("Failed"),
    expected: skip("pod is Running but no container is running: nothing to signal")
  },
  {
    name: "workflow shutdown Terminate stops a running pod",
    pod: pod({ phase: "Running", containers: { wait: "running", main: "running" } }),
    workflow: wf("Running", undefined, { shutdown: "Terminate" }),
    expected: act("terminateContainers", 0, "workflow shutdown strategy Terminate; still running: wait, main")
  },
  {
    name: "workflow shutdown Stop spares onExit pods",
    pod: pod({ phase: "Running", containers: { main: "running" }, extraLabels: { [ON_EXIT]: "true" } }),
    workflow: wf("Running", undefined, { shutdown: "Stop" }),
    expected: skip("pod is running")
  },
  {
    name: "workflow shutdown Stop stops other pods",
    pod: pod({ phase: "Running", containers: { main: "running" } }),
    workflow: wf("Running", undefined, { shutdown: "Stop" }),
    expected: act("terminateContainers", 0, "workflow shutdown strategy Stop (not an onExit pod); still running: main")
  },
  {
    name: "a workflow past its deadline stops its running pods",
    pod: pod({ phase: "Running", containers: { main: "running" } }),
    workflow: wf("Running", undefined, { deadlineExceeded: true }),
    expected: act("terminateContainers", 0, "workflow exceeded its deadline (not an onExit pod); still running: main")
  },
  {
    name: "a workflow past its deadline spares onExit pods",
    pod: pod({ phase: "Running", containers: { main: "running" }, extraLabels: { [ON_EXIT]: "true" } }),
    workflow: wf("Running", undefined, { deadlineExceeded: true }),
    expected: skip("pod is running")
  },
  {
    name: "a completed (Failed) workflow stops a pod still running",
    pod: pod({ phase: "Running", containers: { main: "running" } }),
    workflow: wf("Failed", { strategy: "OnWorkflowCompletion" }),
    expected: act("terminateContainers", 0, "workflow is Failed; still running: main")
  },

  // -- Pending pods: deleted instead of signalled
  {
    name: "a pending pod of a running workflow waits",
    pod: pod({ phase: "Pending", containers: { wait: "waiting", main: "waiting" } }),
    workflow: wf("Running", { strategy: "OnPodCompletion" }),
    expected: skip("pod is pending")
  },
  {
    name: "a pending pod of a failed workflow is deleted, not signalled",
    pod: pod({ phase: "Pending", containers: { wait: "waiting", main: "waiting" } }),
    workflow: wf("Failed"),
    expected: act("deletePod", 0, "pod is Pending and workflow is Failed: deleted instead of signalled")
  },
  {
    name: "a pending pod of a terminated workflow is deleted",
    pod: pod({ phase: "Pending", containers: {} }),
    workflow: wf("Running", undefined, { shutdown: "Terminate" }),
    expected: act("deletePod", 0, "pod is Pending and workflow shutdown strategy Terminate: deleted instead of signalled")
  },
  {
    name: "a pod without a phase is treated as pending",
    pod: pod({ phase: null, containers: {} }),
    workflow: wf("Error"),
    expected: act("deletePod", 0, "pod is Pending and workflow is Error: deleted instead of signalled")
  },
  {
    name: "a pending pod with an unknown workflow waits",
    pod: pod({ phase: "Pending", containers: {} }),
    workflow: undefined,
    expected: skip("pod is pending")
  },
  {
    name: "phase Unknown waits for the node",
    pod: pod({ phase: "Unknown", containers: { main: "running" } }),
    workflow: wf("Failed"),
    expected: skip("pod phase is Unknown: waiting for the node to report")
  },

  // -- Done pods: Argo's PodGC order
  {
    name: "workflow without spec.podGC: label",
    pod: pod(),
    workflow: wf("Running"),
    expected: act("labelPodCompleted", 0, "no podGC strategy: pods are never deleted")
  },
  {
    name: "empty strategy: label",
    pod: pod({ phase: "Failed", containers: { main: 1, wait: 0 } }),
    workflow: wf("Succeeded", { strategy: "" }),
    expected: act("labelPodCompleted", 0, "no podGC strategy: pods are never deleted")
  },
  {
    name: "selector mismatch beats OnPodCompletion: label",
    pod: pod(),
    workflow: wf("Running", { strategy: "OnPodCompletion", labelSelector: { matchLabels: { "should-be-deleted": "true" } } }),
    expected: act("labelPodCompleted", 0, "pod does not match spec.podGC.labelSelector: it is never deleted")
  },
  {
    name: "selector match + OnPodCompletion: delete after the default 5 s",
    pod: pod({ extraLabels: { "should-be-deleted": "true" } }),
    workflow: wf("Running", { strategy: "OnPodCompletion", labelSelector: { matchLabels: { "should-be-deleted": "true" } } }),
    expected: act("deletePod", 5_000, "podGC OnPodCompletion and pod Succeeded (after 5s)")
  },
  {
    name: "OnPodCompletion + pod Failed: delete after deleteDelayDuration",
    pod: pod({ phase: "Failed", containers: { main: 1, wait: 0 } }),
    workflow: wf("Running", { strategy: "OnPodCompletion", deleteDelayDuration: "30s" }),
    expected: act("deletePod", 30_000, "podGC OnPodCompletion and pod Failed (after 30s)")
  },
  {
    name: "deleteDelayDuration as bare seconds",
    pod: pod(),
    workflow: wf("Running", { strategy: "OnPodCompletion", deleteDelayDuration: "10" }),
    expected: act("deletePod", 10_000, "podGC OnPodCompletion and pod Succeeded (after 10s)")
  },
  {
    name: "deleteDelayDuration 0s deletes now",
    pod: pod(),
    workflow: wf("Running", { strategy: "OnPodSuccess", deleteDelayDuration: "0s" }),
    expected: act("deletePod", 0, "podGC OnPodSuccess and pod Succeeded (after 0s)")
  },
  {
    name: "bad deleteDelayDuration: default delay, with a warning",
    pod: pod(),
    workflow: wf("Running", { strategy: "OnPodCompletion", deleteDelayDuration: "soon" }),
    expected: act(
      "deletePod",
      5_000,
      'podGC OnPodCompletion and pod Succeeded; warning: spec.podGC.deleteDelayDuration "soon" ignored (time: invalid duration "soon") (after 5s)'
    )
  },
  {
    name: "negative deleteDelayDuration: default delay (Argo: negative means omitted)",
    pod: pod(),
    workflow: wf("Running", { strategy: "OnPodCompletion", deleteDelayDuration: "-5s" }),
    expected: act("deletePod", 5_000, "podGC OnPodCompletion and pod Succeeded (after 5s)")
  },
  {
    name: "OnPodSuccess + pod Succeeded: delete",
    pod: pod(),
    workflow: wf("Running", { strategy: "OnPodSuccess" }),
    expected: act("deletePod", 5_000, "podGC OnPodSuccess and pod Succeeded (after 5s)")
  },
  {
    name: "OnPodSuccess + pod Failed: label",
    pod: pod({ phase: "Failed", containers: { main: 1, wait: 0 } }),
    workflow: wf("Running", { strategy: "OnPodSuccess" }),
    expected: act("labelPodCompleted", 0, "podGC OnPodSuccess and pod Failed: it is never deleted")
  },
  {
    name: "OnWorkflowCompletion + workflow Running: nothing yet",
    pod: pod(),
    workflow: wf("Running", { strategy: "OnWorkflowCompletion" }),
    expected: skip("podGC OnWorkflowCompletion not yet satisfied (workflow Running, pod Succeeded)")
  },
  {
    name: "OnWorkflowCompletion + workflow Running + our finalizer: release the finalizer",
    pod: pod({ finalizers: [FINALIZER] }),
    workflow: wf("Running", { strategy: "OnWorkflowCompletion" }),
    expected: act("removeFinalizer", 0, "podGC OnWorkflowCompletion not yet satisfied (workflow Running): releasing the status finalizer")
  },
  {
    name: "OnWorkflowCompletion + workflow Failed: delete",
    pod: pod(),
    workflow: wf("Failed", { strategy: "OnWorkflowCompletion" }),
    expected: act("deletePod", 5_000, "podGC OnWorkflowCompletion and workflow Failed (after 5s)")
  },
  {
    name: "OnWorkflowCompletion + workflow Error: delete",
    pod: pod({ phase: "Failed", containers: { main: 2, wait: 0 } }),
    workflow: wf("Error", { strategy: "OnWorkflowCompletion", deleteDelayDuration: "1m" }),
    expected: act("deletePod", 60_000, "podGC OnWorkflowCompletion and workflow Error (after 1m0s)")
  },
  {
    name: "OnWorkflowCompletion + workflow without a phase yet: nothing",
    pod: pod(),
    workflow: wf(undefined, { strategy: "OnWorkflowCompletion" }),
    expected: skip("podGC OnWorkflowCompletion not yet satisfied (workflow (no phase), pod Succeeded)")
  },
  {
    name: "OnWorkflowSuccess + workflow Succeeded: delete",
    pod: pod(),
    workflow: wf("Succeeded", { strategy: "OnWorkflowSuccess" }),
    expected: act("deletePod", 5_000, "podGC OnWorkflowSuccess and workflow Succeeded (after 5s)")
  },
  {
    name: "OnWorkflowSuccess + workflow Failed: label (workflow done)",
    pod: pod(),
    workflow: wf("Failed", { strategy: "OnWorkflowSuccess" }),
    expected: act("labelPodCompleted", 0, "podGC OnWorkflowSuccess not satisfied and workflow Failed: never deleted")
  },
  {
    name: "OnWorkflowSuccess + workflow Running: nothing yet",
    pod: pod({ phase: "Failed", containers: { main: 3, wait: 0 } }),
    workflow: wf("Running", { strategy: "OnWorkflowSuccess" }),
    expected: skip("podGC OnWorkflowSuccess not yet satisfied (workflow Running, pod Failed)")
  },
  {
    name: "Running phase, everything exited: treated as done",
    pod: pod({ phase: "Running", containers: { wait: 0, main: 0 } }),
    workflow: wf("Running", { strategy: "OnPodCompletion" }),
    expected: act("deletePod", 5_000, "podGC OnPodCompletion and pod Running (after 5s)")
  },
  {
    name: "invalid labelSelector: label with a warning",
    pod: pod(),
    workflow: wf("Succeeded", {
      strategy: "OnPodCompletion",
      labelSelector: { matchExpressions: [{ key: "a", operator: "Equals", values: ["b"] }] }
    }),
    expected: act(
      "labelPodCompleted",
      0,
      'warning: invalid label selector: matchExpressions[0]: "Equals" is not a valid label selector operator; labelled only'
    )
  },

  // -- Already labelled completed=true
  {
    name: "labelled, nothing left: skip",
    pod: pod({ labels: { [WF]: "wf-1", [COMPLETED]: "true" } }),
    workflow: wf("Succeeded"),
    expected: skip(`pod is already labelled ${COMPLETED}=true: nothing left to do (no podGC strategy: pods are never deleted)`)
  },
  {
    name: "labelled but still carrying our finalizer: remove it",
    pod: pod({ labels: { [WF]: "wf-1", [COMPLETED]: "true" }, finalizers: [FINALIZER] }),
    workflow: wf("Succeeded"),
    expected: act("removeFinalizer", 0, `pod is labelled ${COMPLETED}=true but still carries the status finalizer`)
  },
  {
    name: "labelled but its strategy now calls for a delete",
    pod: pod({ labels: { [WF]: "wf-1", [COMPLETED]: "true" } }),
    workflow: wf("Succeeded", { strategy: "OnWorkflowCompletion" }),
    expected: act("deletePod", 5_000, "podGC OnWorkflowCompletion and workflow Succeeded (after 5s)")
  },
  {
    name: "labelled and still running: not revisited",
    pod: pod({ labels: { [WF]: "wf-1", [COMPLETED]: "true" }, phase: "Running", containers: { main: 0, wait: "running" } }),
    workflow: wf("Failed"),
    expected: skip(`pod is labelled ${COMPLETED}=true: not revisited while it runs`)
  },

  // -- Unknown workflow: the pod-gc-strategy annotation stands in
  {
    name: "unknown workflow, no annotation: label",
    pod: pod(),
    workflow: undefined,
    expected: act(
      "labelPodCompleted",
      0,
      `workflow unknown and no ${GC} annotation: no podGC strategy: pods are never deleted`
    )
  },
  {
    name: "unknown workflow, OnPodCompletion/30s: delete after 30 s",
    pod: pod({ phase: "Failed", containers: { main: 1, wait: 0 }, annotations: { [GC]: "OnPodCompletion/30s" } }),
    workflow: undefined,
    expected: act(
      "deletePod",
      30_000,
      `workflow unknown, policy from ${GC}=OnPodCompletion/30s: podGC OnPodCompletion and pod Failed (after 30s)`
    )
  },
  {
    name: "unknown workflow, OnPodSuccess/0s + Succeeded: delete now",
    pod: pod({ annotations: { [GC]: "OnPodSuccess/0s" } }),
    workflow: undefined,
    expected: act(
      "deletePod",
      0,
      `workflow unknown, policy from ${GC}=OnPodSuccess/0s: podGC OnPodSuccess and pod Succeeded (after 0s)`
    )
  },
  {
    name: "unknown workflow, OnPodSuccess + Failed: label",
    pod: pod({ phase: "Failed", containers: { main: 1 }, annotations: { [GC]: "OnPodSuccess/5s" } }),
    workflow: undefined,
    expected: act(
      "labelPodCompleted",
      0,
      `workflow unknown, policy from ${GC}=OnPodSuccess/5s: podGC OnPodSuccess and pod Failed: it is never deleted`
    )
  },
  {
    name: "unknown workflow, OnWorkflowCompletion: cannot be satisfied, label only",
    pod: pod({ annotations: { [GC]: "OnWorkflowCompletion/5s" }, finalizers: [FINALIZER] }),
    workflow: undefined,
    expected: act(
      "labelPodCompleted",
      0,
      `workflow unknown: podGC OnWorkflowCompletion (from ${GC}) cannot be satisfied; labelled only`
    )
  },
  {
    name: "unknown workflow, OnWorkflowSuccess: label only",
    pod: pod({ annotations: { [GC]: "OnWorkflowSuccess/1h0m0s" } }),
    workflow: undefined,
    expected: act(
      "labelPodCompleted",
      0,
      `workflow unknown: podGC OnWorkflowSuccess (from ${GC}) cannot be satisfied; labelled only`
    )
  },
  {
    name: "unknown workflow, strategy without a delay (Argo v4 strings.Cut): default delay",
    pod: pod({ annotations: { [GC]: "OnPodCompletion" } }),
    workflow: undefined,
    expected: act(
      "deletePod",
      5_000,
      `workflow unknown, policy from ${GC}=OnPodCompletion: podGC OnPodCompletion and pod Succeeded (after 5s)`
    )
  },
  {
    name: "unknown workflow, empty strategy with a delay: label",
    pod: pod({ annotations: { [GC]: "/5s" } }),
    workflow: undefined,
    expected: act(
      "labelPodCompleted",
      0,
      `workflow unknown, policy from ${GC}=/5s: no podGC strategy: pods are never deleted`
    )
  },
  {
    name: "malformed annotation (the CVE-2026-40886 payload): label with a warning, no throw",
    pod: pod({ annotations: { [GC]: "NoSlash" } }),
    workflow: undefined,
    expected: act(
      "labelPodCompleted",
      0,
      `warning: ${GC}="NoSlash": unknown strategy "NoSlash"; workflow unknown, labelled only`
    )
  },
  {
    name: "malformed annotation delay: label with a warning",
    pod: pod({ annotations: { [GC]: "OnPodCompletion/abc" } }),
    workflow: undefined,
    expected: act(
      "labelPodCompleted",
      0,
      `warning: ${GC}="OnPodCompletion/abc": bad delay: time: invalid duration "abc"; workflow unknown, labelled only`
    )
  },
  {
    name: "an annotation is ignored when the workflow is known",
    pod: pod({ annotations: { [GC]: "OnPodCompletion/0s" } }),
    workflow: wf("Running"),
    expected: act("labelPodCompleted", 0, "no podGC strategy: pods are never deleted")
  }
]

describe("decide", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expect(summarize(decide(c.pod, c.workflow, c.options))).toEqual(c.expected)
  })

  it("uses options.defaultDeleteDelay", () => {
    const d = decide(pod(), wf("Succeeded", { strategy: "OnPodSuccess" }), {
      mainContainers: ["main"],
      defaultDeleteDelay: Duration.seconds(42)
    })
    expect(summarize(d)).toEqual(act("deletePod", 42_000, "podGC OnPodSuccess and pod Succeeded (after 42s)"))
  })

  it("is pure: the same input gives the same decision and the pod is not mutated", () => {
    const p = pod({ finalizers: [FINALIZER], annotations: { [GC]: "OnPodCompletion/3s" } })
    const before = JSON.stringify(p)
    expect(decide(p, undefined)).toEqual(decide(p, undefined))
    expect(JSON.stringify(p)).toBe(before)
  })
})

describe("determinePodCleanupAction (Argo's cleanup_test.go table)", () => {
  // Ported from argoproj/argo-workflows workflow/controller/pod/cleanup_test.go
  // (Test_determinePodCleanupAction); "" there is `undefined` here.
  const rows: ReadonlyArray<readonly [string, string, string, boolean, string | undefined]> = [
    ["", "Running", "Succeeded", false, "labelPodCompleted"],
    ["", "Running", "Failed", false, "labelPodCompleted"],
    ["", "Running", "Succeeded", true, "labelPodCompleted"],
    ["", "Running", "Failed", true, "labelPodCompleted"],
    ["OnWorkflowSuccess", "Running", "Succeeded", false, undefined],
    ["OnWorkflowSuccess", "Running", "Failed", false, undefined],
    ["OnWorkflowSuccess", "Running", "Succeeded", true, "removeFinalizer"],
    ["OnWorkflowSuccess", "Running", "Failed", true, "removeFinalizer"],
    ["OnWorkflowSuccess", "Succeeded", "Succeeded", true, "deletePod"],
    ["OnWorkflowSuccess", "Succeeded", "Failed", true, "deletePod"],
    ["OnWorkflowSuccess", "Failed", "Succeeded", true, "labelPodCompleted"],
    ["OnWorkflowSuccess", "Failed", "Failed", true, "labelPodCompleted"],
    ["OnWorkflowCompletion", "Running", "Succeeded", false, undefined],
    ["OnWorkflowCompletion", "Running", "Failed", false, undefined],
    ["OnWorkflowCompletion", "Running", "Succeeded", true, "removeFinalizer"],
    ["OnWorkflowCompletion", "Running", "Failed", true, "removeFinalizer"],
    ["OnWorkflowCompletion", "Succeeded", "Succeeded", true, "deletePod"],
    ["OnWorkflowCompletion", "Succeeded", "Failed", true, "deletePod"],
    ["OnWorkflowCompletion", "Failed", "Succeeded", true, "deletePod"],
    ["OnWorkflowCompletion", "Failed", "Failed", true, "deletePod"],
    ["OnPodSuccess", "Running", "Succeeded", true, "deletePod"],
    ["OnPodSuccess", "Running", "Failed", true, "labelPodCompleted"],
    ["OnPodSuccess", "Succeeded", "Succeeded", true, "deletePod"],
    ["OnPodSuccess", "Succeeded", "Failed", true, "labelPodCompleted"],
    ["OnPodSuccess", "Failed", "Succeeded", true, "deletePod"],
    ["OnPodSuccess", "Failed", "Failed", true, "labelPodCompleted"],
    ["OnPodCompletion", "Running", "Succeeded", true, "deletePod"],
    ["OnPodCompletion", "Running", "Failed", true, "deletePod"],
    ["OnPodCompletion", "Succeeded", "Succeeded", true, "deletePod"],
    ["OnPodCompletion", "Succeeded", "Failed", true, "deletePod"],
    ["OnPodCompletion", "Failed", "Succeeded", true, "deletePod"],
    ["OnPodCompletion", "Failed", "Failed", true, "deletePod"],
    // Beyond Argo's table: Error is a completed phase; unknown strategies fall through.
    ["OnWorkflowCompletion", "Error", "Failed", false, "deletePod"],
    ["OnWorkflowSuccess", "Error", "Succeeded", false, "labelPodCompleted"],
    ["Bogus", "Running", "Succeeded", false, undefined],
    ["Bogus", "Succeeded", "Succeeded", false, "labelPodCompleted"]
  ]
  it.each(rows)("strategy=%j workflow=%s pod=%s finalizer=%s -> %s", (strategy, workflowPhase, podPhase, finalizer, want) => {
    expect(
      determinePodCleanupAction({ selectorMatches: true, strategy, workflowPhase, podPhase, hasStatusFinalizer: finalizer }).action
    ).toBe(want)
  })

  it("a selector mismatch or no strategy labels even with our finalizer", () => {
    expect(
      determinePodCleanupAction({
        selectorMatches: false,
        strategy: "OnPodCompletion",
        workflowPhase: "Succeeded",
        podPhase: "Succeeded",
        hasStatusFinalizer: true
      }).action
    ).toBe("labelPodCompleted")
    expect(
      determinePodCleanupAction({
        selectorMatches: true,
        strategy: "",
        workflowPhase: "Succeeded",
        podPhase: "Succeeded",
        hasStatusFinalizer: true
      }).action
    ).toBe("labelPodCompleted")
  })
})

describe("parsePodGCAnnotation (podGCFromPod)", () => {
  const parsed = (value: string) => {
    const r = parsePodGCAnnotation(value)
    return Result.isSuccess(r)
      ? { strategy: r.success.strategy, delayMs: r.success.delay === undefined ? undefined : Duration.toMillis(r.success.delay) }
      : `error: ${r.failure}`
  }
  it.each([
    ["OnPodCompletion/5m", { strategy: "OnPodCompletion", delayMs: 300_000 }],
    ["OnPodSuccess/1h0m0s", { strategy: "OnPodSuccess", delayMs: 3_600_000 }],
    ["OnWorkflowCompletion/0s", { strategy: "OnWorkflowCompletion", delayMs: 0 }],
    ["OnWorkflowSuccess/30", { strategy: "OnWorkflowSuccess", delayMs: 30_000 }],
    ["OnPodCompletion", { strategy: "OnPodCompletion", delayMs: undefined }],
    ["OnPodCompletion/", { strategy: "OnPodCompletion", delayMs: undefined }],
    ["", { strategy: "", delayMs: undefined }],
    ["/5s", { strategy: "", delayMs: 5_000 }]
  ])("%j", (value, expected) => {
    expect(parsed(value)).toEqual(expected)
  })

  it.each([
    ["NoSlash", `error: ${GC}="NoSlash": unknown strategy "NoSlash"`],
    ["onpodcompletion/5s", `error: ${GC}="onpodcompletion/5s": unknown strategy "onpodcompletion"`],
    ["OnPodCompletion/5m/extra", `error: ${GC}="OnPodCompletion/5m/extra": bad delay: time: unknown unit "m/extra" in duration "5m/extra"`],
    ["OnPodCompletion/abc", `error: ${GC}="OnPodCompletion/abc": bad delay: time: invalid duration "abc"`]
  ])("rejects %j", (value, message) => {
    expect(parsed(value)).toBe(message)
  })
})
