// The shape of a simulated pod: what `SimCluster.addPod` builds, and how container states map to
// `status.containerStatuses` and `status.phase` the way a kubelet reports them (restartPolicy Never:
// any container running → Running; all terminated → Succeeded if every exit code is 0, else Failed).
// Pure functions over the pod's JSON; the process model (processes.ts) decides *when* states change.

import { createHash, randomBytes, randomUUID } from "node:crypto"
import type { KubeObject } from "./store.ts"

export type ContainerStateName = "running" | "terminated" | "waiting"

export interface SimVolumeMount {
  readonly name?: string
  readonly mountPath: string
  readonly readOnly?: boolean
}

export interface SimContainerInit {
  readonly name: string
  readonly image?: string
  /** Default "running". */
  readonly state?: ContainerStateName
  /** Exit code of a container created "terminated" (default 0). */
  readonly exitCode?: number
  /** Reason shown for a "waiting" container (default "ContainerCreating"). */
  readonly waitingReason?: string
  /** Time from SIGTERM to Terminated (exit 143). Default 0: terminated before the exec answers. */
  readonly termDelayMs?: number
  /** PID 1 handles and ignores SIGTERM (and the other catchable signals); only SIGKILL stops it. */
  readonly ignoreSigterm?: boolean
  readonly volumeMounts?: ReadonlyArray<SimVolumeMount>
  /**
   * Extra container spec fields (env, command, args, resources, securityContext, ...), merged into
   * `spec.containers[i]`; name, image and volumeMounts come from the fields above.
   */
  readonly spec?: Readonly<Record<string, unknown>>
}

export interface SimPodInit {
  /** Default "default". */
  readonly namespace?: string
  readonly name: string
  /** Default "node-0". */
  readonly nodeName?: string
  readonly uid?: string
  readonly labels?: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
  readonly finalizers?: ReadonlyArray<string>
  readonly ownerReferences?: ReadonlyArray<unknown>
  /** Explicit phase, kept until a container changes state. Default: derived from the containers. */
  readonly phase?: string
  readonly containers: ReadonlyArray<SimContainerInit>
  readonly terminationGracePeriodSeconds?: number
  /** Create the pod already being deleted (deletionTimestamp now, with this grace period). */
  readonly deletionGracePeriodSeconds?: number
  /**
   * Extra `metadata` fields (managedFields, generateName, ...), merged under the fields above
   * (name, namespace, uid, labels, ... win).
   */
  readonly metadata?: Readonly<Record<string, unknown>>
  /**
   * Extra pod `spec` fields (volumes, securityContext, serviceAccountName, ...), merged over the
   * defaults; containers, nodeName, restartPolicy and terminationGracePeriodSeconds come from the
   * fields above. Use valid Pod JSON: `updatePod` round-trips through client-node's V1Pod.
   */
  readonly spec?: Readonly<Record<string, unknown>>
}

export interface ContainerStatusJson {
  name: string
  image: string
  imageID: string
  containerID?: string
  ready: boolean
  started: boolean
  restartCount: number
  state: {
    running?: { startedAt: string }
    terminated?: {
      exitCode: number
      reason: string
      startedAt?: string
      finishedAt: string
      containerID?: string
      signal?: number
    }
    waiting?: { reason: string; message?: string }
  }
  lastState: Record<string, unknown>
}

export interface ContainerSpecJson {
  name: string
  image: string
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>
  [key: string]: unknown
}

export interface PodJson extends KubeObject {
  spec: {
    nodeName?: string
    containers: Array<ContainerSpecJson>
    terminationGracePeriodSeconds?: number
    restartPolicy?: string
    [key: string]: unknown
  }
  status: {
    phase?: string
    conditions?: Array<Record<string, unknown>>
    containerStatuses?: Array<ContainerStatusJson>
    hostIP?: string
    podIP?: string
    startTime?: string
    [key: string]: unknown
  }
}

export const nowIso = (at: number = Date.now()): string => new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z")

export const defaultImage = (container: string): string =>
  container === "wait" || container === "init" ? "quay.io/argoproj/argoexec:v3.6.5" : "docker.io/library/busybox:1.36"

const imageId = (image: string): string => {
  const repo = image.replace(/:[^:/]+$/, "")
  return `${repo}@sha256:${createHash("sha256").update(image).digest("hex")}`
}

const newContainerId = (): string => `containerd://${randomBytes(32).toString("hex")}`

const hostIpOf = (node: string): string => {
  const n = Number(/(\d+)$/.exec(node)?.[1] ?? "0")
  return `10.0.${Math.floor(n / 250)}.${(n % 250) + 2}`
}

const randomPodIp = (): string => {
  const b = randomBytes(2)
  return `10.244.${b[0]}.${Math.max(2, b[1] % 254)}`
}

export const containerStatus = (
  name: string,
  image: string,
  state: ContainerStateName,
  at: string,
  options: { readonly exitCode?: number; readonly waitingReason?: string; readonly startedAt?: string; readonly containerID?: string } = {}
): ContainerStatusJson => {
  const containerID = state === "waiting" ? undefined : options.containerID ?? newContainerId()
  const base = { name, image, imageID: imageId(image), ...(containerID === undefined ? {} : { containerID }) }
  switch (state) {
    case "running":
      return { ...base, ready: true, started: true, restartCount: 0, state: { running: { startedAt: at } }, lastState: {} }
    case "terminated": {
      const exitCode = options.exitCode ?? 0
      return {
        ...base,
        ready: false,
        started: false,
        restartCount: 0,
        state: {
          terminated: {
            exitCode,
            reason: exitCode === 0 ? "Completed" : "Error",
            startedAt: options.startedAt ?? at,
            finishedAt: at,
            ...(containerID === undefined ? {} : { containerID })
          }
        },
        lastState: {}
      }
    }
    case "waiting":
      return {
        ...base,
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason: options.waitingReason ?? "ContainerCreating" } },
        lastState: {}
      }
  }
}

export const stateOf = (status: ContainerStatusJson | undefined): ContainerStateName | undefined =>
  status === undefined
    ? undefined
    : status.state.running !== undefined
    ? "running"
    : status.state.terminated !== undefined
    ? "terminated"
    : "waiting"

/** The kubelet's phase for restartPolicy Never. */
export const computePhase = (statuses: ReadonlyArray<ContainerStatusJson>): string => {
  if (statuses.length === 0) return "Pending"
  if (statuses.some((s) => stateOf(s) === "running")) return "Running"
  if (statuses.every((s) => stateOf(s) === "terminated")) {
    return statuses.every((s) => s.state.terminated?.exitCode === 0) ? "Succeeded" : "Failed"
  }
  return "Pending"
}

const conditions = (pod: PodJson, at: string): Array<Record<string, unknown>> => {
  const statuses = pod.status.containerStatuses ?? []
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name)
  const terminal = pod.status.phase === "Succeeded" || pod.status.phase === "Failed"
  const ready = unready.length === 0 && !terminal
  const previous = new Map((pod.status.conditions ?? []).map((c) => [c["type"], c]))
  const condition = (type: string, status: boolean, reason?: string, message?: string) => {
    const value = status ? "True" : "False"
    const old = previous.get(type)
    return {
      type,
      status: value,
      lastProbeTime: null,
      lastTransitionTime: old !== undefined && old["status"] === value ? old["lastTransitionTime"] : at,
      ...(reason === undefined ? {} : { reason }),
      ...(message === undefined ? {} : { message })
    }
  }
  const why = terminal ? "PodCompleted" : "ContainersNotReady"
  const msg = terminal ? undefined : `containers with unready status: [${unready.join(" ")}]`
  return [
    condition("PodReadyToStartContainers", true),
    condition("Initialized", true),
    condition("Ready", ready, ready ? undefined : why, ready ? undefined : msg),
    condition("ContainersReady", ready, ready ? undefined : why, ready ? undefined : msg),
    condition("PodScheduled", true)
  ]
}

/** Sets one container's state and recomputes `ready`, `phase` and conditions, as a kubelet would. */
export const applyContainerState = (
  pod: PodJson,
  container: string,
  state: ContainerStateName,
  options: { readonly exitCode?: number; readonly waitingReason?: string; readonly at?: number } = {}
): void => {
  const at = nowIso(options.at)
  const statuses = pod.status.containerStatuses ?? []
  const index = statuses.findIndex((s) => s.name === container)
  const spec = pod.spec.containers.find((c) => c.name === container)
  const old = index >= 0 ? statuses[index] : undefined
  const image = old?.image ?? spec?.image ?? defaultImage(container)
  const next = containerStatus(container, image, state, at, {
    exitCode: options.exitCode,
    waitingReason: options.waitingReason,
    startedAt: old?.state.running?.startedAt,
    containerID: old?.containerID
  })
  if (state === "terminated" && (options.exitCode ?? 0) > 128) {
    next.state.terminated!.signal = (options.exitCode ?? 0) - 128
  }
  if (index >= 0) statuses[index] = next
  else statuses.push(next)
  pod.status.containerStatuses = statuses
  pod.status.phase = computePhase(statuses)
  pod.status.conditions = conditions(pod, at)
}

/** `base` with `extra` (copied) then `fixed` assigned over it; keys keep `base`'s order. */
const merged = <A extends object, B extends object>(base: A, extra: Readonly<Record<string, unknown>> | undefined, fixed: B): A & B =>
  Object.assign(base, extra === undefined ? {} : structuredClone(extra), fixed)

/** The pod object `addPod` stores. */
export const buildPod = (init: SimPodInit, at: number = Date.now()): PodJson => {
  const now = nowIso(at)
  const namespace = init.namespace ?? "default"
  const nodeName = init.nodeName ?? "node-0"
  const statuses = init.containers.map((c) =>
    containerStatus(c.name, c.image ?? defaultImage(c.name), c.state ?? "running", now, {
      exitCode: c.exitCode,
      waitingReason: c.waitingReason
    })
  )
  const pod: PodJson = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...(init.metadata === undefined ? {} : structuredClone(init.metadata)),
      name: init.name,
      namespace,
      uid: init.uid ?? randomUUID(),
      creationTimestamp: now,
      ...(init.labels === undefined ? {} : { labels: { ...init.labels } }),
      ...(init.annotations === undefined ? {} : { annotations: { ...init.annotations } }),
      ...(init.finalizers === undefined || init.finalizers.length === 0 ? {} : { finalizers: [...init.finalizers] }),
      ...(init.ownerReferences === undefined ? {} : { ownerReferences: structuredClone([...init.ownerReferences]) }),
      ...(init.deletionGracePeriodSeconds === undefined
        ? {}
        : {
          deletionTimestamp: nowIso(at + init.deletionGracePeriodSeconds * 1000),
          deletionGracePeriodSeconds: init.deletionGracePeriodSeconds
        })
    },
    spec: merged(
      {
        containers: [] as Array<ContainerSpecJson>,
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 30,
        dnsPolicy: "ClusterFirst",
        serviceAccountName: "default",
        nodeName,
        schedulerName: "default-scheduler",
        enableServiceLinks: true,
        preemptionPolicy: "PreemptLowerPriority",
        priority: 0
      },
      init.spec,
      {
        containers: init.containers.map((c) =>
          merged(
            {
              name: c.name,
              image: c.image ?? defaultImage(c.name),
              imagePullPolicy: "IfNotPresent",
              resources: {},
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File"
            },
            c.spec,
            {
              name: c.name,
              image: c.image ?? defaultImage(c.name),
              ...(c.volumeMounts === undefined
                ? {}
                : {
                  volumeMounts: c.volumeMounts.map((m, i) => ({
                    name: m.name ?? `volume-${i}`,
                    mountPath: m.mountPath,
                    ...(m.readOnly === undefined ? {} : { readOnly: m.readOnly })
                  }))
                })
            }
          )
        ),
        restartPolicy: "Never",
        terminationGracePeriodSeconds: init.terminationGracePeriodSeconds ?? 30,
        nodeName
      }
    ),
    status: {
      phase: init.phase ?? computePhase(statuses),
      hostIP: hostIpOf(nodeName),
      hostIPs: [{ ip: hostIpOf(nodeName) }],
      podIP: "",
      startTime: now,
      qosClass: "BestEffort",
      containerStatuses: statuses
    }
  }
  const ip = randomPodIp()
  pod.status.podIP = ip
  pod.status["podIPs"] = [{ ip }]
  pod.status.conditions = conditions(pod, now)
  return pod
}

/** Completes a pod POSTed over REST the way a fast scheduler + kubelet would: scheduled, running. */
export const admitPod = (pod: PodJson, at: number = Date.now()): PodJson => {
  const built = buildPod(
    {
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      nodeName: pod.spec?.nodeName,
      uid: pod.metadata.uid,
      containers: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image,
        volumeMounts: c.volumeMounts
      })),
      terminationGracePeriodSeconds: pod.spec?.terminationGracePeriodSeconds
    },
    at
  )
  return {
    ...pod,
    metadata: { ...pod.metadata, uid: built.metadata.uid, creationTimestamp: built.metadata.creationTimestamp },
    spec: { ...built.spec, ...pod.spec, nodeName: built.spec.nodeName },
    status: built.status
  }
}
