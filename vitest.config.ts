import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    // The product's tests, and the simulator package's (packages/sim/vitest.config.ts) as a project
    // of its own: `npm test` here runs both.
    projects: [
      {
        test: {
          name: "pod-cleanup",
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // The simulated clusters deep-freeze what they store (packages/sim/vitest.config.ts).
          env: { SIM_FREEZE_OBJECTS: "1" }
        }
      },
      "packages/sim"
    ],
    // The machines have 2 cores; loopback tests open many sockets.
    maxWorkers: 2,
    fileParallelism: true
  }
})
