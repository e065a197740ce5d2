import type { TargetGroup } from "./model.js";

/**
 * Canonical file_sd JSON: groups in the given (sorted) order, label names sorted, one group per
 * line. The same state always gives the same bytes, so "unchanged" is a byte comparison and a
 * diff of two files reads line by line. Only `targets` and `labels` are emitted: Prometheus'
 * file SD rejects unknown fields.
 */
export function renderTargetGroups(groups: readonly TargetGroup[]): string {
  return renderLines(groups.map(renderGroupLine));
}

/** One group as one line of canonical JSON (label names sorted). */
export function renderGroupLine(group: TargetGroup): string {
  const labels: Record<string, string> = {};
  for (const name of Object.keys(group.labels).sort()) labels[name] = group.labels[name] as string;
  return JSON.stringify({ targets: group.targets, labels });
}

/** The file around already rendered group lines. */
export function renderLines(lines: readonly string[]): string {
  return lines.length === 0 ? "[]\n" : `[\n${lines.join(",\n")}\n]\n`;
}
