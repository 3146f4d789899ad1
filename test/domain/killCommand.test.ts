import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { killCommand, signalNumber } from "../../src/domain/killCommand.ts"
import { decodePod, type Pod } from "../../src/domain/Pod.ts"

interface C {
  readonly name: string
  readonly mounts?: ReadonlyArray<string>
}

const makePod = (containers: ReadonlyArray<C>, annotations: Record<string, string> = {}): Pod =>
  Result.getOrThrow(decodePod({
    metadata: { namespace: "argo", name: "wf-1", uid: "u", annotations },
    spec: {
      containers: containers.map((c) => ({
        name: c.name,
        volumeMounts: (c.mounts ?? []).map((mountPath, i) => ({ name: `v${i}`, mountPath }))
      }))
    }
  }))

const KILL = "workflows.argoproj.io/kill-cmd-"

describe("killCommand: rules without an annotation", () => {
  it.each<[string, ReadonlyArray<C>, string, "SIGTERM" | "SIGKILL" | number, ReadonlyArray<string>]>([
    ["default, SIGTERM", [{ name: "main" }], "main", "SIGTERM", ["/bin/sh", "-c", "kill -15 1"]],
    ["default, SIGKILL", [{ name: "main" }], "main", "SIGKILL", ["/bin/sh", "-c", "kill -9 1"]],
    ["default, numeric signal", [{ name: "main" }], "main", 2, ["/bin/sh", "-c", "kill -2 1"]],
    ["wait container", [{ name: "wait" }], "wait", "SIGTERM", ["argoexec", "kill", "15", "1"]],
    ["supervisor container", [{ name: "supervisor" }], "supervisor", "SIGKILL", ["argoexec", "kill", "9", "1"]],
    [
      "wait beats its own mounts",
      [{ name: "wait", mounts: ["/var/run/argo", "/argo-bin"] }],
      "wait",
      "SIGTERM",
      ["argoexec", "kill", "15", "1"]
    ],
    [
      "init-less main: /argo-bin wins over /var/run/argo",
      [{ name: "main", mounts: ["/var/run/argo", "/argo-bin"] }],
      "main",
      "SIGTERM",
      ["/argo-bin/bin/argoexec", "kill", "15", "1"]
    ],
    [
      "legacy main: /var/run/argo",
      [{ name: "main", mounts: ["/tmp", "/var/run/argo"] }],
      "main",
      "SIGKILL",
      ["/var/run/argo/argoexec", "kill", "9", "1"]
    ],
    [
      "a sidecar without argo mounts gets the default even if main has them",
      [{ name: "main", mounts: ["/var/run/argo"] }, { name: "istio-proxy" }],
      "istio-proxy",
      "SIGTERM",
      ["/bin/sh", "-c", "kill -15 1"]
    ],
    [
      "mount paths are compared exactly",
      [{ name: "main", mounts: ["/var/run/argo/", "/argo-bin/bin"] }],
      "main",
      "SIGTERM",
      ["/bin/sh", "-c", "kill -15 1"]
    ],
    ["a container missing from the spec", [], "ghost", "SIGTERM", ["/bin/sh", "-c", "kill -15 1"]]
  ])("%s", (_name, containers, container, signal, argv) => {
    expect(killCommand(makePod(containers), container, signal)).toEqual({ argv, warnings: [] })
  })
})

describe("killCommand: the kill-cmd annotation", () => {
  it("overrides every other rule, with %d replaced by the signal number", () => {
    const pod = makePod([{ name: "main", mounts: ["/argo-bin"] }, { name: "wait" }], {
      [`${KILL}main`]: '["/custom","kill","%d"]',
      [`${KILL}wait`]: '["/bin/kill","-%d","1"]'
    })
    expect(killCommand(pod, "main", "SIGTERM")).toEqual({ argv: ["/custom", "kill", "15"], warnings: [] })
    expect(killCommand(pod, "wait", "SIGKILL")).toEqual({ argv: ["/bin/kill", "-9", "1"], warnings: [] })
  })

  it("replaces every %d and leaves other text alone", () => {
    const pod = makePod([{ name: "envoy" }], {
      [`${KILL}envoy`]: '["/usr/local/bin/pilot-agent","request","POST","quitquitquit?sig=%d-%d","100%","%s"]'
    })
    expect(killCommand(pod, "envoy", 9).argv).toEqual([
      "/usr/local/bin/pilot-agent",
      "request",
      "POST",
      "quitquitquit?sig=9-9",
      "100%",
      "%s"
    ])
  })

  it("applies only to the named container", () => {
    const pod = makePod([{ name: "main" }, { name: "sidecar" }], { [`${KILL}sidecar`]: '["/stop"]' })
    expect(killCommand(pod, "main", "SIGTERM").argv).toEqual(["/bin/sh", "-c", "kill -15 1"])
    expect(killCommand(pod, "sidecar", "SIGTERM").argv).toEqual(["/stop"])
  })

  it("keeps shell metacharacters as a single argv element (never a shell string)", () => {
    const pod = makePod([{ name: "main" }], { [`${KILL}main`]: '["/bin/kill","1; rm -rf /"]' })
    expect(killCommand(pod, "main", "SIGTERM").argv).toEqual(["/bin/kill", "1; rm -rf /"])
  })

  it("accepts exactly 64 elements and exactly 4096 characters", () => {
    const sixtyFour = JSON.stringify(Array.from({ length: 64 }, (_, i) => `a${i}`))
    expect(killCommand(makePod([{ name: "main" }], { [`${KILL}main`]: sixtyFour }), "main", "SIGTERM").argv).toHaveLength(64)
    const big = JSON.stringify(["/x", "y".repeat(4094)])
    const r = killCommand(makePod([{ name: "main" }], { [`${KILL}main`]: big }), "main", "SIGTERM")
    expect(r.warnings).toEqual([])
    expect(r.argv[1]).toHaveLength(4094)
  })

  const nul = JSON.stringify(["/bin/kill", "a\u0000b"])
  it.each<[string, string, string]>([
    ["not JSON", "kill -TERM 1", "not valid JSON"],
    ["truncated JSON", '["/bin/kill"', "not valid JSON"],
    ["an object", '{"cmd":"/bin/kill"}', "not a JSON array of strings"],
    ["a string", '"/bin/kill"', "not a JSON array of strings"],
    ["null", "null", "not a JSON array of strings"],
    ["a non-string element", '["/bin/kill", 15]', "element 1 is not a string"],
    ["a nested array", '[["/bin/kill"]]', "element 0 is not a string"],
    ["an empty array", "[]", "empty array"],
    ["65 elements", JSON.stringify(Array.from({ length: 65 }, () => "x")), "65 elements, more than 64"],
    ["4097 characters", JSON.stringify(["/x", "y".repeat(4095)]), "4097 characters in total, more than 4096"],
    ["a NUL byte", nul, "element 1 contains a NUL byte"]
  ])("ignores %s with a warning and falls through to the next rule", (_name, value, problem) => {
    const pod = makePod([{ name: "main", mounts: ["/var/run/argo"] }], { [`${KILL}main`]: value })
    expect(killCommand(pod, "main", "SIGTERM")).toEqual({
      argv: ["/var/run/argo/argoexec", "kill", "15", "1"],
      warnings: [`pod argo/wf-1 container "main": ignoring annotation ${KILL}main: ${problem}`]
    })
  })

  it("falls through to the wait rule and to the default too", () => {
    const pod = makePod([{ name: "wait" }, { name: "main" }], { [`${KILL}wait`]: "[]", [`${KILL}main`]: "{}" })
    const wait = killCommand(pod, "wait", "SIGKILL")
    expect(wait.argv).toEqual(["argoexec", "kill", "9", "1"])
    expect(wait.warnings).toEqual([`pod argo/wf-1 container "wait": ignoring annotation ${KILL}wait: empty array`])
    const main = killCommand(pod, "main", "SIGKILL")
    expect(main.argv).toEqual(["/bin/sh", "-c", "kill -9 1"])
    expect(main.warnings).toEqual([
      `pod argo/wf-1 container "main": ignoring annotation ${KILL}main: not a JSON array of strings`
    ])
  })
})

describe("signalNumber", () => {
  it("maps names to numbers", () => {
    expect(signalNumber("SIGTERM")).toBe(15)
    expect(signalNumber("SIGKILL")).toBe(9)
    expect(signalNumber(1)).toBe(1)
    expect(signalNumber(64)).toBe(64)
  })

  it.each([0, 65, -9, 1.5, Number.NaN])("refuses %s, which would end up in the shell string", (n) => {
    expect(() => signalNumber(n)).toThrow(RangeError)
    expect(() => killCommand(makePod([{ name: "main" }]), "main", n)).toThrow(RangeError)
  })
})
