/**
 * Where the engine reads a pod it already knows: the controller's informer cache
 * (`ClusterCache.layerPodCache`: pods decoded once, at the informer's edge, into compact records). Acting on the cached pod is safe because
 * every action is bound to its UID and every write carries a precondition (UID; resourceVersion
 * where a list is rewritten); a conflict is answered by reading the live pod. `PodCache.none`
 * knows nothing, so every read goes to the API (the engine on its own: tests, custom drivers).
 */
import { Context, Layer } from "effect"
import type { Pod } from "../domain/Pod.ts"

export class PodCache extends Context.Service<PodCache, {
  readonly get: (namespace: string, name: string) => Pod | undefined
}>()("pod-cleanup/PodCache") {
  static readonly none: Layer.Layer<PodCache> = Layer.succeed(PodCache, PodCache.of({ get: () => undefined }))
}
