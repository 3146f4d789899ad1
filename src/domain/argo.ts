/**
 * Argo Workflows names pod-cleanup must agree with, byte for byte: labels, annotations, the status
 * finalizer, container names, argoexec paths, PodGC strategies and workflow phases. Nothing here
 * decides anything; it only names things, so every rule elsewhere cites one place.
 *
 * Sources (argoproj/argo-workflows, v4 line):
 * - `workflow/common/common.go`: LabelKeyWorkflow / LabelKeyCompleted / LabelKeyComponent /
 *   LabelKeyOnExit, AnnotationKeyPodGCStrategy, AnnotationKeyKillCmd (`.../kill-cmd-` + container),
 *   FinalizerPodStatus, Main/Init/Wait/SupervisorContainerName, IsArgoAuxilliary (wait or
 *   supervisor), VarRunArgoPath, LegacyArgoExecBinPath, ArgoExecBinMountPath, ArgoExecBinPath.
 * - `pkg/apis/workflow/v1alpha1/workflow_types.go`: PodGCStrategy constants (PodGCOnPodNone = ""),
 *   WorkflowPhase constants and `WorkflowPhase.Completed()` (Succeeded, Failed, Error),
 *   ShutdownStrategy (`Terminate`, `Stop`) and `ShouldExecute(isOnExitPod)`.
 * - `workflow/controller/pod/queue.go` (`signalContainers`): 30 s when
 *   `spec.terminationGracePeriodSeconds` is unset.
 * - `config/config.go` (`GetPodGCDeleteDelayDuration`): default delete delay 5 s.
 */
import { Duration } from "effect"

/** `workflow.WorkflowFullName`: the API group every Argo key is prefixed with. */
export const WorkflowFullName = "workflows.argoproj.io"

// ---- Labels -------------------------------------------------------------------------------------

/** Pod label carrying the owning workflow's name. Pods without it are not Argo workflow pods. */
export const LabelKeyWorkflow = `${WorkflowFullName}/workflow`
/** `"false"` at creation, `"true"` once the pod has been labelled; Argo watches `completed=false` only. */
export const LabelKeyCompleted = `${WorkflowFullName}/completed`
/** Set on agent / artifact-GC pods; Argo's PodGC skips any pod carrying it. */
export const LabelKeyComponent = `${WorkflowFullName}/component`
/** Set on pods that run onExit handlers; a `Stop` shutdown lets them keep running. */
export const LabelKeyOnExit = `${WorkflowFullName}/on-exit`

// ---- Annotations --------------------------------------------------------------------------------

/** `"<strategy>/<delay>"`, copied from `spec.podGC` onto every pod (delay in Go `Duration.String()` form). */
export const AnnotationKeyPodGCStrategy = `${WorkflowFullName}/pod-gc-strategy`
/** The pod's node ID in its workflow's `status.nodes` (`common.AnnotationKeyNodeID`). */
export const AnnotationKeyNodeId = `${WorkflowFullName}/node-id`
/** The pod's node name; its ID is derived from it when `node-id` is absent (`Workflow.NodeID`). */
export const AnnotationKeyNodeName = `${WorkflowFullName}/node-name`
/** Prefix of the per-container kill command annotation; the container name follows it. */
export const AnnotationKeyKillCmdPrefix = `${WorkflowFullName}/kill-cmd-`
/** `common.AnnotationKeyKillCmd(containerName)`. */
export const annotationKeyKillCmd = (containerName: string): string => `${AnnotationKeyKillCmdPrefix}${containerName}`

// ---- Finalizer ----------------------------------------------------------------------------------

/** Blocks pod deletion until Argo has captured the pod's status (`ARGO_POD_STATUS_CAPTURE_FINALIZER=true`). */
export const FinalizerPodStatus = `${WorkflowFullName}/status`

// ---- Containers ---------------------------------------------------------------------------------

export const MainContainerName = "main"
export const InitContainerName = "init"
export const WaitContainerName = "wait"
/** The init-less pod layout's auxiliary container, replacing `wait`. */
export const SupervisorContainerName = "supervisor"

/** Argo's own auxiliary containers: argoexec is on their `PATH`. */
export const ArgoAuxiliaryContainerNames: ReadonlyArray<string> = [WaitContainerName, SupervisorContainerName]

/** `common.IsArgoAuxilliary` (sic): the wait or supervisor container. */
export const isArgoAuxiliaryContainer = (containerName: string): boolean =>
  containerName === WaitContainerName || containerName === SupervisorContainerName

// ---- argoexec locations -------------------------------------------------------------------------

/** The shared emptyDir every legacy-layout container mounts. */
export const VarRunArgoPath = "/var/run/argo"
/** Where the legacy init container copies argoexec. */
export const LegacyArgoExecBinPath = `${VarRunArgoPath}/argoexec`
/** Mount path of the `argoexec-bin` image volume (init-less layout). */
export const ArgoExecBinMountPath = "/argo-bin"
/** argoexec inside the `argoexec-bin` image volume. */
export const ArgoExecBinPath = `${ArgoExecBinMountPath}/bin/argoexec`

// ---- PodGC --------------------------------------------------------------------------------------

/** The non-empty PodGC strategies. The empty strategy (`PodGCOnPodNone`) means "never delete". */
export const PodGCStrategies = [
  "OnPodCompletion",
  "OnPodSuccess",
  "OnWorkflowCompletion",
  "OnWorkflowSuccess"
] as const
export type PodGCStrategy = (typeof PodGCStrategies)[number]

export const isPodGCStrategy = (value: unknown): value is PodGCStrategy =>
  typeof value === "string" && (PodGCStrategies as ReadonlyArray<string>).includes(value)

/** The controller-wide default for `podGCDeleteDelayDuration`. */
export const DefaultPodGCDeleteDelay: Duration.Duration = Duration.seconds(5)

// ---- Workflow -----------------------------------------------------------------------------------

export const WorkflowPhases = ["Pending", "Running", "Succeeded", "Failed", "Error"] as const
export type WorkflowPhase = (typeof WorkflowPhases)[number]

/** `WorkflowPhase.Completed()`: Succeeded, Failed or Error. An absent phase is not completed. */
export const isWorkflowCompleted = (phase: string | undefined): boolean =>
  phase === "Succeeded" || phase === "Failed" || phase === "Error"

/** `spec.shutdown`. */
export const ShutdownStrategies = ["Terminate", "Stop"] as const
export type ShutdownStrategy = (typeof ShutdownStrategies)[number]

// ---- Pods ---------------------------------------------------------------------------------------

export const PodPhases = ["Pending", "Running", "Succeeded", "Failed", "Unknown"] as const
export type PodPhase = (typeof PodPhases)[number]

/** Kubernetes' default when `spec.terminationGracePeriodSeconds` is unset (Argo uses the same). */
export const DefaultTerminationGracePeriodSeconds = 30
