/**
 * One page of a Kubernetes list, read from the API's JSON (`{ items, metadata: { resourceVersion,
 * continue } }`). The items are handed out as they arrived. An answer that is no list at all is a
 * typed failure, never an empty page: an informer would read an empty page as "every object is gone".
 */
import { Effect } from "effect"
import { type ApiRequest, KubeInvalidError } from "./ApiError.ts"

export interface ListPage<A> {
  readonly items: ReadonlyArray<A>
  readonly resourceVersion: string
  /** The token of the next page; undefined on the last one. */
  readonly continue: string | undefined
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Reads a list answer; `items` absent or `null` is an empty page (Go encodes an empty slice as null). */
export const listPage = <A>(req: ApiRequest, body: unknown): Effect.Effect<ListPage<A>, KubeInvalidError> => {
  const items = isRecord(body) ? body.items ?? [] : undefined
  if (!isRecord(body) || !Array.isArray(items)) {
    return Effect.fail(
      new KubeInvalidError({
        ...req,
        code: 200,
        reason: "MalformedList",
        message: `${req.verb} ${req.resource}: the answer is not a list (${isRecord(body) ? "items is not an array" : "not a JSON object"})`
      })
    )
  }
  const metadata = isRecord(body.metadata) ? body.metadata : {}
  return Effect.succeed({
    items: items as ReadonlyArray<A>,
    resourceVersion: typeof metadata.resourceVersion === "string" ? metadata.resourceVersion : "",
    continue: typeof metadata.continue === "string" && metadata.continue !== "" ? metadata.continue : undefined
  })
}
