import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "cloudmap-sd";

/**
 * The version in package.json. This module runs as src/version.ts (tests), dist/src/version.js
 * (npm start) and /app/dist/src/version.js in the image, whose final stage copies package.json to
 * /app: so look upwards for our own package.json rather than at a fixed relative path. A
 * package.json of another package on the way (none today) is skipped by its name.
 */
export function packageVersion(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (manifest.name === PACKAGE_NAME && typeof manifest.version === "string") return manifest.version;
    } catch {
      // No (readable) package.json here: keep looking upwards.
    }
    if (dirname(dir) === dir) return "unknown";
  }
}
