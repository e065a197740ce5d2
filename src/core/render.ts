import { type Chunks, chunksFrom } from "./file-content.js";
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

// The frame around the lines, in one place for both renderings.
const EMPTY = "[]\n";
const OPEN = "[\n";
const SEPARATOR = ",\n";
const CLOSE = "\n]\n";

/** The file around already rendered group lines. */
export function renderLines(lines: readonly string[]): string {
  return lines.length === 0 ? EMPTY : `${OPEN}${lines.join(SEPARATOR)}${CLOSE}`;
}

const EMPTY_BYTES = Buffer.from(EMPTY);
const OPEN_BYTES = Buffer.from(OPEN);
const SEPARATOR_BYTES = Buffer.from(SEPARATOR);
const CLOSE_BYTES = Buffer.from(CLOSE);

/**
 * The same bytes as renderLines, as chunks: the lines themselves between shared frame chunks,
 * never copied into one string or buffer (see Chunks).
 */
export function frameLines(lines: readonly Uint8Array[]): Chunks {
  if (lines.length === 0) return chunksFrom([EMPTY_BYTES]);
  const chunks: Uint8Array[] = new Array(2 * lines.length + 1);
  chunks[0] = OPEN_BYTES;
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) chunks[2 * i] = SEPARATOR_BYTES;
    chunks[2 * i + 1] = lines[i] as Uint8Array;
  }
  chunks[2 * lines.length] = CLOSE_BYTES;
  return chunksFrom(chunks);
}

/**
 * Encodes rendered lines as UTF-8 into one allocation, one view per line. One buffer per service
 * is freed whole when the service changes; small buffers from Node's shared pool would let one
 * surviving line keep a whole pool slab alive. Unpooled, a service's lines are also never sharing
 * memory with anything else.
 */
export function encodeLines(lines: readonly string[]): Uint8Array[] {
  let total = 0;
  const lengths = lines.map((line) => {
    const length = Buffer.byteLength(line, "utf8");
    total += length;
    return length;
  });
  const bytes = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  return lines.map((line, i) => {
    const length = lengths[i] as number;
    bytes.write(line, offset, length, "utf8");
    const view = bytes.subarray(offset, offset + length);
    offset += length;
    return view;
  });
}
