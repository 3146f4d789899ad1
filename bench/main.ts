/** `npm run bench`: the benchmarks arrive with their issue; until then this says so. */
console.error("npm run bench: not yet available (benchmarks land with the engine and service).")
process.exitCode = 1
