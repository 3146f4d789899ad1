/**
 * The six cleanup actions and their queue key. The key is Argo's, character for character:
 * `namespace/pod/action`, with `/uid` appended for `deletePodByUID` only, so the same work on the
 * same pod is deduplicated and different actions on one pod are not.
 *
 * Sources: argoproj/argo-workflows `workflow/controller/pod/cleanup_key.go` (the action names,
 * `newPodCleanupKey` = `"%s/%s/%v"`, `newPodCleanupKeyWithUID` = `"%s/%s/%v/%s"`,
 * `parsePodCleanupKey`; `queuePodForCleanupByUID` is the caller of the UID form; some later sources
 * append the UID to every key, which we do not follow), and `queue.go` `processNextPodCleanupItem`
 * for what each action does.
 */

export const ActionNames = [
  "terminateContainers",
  "killContainers",
  "labelPodCompleted",
  "deletePod",
  "deletePodByUID",
  "removeFinalizer"
] as const

/**
 * - `terminateContainers`: SIGTERM every running container (up to `signalConcurrency` at once,
 *   within the node's exec slots); then schedule `killContainers` after the pod's grace period. A
 *   pod found Pending is deleted instead, when the decision for it (`decidePod`) calls for that.
 * - `killContainers`: SIGKILL every running container.
 * - `labelPodCompleted`: merge-patch `workflows.argoproj.io/completed=true` (Argo drops its status
 *   finalizer in the same patch).
 * - `deletePod`: drop the status finalizer (merge patch guarded by resourceVersion), then delete
 *   with propagation Background.
 * - `deletePodByUID`: delete only the pod with the given UID (a retried step's old pod).
 * - `removeFinalizer`: merge-patch the finalizer list without `workflows.argoproj.io/status`.
 */
export type ActionName = (typeof ActionNames)[number]

export const isActionName = (value: unknown): value is ActionName =>
  typeof value === "string" && (ActionNames as ReadonlyArray<string>).includes(value)

export interface ActionRequest {
  readonly action: ActionName
  readonly namespace: string
  readonly pod: string
  /** Required in practice for `deletePodByUID`; ignored by the key of every other action. */
  readonly uid?: string | undefined
  /** Why the action was requested, for logs and events. */
  readonly reason: string
}

/**
 * The queue key: `namespace/pod/action`, or `namespace/pod/deletePodByUID/uid`. A
 * `deletePodByUID` request without a UID gets a trailing `/` (what Argo's `newPodCleanupKeyWithUID`
 * would print for an empty UID).
 *
 * @example
 * actionKey({ action: "deletePod", namespace: "argo", pod: "wf-1", reason: "OnPodCompletion" })
 * // "argo/wf-1/deletePod"
 */
export const actionKey = (req: Pick<ActionRequest, "action" | "namespace" | "pod" | "uid">): string =>
  req.action === "deletePodByUID"
    ? `${req.namespace}/${req.pod}/${req.action}/${req.uid ?? ""}`
    : `${req.namespace}/${req.pod}/${req.action}`

export interface ParsedActionKey {
  readonly namespace: string
  readonly pod: string
  readonly action: ActionName
  readonly uid: string | undefined
}

/**
 * The inverse of {@link actionKey} (Argo's `parsePodCleanupKey`): three or four `/`-separated parts
 * and a known action, otherwise `undefined`. Namespaces and pod names cannot contain `/`.
 */
export const parseActionKey = (key: string): ParsedActionKey | undefined => {
  const parts = key.split("/")
  if (parts.length !== 3 && parts.length !== 4) return undefined
  const [namespace, pod, action, uid] = parts
  if (!isActionName(action)) return undefined
  if (parts.length === 4 && action !== "deletePodByUID") return undefined
  if (parts.length === 3 && action === "deletePodByUID") return undefined
  return { namespace, pod, action, uid: parts.length === 4 ? uid : undefined }
}
