// Objects the size real Argo objects are. A real workflow pod is 10-20 KB of JSON: the step's
// template as JSON in ARGO_TEMPLATE (wait and main containers), the ARGO_* variables, Argo's
// volumes, resources, securityContext and metadata.managedFields. A real Workflow carries a node per
// step plus Steps / StepGroup nodes, and its templates again in status.storedTemplates.
// Pure builders of plain JSON; `seedWorkflowPods({ realistic: true })` and benchmarks use them.

import { createHash } from "node:crypto"
import type { ArgoNode, ArgoNodeMap } from "./argoNodes.ts"
import { argoNodeId } from "./argoNodes.ts"
import { nowIso } from "./pods.ts"
import type { SimContainerInit } from "./pods.ts"

const executorImage = "quay.io/argoproj/argoexec:v3.6.5"
const mainImage = "docker.io/library/python:3.12-slim"

const script = (step: string): string =>
  [
    "import json, os, sys, time, hashlib",
    `step = ${JSON.stringify(step)}`,
    "inputs = json.loads(os.environ.get('INPUTS', '{}'))",
    "def checksum(path):",
    "    h = hashlib.sha256()",
    "    with open(path, 'rb') as f:",
    "        for chunk in iter(lambda: f.read(65536), b''):",
    "            h.update(chunk)",
    "    return h.hexdigest()",
    "records = []",
    "for i in range(int(inputs.get('batch', 100))):",
    "    records.append({'step': step, 'index': i, 'at': time.time()})",
    "os.makedirs('/tmp/report', exist_ok=True)",
    "with open('/tmp/report/records.json', 'w') as f:",
    "    json.dump(records, f)",
    "with open('/tmp/result.txt', 'w') as f:",
    "    f.write(checksum('/tmp/report/records.json'))",
    "print(f'{step}: wrote {len(records)} records', file=sys.stderr)"
  ].join("\n")

/** The template of one step (`main`), as Argo stores it and puts it in ARGO_TEMPLATE (about 3 KB). */
export const stepTemplate = (workflow: string, step: string): Record<string, unknown> => ({
  name: "main",
  inputs: {
    parameters: [
      { name: "step", value: step },
      { name: "batch", value: "100" },
      { name: "bucket", value: "argo-artifacts" },
      { name: "prefix", value: `${workflow}/${step}` }
    ]
  },
  outputs: {
    parameters: [{ name: "result", valueFrom: { path: "/tmp/result.txt" } }],
    artifacts: [{ name: "report", path: "/tmp/report", s3: { key: `${workflow}/${step}/report.tgz` } }]
  },
  metadata: {
    labels: { "app.kubernetes.io/part-of": "pipelines", team: "data-platform" },
    annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "true" }
  },
  container: {
    name: "",
    image: mainImage,
    command: ["python", "-c"],
    args: [script(step)],
    env: [
      { name: "INPUTS", value: JSON.stringify({ step, batch: "100" }) },
      { name: "PYTHONUNBUFFERED", value: "1" },
      { name: "AWS_REGION", value: "eu-west-1" }
    ],
    resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "250m", memory: "256Mi" } },
    volumeMounts: [{ name: "scratch", mountPath: "/scratch" }]
  },
  volumes: [{ name: "scratch", emptyDir: { sizeLimit: "1Gi" } }],
  archiveLocation: {
    archiveLogs: true,
    s3: {
      endpoint: "minio.argo.svc.cluster.local:9000",
      bucket: "argo-artifacts",
      insecure: true,
      accessKeySecret: { name: "argo-artifacts-minio", key: "accesskey" },
      secretKeySecret: { name: "argo-artifacts-minio", key: "secretkey" },
      key: `${workflow}/${step}`
    }
  },
  retryStrategy: { limit: "2", retryPolicy: "OnFailure", backoff: { duration: "10s", factor: 2, maxDuration: "5m" } },
  activeDeadlineSeconds: 3600,
  podSpecPatch: JSON.stringify({ containers: [{ name: "main", resources: { limits: { "ephemeral-storage": "2Gi" } } }] })
})

/** The steps template of a workflow with `steps` sequential steps, each running `main`. */
export const stepsTemplate = (steps: number): Record<string, unknown> => ({
  name: "steps",
  inputs: {},
  outputs: {},
  metadata: {},
  steps: Array.from({ length: steps }, () => [{ name: "main", template: "main", arguments: {} }])
})

const fieldsV1Container = {
  "f:env": { ".": {}, 'k:{"name":"ARGO_CONTAINER_NAME"}': { ".": {}, "f:name": {}, "f:value": {} }, 'k:{"name":"ARGO_TEMPLATE"}': { ".": {}, "f:name": {}, "f:value": {} }, 'k:{"name":"ARGO_NODE_ID"}': { ".": {}, "f:name": {}, "f:value": {} } },
  "f:image": {},
  "f:imagePullPolicy": {},
  "f:name": {},
  "f:resources": { ".": {}, "f:limits": {}, "f:requests": {} },
  "f:securityContext": {},
  "f:terminationMessagePath": {},
  "f:terminationMessagePolicy": {},
  "f:volumeMounts": { ".": {}, 'k:{"mountPath":"/var/run/argo"}': { ".": {}, "f:mountPath": {}, "f:name": {} } }
}

const managedFields = (at: string): Array<Record<string, unknown>> => [
  {
    manager: "workflow-controller",
    operation: "Update",
    apiVersion: "v1",
    time: at,
    fieldsType: "FieldsV1",
    fieldsV1: {
      "f:metadata": {
        "f:annotations": { ".": {}, "f:workflows.argoproj.io/node-id": {}, "f:workflows.argoproj.io/node-name": {} },
        "f:labels": { ".": {}, "f:workflows.argoproj.io/completed": {}, "f:workflows.argoproj.io/workflow": {} },
        "f:ownerReferences": { ".": {}, 'k:{"uid":"…"}': {} }
      },
      "f:spec": {
        'f:containers': { 'k:{"name":"main"}': fieldsV1Container, 'k:{"name":"wait"}': fieldsV1Container },
        "f:enableServiceLinks": {},
        "f:restartPolicy": {},
        "f:schedulerName": {},
        "f:securityContext": {},
        "f:serviceAccount": {},
        "f:serviceAccountName": {},
        "f:terminationGracePeriodSeconds": {},
        "f:volumes": { ".": {}, 'k:{"name":"var-run-argo"}': { ".": {}, "f:emptyDir": {}, "f:name": {} }, 'k:{"name":"tmp-dir-argo"}': { ".": {}, "f:emptyDir": {}, "f:name": {} } }
      }
    }
  },
  {
    manager: "kubelet",
    operation: "Update",
    apiVersion: "v1",
    time: at,
    fieldsType: "FieldsV1",
    subresource: "status",
    fieldsV1: {
      "f:status": {
        "f:conditions": { 'k:{"type":"ContainersReady"}': { ".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {} }, 'k:{"type":"Initialized"}': { ".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {} }, 'k:{"type":"Ready"}': { ".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {} } },
        "f:containerStatuses": {},
        "f:hostIP": {},
        "f:phase": {},
        "f:podIP": {},
        "f:podIPs": { ".": {}, 'k:{"ip":"10.244.0.1"}': { ".": {}, "f:ip": {} } },
        "f:startTime": {}
      }
    }
  },
  {
    manager: "argoexec",
    operation: "Update",
    apiVersion: "v1",
    time: at,
    fieldsType: "FieldsV1",
    fieldsV1: { "f:metadata": { "f:annotations": { "f:workflows.argoproj.io/outputs": {}, "f:workflows.argoproj.io/report-outputs-completed": {} } } }
  }
]

export interface RealisticPodInput {
  readonly namespace: string
  readonly workflow: string
  /** The Argo node name, e.g. `wf[3].main`. */
  readonly nodeName: string
  readonly podName: string
  /** Step name in the templates. Default: the part of the node name after the last dot. */
  readonly step?: string
}

/** Extra metadata, pod spec and container specs that make a SimPodInit the size of a real Argo pod. */
export interface RealisticPodParts {
  readonly metadata: Record<string, unknown>
  readonly spec: Record<string, unknown>
  readonly wait: Pick<SimContainerInit, "image" | "spec" | "volumeMounts">
  readonly main: Pick<SimContainerInit, "image" | "spec" | "volumeMounts">
}

export const realisticPodParts = (input: RealisticPodInput): RealisticPodParts => {
  const nodeId = argoNodeId(input.workflow, input.nodeName)
  const step = input.step ?? (/\.([^.[\]]+)$/.exec(input.nodeName)?.[1] ?? "main")
  const template = JSON.stringify(stepTemplate(input.workflow, `${input.nodeName}`))
  const token = createHash("sha256").update(input.podName).digest("hex").slice(0, 5)
  const common = (container: string) => [
    { name: "ARGO_POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
    { name: "ARGO_POD_UID", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.uid" } } },
    { name: "GODEBUG", value: "x509ignoreCN=0" },
    { name: "ARGO_WORKFLOW_NAME", value: input.workflow },
    { name: "ARGO_WORKFLOW_UID", value: createHash("sha256").update(input.workflow).digest("hex").slice(0, 32) },
    { name: "ARGO_CONTAINER_NAME", value: container },
    { name: "ARGO_TEMPLATE", value: template },
    { name: "ARGO_NODE_ID", value: nodeId },
    { name: "ARGO_INCLUDE_SCRIPT_OUTPUT", value: "false" },
    { name: "ARGO_DEADLINE", value: "0001-01-01T00:00:00Z" },
    { name: "ARGO_PROGRESS_FILE", value: "/var/run/argo/progress" },
    { name: "ARGO_PROGRESS_PATCH_TICK_DURATION", value: "1m0s" },
    { name: "ARGO_PROGRESS_FILE_TICK_DURATION", value: "3s" }
  ]
  const securityContext = {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: 8737,
    seccompProfile: { type: "RuntimeDefault" }
  }
  const tokenMount = { name: `kube-api-access-${token}`, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }
  return {
    metadata: { managedFields: managedFields(nowIso()) },
    spec: {
      serviceAccountName: "argo-workflow",
      serviceAccount: "argo-workflow",
      securityContext: { fsGroup: 8737, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      tolerations: [
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }
      ],
      volumes: [
        { name: "var-run-argo", emptyDir: {} },
        { name: "tmp-dir-argo", emptyDir: {} },
        { name: "scratch", emptyDir: { sizeLimit: "1Gi" } },
        {
          name: `kube-api-access-${token}`,
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
              { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } }
            ]
          }
        }
      ]
    },
    wait: {
      image: executorImage,
      volumeMounts: [{ name: "var-run-argo", mountPath: "/var/run/argo" }, { name: "tmp-dir-argo", mountPath: "/tmp" }, tokenMount],
      spec: {
        command: ["argoexec"],
        args: ["wait", "--loglevel", "info", "--log-format", "text"],
        env: common("wait"),
        resources: { limits: { cpu: "500m", memory: "256Mi" }, requests: { cpu: "10m", memory: "64Mi" } },
        securityContext
      }
    },
    main: {
      image: mainImage,
      volumeMounts: [{ name: "var-run-argo", mountPath: "/var/run/argo" }, { name: "scratch", mountPath: "/scratch" }, tokenMount],
      spec: {
        command: ["/var/run/argo/argoexec", "emissary", "--loglevel", "info", "--log-format", "text", "--", "python", "-c"],
        args: [script(step)],
        env: [...common("main"), { name: "INPUTS", value: JSON.stringify({ step, batch: "100" }) }, { name: "PYTHONUNBUFFERED", value: "1" }],
        resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "250m", memory: "256Mi" } },
        securityContext
      }
    }
  }
}

export interface RealisticStep {
  /** Node name of the step's pod, `<workflow>[<k>].main`. */
  readonly nodeName: string
  /** Node id of the pod (as on its annotation). */
  readonly nodeId: string
  readonly podName: string
  readonly hostNode?: string
}

/**
 * A steps workflow's node map: the root Steps node (id = workflow name), one StepGroup node per step
 * (`<wf>[k]`) and its Pod node, chained as Argo chains them: 2 nodes per pod plus 1.
 * `phase` is the phase of every node (Running, or Succeeded for a finished workflow).
 */
export const realisticNodes = (workflow: string, steps: ReadonlyArray<RealisticStep>, phase: string): ArgoNodeMap => {
  const now = nowIso()
  const done = phase === "Succeeded" || phase === "Failed" || phase === "Error"
  const nodes: ArgoNodeMap = {}
  const groupIds = steps.map((_, k) => argoNodeId(workflow, `${workflow}[${k}]`))
  nodes[workflow] = {
    id: workflow,
    name: workflow,
    displayName: workflow,
    type: "Steps",
    templateName: "steps",
    templateScope: "local/" + workflow,
    phase,
    startedAt: now,
    finishedAt: done ? now : null,
    progress: `${done ? steps.length : 0}/${steps.length}`,
    children: groupIds.length > 0 ? [groupIds[0]] : [],
    outboundNodes: steps.length > 0 ? [steps[steps.length - 1].nodeId] : []
  }
  steps.forEach((s, k) => {
    const group: ArgoNode = {
      id: groupIds[k],
      name: `${workflow}[${k}]`,
      displayName: `[${k}]`,
      type: "StepGroup",
      templateScope: "local/" + workflow,
      phase,
      boundaryID: workflow,
      startedAt: now,
      finishedAt: done ? now : null,
      progress: done ? "1/1" : "0/1",
      nodeFlag: {},
      children: [s.nodeId]
    }
    const pod: ArgoNode = {
      id: s.nodeId,
      name: s.nodeName,
      displayName: /\.([^.[\]]+)$/.exec(s.nodeName)?.[1] ?? s.nodeName,
      type: "Pod",
      templateName: "main",
      templateScope: "local/" + workflow,
      phase,
      boundaryID: workflow,
      startedAt: now,
      finishedAt: done ? now : null,
      progress: done ? "1/1" : "0/1",
      resourcesDuration: { cpu: 3, memory: 12 },
      nodeFlag: {},
      inputs: { parameters: [{ name: "step", value: s.nodeName }, { name: "batch", value: "100" }] },
      ...(done
        ? {
          outputs: {
            parameters: [{ name: "result", value: createHash("sha256").update(s.nodeName).digest("hex"), valueFrom: { path: "/tmp/result.txt" } }],
            artifacts: [{ name: "report", path: "/tmp/report", s3: { key: `${workflow}/${s.nodeName}/report.tgz` } }],
            exitCode: "0"
          }
        }
        : {}),
      ...(s.hostNode === undefined ? {} : { hostNodeName: s.hostNode }),
      children: k + 1 < steps.length ? [groupIds[k + 1]] : []
    }
    nodes[group.id] = group
    nodes[pod.id] = pod
  })
  return nodes
}

/** Extra spec and status fields of a realistic steps workflow (templates, storedTemplates, conditions). */
export const realisticWorkflowParts = (workflow: string, steps: number): { spec: Record<string, unknown>; status: Record<string, unknown> } => {
  const templates = [stepsTemplate(steps), stepTemplate(workflow, "main")]
  return {
    spec: {
      entrypoint: "steps",
      templates,
      arguments: { parameters: [{ name: "batch", value: "100" }] },
      serviceAccountName: "argo-workflow",
      podMetadata: { labels: { team: "data-platform" } },
      artifactRepositoryRef: { configMap: "artifact-repositories", key: "default-v1" }
    },
    status: {
      storedTemplates: Object.fromEntries(templates.map((t) => [`namespaced/${workflow}/${String(t["name"])}`, t])),
      conditions: [{ type: "PodRunning", status: "False" }],
      resourcesDuration: { cpu: steps * 3, memory: steps * 12 },
      artifactRepositoryRef: { configMap: "artifact-repositories", key: "default-v1", namespace: "argo", artifactRepository: { archiveLogs: true, s3: { bucket: "argo-artifacts", endpoint: "minio.argo.svc.cluster.local:9000", insecure: true } } },
      artifactGCStatus: { notSpecified: true }
    }
  }
}
