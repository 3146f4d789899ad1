// Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.

import type { ResourceDef } from "./resources.ts"
import type { KubeObject } from "./store.ts"

export const wantsTable = (accept: string | undefined): boolean =>
  (accept ?? "").split(",").some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part))

/**
 * Whether the client asks for `PartialObjectMetadata` (client-go's metadata client:
 * `application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`): the API server then answers a
 * get with the object's metadata only.
 */
export const wantsPartialMetadata = (accept: string | undefined): boolean =>
  (accept ?? "").split(",").some((part) =>
    /;\s*as=PartialObjectMetadata(;|\s*$)/.test(part) && /g=meta\.k8s\.io/.test(part) && /v=v1(;|\s*$)/.test(part)
  )

/** The metadata-only form of an object (`meta.k8s.io/v1` `PartialObjectMetadata`). */
export const toPartialMetadata = (object: { readonly metadata?: unknown }): Record<string, unknown> => ({
  kind: "PartialObjectMetadata",
  apiVersion: "meta.k8s.io/v1",
  metadata: object.metadata
})

export type IncludeObject = "None" | "Metadata" | "Object"

export const toTable = (
  def: ResourceDef,
  objects: ReadonlyArray<KubeObject>,
  listMeta: Record<string, unknown>,
  includeObject: IncludeObject,
  now: number = Date.now()
) => ({
  kind: "Table",
  apiVersion: "meta.k8s.io/v1",
  metadata: listMeta,
  columnDefinitions: def.columns,
  rows: objects.map((obj) => ({
    cells: def.cells(obj, now),
    ...(includeObject === "None"
      ? {}
      : includeObject === "Object"
      ? { object: obj }
      : {
        object: {
          kind: "PartialObjectMetadata",
          apiVersion: "meta.k8s.io/v1",
          metadata: obj.metadata
        }
      })
  }))
})
