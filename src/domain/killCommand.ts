/**
 * The argv that delivers a signal to a container's PID 1, chosen by Argo's rules. Pod data only
 * ever becomes separate argv elements, never shell text: the one shell string is the constant
 * default with a validated signal number in it. A bad kill-command annotation is skipped with a
 * warning, never thrown.
 *
 * Sources: argoproj/argo-workflows `workflow/signal/signal.go` (`killCommand`: default
 * `["/bin/sh","-c","kill -%d 1"]`; wait/supervisor (`common.IsArgoAuxilliary`) →
 * `["argoexec","kill","%d","1"]`; otherwise, for the named container in `pod.spec.containers`, a
 * mount at `/argo-bin` → `["/argo-bin/bin/argoexec","kill","%d","1"]`, checked before a mount at
 * `/var/run/argo` → `["/var/run/argo/argoexec","kill","%d","1"]`; the annotation
 * `workflows.argoproj.io/kill-cmd-<container>` (JSON array of strings) overrides all of them; every
 * element containing `%d` goes through `fmt.Sprintf(v, sig)`, which prints the signal's number:
 * `"15"`, `"9"`), `workflow/signal/signal_test.go` (`TestKillCommand`: `kill 15 1`, `kill -9 1`,
 * annotation `["/custom","kill","%d"]` → `["/custom","kill","15"]`), `workflow/common/common.go`
 * (the paths and container names).
 *
 * Deviations from Argo, on purpose:
 * - Argo fails the signal when the annotation is not JSON; we warn and fall through to the next
 *   rule, so the container is still signalled. We also reject a JSON value that is not a non-empty
 *   array of strings (Argo would exec an empty or `null` command), more than 64 elements, more than
 *   4096 characters in total, or an element containing NUL (which `execve` cannot carry).
 * - Argo runs each `%d`-bearing element through `fmt.Sprintf`, so a second `%d` prints
 *   `%!d(MISSING)` and other verbs print garbage; we replace every `%d` with the number and leave
 *   any other `%` text alone.
 */
import {
  annotationKeyKillCmd,
  ArgoExecBinMountPath,
  ArgoExecBinPath,
  isArgoAuxiliaryContainer,
  LegacyArgoExecBinPath,
  VarRunArgoPath
} from "./argo.ts"
import { type Pod, podKey } from "./Pod.ts"

export type Signal = "SIGTERM" | "SIGKILL" | number

export interface KillCommand {
  readonly argv: ReadonlyArray<string>
  readonly warnings: ReadonlyArray<string>
}

/** Limits on a kill-command annotation. */
export const MaxKillCommandElements = 64
export const MaxKillCommandChars = 4096

/**
 * The signal's number: SIGTERM = 15, SIGKILL = 9, or the number given. A number outside 1..64 or
 * not an integer is a programming error (it would end up in the default shell command), so it
 * throws a `RangeError`.
 */
export const signalNumber = (signal: Signal): number => {
  if (signal === "SIGTERM") return 15
  if (signal === "SIGKILL") return 9
  if (typeof signal !== "number" || !Number.isInteger(signal) || signal < 1 || signal > 64) {
    throw new RangeError(`invalid signal ${String(signal)}: expected "SIGTERM", "SIGKILL" or an integer 1..64`)
  }
  return signal
}

type AnnotationCheck =
  | { readonly _tag: "Ok"; readonly argv: ReadonlyArray<string> }
  | { readonly _tag: "Invalid"; readonly problem: string }

const checkAnnotation = (value: string): AnnotationCheck => {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return { _tag: "Invalid", problem: "not valid JSON" }
  }
  if (!Array.isArray(parsed)) return { _tag: "Invalid", problem: "not a JSON array of strings" }
  if (parsed.length === 0) return { _tag: "Invalid", problem: "empty array" }
  if (parsed.length > MaxKillCommandElements) {
    return { _tag: "Invalid", problem: `${parsed.length} elements, more than ${MaxKillCommandElements}` }
  }
  let total = 0
  for (const [i, element] of parsed.entries()) {
    if (typeof element !== "string") return { _tag: "Invalid", problem: `element ${i} is not a string` }
    if (element.includes("\u0000")) return { _tag: "Invalid", problem: `element ${i} contains a NUL byte` }
    total += element.length
  }
  if (total > MaxKillCommandChars) {
    return { _tag: "Invalid", problem: `${total} characters in total, more than ${MaxKillCommandChars}` }
  }
  return { _tag: "Ok", argv: parsed as ReadonlyArray<string> }
}

const substitute = (argv: ReadonlyArray<string>, sig: number): ReadonlyArray<string> =>
  argv.map((element) => element.replaceAll("%d", String(sig)))

/**
 * The command to exec in `containerName` to deliver `signal` to its PID 1, with Argo's precedence:
 * annotation → wait/supervisor → `/argo-bin` mount → `/var/run/argo` mount → `/bin/sh -c`.
 *
 * @example
 * killCommand(pod, "main", "SIGTERM")
 * // { argv: ["/var/run/argo/argoexec", "kill", "15", "1"], warnings: [] }  (main mounts /var/run/argo)
 */
export const killCommand = (pod: Pod, containerName: string, signal: Signal): KillCommand => {
  const sig = signalNumber(signal)
  const warnings: Array<string> = []

  const key = annotationKeyKillCmd(containerName)
  const annotation = pod.metadata.annotations[key]
  if (annotation !== undefined) {
    const check = checkAnnotation(annotation)
    if (check._tag === "Ok") return { argv: substitute(check.argv, sig), warnings }
    warnings.push(
      `pod ${podKey(pod)} container ${JSON.stringify(containerName)}: ignoring annotation ${key}: ${check.problem}`
    )
  }

  if (isArgoAuxiliaryContainer(containerName)) {
    return { argv: ["argoexec", "kill", String(sig), "1"], warnings }
  }

  const container = pod.spec.containers.find((c) => c.name === containerName)
  const mounts = container?.volumeMounts ?? []
  if (mounts.some((m) => m.mountPath === ArgoExecBinMountPath)) {
    return { argv: [ArgoExecBinPath, "kill", String(sig), "1"], warnings }
  }
  if (mounts.some((m) => m.mountPath === VarRunArgoPath)) {
    return { argv: [LegacyArgoExecBinPath, "kill", String(sig), "1"], warnings }
  }
  return { argv: ["/bin/sh", "-c", `kill -${sig} 1`], warnings }
}
