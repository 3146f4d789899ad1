// The simulator's one real-time wait: it ends after `ms`, or at once when `signal` aborts (the
// client went away, the session ended, the simulator is closing), so no wait outlives its owner.

/** Resolves after `ms` or when `signal` aborts, whichever is first (never rejects). */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener("abort", done)
      resolve()
    }
    signal.addEventListener("abort", done)
  })
