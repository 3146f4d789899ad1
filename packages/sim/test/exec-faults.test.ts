import { connect } from "node:net"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { SimCluster } from "../src/index.ts"
import { execPath, rawExec, sleep } from "./helpers.ts"

let sim: SimCluster

beforeAll(async () => {
  sim = await SimCluster.start()
})
afterEach(async () => {
  sim.faults.clear()
  await sim.waitFor(() => sim.stats().execOpen === 0)
})
afterAll(() => sim.close())

const running = (name: string, node = "node-0") => sim.addPod({ namespace: "f", name, nodeName: node, containers: [{ name: "main" }] })
const killPath = (pod: string) => execPath("f", pod, ["/bin/sh", "-c", "kill -15 1"], { container: "main" })
const mainState = (pod: string) => {
  const s = sim.getPod("f", pod)?.status?.containerStatuses?.[0].state
  return s?.running ? "running" : s?.terminated ? "terminated" : "waiting"
}

describe("noUpgrade", () => {
  it("reads the upgrade request and never answers; the TCP connection stays open until the client leaves", async () => {
    running("nu")
    sim.faults.exec({ pod: "nu" }, { kind: "noUpgrade" })
    const url = new URL(sim.url)
    const socket = connect(Number(url.port), url.hostname)
    let received = 0
    let serverClosed = false
    socket.on("data", (d) => (received += d.length))
    socket.on("end", () => (serverClosed = true))
    await new Promise<void>((r) => socket.once("connect", () => r()))
    socket.write(
      [
        `GET ${killPath("nu")} HTTP/1.1`,
        `Host: ${url.host}`,
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Protocol: v5.channel.k8s.io",
        "",
        ""
      ].join("\r\n")
    )
    await sim.waitFor(() => sim.stats().execOpen === 1)
    await sleep(200)
    expect(received).toBe(0)
    expect(serverClosed).toBe(false)
    const entry = sim.requestLog.findLast((e) => e.name === "nu")!
    expect(entry).toMatchObject({ verb: "exec", status: 0, aborted: false })
    expect(mainState("nu")).toBe("running")
    socket.destroy()
    await sim.waitFor(() => sim.stats().execOpen === 0)
    expect(entry.aborted).toBe(true)
  })

  it("a ws client with a handshake timeout gives up", async () => {
    running("nu2")
    sim.faults.exec({ pod: "nu2" }, { kind: "noUpgrade" }, { times: 1 })
    const c = rawExec(sim, killPath("nu2"), undefined, { handshakeTimeout: 150 })
    await expect(c.opened).rejects.toThrow(/handshake has timed out/)
    // times: 1 → the next exec works.
    const ok = rawExec(sim, killPath("nu2"))
    await ok.opened
    expect((await ok.closed).code).toBe(1000)
  })
})

describe("halfOpen", () => {
  it("completes the upgrade, then sends nothing and answers no ping", async () => {
    running("ho")
    sim.faults.exec({ pod: "ho" }, { kind: "halfOpen" })
    const c = rawExec(sim, killPath("ho"))
    await c.opened
    expect(c.ws.protocol).toBe("v5.channel.k8s.io")
    let pongs = 0
    c.ws.on("pong", () => pongs++)
    c.ws.ping()
    await sleep(250)
    expect(pongs).toBe(0)
    expect(c.frames).toEqual([])
    expect(c.ws.readyState).toBe(c.ws.OPEN)
    expect(mainState("ho")).toBe("running")
    expect(sim.stats().execOpen).toBe(1)
    c.ws.terminate()
    await sim.waitFor(() => sim.stats().execOpen === 0)
    expect(sim.requestLog.findLast((e) => e.name === "ho")).toMatchObject({ status: 101, aborted: true })
  })

  it("deliver: the signal still lands although the client never hears back", async () => {
    running("hod")
    sim.faults.exec({ pod: "hod" }, { kind: "halfOpen", deliver: true })
    const c = rawExec(sim, killPath("hod"))
    await c.opened
    await sim.waitFor(() => mainState("hod") === "terminated")
    expect(c.frames).toEqual([])
    c.ws.terminate()
  })
})

describe("reset", () => {
  it("upgrades, sends the empty first frame, then resets the connection after afterMs", async () => {
    running("rs")
    sim.faults.exec({ pod: "rs" }, { kind: "reset", afterMs: 100 })
    const c = rawExec(sim, killPath("rs"))
    const started = Date.now()
    await c.opened
    const { code } = await c.closed
    expect(code).toBe(1006)
    expect(Date.now() - started).toBeGreaterThanOrEqual(90)
    expect(c.frames).toEqual([{ channel: 1, data: "" }])
    expect(mainState("rs")).toBe("running")
    await sim.waitFor(() => sim.stats().execOpen === 0)
    expect(sim.requestLog.findLast((e) => e.name === "rs")?.aborted).toBe(false)
  })

  it("with afterMs 0 and deliver: the container is signalled and the connection reset", async () => {
    running("rs0")
    sim.faults.exec({ pod: "rs0" }, { kind: "reset", deliver: true })
    const c = rawExec(sim, killPath("rs0"))
    await c.opened.catch(() => {})
    expect((await c.closed).code).toBe(1006)
    expect(mainState("rs0")).toBe("terminated")
  })
})

describe("slow", () => {
  it("sends the empty frame at once and the status only after delayMs", async () => {
    running("sl")
    sim.faults.exec({ pod: "sl" }, { kind: "slow", delayMs: 250 })
    const c = rawExec(sim, killPath("sl"))
    await c.opened
    const openedAt = Date.now()
    await sim.waitFor(() => c.frames.length >= 1)
    expect(c.frames).toEqual([{ channel: 1, data: "" }])
    expect(mainState("sl")).toBe("running")
    await c.closed
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(240)
    expect(JSON.parse(c.frames.at(-1)!.data).status).toBe("Success")
    expect(mainState("sl")).toBe("terminated")
  })
})

describe("reject", () => {
  it.each([
    [403, "Forbidden"],
    [404, "NotFound"],
    [400, "BadRequest"],
    [500, "InternalError"]
  ] as const)("answers %i %s with a Status body before the upgrade", async (code, reason) => {
    running(`rj-${code}`)
    sim.faults.exec({ pod: `rj-${code}` }, { kind: "reject", code }, { times: 1 })
    const c = rawExec(sim, killPath(`rj-${code}`))
    const e = (await c.opened.catch((err: unknown) => err)) as { status: number; body: any }
    expect(e.status).toBe(code)
    expect(e.body).toMatchObject({ kind: "Status", status: "Failure", reason, code })
    expect(mainState(`rj-${code}`)).toBe("running")
  })
})

describe("exitCode", () => {
  it("reports the exit code without running the command", async () => {
    running("ec")
    sim.faults.exec({ pod: "ec", container: "main" }, { kind: "exitCode", code: 137 })
    const c = rawExec(sim, killPath("ec"))
    await c.closed
    const status = JSON.parse(c.frames.at(-1)!.data)
    expect(status.reason).toBe("NonZeroExitCode")
    expect(status.details.causes).toEqual([{ reason: "ExitCode", message: "137" }])
    expect(mainState("ec")).toBe("running")
  })

  it("scopes: a rule for another container does not apply", async () => {
    running("ec2")
    sim.faults.exec({ pod: "ec2", container: "wait" }, { kind: "exitCode", code: 1 })
    const c = rawExec(sim, killPath("ec2"))
    await c.closed
    expect(JSON.parse(c.frames.at(-1)!.data).status).toBe("Success")
  })
})

describe("partition and heal", () => {
  it("every exec to the node goes half-open while other nodes and the API stay healthy", async () => {
    running("pa", "node-7")
    running("pb", "node-8")
    sim.partition("node-7")
    const hung = rawExec(sim, killPath("pa"))
    await hung.opened
    const ok = rawExec(sim, killPath("pb"))
    expect((await ok.closed).code).toBe(1000)
    const api = await fetch(`${sim.url}/api/v1/namespaces/f/pods/pa`)
    expect(api.status).toBe(200)
    await sleep(100)
    expect(hung.frames).toEqual([])
    expect(mainState("pa")).toBe("running")
    sim.heal("node-7")
    const healed = rawExec(sim, killPath("pa"))
    expect((await healed.closed).code).toBe(1000)
    expect(mainState("pa")).toBe("terminated")
    hung.ws.terminate()
  })

  it("freezes exec sessions already open on the node", async () => {
    running("pc", "node-9")
    sim.faults.exec({ pod: "pc" }, { kind: "slow", delayMs: 150 })
    const c = rawExec(sim, killPath("pc"))
    await c.opened
    sim.partition("node-9")
    await sleep(300)
    expect(c.frames).toEqual([{ channel: 1, data: "" }])
    expect(mainState("pc")).toBe("running")
    sim.heal("node-9")
    c.ws.terminate()
  })
})

describe("API faults on exec", () => {
  it("a 503 status fault answers before the upgrade with Retry-After", async () => {
    running("api503")
    sim.faults.api({ verb: "exec", name: "api503" }, { kind: "status", code: 503, retryAfterSeconds: 4 }, { times: 1 })
    const c = rawExec(sim, killPath("api503"))
    const e = (await c.opened.catch((err: unknown) => err)) as { status: number; body: any }
    expect(e.status).toBe(503)
    expect(e.body).toMatchObject({ reason: "ServiceUnavailable", details: { retryAfterSeconds: 4 } })
  })
})
