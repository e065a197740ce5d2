import { type Chunk, type CompactLine, CompactLineWriter } from "./compact-line.js";
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
export function frameLines(lines: readonly Chunk[]): Chunks {
  if (lines.length === 0) return chunksFrom([EMPTY_BYTES]);
  const chunks: Chunk[] = new Array(2 * lines.length + 1);
  chunks[0] = OPEN_BYTES;
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) chunks[2 * i] = SEPARATOR_BYTES;
    chunks[2 * i + 1] = lines[i] as Chunk;
  }
  chunks[2 * lines.length] = CLOSE_BYTES;
  return chunksFrom(chunks);
}

// The parts of a line around its labels, as JSON.stringify writes renderGroupLine's object.
const TARGETS_OPEN = '{"targets":';
const LABELS_OPEN = ',"labels":{';
const LINE_CLOSE = "}}";

/** A service's template line, and where its parts are in bytes. */
interface Template {
  readonly text: string;
  readonly byteLength: number;
  readonly targetsJson: string;
  /** Where the first label starts, right after `,"labels":{`. */
  readonly labelsStart: number;
  readonly labels: ReadonlyMap<string, TemplateLabel>;
}

interface TemplateLabel {
  /** The piece `"name":"value"` is template[start, end); a comma precedes it unless it is the first. */
  readonly start: number;
  readonly end: number;
  readonly separated: boolean;
  /** Where the value's JSON (from its opening quote) starts. */
  readonly valueStart: number;
  readonly value: string;
  readonly valueJson: string;
}

/**
 * One service's groups as compact lines (see CompactLine), each byte-identical to renderGroupLine.
 * Built from the line's structure, not by diffing bytes: a line is `{"targets":` + the targets'
 * JSON + `,"labels":{` + the `"name":value` pieces of its labels in JSON.stringify's order, joined
 * by commas, + `}}` (test/core/render.test.ts holds both renderings equal over tricky strings).
 * The service's first line is the template; in every other line a label equal to the template's
 * is a copy of the template's bytes, a label whose value differs copies the template's name, the
 * value's common prefix (an ARN up to the task id) and its closing quote, and only the rest is
 * literal. One buffer per service, freed whole when the service changes.
 */
export function renderCompactLines(groups: readonly TargetGroup[]): CompactLine[] {
  const first = groups[0];
  if (first === undefined) return [];
  const template = templateOf(first);
  const writer = new CompactLineWriter(template.text);
  writer.addTemplateLine();
  for (let i = 1; i < groups.length; i++) writeLine(writer, template, groups[i] as TargetGroup);
  return writer.finish();
}

function templateOf(group: TargetGroup): Template {
  const targetsJson = JSON.stringify(group.targets);
  let text = TARGETS_OPEN + targetsJson + LABELS_OPEN;
  const labelsStart = utf8Length(text);
  let offset = labelsStart;
  const labels = new Map<string, TemplateLabel>();
  for (const name of labelNames(group)) {
    const value = group.labels[name] as string;
    // Labels are strings; should anything else get here, the pieces stay JSON.stringify's: an
    // undefined value is left out, null and numbers are written bare (see writeLine).
    if (value === undefined) continue;
    const separated = labels.size > 0;
    if (separated) {
      text += ",";
      offset += 1;
    }
    const nameJson = JSON.stringify(name);
    const valueJson = JSON.stringify(value);
    const valueStart = offset + utf8Length(nameJson) + 1;
    const end = valueStart + utf8Length(valueJson);
    labels.set(name, { start: offset, end, separated, valueStart, value, valueJson });
    text += `${nameJson}:${valueJson}`;
    offset = end;
  }
  return { text: text + LINE_CLOSE, byteLength: offset + LINE_CLOSE.length, targetsJson, labelsStart, labels };
}

function writeLine(writer: CompactLineWriter, template: Template, group: TargetGroup): void {
  writer.beginLine();
  const targetsJson = JSON.stringify(group.targets);
  if (targetsJson === template.targetsJson) {
    writer.copy(0, template.labelsStart);
  } else {
    const shared = commonPrefix(targetsJson, template.targetsJson);
    writer.copy(0, TARGETS_OPEN.length + shared.bytes);
    writer.text(targetsJson.slice(shared.chars));
    writer.copy(template.labelsStart - LABELS_OPEN.length, template.labelsStart);
  }
  let separate = false;
  for (const name of labelNames(group)) {
    const value = group.labels[name] as string;
    if (value === undefined) continue;
    const known = template.labels.get(name);
    // The value's prefix and closing quote are shared only between two strings.
    if (known === undefined || (value !== known.value && (typeof value !== "string" || typeof known.value !== "string"))) {
      writer.text(`${separate ? "," : ""}${JSON.stringify(name)}:${JSON.stringify(value)}`);
    } else {
      let from = known.start;
      if (separate && known.separated) from -= 1;
      else if (separate) writer.text(",");
      if (value === known.value) {
        writer.copy(from, known.end);
      } else {
        // Only the differing middle is literal: the closing quote is the template's, and the copy
        // goes on into the next label when that one is the template's too.
        const valueJson = JSON.stringify(value);
        const shared = commonPrefix(valueJson, known.valueJson);
        writer.copy(from, known.valueStart + shared.bytes);
        writer.text(valueJson.slice(shared.chars, -1));
        writer.copy(known.end - 1, known.end);
      }
    }
    separate = true;
  }
  writer.copy(template.byteLength - LINE_CLOSE.length, template.byteLength);
  writer.endLine();
}

/**
 * The label names in the order JSON.stringify writes renderGroupLine's object: sorted, except that
 * integer-like names ("8080") come first in numeric order, as in any JavaScript object, and that
 * "__proto__" is left out (assigning it sets the prototype). Neither occurs in labels we build;
 * the object is only made when one might.
 */
function labelNames(group: TargetGroup): string[] {
  const names = Object.keys(group.labels).sort();
  if (!names.some(needsObjectOrder)) return names;
  const object: Record<string, true> = {};
  for (const name of names) object[name] = true;
  return Object.keys(object);
}

function needsObjectOrder(name: string): boolean {
  const c = name.charCodeAt(0);
  return (c >= 0x30 && c <= 0x39) || name === "__proto__";
}

/**
 * The common prefix of two JSON texts, in characters and in UTF-8 bytes. It never ends inside a
 * surrogate pair (one 4-byte character); JSON.stringify escapes lone surrogates, so every
 * surrogate in its output is half of a pair, and counts 2 of the pair's 4 bytes.
 */
function commonPrefix(a: string, b: string): { chars: number; bytes: number } {
  const limit = Math.min(a.length, b.length);
  let chars = 0;
  let bytes = 0;
  for (; chars < limit; chars++) {
    const c = a.charCodeAt(chars);
    if (c !== b.charCodeAt(chars)) break;
    bytes += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;
  }
  const last = chars > 0 ? a.charCodeAt(chars - 1) : 0;
  return last >= 0xd800 && last <= 0xdbff ? { chars: chars - 1, bytes: bytes - 2 } : { chars, bytes };
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}
