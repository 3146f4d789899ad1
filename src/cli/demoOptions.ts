/**
 * The demo's cluster, apart from the demo itself: `--help` and the command line read it without
 * loading the simulator (the service's process never loads it; `demo` imports it when it runs).
 */
import { Duration } from "effect"

export interface DemoOptions {
  readonly pods: number
  readonly nodes: number
  readonly partitioned: string
  readonly slow: string
  /** Give up (and say so) after this long. */
  readonly deadline: Duration.Duration
}

export const defaultDemoOptions: DemoOptions = {
  pods: 300,
  nodes: 6,
  partitioned: "node-4",
  slow: "node-5",
  deadline: Duration.seconds(50)
}
