import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    name: "sim",
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Every simulated cluster deep-freezes what it stores: code that changes a stored object in
    // place, instead of storing a changed copy, throws in the tests (SimClusterOptions.freezeObjects).
    env: { SIM_FREEZE_OBJECTS: "1" },
    // The machines have 2 cores; loopback tests open many sockets.
    maxWorkers: 2,
    fileParallelism: true
  }
})
