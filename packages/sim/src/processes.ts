// The process model: each container is one PID 1 whose life is its container state. Signals sent
// by exec'd commands (`kill -15 1`, `argoexec kill 15 1`, ...) end it like a kubelet would report:
// SIGTERM → Terminated 143 after `termDelayMs` (never, with `ignoreSigterm`), SIGKILL → 137 at once.
// Commands are argv arrays interpreted here; nothing is ever run in a real shell.
// The pod object in the store is the single source of truth for states; this module only keeps
// the per-container behaviour and the pending timers.

import { EventEmitter } from "node:events"
import { applyContainerState, stateOf } from "./pods.ts"
import type { ContainerStateName, PodJson } from "./pods.ts"

export interface ContainerBehaviour {
  readonly termDelayMs: number
  readonly ignoreSigterm: boolean
}

/** Where the process model reads and writes pods (the SimCluster's store). */
export interface ProcessHost {
  readPod(namespace: string, name: string): PodJson | undefined
  /** Mutates the stored pod if it still exists with this uid; emits MODIFIED. */
  writePod(namespace: string, name: string, uid: string, mutate: (pod: PodJson) => void): void
}

export interface ProcessTarget {
  readonly namespace: string
  readonly pod: string
  readonly uid: string
  readonly container: string
}

export interface CommandResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

const signalNumbers: Readonly<Record<string, number>> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ABRT: 6,
  KILL: 9,
  USR1: 10,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  CONT: 18,
  STOP: 19
}

/** `15`, `TERM`, `SIGTERM`, `-15` (as written after `kill`) → 15; undefined if unknown. */
export const parseSignal = (raw: string): number | undefined => {
  const s = raw.replace(/^-/, "").toUpperCase()
  if (/^\d+$/.test(s)) {
    const n = Number(s)
    return n >= 0 && n <= 64 ? n : undefined
  }
  return signalNumbers[s.replace(/^SIG/, "")]
}

const ok = (stdout = ""): CommandResult => ({ exitCode: 0, stdout, stderr: "" })
const fail = (exitCode: number, stderr: string): CommandResult => ({ exitCode, stdout: "", stderr })

/** Splits a `sh -c` script into words, honouring single and double quotes and backslashes. */
export const shellWords = (script: string): Array<string> => {
  const words: Array<string> = []
  let current = ""
  let inWord = false
  for (let i = 0; i < script.length; i++) {
    const c = script[i]
    if (c === "'") {
      const end = script.indexOf("'", i + 1)
      current += script.slice(i + 1, end < 0 ? script.length : end)
      i = end < 0 ? script.length : end
      inWord = true
    } else if (c === "\"") {
      let j = i + 1
      while (j < script.length && script[j] !== "\"") {
        if (script[j] === "\\" && j + 1 < script.length) j++
        current += script[j]
        j++
      }
      i = j
      inWord = true
    } else if (c === "\\" && i + 1 < script.length) {
      current += script[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current)
      current = ""
      inWord = false
    } else {
      current += c
      inWord = true
    }
  }
  if (inWord) words.push(current)
  return words
}

const basename = (path: string): string => path.slice(path.lastIndexOf("/") + 1)

type Resolved =
  | { readonly kind: "signal"; readonly signal: number; readonly pids: ReadonlyArray<string>; readonly who: string }
  | { readonly kind: "result"; readonly result: CommandResult }
  | { readonly kind: "sleep"; readonly seconds: number }

export class Processes {
  readonly #host: ProcessHost
  readonly #behaviour = new Map<string, Map<string, ContainerBehaviour>>()
  readonly #timers = new Map<string, Set<ReturnType<typeof setTimeout>>>()
  readonly #deaths = new EventEmitter()
  #closed = false

  constructor(host: ProcessHost) {
    this.#host = host
    this.#deaths.setMaxListeners(0)
  }

  register(uid: string, container: string, behaviour: ContainerBehaviour): void {
    let byContainer = this.#behaviour.get(uid)
    if (byContainer === undefined) {
      byContainer = new Map()
      this.#behaviour.set(uid, byContainer)
    }
    byContainer.set(container, behaviour)
  }

  /** The pod is gone: drop its behaviour and pending timers. */
  forget(uid: string): void {
    this.#behaviour.delete(uid)
    for (const [key, timers] of this.#timers) {
      if (key.startsWith(`${uid}/`)) {
        for (const t of timers) clearTimeout(t)
        this.#timers.delete(key)
      }
    }
  }

  close(): void {
    this.#closed = true
    for (const timers of this.#timers.values()) for (const t of timers) clearTimeout(t)
    this.#timers.clear()
    this.#deaths.removeAllListeners()
  }

  #behaviourOf(target: ProcessTarget): ContainerBehaviour {
    return this.#behaviour.get(target.uid)?.get(target.container) ?? { termDelayMs: 0, ignoreSigterm: false }
  }

  #schedule(target: ProcessTarget, key: string, ms: number, run: () => void): void {
    if (this.#closed) return
    const timerKey = `${target.uid}/${target.container}/${key}`
    let timers = this.#timers.get(timerKey)
    if (timers === undefined) {
      timers = new Set()
      this.#timers.set(timerKey, timers)
    }
    const set = timers
    const timer = setTimeout(() => {
      set.delete(timer)
      if (set.size === 0) this.#timers.delete(timerKey)
      run()
    }, ms)
    timer.unref()
    set.add(timer)
  }

  #hasTimer(target: ProcessTarget, key: string): boolean {
    return this.#timers.has(`${target.uid}/${target.container}/${key}`)
  }

  #cancel(target: ProcessTarget, key: string): void {
    const timerKey = `${target.uid}/${target.container}/${key}`
    for (const t of this.#timers.get(timerKey) ?? []) clearTimeout(t)
    this.#timers.delete(timerKey)
  }

  stateOf(target: ProcessTarget): ContainerStateName | undefined {
    const pod = this.#host.readPod(target.namespace, target.pod)
    if (pod === undefined || pod.metadata.uid !== target.uid) return undefined
    return stateOf(pod.status.containerStatuses?.find((s) => s.name === target.container))
  }

  isRunning(target: ProcessTarget): boolean {
    return this.stateOf(target) === "running"
  }

  /** Sets a container's state (a kubelet status update): MODIFIED, phase recomputed. */
  setState(target: ProcessTarget, state: ContainerStateName, exitCode?: number): void {
    if (state !== "running") {
      this.#cancel(target, "term")
      this.#cancel(target, "kill")
    }
    this.#host.writePod(target.namespace, target.pod, target.uid, (pod) => {
      applyContainerState(pod, target.container, state, { exitCode })
    })
    if (state === "terminated") this.#deaths.emit(`${target.uid}/${target.container}`)
  }

  /** Delivers a signal to PID 1. Returns false when there is no such process (not running). */
  signal(target: ProcessTarget, signal: number): boolean {
    if (!this.isRunning(target)) return false
    if (signal === 0 || signal === 18 || signal === 19) return true
    if (signal === 9) {
      this.setState(target, "terminated", 137)
      return true
    }
    const behaviour = this.#behaviourOf(target)
    if (behaviour.ignoreSigterm || this.#hasTimer(target, "term")) return true
    const exitCode = 128 + signal
    if (behaviour.termDelayMs <= 0) {
      this.setState(target, "terminated", exitCode)
    } else {
      this.#schedule(target, "term", behaviour.termDelayMs, () => {
        if (this.isRunning(target)) this.setState(target, "terminated", exitCode)
      })
    }
    return true
  }

  /** What a kubelet does for a pod being deleted: SIGTERM every running container, SIGKILL after the grace period. */
  stopPod(namespace: string, pod: string, graceSeconds: number): void {
    const current = this.#host.readPod(namespace, pod)
    if (current === undefined) return
    for (const status of current.status.containerStatuses ?? []) {
      if (stateOf(status) !== "running") continue
      const target = { namespace, pod, uid: current.metadata.uid ?? "", container: status.name }
      if (graceSeconds <= 0) {
        this.signal(target, 9)
        continue
      }
      this.signal(target, 15)
      if (this.isRunning(target) && !this.#hasTimer(target, "kill")) {
        this.#schedule(target, "kill", graceSeconds * 1000, () => this.signal(target, 9))
      }
    }
  }

  #resolve(target: ProcessTarget, argv: ReadonlyArray<string>, inShell: boolean): Resolved {
    const [program, ...args] = argv
    const name = basename(program ?? "")
    const notFound = (): Resolved => ({
      kind: "result",
      result: fail(127, inShell ? `sh: ${program}: not found\n` : `${program}: not found\n`)
    })
    if (program === undefined || program === "") return { kind: "result", result: ok() }
    if (name === "sh" || name === "bash" || name === "ash") {
      if (args[0] !== "-c") return { kind: "result", result: ok() }
      const words = shellWords(args[1] ?? "")
      if (words[0] === "exec") words.shift()
      if (words[0] === "exit") {
        const code = Number(words[1] ?? "0")
        return { kind: "result", result: { exitCode: Number.isInteger(code) ? code & 255 : 2, stdout: "", stderr: "" } }
      }
      if (words.length === 0) return { kind: "result", result: ok() }
      return this.#resolve(target, words, true)
    }
    if (name === "argoexec") {
      if (!this.#hasArgoexec(target, program)) return notFound()
      if (args[0] !== "kill") return { kind: "result", result: fail(1, `Error: unknown command "${args[0] ?? ""}" for "argoexec"\n`) }
      const signal = parseSignal(args[1] ?? "")
      if (signal === undefined || args[2] === undefined) {
        return { kind: "result", result: fail(1, `Error: invalid argument "${args[1] ?? ""}" for "argoexec kill"\n`) }
      }
      return { kind: "signal", signal, pids: [args[2]], who: "argoexec" }
    }
    if (program !== name && !/^\/(usr\/)?s?bin\//.test(program)) return notFound()
    switch (name) {
      case "kill": {
        const who = inShell ? "sh" : "kill"
        let signal = 15
        let rest = args
        if (rest[0] === "-s" || rest[0] === "-n") {
          const parsed = parseSignal(rest[1] ?? "")
          if (parsed === undefined) return { kind: "result", result: fail(1, `${who}: bad signal name '${rest[1] ?? ""}'\n`) }
          signal = parsed
          rest = rest.slice(2)
        } else if (rest[0]?.startsWith("-") && rest[0] !== "--") {
          const parsed = parseSignal(rest[0])
          if (parsed === undefined) return { kind: "result", result: fail(1, `${who}: bad signal name '${rest[0].slice(1)}'\n`) }
          signal = parsed
          rest = rest.slice(1)
        }
        if (rest[0] === "--") rest = rest.slice(1)
        if (rest.length === 0) return { kind: "result", result: fail(1, `${who}: usage: kill [-s SIG] PID...\n`) }
        return { kind: "signal", signal, pids: rest, who }
      }
      case "true":
        return { kind: "result", result: ok() }
      case "false":
        return { kind: "result", result: fail(1, "") }
      case "echo": {
        const noNewline = args[0] === "-n"
        const text = (noNewline ? args.slice(1) : args).join(" ")
        return { kind: "result", result: ok(noNewline ? text : `${text}\n`) }
      }
      case "sleep": {
        const seconds = args[0] === "infinity" ? Infinity : Number(args[0])
        if (!Number.isFinite(seconds) && seconds !== Infinity) {
          return { kind: "result", result: fail(1, `sleep: invalid number '${args[0] ?? ""}'\n`) }
        }
        return { kind: "sleep", seconds }
      }
      default:
        return notFound()
    }
  }

  /**
   * Argo's kill commands only exist where Argo puts them: `/var/run/argo/argoexec` needs a mount
   * at /var/run/argo, `/argo-bin/bin/argoexec` a mount at /argo-bin, bare `argoexec` the argoexec
   * image (the `wait` container).
   */
  #hasArgoexec(target: ProcessTarget, program: string): boolean {
    const pod = this.#host.readPod(target.namespace, target.pod)
    const spec = pod?.spec.containers.find((c) => c.name === target.container)
    const mounts = (spec?.volumeMounts ?? []).map((m) => m.mountPath.replace(/\/+$/, ""))
    if (program === "/var/run/argo/argoexec") return mounts.includes("/var/run/argo")
    if (program === "/argo-bin/bin/argoexec") return mounts.includes("/argo-bin")
    if (program === "argoexec" || program === "/usr/local/bin/argoexec" || program === "/bin/argoexec") {
      return target.container === "wait" || target.container === "init" || (spec?.image ?? "").includes("argoexec")
    }
    return false
  }

  /** Runs an exec'd command in a running container. `abort` fires when the exec session goes away. */
  async run(target: ProcessTarget, argv: ReadonlyArray<string>, abort: AbortSignal): Promise<CommandResult> {
    const resolved = this.#resolve(target, argv, false)
    switch (resolved.kind) {
      case "result":
        return resolved.result
      case "signal": {
        let stderr = ""
        let exitCode = 0
        for (const pid of resolved.pids) {
          if (pid === "1" && this.signal(target, resolved.signal)) continue
          exitCode = 1
          stderr += resolved.who === "argoexec"
            ? `Error: os: process already finished\n`
            : `${resolved.who}: can't kill pid ${pid}: No such process\n`
        }
        return { exitCode, stdout: "", stderr }
      }
      case "sleep":
        return new Promise<CommandResult>((resolve) => {
          const key = `${target.uid}/${target.container}`
          const finish = (result: CommandResult) => {
            if (timer !== undefined) clearTimeout(timer)
            this.#deaths.off(key, onDeath)
            abort.removeEventListener("abort", onAbort)
            resolve(result)
          }
          const onDeath = () => finish({ exitCode: 137, stdout: "", stderr: "" })
          const onAbort = () => finish({ exitCode: 137, stdout: "", stderr: "" })
          const timer = resolved.seconds === Infinity
            ? undefined
            : setTimeout(() => finish(ok()), resolved.seconds * 1000)
          this.#deaths.on(key, onDeath)
          abort.addEventListener("abort", onAbort)
          if (abort.aborted) onAbort()
        })
    }
  }
}
