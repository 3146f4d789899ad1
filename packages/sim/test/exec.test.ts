import { connect } from "node:net"
import { Writable } from "node:stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Exec } from "@kubernetes/client-node"
import type { V1Status } from "@kubernetes/client-node"
import { SimCluster } from "../src/index.ts"
import { execPath, kubeConfig, rawExec } from "./helpers.ts"

let sim: SimCluster

beforeAll(async () => {
  sim = await SimCluster.start()
})
afterAll(() => sim.close())

const sink = () => {
  const chunks: Array<Buffer> = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk)
      cb()
    }
  })
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") }
}

/** Runs a command through client-node's Exec and resolves with the status callback's value. */
const exec = async (namespace: string, pod: string, container: string, command: Array<string>) => {
  const out = sink()
  const err = sink()
  let resolveStatus!: (s: V1Status) => void
  const status = new Promise<V1Status>((r) => (resolveStatus = r))
  const ws = await new Exec(kubeConfig(sim)).exec(namespace, pod, container, command, out.stream, err.stream, null, false, resolveStatus)
  const closed = new Promise<void>((r) => ws.on("close", () => r()))
  const s = await status
  await closed
  return { status: s, stdout: out.text(), stderr: err.text(), protocol: ws.protocol }
}

describe("exec through client-node", () => {
  it("success: v5 protocol, stdout, Success status, then a normal close", async () => {
    sim.addPod({ namespace: "ex", name: "ok", containers: [{ name: "main" }] })
    const r = await exec("ex", "ok", "main", ["echo", "hello", "world"])
    expect(r.protocol).toBe("v5.channel.k8s.io")
    expect(r.status).toEqual({ metadata: {}, status: "Success" })
    expect(r.stdout).toBe("hello world\n")
    await sim.waitFor(() => sim.stats().execOpen === 0)
    const entry = sim.requestLog.findLast((e) => e.verb === "exec" && e.name === "ok")!
    expect(entry).toMatchObject({ resource: "pods", namespace: "ex", status: 101, aborted: false, container: "main", command: ["echo", "hello", "world"] })
  })

  it("non-zero exit: a Failure status with reason NonZeroExitCode and the exit code as a cause", async () => {
    sim.addPod({ namespace: "ex", name: "exit3", containers: [{ name: "main" }] })
    const r = await exec("ex", "exit3", "main", ["sh", "-c", "exit 3"])
    expect(r.status).toEqual({
      metadata: {},
      status: "Failure",
      message: "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "3" }] }
    })
  })

  it("an unknown command exits 127 with 'not found' on stderr", async () => {
    sim.addPod({ namespace: "ex", name: "nf", containers: [{ name: "main" }] })
    const r = await exec("ex", "nf", "main", ["frobnicate", "--all"])
    expect(r.stderr).toBe("frobnicate: not found\n")
    expect(r.status.details?.causes?.[0].message).toBe("127")
  })

  it("kill -15 1 terminates the container (exit 143) before the status arrives", async () => {
    sim.addPod({ namespace: "ex", name: "term", containers: [{ name: "main" }] })
    const r = await exec("ex", "term", "main", ["/bin/sh", "-c", "kill -15 1"])
    expect(r.status.status).toBe("Success")
    const pod = sim.getPod("ex", "term")!
    expect(pod.status?.containerStatuses?.[0].state?.terminated?.exitCode).toBe(143)
    expect(pod.status?.phase).toBe("Failed")
  })

  it("emits exec-open and exec-close and counts the exec", async () => {
    sim.addPod({ namespace: "ex", name: "events", containers: [{ name: "main" }] })
    await sim.waitFor(() => sim.stats().execOpen === 0)
    const opened: Array<unknown> = []
    const closed: Array<unknown> = []
    const onOpen = (e: { pod: string }) => e.pod === "events" && opened.push(e)
    const onClose = (e: { pod: string }) => e.pod === "events" && closed.push(e)
    sim.events.on("exec-open", onOpen)
    sim.events.on("exec-close", onClose)
    const before = sim.stats()
    await exec("ex", "events", "main", ["true"])
    await sim.waitFor(() => closed.length === 1 && sim.stats().execOpen === 0)
    sim.events.off("exec-open", onOpen)
    sim.events.off("exec-close", onClose)
    expect(opened).toEqual([{ namespace: "ex", pod: "events", container: "main", node: "node-0", command: ["true"] }])
    expect(closed[0]).toMatchObject({ pod: "events", exitCode: 0, fault: undefined })
    expect(sim.stats().execTotal).toBe(before.execTotal + 1)
    expect(sim.stats().requests["exec pods"]).toBe((before.requests["exec pods"] ?? 0) + 1)
    expect(sim.stats().execOpen).toBe(0)
  })
})

describe("exec errors before the upgrade", () => {
  const rejected = async (path: string) => {
    const c = rawExec(sim, path)
    const e = (await c.opened.then(() => undefined, (err: unknown) => err)) as { status: number; body: any } | undefined
    if (e === undefined) throw new Error("expected a rejection")
    return e
  }

  it("404 for a missing pod", async () => {
    const e = await rejected(execPath("ex", "missing", ["true"], { container: "main" }))
    expect(e.status).toBe(404)
    expect(e.body).toMatchObject({ kind: "Status", reason: "NotFound", message: 'pods "missing" not found' })
  })

  it("400 for a container that does not exist", async () => {
    sim.addPod({ namespace: "ex", name: "one", containers: [{ name: "main" }] })
    const e = await rejected(execPath("ex", "one", ["true"], { container: "nope" }))
    expect(e.status).toBe(400)
    expect(e.body.message).toBe("container nope is not valid for pod one")
  })

  it("400 without a container parameter when the pod has more than one", async () => {
    sim.addPod({ namespace: "ex", name: "two", containers: [{ name: "wait" }, { name: "main" }] })
    const e = await rejected(execPath("ex", "two", ["true"]))
    expect(e.status).toBe(400)
    expect(e.body.message).toBe("a container name must be specified for pod two, choose one of: [wait main]")
  })

  it("defaults to the only container", async () => {
    sim.addPod({ namespace: "ex", name: "only", containers: [{ name: "solo" }] })
    const c = rawExec(sim, execPath("ex", "only", ["true"]))
    await c.opened
    expect((await c.closed).code).toBe(1000)
    expect(sim.requestLog.findLast((e) => e.name === "only")?.container).toBe("solo")
  })

  it("400 for a container that is not running", async () => {
    sim.addPod({ namespace: "ex", name: "done", containers: [{ name: "main", state: "terminated" }] })
    const e = await rejected(execPath("ex", "done", ["true"], { container: "main" }))
    expect(e.status).toBe(400)
    expect(e.body.message).toContain("is not running")
  })

  it("400 'Upgrade request required' for a plain GET", async () => {
    sim.addPod({ namespace: "ex", name: "plain", containers: [{ name: "main" }] })
    const res = await fetch(`${sim.url}${execPath("ex", "plain", ["true"], { container: "main" })}`)
    expect(res.status).toBe(400)
    expect(((await res.json()) as { message: string }).message).toBe("Upgrade request required")
  })
})

describe("exec wire protocol", () => {
  it("sends an empty first frame, output, the status on channel 3, and closes 1000; never a 255 frame", async () => {
    sim.addPod({ namespace: "ex", name: "frames", containers: [{ name: "main" }] })
    const c = rawExec(sim, execPath("ex", "frames", ["echo", "hi"], { container: "main" }), ["v5.channel.k8s.io"])
    await c.opened
    expect(c.ws.protocol).toBe("v5.channel.k8s.io")
    expect((await c.closed).code).toBe(1000)
    expect(c.frames).toEqual([
      { channel: 1, data: "" },
      { channel: 1, data: "hi\n" },
      { channel: 3, data: JSON.stringify({ metadata: {}, status: "Success" }) }
    ])
  })

  it("negotiates v4 when that is the newest offered", async () => {
    sim.addPod({ namespace: "ex", name: "v4", containers: [{ name: "main" }] })
    const c = rawExec(sim, execPath("ex", "v4", ["false"], { container: "main" }), ["v4.channel.k8s.io", "v3.channel.k8s.io"])
    await c.opened
    expect(c.ws.protocol).toBe("v4.channel.k8s.io")
    await c.closed
    expect(JSON.parse(c.frames.at(-1)!.data).details.causes[0].message).toBe("1")
  })

  it("accepts and ignores stdin, resize and close frames from the client (kubectl sends them)", async () => {
    sim.addPod({ namespace: "ex", name: "chatty", containers: [{ name: "main" }] })
    const c = rawExec(sim, execPath("ex", "chatty", ["sleep", "0.1"], { container: "main", stdin: true }), ["v5.channel.k8s.io"])
    await c.opened
    c.ws.send(Buffer.from([0, 65, 66]))
    c.ws.send(Buffer.from([4, ...Buffer.from('{"Width":80,"Height":24}')]))
    c.ws.send(Buffer.from([255, 0]))
    expect((await c.closed).code).toBe(1000)
    expect(c.frames.at(-1)).toEqual({ channel: 3, data: JSON.stringify({ metadata: {}, status: "Success" }) })
  })

  it("with stdout=false the first frame goes to stderr; stderr carries the command's errors", async () => {
    sim.addPod({ namespace: "ex", name: "errs", containers: [{ name: "main" }] })
    const c = rawExec(sim, execPath("ex", "errs", ["kill", "-9", "2"], { container: "main", stdout: false }), ["v5.channel.k8s.io"])
    await c.closed
    expect(c.frames[0]).toEqual({ channel: 2, data: "" })
    expect(c.frames[1]).toEqual({ channel: 2, data: "kill: can't kill pid 2: No such process\n" })
    expect(JSON.parse(c.frames[2].data).reason).toBe("NonZeroExitCode")
  })

  it("accepts POST upgrades (kubectl may POST) and answers SPDY with a Status", async () => {
    sim.addPod({ namespace: "ex", name: "post", containers: [{ name: "main" }] })
    const url = new URL(sim.url)
    const roundTrip = (upgrade: string, extra: Array<string>) =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(url.port), url.hostname)
        let text = ""
        socket.on("data", (d) => {
          text += d.toString("latin1")
          if (text.includes("\r\n\r\n")) {
            socket.destroy()
            resolve(text)
          }
        })
        socket.write(
          [`POST ${execPath("ex", "post", ["true"], { container: "main" })} HTTP/1.1`, `Host: ${url.host}`, "Connection: Upgrade", `Upgrade: ${upgrade}`, ...extra, "", ""].join(
            "\r\n"
          )
        )
      })
    const ws = await roundTrip("websocket", ["Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol: v5.channel.k8s.io"])
    expect(ws).toMatch(/^HTTP\/1\.1 101 /)
    expect(ws).toContain("Sec-WebSocket-Protocol: v5.channel.k8s.io")
    const spdy = await roundTrip("SPDY/3.1", ["X-Stream-Protocol-Version: v4.channel.k8s.io"])
    expect(spdy).toMatch(/^HTTP\/1\.1 400 /)
  })
})
