import type { TargetGroup } from "./model.js";
import { targetKey } from "./target-groups.js";

export interface TargetDiff {
  readonly added: number;
  readonly removed: number;
}

/** Counts scrape endpoints that appeared or disappeared between two builds (for the cycle log line). */
export function diffTargets(previous: readonly TargetGroup[], next: readonly TargetGroup[]): TargetDiff {
  return diffKeys(previous.map(targetKey), next.map(targetKey));
}

/** The same, on already computed target keys. */
export function diffKeys(previous: readonly string[], next: readonly string[]): TargetDiff {
  const before = new Set(previous);
  const after = new Set(next);
  let added = 0;
  for (const key of after) if (!before.has(key)) added++;
  let removed = 0;
  for (const key of before) if (!after.has(key)) removed++;
  return { added, removed };
}
