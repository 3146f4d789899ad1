// The simulated Kubernetes API server: public surface.

export { SimCluster } from "./SimCluster.ts"
export type { SimClusterOptions } from "./SimCluster.ts"
export type { ExecEventInfo, RequestLogEntry, SimStats } from "./server.ts"
export type { SimPodGC, SimWorkflow, SimWorkflowInit } from "./workflows.ts"
export type {
  ApiFault,
  ApiFaultCode,
  ApiScope,
  ExecFault,
  ExecScope,
  FaultOptions,
  Faults,
  SimResource,
  WatchFault,
  WatchFaultKind,
  WatchFaultOptions
} from "./faults.ts"
export type { ContainerStateName, SimContainerInit, SimPodInit, SimVolumeMount } from "./pods.ts"
export type { ExecCloseInfo } from "./exec.ts"
export type { DeleteOptions } from "./rest.ts"
export { seedWorkflowPods } from "./seed.ts"
export type { SeedOptions, SeedResult } from "./seed.ts"
export { ArgoModel, podNode, podNodeId } from "./argo.ts"
export type { ArgoModelOptions, PodDeletedRecord } from "./argo.ts"
export { argoNodeId, compressNodes, decompressNodes, fnv32a, nodeFulfilled } from "./argoNodes.ts"
export type { ArgoNode, ArgoNodeMap, NodeStatusFormat } from "./argoNodes.ts"
export { realisticNodes, realisticPodParts, realisticWorkflowParts, stepTemplate } from "./realistic.ts"
export type { RealisticPodInput, RealisticPodParts, RealisticStep } from "./realistic.ts"
export { kubeconfigYaml } from "./kubeconfig.ts"
export type { KubeconfigOptions } from "./kubeconfig.ts"
export type {
  ContainerStateChange,
  ControlArgo,
  ControlBulkPodsRequest,
  ControlCleaned,
  ControlPodSummary,
  ControlSeedRequest,
  ControlSeedResponse,
  ControlStats
} from "./control.ts"
