/**
 * pod-cleanup's pure domain: Argo's names, the pod shape, actions and their queue keys, kill
 * commands, Go durations, label selectors and the cleanup decision. No I/O, no clock.
 */
export * from "./Action.ts"
export * from "./argo.ts"
export * from "./duration.ts"
export * from "./killCommand.ts"
export * from "./labelSelector.ts"
export * from "./Pod.ts"
export * from "./policy.ts"
