// An Effect app that runs pod-cleanup inside it, as a Layer: it logs the controller's status once
// its caches have synced, then does its own work while pod-cleanup cleans in the background.
//
//   npm install pod-cleanup effect @effect/platform-node
//   KUBECONFIG=/path/to/kubeconfig node embed.mjs      # Ctrl-C stops it (the lease is released)
//
// The cluster: the kubeconfig file in KUBECONFIG, else (in a pod) the in-cluster service account.
// Never ~/.kube/config on its own: pass podCleanupFromEnv({ homeConfig: true }) for that.
// Settings: the POD_CLEANUP_* variables of `pod-cleanup run --help`; leader election is on by
// default (POD_CLEANUP_LEADER_ELECT=false for a single replica). It serves no HTTP endpoints.
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { Controller, podCleanupFromEnv } from "pod-cleanup"

const app = Effect.gen(function* () {
  const controller = yield* Controller
  while (!controller.status().synced) yield* Effect.sleep("200 millis")
  const { leader, podsKnown, workflowsKnown, queue } = controller.status()
  yield* Effect.logInfo("pod-cleanup synced").pipe(Effect.annotateLogs({ leader, podsKnown, workflowsKnown, queue }))
  // The app's own work goes here: a server, a queue consumer, ... pod-cleanup runs until it ends.
  return yield* Effect.never
})

NodeRuntime.runMain(app.pipe(Effect.provide(podCleanupFromEnv())))
