import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    name: "sim",
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The machines have 2 cores; loopback tests open many sockets.
    maxWorkers: 2,
    fileParallelism: true
  }
})
