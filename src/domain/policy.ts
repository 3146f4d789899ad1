/**
 * What to do with one pod, decided from its current state and its workflow's (level-based, pure,
 * idempotent). It never throws and never deletes on doubt: bad input (a malformed pod-gc-strategy
 * annotation, an invalid selector) ends in "label only", with the warning in the reason.
 *
 * Sources (argoproj/argo-workflows):
 * - `workflow/controller/pod/cleanup.go` `determinePodCleanupAction`: the PodGC order, copied as
 *   {@link determinePodCleanupAction}; `EnactAnyPodCleanup`: only `deletePod` waits for the delay.
 * - `workflow/controller/pod_cleanup.go` `getPodGCDelay` (config default, overridden by a
 *   parseable, non-negative `spec.podGC.deleteDelayDuration`, else a warning) and
 *   `queuePodsForCleanup` (pods labelled `workflows.argoproj.io/component` are skipped).
 * - `pkg/apis/workflow/v1alpha1/workflow_types.go`: `WorkflowPhase.Completed()` (Succeeded, Failed,
 *   Error) is "workflow done"; `PodGC.GetLabelSelector` (absent selector = every pod);
 *   `PodGC.GetDeleteDelayDuration` (`ParseStringToDuration`: a bare integer is seconds);
 *   `ShutdownStrategy.ShouldExecute` (Stop spares onExit pods, Terminate spares none).
 * - `workflow/controller/operator.go` `podHasContainerNeedingTermination` / `cleanUpPod` (a Running
 *   pod whose main containers have all exited, or one exited non-zero, gets `terminateContainers`);
 *   `exec_control.go` `applyExecutionControl` (Pending/Running pods of a workflow being shut down,
 *   or past its deadline unless they are onExit pods, get `terminateContainers`).
 * - `workflow/controller/pod/queue.go` `processNextPodCleanupItem`: `terminateContainers` on a
 *   Pending pod becomes `deletePod`.
 * - `workflow/controller/pod/controller.go` `podGCFromPod` (`strings.Cut(value, "/")` in v4; the
 *   older `strings.Split(...)[1]` panicked on a value without `/`, GHSA-5jv8-h7qh-rf5p /
 *   CVE-2026-40886) and `commonPodEvent` (a deleting pod with our finalizer gets `removeFinalizer`,
 *   no sooner than 2 minutes).
 *
 * Deviations and judgement calls (each marked `DEVIATION` below):
 * 1. Unknown workflow + OnWorkflowCompletion/OnWorkflowSuccess → label only (as specified for this
 *    service). Argo's order would give no action (or removeFinalizer), and Argo's v4 orphan path
 *    deletes on OnWorkflowCompletion. Consequence: once labelled, a later-known workflow completion
 *    no longer deletes the pod, so callers should only pass `undefined` once the workflow is known
 *    to be gone, not while a cache is still syncing.
 * 2. A malformed pod-gc-strategy annotation or labelSelector → label with a warning (Argo: no action,
 *    an error, or a panic).
 * 3. "Pod done" also covers a Running pod whose main containers have all exited and where nothing
 *    is running any more. A pod whose main has exited while wait/sidecars still run only gets
 *    `terminateContainers`: PodGC waits until nothing runs (the wait container may still be saving
 *    outputs; Argo likewise only applies PodGC to fulfilled nodes).
 * 4. "Must stop" for a not-yet-done pod: `spec.shutdown` (Terminate; Stop unless the pod is an
 *    onExit pod) and a passed workflow deadline (unless onExit) as in Argo, and also a workflow
 *    already in a completed phase (Argo's later sources terminate a pod whose node is completed; a
 *    completed workflow has no running nodes).
 * 5. A pod already labelled completed=true is revisited only for work Argo would have left: a
 *    delete its strategy now calls for, or a status finalizer still on it.
 */
import { Duration, Result } from "effect"
import { type ActionName } from "./Action.ts"
import {
  AnnotationKeyNodeId,
  AnnotationKeyNodeName,
  AnnotationKeyPodGCStrategy,
  DefaultPodGCDeleteDelay,
  isPodGCStrategy,
  isWorkflowCompleted,
  LabelKeyCompleted,
  LabelKeyComponent,
  LabelKeyOnExit,
  LabelKeyWorkflow,
  MainContainerName,
  type PodGCStrategy,
  type ShutdownStrategy,
  type WorkflowPhase
} from "./argo.ts"
import { formatGoDuration, parseArgoDuration } from "./duration.ts"
import { argoNodeId, type WorkflowRecord, viewOf } from "./workflow.ts"
import { compileLabelSelector, type LabelSelector } from "./labelSelector.ts"
import {
  failedMainContainer,
  hasStatusFinalizer,
  mainContainersFinished,
  type Pod,
  runningContainers
} from "./Pod.ts"

// ---- Inputs and outputs -------------------------------------------------------------------------

/** `spec.podGC` of a Workflow. */
export interface PodGCView {
  readonly strategy?: PodGCStrategy | "" | undefined
  readonly labelSelector?: LabelSelector | null | undefined
  readonly deleteDelayDuration?: string | undefined
}

/** The parts of a Workflow the decision reads. */
export interface WorkflowView {
  /** `status.phase`; absent for a workflow that has not started. */
  readonly phase?: WorkflowPhase | undefined
  readonly podGC?: PodGCView | undefined
  /** `spec.shutdown`: a stopping/terminating workflow's unfinished pods must stop. */
  readonly shutdown?: ShutdownStrategy | "" | undefined
  /**
   * Whether the workflow has passed its deadline (`status.startedAt` + `spec.activeDeadlineSeconds`,
   * computed by the caller from its clock): its unfinished pods, except onExit pods, must stop.
   */
  readonly deadlineExceeded?: boolean | undefined
}

export interface PolicyOptions {
  /** Names of the containers that run the step (default `["main"]`; a containerSet has several). */
  readonly mainContainers: ReadonlyArray<string>
  /** Used when the workflow sets no (valid) `spec.podGC.deleteDelayDuration` (Argo: 5 s). */
  readonly defaultDeleteDelay: Duration.Duration
  /**
   * How long a pod that is already being deleted keeps our status finalizer before we remove it,
   * so Argo can still capture its status (Argo: at least 2 minutes). Default 2 minutes.
   */
  readonly deletingFinalizerDelay?: Duration.Duration | undefined
}

export const defaultPolicyOptions: PolicyOptions = {
  mainContainers: [MainContainerName],
  defaultDeleteDelay: DefaultPodGCDeleteDelay,
  deletingFinalizerDelay: Duration.minutes(2)
}

export interface PlannedAction {
  readonly action: ActionName
  /** How long to wait before doing it (zero for "now"). */
  readonly delay: Duration.Duration
  readonly reason: string
}

/** What the PodGC policy alone says ({@link decide}). */
export type PolicyDecision =
  | { readonly _tag: "Skip"; readonly reason: string }
  | { readonly _tag: "Act"; readonly actions: ReadonlyArray<PlannedAction> }

/** The whole decision ({@link decidePod}): the policy's, or a wait for Argo. */
export type Decision =
  | PolicyDecision
  /**
   * Cleanup is due but must wait: Argo has not recorded the pod's node yet (or the workflow has not
   * been seen). Reconsidered when the workflow changes; `warning` names data that could not be read.
   */
  | { readonly _tag: "Wait"; readonly reason: string; readonly warning?: string | undefined }

const skip = (reason: string): PolicyDecision => ({ _tag: "Skip", reason })
const act = (action: ActionName, delay: Duration.Duration, reason: string): PolicyDecision => ({
  _tag: "Act",
  actions: [{ action, delay, reason }]
})

// ---- Argo's PodGC order -------------------------------------------------------------------------

export type PodGCAction = "labelPodCompleted" | "deletePod" | "removeFinalizer"

export interface PodGCInputs {
  readonly selectorMatches: boolean
  /** `""` is "no strategy". Unknown strings fall through the order as in Argo. */
  readonly strategy: string
  readonly workflowPhase: string | undefined
  readonly podPhase: string | undefined
  readonly hasStatusFinalizer: boolean
}

/**
 * Argo's `determinePodCleanupAction`, case for case. `action` is `undefined` where Argo returns
 * `noAction` (e.g. OnWorkflowCompletion while the workflow is still running).
 */
export const determinePodCleanupAction = (
  i: PodGCInputs
): { readonly action: PodGCAction | undefined; readonly reason: string } => {
  const wfDone = isWorkflowCompleted(i.workflowPhase)
  const wf = i.workflowPhase ?? "(no phase)"
  const pod = i.podPhase ?? "(no phase)"
  if (!i.selectorMatches) {
    return { action: "labelPodCompleted", reason: "pod does not match spec.podGC.labelSelector: it is never deleted" }
  }
  if (i.strategy === "") return { action: "labelPodCompleted", reason: "no podGC strategy: pods are never deleted" }
  if (i.strategy === "OnWorkflowCompletion" && wfDone) {
    return { action: "deletePod", reason: `podGC OnWorkflowCompletion and workflow ${wf}` }
  }
  if (i.strategy === "OnWorkflowSuccess" && i.workflowPhase === "Succeeded") {
    return { action: "deletePod", reason: "podGC OnWorkflowSuccess and workflow Succeeded" }
  }
  if (i.strategy === "OnPodCompletion") return { action: "deletePod", reason: `podGC OnPodCompletion and pod ${pod}` }
  if (i.strategy === "OnPodSuccess" && i.podPhase === "Succeeded") {
    return { action: "deletePod", reason: "podGC OnPodSuccess and pod Succeeded" }
  }
  if (i.strategy === "OnPodSuccess" && i.podPhase === "Failed") {
    return { action: "labelPodCompleted", reason: "podGC OnPodSuccess and pod Failed: it is never deleted" }
  }
  if (wfDone) {
    return { action: "labelPodCompleted", reason: `podGC ${i.strategy} not satisfied and workflow ${wf}: never deleted` }
  }
  if (i.hasStatusFinalizer) {
    return {
      action: "removeFinalizer",
      reason: `podGC ${i.strategy} not yet satisfied (workflow ${wf}): releasing the status finalizer`
    }
  }
  return { action: undefined, reason: `podGC ${i.strategy} not yet satisfied (workflow ${wf}, pod ${pod})` }
}

// ---- The pod-gc-strategy annotation -------------------------------------------------------------

export interface PodGCAnnotation {
  readonly strategy: PodGCStrategy | ""
  /** `undefined` when the annotation carries no delay (e.g. `"OnPodCompletion"` without `/`). */
  readonly delay: Duration.Duration | undefined
}

/**
 * Parses `"<strategy>/<delay>"` as Argo v4's `podGCFromPod` splits it (`strings.Cut` on the first
 * `/`), then checks both halves: the strategy must be empty or a known one, the delay empty or an
 * Argo duration. Problems are returned as text, for a warning.
 */
export const parsePodGCAnnotation = (value: string): Result.Result<PodGCAnnotation, string> => {
  const slash = value.indexOf("/")
  const strategy = slash < 0 ? value : value.slice(0, slash)
  const delayText = slash < 0 ? "" : value.slice(slash + 1)
  if (strategy !== "" && !isPodGCStrategy(strategy)) {
    return Result.fail(`${AnnotationKeyPodGCStrategy}=${JSON.stringify(value)}: unknown strategy ${JSON.stringify(strategy)}`)
  }
  if (delayText === "") return Result.succeed({ strategy, delay: undefined })
  const delay = parseArgoDuration(delayText)
  if (Result.isFailure(delay)) {
    return Result.fail(`${AnnotationKeyPodGCStrategy}=${JSON.stringify(value)}: bad delay: ${delay.failure.message}`)
  }
  return Result.succeed({ strategy, delay: delay.success })
}

// ---- The decision -------------------------------------------------------------------------------

const hasLabel = (pod: Pod, key: string): boolean => Object.prototype.hasOwnProperty.call(pod.metadata.labels, key)

/** Why a not-yet-done pod must stop, or `undefined`. */
const stopReason = (pod: Pod, workflow: WorkflowView | undefined): string | undefined => {
  if (workflow === undefined) return undefined
  // DEVIATION 4: a completed workflow's unfinished pods are stopped too.
  if (isWorkflowCompleted(workflow.phase)) return `workflow is ${workflow.phase}`
  if (workflow.shutdown === "Terminate") return "workflow shutdown strategy Terminate"
  const onExit = hasLabel(pod, LabelKeyOnExit)
  if (workflow.shutdown === "Stop" && !onExit) return "workflow shutdown strategy Stop (not an onExit pod)"
  if (workflow.deadlineExceeded === true && !onExit) return "workflow exceeded its deadline (not an onExit pod)"
  return undefined
}

interface GCPlan {
  readonly action: PodGCAction | undefined
  readonly delay: Duration.Duration
  readonly reason: string
}

const deleteDelayFrom = (
  text: string | undefined,
  fallback: Duration.Duration,
  warnings: Array<string>
): Duration.Duration => {
  if (text === undefined || text === "") return fallback
  const parsed = parseArgoDuration(text)
  if (Result.isFailure(parsed)) {
    warnings.push(`warning: spec.podGC.deleteDelayDuration ${JSON.stringify(text)} ignored (${parsed.failure.message})`)
    return fallback
  }
  // Argo keeps the default for a negative value ("negative means omitted").
  return Duration.isNegative(parsed.success) ? fallback : parsed.success
}

const withWarnings = (reason: string, warnings: ReadonlyArray<string>): string =>
  warnings.length === 0 ? reason : `${reason}; ${warnings.join("; ")}`

const planPodGC = (pod: Pod, workflow: WorkflowView | undefined, options: PolicyOptions): GCPlan => {
  const warnings: Array<string> = []
  const finalizer = hasStatusFinalizer(pod)
  const podPhase = pod.status.phase

  if (workflow !== undefined) {
    const podGC = workflow.podGC
    const delay = deleteDelayFrom(podGC?.deleteDelayDuration, options.defaultDeleteDelay, warnings)
    const selector = compileLabelSelector(podGC?.labelSelector)
    if (Result.isFailure(selector)) {
      // DEVIATION 2: Argo ignores the error and would crash on the nil selector (v3) or retry (v4).
      return {
        action: "labelPodCompleted",
        delay: Duration.zero,
        reason: withWarnings(`warning: ${selector.failure.message}; labelled only`, warnings)
      }
    }
    const { action, reason } = determinePodCleanupAction({
      // A workflow without spec.podGC: Argo's selector is "nothing", its strategy none; both label.
      selectorMatches: selector.success.matches(pod.metadata.labels),
      strategy: podGC?.strategy ?? "",
      workflowPhase: workflow.phase,
      podPhase,
      hasStatusFinalizer: finalizer
    })
    return { action, delay, reason: withWarnings(reason, warnings) }
  }

  // Workflow unknown: the pod's own copy of the policy stands in for it.
  const raw = pod.metadata.annotations[AnnotationKeyPodGCStrategy]
  let annotation: PodGCAnnotation = { strategy: "", delay: undefined }
  if (raw !== undefined) {
    const parsed = parsePodGCAnnotation(raw)
    if (Result.isFailure(parsed)) {
      // DEVIATION 2: never delete on a policy we cannot read.
      return {
        action: "labelPodCompleted",
        delay: Duration.zero,
        reason: `warning: ${parsed.failure}; workflow unknown, labelled only`
      }
    }
    annotation = parsed.success
  }
  const delay = annotation.delay === undefined || Duration.isNegative(annotation.delay)
    ? options.defaultDeleteDelay
    : annotation.delay
  if (annotation.strategy === "OnWorkflowCompletion" || annotation.strategy === "OnWorkflowSuccess") {
    // DEVIATION 1: a workflow-level strategy cannot be satisfied without the workflow's phase.
    return {
      action: "labelPodCompleted",
      delay: Duration.zero,
      reason: `workflow unknown: podGC ${annotation.strategy} (from ${AnnotationKeyPodGCStrategy}) cannot be satisfied; labelled only`
    }
  }
  const { action, reason } = determinePodCleanupAction({
    selectorMatches: true, // the annotation does not carry the selector
    strategy: annotation.strategy,
    workflowPhase: undefined,
    podPhase,
    hasStatusFinalizer: finalizer
  })
  return {
    action,
    delay,
    reason: raw === undefined
      ? `workflow unknown and no ${AnnotationKeyPodGCStrategy} annotation: ${reason}`
      : `workflow unknown, policy from ${AnnotationKeyPodGCStrategy}=${raw}: ${reason}`
  }
}

/**
 * Decides what pod-cleanup should do with `pod` now. `workflow` is `undefined` when the owning
 * workflow is not known (its policy is then read from the pod's annotation).
 *
 * @example
 * const decision = decide(pod, { phase: "Succeeded", podGC: { strategy: "OnPodSuccess" } })
 * // { _tag: "Act", actions: [{ action: "deletePod", delay: Duration.seconds(5),
 * //   reason: "podGC OnPodSuccess and pod Succeeded (after 5s)" }] }
 */
export const decide = (
  pod: Pod,
  workflow: WorkflowView | undefined,
  options: PolicyOptions = defaultPolicyOptions
): PolicyDecision => {
  const labels = pod.metadata.labels
  if (hasLabel(pod, LabelKeyComponent)) {
    return skip(`pod has label ${LabelKeyComponent}=${labels[LabelKeyComponent]}: not subject to PodGC`)
  }
  if (!hasLabel(pod, LabelKeyWorkflow)) return skip(`pod has no ${LabelKeyWorkflow} label: not a workflow pod`)

  const finalizer = hasStatusFinalizer(pod)
  if (pod.metadata.deletionTimestamp !== undefined) {
    if (!finalizer) return skip("pod is already being deleted")
    return act(
      "removeFinalizer",
      options.deletingFinalizerDelay ?? Duration.minutes(2),
      "pod is being deleted and still carries the status finalizer"
    )
  }

  const labelled = labels[LabelKeyCompleted] === "true"
  const phase = pod.status.phase
  const running = runningContainers(pod)
  const mainFinished = mainContainersFinished(pod, options.mainContainers)
  const done = phase === "Succeeded" || phase === "Failed" ||
    // DEVIATION 3: everything has exited, the phase just has not caught up yet.
    (phase === "Running" && mainFinished && running.length === 0)

  if (!done) {
    if (labelled) return skip(`pod is labelled ${LabelKeyCompleted}=true: not revisited while it runs`)
    if (phase === "Running") {
      if (running.length === 0) return skip("pod is Running but no container is running: nothing to signal")
      const still = running.join(", ")
      if (mainFinished) {
        return act(
          "terminateContainers",
          Duration.zero,
          `main containers (${options.mainContainers.join(", ")}) have exited; still running: ${still}`
        )
      }
      const failed = failedMainContainer(pod, options.mainContainers)
      if (failed !== undefined) {
        return act(
          "terminateContainers",
          Duration.zero,
          `main container ${failed.name} exited with code ${failed.exitCode}; still running: ${still}`
        )
      }
      const stop = stopReason(pod, workflow)
      if (stop !== undefined) return act("terminateContainers", Duration.zero, `${stop}; still running: ${still}`)
      return skip("pod is running")
    }
    if (phase === "Pending" || phase === undefined) {
      const stop = stopReason(pod, workflow)
      if (stop !== undefined) {
        return act("deletePod", Duration.zero, `pod is Pending and ${stop}: deleted instead of signalled`)
      }
      return skip("pod is pending")
    }
    return skip(`pod phase is ${phase}: waiting for the node to report`)
  }

  const plan = planPodGC(pod, workflow, options)
  if (plan.action === "deletePod") {
    // Labelled or not: a delete the strategy calls for is work left (DEVIATION 5).
    return act("deletePod", plan.delay, `${plan.reason} (after ${formatGoDuration(plan.delay)})`)
  }
  if (labelled) {
    // DEVIATION 5: labelled pods only keep the work Argo would have left on them.
    if (finalizer) {
      return act("removeFinalizer", Duration.zero, `pod is labelled ${LabelKeyCompleted}=true but still carries the status finalizer`)
    }
    return skip(`pod is already labelled ${LabelKeyCompleted}=true: nothing left to do (${plan.reason})`)
  }
  if (plan.action === undefined) return skip(plan.reason)
  return act(plan.action, Duration.zero, plan.reason)
}

// ---- The whole decision: the policy, behind Argo's recorded result ------------------------------

/** What is known of a pod's workflow when its pod is decided. */
export type WorkflowContext =
  /** The workflow, as last seen (from the cache or the API). */
  | { readonly _tag: "Known"; readonly workflow: WorkflowRecord }
  /**
   * The workflow does not exist: the API server answered 404, or the Workflow CRD is absent. The
   * pod is an orphan and its own pod-gc-strategy annotation stands in for the policy.
   */
  | { readonly _tag: "Gone"; readonly reason: string }
  /** Not in the workflow cache and not known to be gone (a lagging watch, or not created yet). */
  | { readonly _tag: "Unseen" }

/** The actions that take a pod out of Argo's view; they wait for Argo to record the pod's node. */
const takesPodFromArgo = (action: ActionName): boolean =>
  action === "labelPodCompleted" || action === "deletePod" || action === "deletePodByUID" || action === "removeFinalizer"

/** The pod's node ID in its workflow: the `node-id` annotation, else derived from `node-name`. */
export const podNodeId = (pod: Pod, workflowName: string): string | undefined => {
  const id = pod.metadata.annotations[AnnotationKeyNodeId]
  if (id !== undefined && id !== "") return id
  const name = pod.metadata.annotations[AnnotationKeyNodeName]
  return name === undefined || name === "" ? undefined : argoNodeId(workflowName, name)
}

type Gate = { readonly open: true } | { readonly open: false; readonly reason: string; readonly warning?: string | undefined }

const OPEN: Gate = { open: true }

/**
 * Whether Argo has recorded the pod's node (`queuePodsForCleanup`'s condition), so that labelling,
 * deleting or releasing the pod cannot make Argo mark the node Error "pod deleted". Missing or
 * unreadable data closes the gate until the workflow's phase is completed.
 */
export const argoRecorded = (pod: Pod, workflow: WorkflowRecord): Gate => {
  const name = workflow.metadata.name
  if (isWorkflowCompleted(workflow.phase)) return OPEN
  const nodes = workflow.nodes
  if (nodes._tag === "Offloaded") {
    return { open: false, reason: `workflow ${name} keeps its node status in Argo's database (offloaded): waiting for the workflow to complete` }
  }
  if (nodes._tag === "Unreadable") {
    return {
      open: false,
      reason: `the node status of workflow ${name} cannot be read: waiting for the workflow to complete`,
      warning: `workflow ${workflow.metadata.namespace}/${name}: ${nodes.reason}; its pods wait for the workflow to complete`
    }
  }
  const nodeId = podNodeId(pod, name)
  if (nodeId === undefined) {
    return {
      open: false,
      reason: `pod has neither ${AnnotationKeyNodeId} nor ${AnnotationKeyNodeName}: waiting for workflow ${name} to complete`
    }
  }
  const state = nodes.pods.get(nodeId)
  if (state === undefined) return { open: false, reason: `node ${nodeId} is not in the status of workflow ${name} yet: waiting for Argo` }
  if (state.fulfilled) return OPEN
  const synced = state.taskResultSynced === false ? ", taskResultSynced false" : ""
  return {
    open: false,
    reason: `Argo has not recorded node ${nodeId} yet (phase ${state.phase || "(none)"}${synced}): waiting for Argo`
  }
}

/**
 * The whole decision about a pod: the PodGC policy ({@link decide}) for its workflow, with every
 * action that takes the pod out of Argo's view held back until Argo has recorded the pod's node
 * ({@link argoRecorded}). Signalling is never held back: Argo signals before it records the node,
 * and recording depends on it. The re-check before a destructive action calls this same function.
 *
 * @param nowMillis the current time (from `Clock`): a workflow's deadline is judged against it.
 */
export const decidePod = (
  pod: Pod,
  context: WorkflowContext,
  options: PolicyOptions = defaultPolicyOptions,
  nowMillis: number = 0
): Decision => {
  switch (context._tag) {
    case "Gone":
      return decide(pod, undefined, options)
    case "Unseen": {
      const decision = decide(pod, undefined, options)
      if (decision._tag !== "Act" || !decision.actions.some((a) => takesPodFromArgo(a.action))) return decision
      const wf = pod.metadata.labels[LabelKeyWorkflow]
      return { _tag: "Wait", reason: `workflow ${wf} not seen yet: waiting for it` }
    }
    case "Known": {
      const decision = decide(pod, viewOf(context.workflow, nowMillis), options)
      if (decision._tag !== "Act" || !decision.actions.some((a) => takesPodFromArgo(a.action))) return decision
      const gate = argoRecorded(pod, context.workflow)
      if (gate.open) return decision
      const due = decision.actions.map((a) => a.action).join(", ")
      return { _tag: "Wait", reason: `${due} due, but ${gate.reason}`, warning: gate.warning }
    }
  }
}
