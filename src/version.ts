/**
 * pod-cleanup's version, read once from its package.json, one folder up: from `src/` when Node
 * runs the sources, from `dist/` (the npm package) and from `dist-image/` (the image's bundle).
 * "unknown" when it cannot be read.
 */
import * as fs from "node:fs"

const read = (): string => {
  try {
    const json = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown }
    return typeof json.version === "string" ? json.version : "unknown"
  } catch {
    return "unknown"
  }
}

export const packageVersion: string = read()
