// The benchmarks' `dist` runtime (bench/runtime.ts) starts the service the way the image does: the
// Dockerfile's ENTRYPOINT flags and final-stage ENV, with a heap given as a percentage of the memory
// limit turned into the megabytes Node computes under the Deployment's limit.

import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { entrypointOf, finalStageEnvOf, memoryLimitMiBOf, nodeFlagsOf, underMemoryLimit } from "../../bench/runtime.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8")
const deployment = readFileSync(join(root, "deploy", "base", "deployment.yaml"), "utf8")

describe("the bench's dist runtime", () => {
  it("reads the image's command: node, its flags, dist-image/main.js", () => {
    const entrypoint = entrypointOf(dockerfile)
    expect(entrypoint[0]).toBe("node")
    expect(entrypoint.at(-1)).toBe("dist-image/main.js")
    expect(nodeFlagsOf(entrypoint)).toEqual(entrypoint.slice(1, -1))
    expect(() => nodeFlagsOf(["tini", "--", "node"])).toThrow(/does not run node/)
  })

  it("turns a heap percentage into megabytes of the Deployment's limit, and leaves other flags alone", () => {
    expect(underMemoryLimit(["--max-semi-space-size=8", "--max-old-space-size-percentage=50"], 384)).toEqual([
      "--max-semi-space-size=8",
      "--max-old-space-size=192"
    ])
    expect(underMemoryLimit(["--max-old-space-size-percentage=75"], 1000)).toEqual(["--max-old-space-size=750"])
    expect(underMemoryLimit(["--max-old-space-size-percentage=33.3"], 100)).toEqual(["--max-old-space-size=33"])
    const limit = memoryLimitMiBOf(deployment)
    const flags = underMemoryLimit(nodeFlagsOf(entrypointOf(dockerfile)), limit)
    expect(flags.some((f) => f.startsWith("--max-old-space-size-percentage"))).toBe(false)
    expect(flags.some((f) => f.startsWith("--max-old-space-size="))).toBe(true)
  })

  it("reads limits.memory (Mi or Gi) from a Deployment, not requests.memory", () => {
    expect(memoryLimitMiBOf("resources:\n  requests:\n    memory: 256Mi\n  limits:\n    memory: 384Mi\n")).toBe(384)
    expect(memoryLimitMiBOf("resources:\n  limits:\n    cpu: 1\n    memory: 1Gi\n")).toBe(1024)
    expect(() => memoryLimitMiBOf("resources:\n  requests:\n    memory: 256Mi\n")).toThrow(/limits.memory/)
    expect(memoryLimitMiBOf(deployment)).toBeGreaterThan(0)
  })

  it("takes the final stage's ENV, not the build stages'", () => {
    expect(finalStageEnvOf("FROM a AS x\nENV A=1\nFROM b\n# ENV C=3\nENV B=2 D=\"4\"\n")).toEqual({ B: "2", D: "4" })
    expect(finalStageEnvOf(dockerfile)).toMatchObject({ NODE_ENV: "production" })
  })
})
