import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimCluster } from "../src/index.ts"
import type { SimContainerInit } from "../src/index.ts"
import { buildPod } from "../src/pods.ts"
import type { PodJson } from "../src/pods.ts"
import { parseSignal, Processes, shellWords } from "../src/processes.ts"
import { execPath, rawExec, sleep } from "./helpers.ts"

/** A Processes instance over one in-memory pod. */
const harness = (containers: ReadonlyArray<SimContainerInit>) => {
  let pod: PodJson | undefined = buildPod({ name: "p", containers })
  let writes = 0
  const processes = new Processes({
    readPod: () => (pod === undefined ? undefined : structuredClone(pod)),
    writePod: (_ns, _name, uid, mutate) => {
      if (pod === undefined || pod.metadata.uid !== uid) return
      const next = structuredClone(pod)
      mutate(next)
      pod = next
      writes++
    }
  })
  const uid = pod.metadata.uid ?? ""
  for (const c of containers) {
    processes.register(uid, c.name, { termDelayMs: c.termDelayMs ?? 0, ignoreSigterm: c.ignoreSigterm ?? false })
  }
  const target = (container: string) => ({ namespace: "default", pod: "p", uid, container })
  return {
    processes,
    target,
    run: (container: string, argv: Array<string>) => processes.run(target(container), argv, new AbortController().signal),
    state: (container: string) => {
      const s = pod?.status.containerStatuses?.find((c) => c.name === container)?.state
      return s?.running ? "running" : s?.terminated ? `terminated:${s.terminated.exitCode}` : "waiting"
    },
    phase: () => pod?.status.phase,
    writes: () => writes
  }
}

describe("argv interpretation", () => {
  const argoContainers: ReadonlyArray<SimContainerInit> = [
    { name: "wait", volumeMounts: [{ mountPath: "/var/run/argo" }] },
    { name: "main", volumeMounts: [{ mountPath: "/var/run/argo" }] },
    { name: "sidecar", volumeMounts: [{ mountPath: "/argo-bin" }] },
    { name: "plain" }
  ]

  it.each([
    ["main", ["/bin/sh", "-c", "kill -15 1"], 0, "terminated:143"],
    ["main", ["sh", "-c", "kill -TERM 1"], 0, "terminated:143"],
    ["main", ["sh", "-c", "kill -s SIGTERM 1"], 0, "terminated:143"],
    ["main", ["sh", "-c", "exec kill -9 1"], 0, "terminated:137"],
    ["main", ["kill", "-9", "1"], 0, "terminated:137"],
    ["main", ["kill", "-s", "KILL", "1"], 0, "terminated:137"],
    ["main", ["/bin/kill", "-SIGKILL", "1"], 0, "terminated:137"],
    ["main", ["kill", "1"], 0, "terminated:143"],
    ["main", ["kill", "-0", "1"], 0, "running"],
    ["main", ["kill", "-15", "7"], 1, "running"],
    ["main", ["kill", "-BOGUS", "1"], 1, "running"],
    ["wait", ["argoexec", "kill", "15", "1"], 0, "terminated:143"],
    ["wait", ["argoexec", "kill", "SIGKILL", "1"], 0, "terminated:137"],
    ["main", ["argoexec", "kill", "15", "1"], 127, "running"],
    ["main", ["/var/run/argo/argoexec", "kill", "15", "1"], 0, "terminated:143"],
    ["plain", ["/var/run/argo/argoexec", "kill", "15", "1"], 127, "running"],
    ["sidecar", ["/argo-bin/bin/argoexec", "kill", "9", "1"], 0, "terminated:137"],
    ["main", ["/argo-bin/bin/argoexec", "kill", "9", "1"], 127, "running"],
    ["main", ["true"], 0, "running"],
    ["main", ["false"], 1, "running"],
    ["main", ["sh", "-c", "exit 3"], 3, "running"],
    ["main", ["sh", "-c", "exit 300"], 44, "running"],
    ["main", ["sh", "-c", "nosuchthing --x"], 127, "running"],
    ["main", ["nosuchthing"], 127, "running"]
  ])("%s: %j → exit %i, %s", async (container, argv, exitCode, state) => {
    const h = harness(argoContainers)
    const result = await h.run(container, argv)
    expect(result.exitCode).toBe(exitCode)
    expect(h.state(container)).toBe(state)
  })

  it("echo writes stdout; not-found writes stderr", async () => {
    const h = harness([{ name: "main" }])
    expect(await h.run("main", ["echo", "a", "b"])).toEqual({ exitCode: 0, stdout: "a b\n", stderr: "" })
    expect(await h.run("main", ["sh", "-c", "echo 'x  y'"])).toEqual({ exitCode: 0, stdout: "x  y\n", stderr: "" })
    expect((await h.run("main", ["sh", "-c", "nope"])).stderr).toBe("sh: nope: not found\n")
  })

  it("sleep waits, and ends with 137 when the container dies", async () => {
    const h = harness([{ name: "main" }])
    const started = Date.now()
    expect((await h.run("main", ["sleep", "0.1"])).exitCode).toBe(0)
    expect(Date.now() - started).toBeGreaterThanOrEqual(95)
    const long = h.run("main", ["sleep", "30"])
    await sleep(10)
    h.processes.signal(h.target("main"), 9)
    expect((await long).exitCode).toBe(137)
  })

  it.each([["15", 15], ["TERM", 15], ["SIGTERM", 15], ["-9", 9], ["KILL", 9], ["sigkill", 9], ["HUP", 1], ["nope", undefined], ["99", undefined]])(
    "parseSignal(%j) = %s",
    (raw, expected) => expect(parseSignal(raw)).toBe(expected)
  )

  it("shellWords honours quotes", () => {
    expect(shellWords(`kill -15 1`)).toEqual(["kill", "-15", "1"])
    expect(shellWords(`echo "a b" 'c d' e\\ f`)).toEqual(["echo", "a b", "c d", "e f"])
  })
})

describe("signals and the pod phase", () => {
  it("SIGTERM with termDelayMs: Running until the delay, then Terminated 143 and the phase follows", async () => {
    const h = harness([{ name: "main", termDelayMs: 150 }])
    const started = Date.now()
    expect((await h.run("main", ["kill", "-15", "1"])).exitCode).toBe(0)
    expect(h.state("main")).toBe("running")
    expect(h.phase()).toBe("Running")
    while (h.state("main") === "running") await sleep(5)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    expect(h.state("main")).toBe("terminated:143")
    expect(h.phase()).toBe("Failed")
  })

  it("a second SIGTERM does not restart the delay; SIGKILL cuts it short", async () => {
    const h = harness([{ name: "main", termDelayMs: 10_000 }])
    await h.run("main", ["kill", "-15", "1"])
    await h.run("main", ["kill", "-15", "1"])
    expect(h.state("main")).toBe("running")
    await h.run("main", ["kill", "-9", "1"])
    expect(h.state("main")).toBe("terminated:137")
    h.processes.close()
  })

  it("ignoreSigterm: SIGTERM changes nothing, SIGKILL terminates with 137", async () => {
    const h = harness([{ name: "main", ignoreSigterm: true }])
    await h.run("main", ["sh", "-c", "kill -15 1"])
    await sleep(20)
    expect(h.state("main")).toBe("running")
    await h.run("main", ["sh", "-c", "kill -9 1"])
    expect(h.state("main")).toBe("terminated:137")
  })

  it("killing a process that is gone fails like busybox", async () => {
    const h = harness([{ name: "main", state: "terminated" }])
    const r = await h.run("main", ["kill", "-15", "1"])
    expect(r).toEqual({ exitCode: 1, stdout: "", stderr: "kill: can't kill pid 1: No such process\n" })
  })

  it("phase: all terminated with 0 → Succeeded; any running → Running", async () => {
    const h = harness([{ name: "wait" }, { name: "main", state: "terminated", exitCode: 0 }])
    expect(h.phase()).toBe("Running")
    h.processes.setState(h.target("wait"), "terminated", 0)
    expect(h.phase()).toBe("Succeeded")
  })

  it("each state change is one write (one MODIFIED)", async () => {
    const h = harness([{ name: "main" }])
    await h.run("main", ["kill", "-15", "1"])
    expect(h.writes()).toBe(1)
  })
})

describe("through the simulator", () => {
  let sim: SimCluster
  beforeAll(async () => {
    sim = await SimCluster.start()
  })
  afterAll(() => sim.close())

  it("SIGTERM over exec with termDelayMs emits MODIFIED with the phase change after the delay", async () => {
    sim.addPod({
      name: "argo",
      containers: [
        { name: "wait", termDelayMs: 100, volumeMounts: [{ mountPath: "/var/run/argo" }] },
        { name: "main", state: "terminated", exitCode: 0 }
      ]
    })
    const c = rawExec(sim, execPath("default", "argo", ["argoexec", "kill", "15", "1"], { container: "wait" }))
    await c.closed
    expect(JSON.parse(c.frames.at(-1)!.data).status).toBe("Success")
    expect(sim.getPod("default", "argo")?.status?.phase).toBe("Running")
    await sim.waitFor(() => sim.getPod("default", "argo")?.status?.phase === "Failed", 2000)
    expect(sim.getPod("default", "argo")?.status?.containerStatuses?.[0].state?.terminated?.exitCode).toBe(143)
  })

  it("a graceful delete with finalizers SIGKILLs a SIGTERM-ignoring container after the grace period", async () => {
    sim.addPod({ name: "stubborn", finalizers: ["f"], containers: [{ name: "main", ignoreSigterm: true }] })
    sim.deletePod("default", "stubborn", { gracePeriodSeconds: 1 })
    expect(sim.getPod("default", "stubborn")?.status?.phase).toBe("Running")
    await sim.waitFor(() => sim.getPod("default", "stubborn")?.status?.phase === "Failed", 3000)
    expect(sim.getPod("default", "stubborn")?.status?.containerStatuses?.[0].state?.terminated?.exitCode).toBe(137)
  })
})
