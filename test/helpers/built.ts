// Tests that start built files (dist/) run current code even when a test file is run on its own,
// without `npm test`'s build first: build.mjs bundles everything in a second or two.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** What the bundles are made of: our sources, the bundler's script and the locked dependencies. */
const INPUTS = ["src", "dev", "bench", "infra/bin", "infra/lib", "build.mjs", "package-lock.json", "tsconfig.json"];

function newestMtime(target: string): number {
  if (!existsSync(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(target, { recursive: true, encoding: "utf8" })) {
    newest = Math.max(newest, statSync(path.join(target, entry)).mtimeMs);
  }
  return newest;
}

/** The absolute path of a built file (e.g. "dist/src/main.js"), rebuilt first when older than a source. */
export function built(relative: string): string {
  const file = path.join(ROOT, relative);
  const sources = Math.max(...INPUTS.map((input) => newestMtime(path.join(ROOT, input))));
  if (!existsSync(file) || statSync(file).mtimeMs < sources) {
    execFileSync(process.execPath, [path.join(ROOT, "build.mjs")], { cwd: ROOT, stdio: "inherit" });
  }
  return file;
}
