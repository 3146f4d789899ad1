import { Duration, Result } from "effect"
import { describe, expect, it } from "vitest"
import {
  decodePod,
  failedMainContainer,
  hasStatusFinalizer,
  isContainerRunning,
  mainContainersFinished,
  type Pod,
  podKey,
  runningContainers,
  terminationGracePeriod
} from "../../src/domain/Pod.ts"

/** A workflow pod as `kubectl get pod -o json` returns it (legacy layout: init + wait + main). */
const realisticPod = () => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    annotations: {
      "kubectl.kubernetes.io/default-container": "main",
      "workflows.argoproj.io/node-id": "hello-world-x7k2p",
      "workflows.argoproj.io/node-name": "hello-world-x7k2p",
      "workflows.argoproj.io/pod-gc-strategy": "OnPodSuccess/5s"
    },
    creationTimestamp: "2025-03-01T10:00:00Z",
    finalizers: ["workflows.argoproj.io/status"],
    labels: {
      "workflows.argoproj.io/completed": "false",
      "workflows.argoproj.io/workflow": "hello-world-x7k2p"
    },
    managedFields: [{ manager: "workflow-controller", operation: "Update", apiVersion: "v1", time: "2025-03-01T10:00:00Z" }],
    name: "hello-world-x7k2p",
    namespace: "argo",
    ownerReferences: [
      {
        apiVersion: "argoproj.io/v1alpha1",
        blockOwnerDeletion: true,
        controller: true,
        kind: "Workflow",
        name: "hello-world-x7k2p",
        uid: "0d9e4c9a-1111-4a4a-9c9c-222233334444"
      }
    ],
    resourceVersion: "123456",
    uid: "5f3c1a2b-aaaa-bbbb-cccc-ddddeeeeffff"
  },
  spec: {
    activeDeadlineSeconds: 3600,
    containers: [
      {
        command: ["argoexec", "wait", "--loglevel", "info"],
        env: [{ name: "ARGO_POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } }],
        image: "quay.io/argoproj/argoexec:v4.1.0",
        imagePullPolicy: "IfNotPresent",
        name: "wait",
        resources: { requests: { cpu: "10m", memory: "64Mi" } },
        terminationMessagePath: "/dev/termination-log",
        volumeMounts: [
          { mountPath: "/mainctrfs/tmp", name: "tmp" },
          { mountPath: "/var/run/argo", name: "var-run-argo" },
          { mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", name: "kube-api-access-abcde", readOnly: true }
        ]
      },
      {
        args: ["hello world"],
        command: ["/var/run/argo/argoexec", "emissary", "--loglevel", "info", "--", "cowsay"],
        image: "busybox:1.36",
        name: "main",
        volumeMounts: [
          { mountPath: "/tmp", name: "tmp" },
          { mountPath: "/var/run/argo", name: "var-run-argo" }
        ]
      }
    ],
    enableServiceLinks: true,
    initContainers: [
      {
        command: ["argoexec", "init", "--loglevel", "info"],
        image: "quay.io/argoproj/argoexec:v4.1.0",
        name: "init",
        volumeMounts: [{ mountPath: "/var/run/argo", name: "var-run-argo" }]
      }
    ],
    nodeName: "worker-3",
    restartPolicy: "Never",
    serviceAccountName: "default",
    terminationGracePeriodSeconds: 45,
    volumes: [{ emptyDir: {}, name: "var-run-argo" }, { emptyDir: {}, name: "tmp" }]
  },
  status: {
    conditions: [{ lastProbeTime: null, lastTransitionTime: "2025-03-01T10:00:04Z", status: "True", type: "Ready" }],
    containerStatuses: [
      {
        containerID: "containerd://aaa",
        image: "busybox:1.36",
        lastState: {},
        name: "main",
        ready: false,
        restartCount: 0,
        started: false,
        state: {
          terminated: {
            containerID: "containerd://aaa",
            exitCode: 0,
            finishedAt: "2025-03-01T10:00:09Z",
            reason: "Completed",
            startedAt: "2025-03-01T10:00:05Z"
          }
        }
      },
      {
        containerID: "containerd://bbb",
        image: "quay.io/argoproj/argoexec:v4.1.0",
        lastState: {},
        name: "wait",
        ready: true,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: "2025-03-01T10:00:05Z" } }
      }
    ],
    hostIP: "10.0.0.3",
    initContainerStatuses: [
      { name: "init", state: { terminated: { exitCode: 0, reason: "Completed" } } }
    ],
    phase: "Running",
    podIP: "10.244.3.17",
    qosClass: "Burstable",
    startTime: "2025-03-01T10:00:00Z"
  }
})

const decoded = (raw: unknown): Pod => Result.getOrThrow(decodePod(raw))

const errorOf = (raw: unknown) => {
  const r = decodePod(raw)
  if (Result.isSuccess(r)) throw new Error("expected a MalformedPodError")
  return r.failure
}

describe("decodePod", () => {
  it("decodes a full V1Pod into exactly the fields pod-cleanup reads", () => {
    expect(decoded(realisticPod())).toEqual({
      metadata: {
        namespace: "argo",
        name: "hello-world-x7k2p",
        uid: "5f3c1a2b-aaaa-bbbb-cccc-ddddeeeeffff",
        resourceVersion: "123456",
        labels: {
          "workflows.argoproj.io/completed": "false",
          "workflows.argoproj.io/workflow": "hello-world-x7k2p"
        },
        annotations: {
          "kubectl.kubernetes.io/default-container": "main",
          "workflows.argoproj.io/node-id": "hello-world-x7k2p",
          "workflows.argoproj.io/node-name": "hello-world-x7k2p",
          "workflows.argoproj.io/pod-gc-strategy": "OnPodSuccess/5s"
        },
        finalizers: ["workflows.argoproj.io/status"],
        creationTimestamp: "2025-03-01T10:00:00Z"
      },
      spec: {
        nodeName: "worker-3",
        terminationGracePeriodSeconds: 45,
        containers: [
          {
            name: "wait",
            volumeMounts: [
              { name: "tmp", mountPath: "/mainctrfs/tmp" },
              { name: "var-run-argo", mountPath: "/var/run/argo" },
              { name: "kube-api-access-abcde", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" }
            ]
          },
          {
            name: "main",
            volumeMounts: [
              { name: "tmp", mountPath: "/tmp" },
              { name: "var-run-argo", mountPath: "/var/run/argo" }
            ]
          }
        ]
      },
      status: {
        phase: "Running",
        containerStatuses: [
          {
            name: "main",
            state: {
              terminated: { exitCode: 0, reason: "Completed", finishedAt: "2025-03-01T10:00:09Z" }
            }
          },
          { name: "wait", state: { running: { startedAt: "2025-03-01T10:00:05Z" } } }
        ]
      }
    })
  })

  it("accepts client-node objects (Date timestamps) and null fields", () => {
    const pod = decoded({
      metadata: {
        namespace: "ns",
        name: "p",
        uid: "u",
        labels: null,
        annotations: undefined,
        finalizers: null,
        creationTimestamp: new Date("2025-03-01T10:00:00Z"),
        deletionTimestamp: new Date("2025-03-01T11:00:00Z"),
        resourceVersion: null
      },
      spec: { containers: [{ name: "main", volumeMounts: null }], nodeName: null, terminationGracePeriodSeconds: undefined },
      status: {
        phase: "Succeeded",
        containerStatuses: [{
          name: "main",
          state: { terminated: { exitCode: 0, finishedAt: null }, running: null, waiting: undefined }
        }]
      }
    })
    expect(pod).toEqual({
      metadata: {
        namespace: "ns",
        name: "p",
        uid: "u",
        labels: {},
        annotations: {},
        finalizers: [],
        creationTimestamp: "2025-03-01T10:00:00.000Z",
        deletionTimestamp: "2025-03-01T11:00:00.000Z"
      },
      spec: { containers: [{ name: "main", volumeMounts: [] }] },
      status: { phase: "Succeeded", containerStatuses: [{ name: "main", state: { terminated: { exitCode: 0 } } }] }
    })
  })

  it("reads explicit undefined (client-node model objects) as absent", () => {
    const pod = decoded({
      metadata: { namespace: "ns", name: "p", uid: "u", deletionTimestamp: undefined, labels: undefined },
      spec: undefined,
      status: { phase: undefined, containerStatuses: undefined }
    })
    expect(pod.metadata.deletionTimestamp).toBe(undefined)
    expect("deletionTimestamp" in pod.metadata).toBe(false)
    expect(pod.status).toEqual({ containerStatuses: [] })
  })

  it("fills absent spec and status", () => {
    expect(decoded({ metadata: { namespace: "ns", name: "p", uid: "u" } })).toEqual({
      metadata: { namespace: "ns", name: "p", uid: "u", labels: {}, annotations: {}, finalizers: [] },
      spec: { containers: [] },
      status: { containerStatuses: [] }
    })
  })

  it("names the pod and the bad field", () => {
    const raw = realisticPod()
    ;(raw.metadata as Record<string, unknown>).uid = 42
    const e = errorOf(raw)
    expect(e._tag).toBe("MalformedPodError")
    expect(e.namespace).toBe("argo")
    expect(e.pod).toBe("hello-world-x7k2p")
    expect(e.message).toBe('malformed pod argo/hello-world-x7k2p: Expected string\n  at ["metadata"]["uid"]')
  })

  it("reports every issue, not just the first", () => {
    const raw = realisticPod()
    ;(raw.status as Record<string, unknown>).phase = "Exploded"
    ;(raw.status.containerStatuses[0].state.terminated as Record<string, unknown>).exitCode = "0"
    const e = errorOf(raw)
    expect(e.message).toContain('at ["status"]["phase"]')
    expect(e.message).toContain('at ["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"]')
    expect(e.message.startsWith("malformed pod argo/hello-world-x7k2p: ")).toBe(true)
  })

  it("uses <unknown> when the raw object has no name or namespace", () => {
    const e1 = errorOf({ metadata: { namespace: "argo", uid: "u" } })
    expect([e1.namespace, e1.pod]).toEqual(["argo", "<unknown>"])
    expect(e1.message).toBe('malformed pod argo/<unknown>: Missing key\n  at ["metadata"]["name"]')
    const e2 = errorOf(null)
    expect([e2.namespace, e2.pod]).toEqual(["<unknown>", "<unknown>"])
    expect(e2.message.startsWith("malformed pod <unknown>/<unknown>: ")).toBe(true)
    const e3 = errorOf({ metadata: { name: "p", namespace: 7 } })
    expect([e3.namespace, e3.pod]).toEqual(["<unknown>", "p"])
  })

  it.each([
    ["a non-integer exit code", { status: { containerStatuses: [{ name: "main", state: { terminated: { exitCode: 1.5 } } }] } }],
    ["a container without a name", { spec: { containers: [{ image: "x" }] } }],
    ["labels with a non-string value", { metadata: { namespace: "ns", name: "p", uid: "u", labels: { a: 1 } } }],
    ["an invalid Date", { metadata: { namespace: "ns", name: "p", uid: "u", creationTimestamp: new Date("nope") } }],
    ["containers that are not an array", { spec: { containers: { name: "main" } } }]
  ])("rejects %s", (_name, patch) => {
    const raw = { metadata: { namespace: "ns", name: "p", uid: "u" }, ...patch }
    const e = errorOf(raw)
    expect(e._tag).toBe("MalformedPodError")
    expect(e.message.startsWith("malformed pod ns/p: ")).toBe(true)
  })
})

const podWith = (statuses: Record<string, "running" | "waiting" | number>, extra: Record<string, unknown> = {}): Pod =>
  decoded({
    metadata: { namespace: "ns", name: "p", uid: "u", ...extra },
    spec: { containers: Object.keys(statuses).map((name) => ({ name })) },
    status: {
      phase: "Running",
      containerStatuses: Object.entries(statuses).map(([name, s]) => ({
        name,
        state: s === "running"
          ? { running: {} }
          : s === "waiting"
          ? { waiting: { reason: "PodInitializing" } }
          : { terminated: { exitCode: s } }
      }))
    }
  })

describe("pod helpers", () => {
  it("podKey is namespace/name", () => {
    expect(podKey(decoded(realisticPod()))).toBe("argo/hello-world-x7k2p")
  })

  it("runningContainers keeps status order and skips waiting/terminated", () => {
    const pod = podWith({ sidecar: "running", main: 0, wait: "running", other: "waiting" })
    expect(runningContainers(pod)).toEqual(["sidecar", "wait"])
    expect(isContainerRunning(pod, "wait")).toBe(true)
    expect(isContainerRunning(pod, "main")).toBe(false)
    expect(isContainerRunning(pod, "other")).toBe(false)
    expect(isContainerRunning(pod, "absent")).toBe(false)
  })

  it.each<[string, Record<string, "running" | "waiting" | number>, ReadonlyArray<string>, boolean]>([
    ["main exited 0", { main: 0, wait: "running" }, ["main"], true],
    ["main exited 1", { main: 1, wait: "running" }, ["main"], true],
    ["main running", { main: "running", wait: "running" }, ["main"], false],
    ["main waiting", { main: "waiting" }, ["main"], false],
    ["no main container at all", { wait: "running" }, ["main"], false],
    ["containerSet, one still running", { a: 0, b: "running", wait: "running" }, ["a", "b"], false],
    ["containerSet, all exited", { a: 0, b: 2, wait: "running" }, ["a", "b"], true]
  ])("mainContainersFinished: %s", (_name, statuses, mains, expected) => {
    expect(mainContainersFinished(podWith(statuses), mains)).toBe(expected)
  })

  it("mainContainersFinished needs a status for every main container in the spec", () => {
    const pod = decoded({
      metadata: { namespace: "ns", name: "p", uid: "u" },
      spec: { containers: [{ name: "a" }, { name: "b" }] },
      status: { phase: "Running", containerStatuses: [{ name: "a", state: { terminated: { exitCode: 0 } } }] }
    })
    expect(mainContainersFinished(pod, ["a", "b"])).toBe(false)
    expect(mainContainersFinished(pod, ["a"])).toBe(true)
  })

  it("failedMainContainer finds the first main container with a non-zero exit", () => {
    expect(failedMainContainer(podWith({ a: 0, b: 137, c: "running" }), ["a", "b", "c"])).toEqual({ name: "b", exitCode: 137 })
    expect(failedMainContainer(podWith({ a: 0, sidecar: 1 }), ["a"])).toBe(undefined)
  })

  it("hasStatusFinalizer", () => {
    expect(hasStatusFinalizer(decoded(realisticPod()))).toBe(true)
    expect(hasStatusFinalizer(podWith({ main: 0 }, { finalizers: ["example.com/keep"] }))).toBe(false)
  })

  it("terminationGracePeriod defaults to 30 s", () => {
    expect(Duration.toSeconds(terminationGracePeriod(decoded(realisticPod())))).toBe(45)
    expect(Duration.toSeconds(terminationGracePeriod(podWith({ main: 0 })))).toBe(30)
    const zero = decoded({ metadata: { namespace: "n", name: "p", uid: "u" }, spec: { terminationGracePeriodSeconds: 0 } })
    expect(Duration.toSeconds(terminationGracePeriod(zero))).toBe(0)
  })
})
