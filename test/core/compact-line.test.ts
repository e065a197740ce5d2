import { describe, expect, it } from "vitest";
import { type Chunk, type CompactLine, chunkText, copyChunk } from "../../src/core/compact-line.js";
import type { TargetGroup } from "../../src/core/model.js";
import { renderCompactLines, renderGroupLine } from "../../src/core/render.js";

interface Op {
  readonly kind: "copy" | "literal";
  readonly length: number;
  /** Template offset of a copy; the literal's text. */
  readonly at: number | string;
}

/** The op stream of a line, read independently of copyChunk (the format in compact-line.ts). */
function opsOf(line: CompactLine): Op[] {
  const ops: Op[] = [];
  let at = line.opsStart;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = line.bytes[at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < line.opsEnd) {
    const header = varint();
    const length = Math.floor(header / 2);
    if (header % 2 === 0) {
      ops.push({ kind: "copy", length, at: varint() });
    } else {
      ops.push({ kind: "literal", length, at: Buffer.from(line.bytes.subarray(at, at + length)).toString("utf8") });
      at += length;
    }
  }
  return ops;
}

const task = (id: string, extra: Record<string, string> = {}): TargetGroup => ({
  targets: ["10.0.0.1:8080"],
  labels: {
    __meta_cloudmap_namespace_name: "prod.local",
    __meta_ecs_task_arn: `arn:aws:ecs:eu-west-1:123456789012:task/prod/${id}`,
    __metrics_path__: "/metrics",
    cluster: "prod",
    ...extra,
  },
});

describe("compact lines", () => {
  it("keeps a service of one target as its template alone: no ops", () => {
    const [line] = renderCompactLines([task("aaaa")]) as [CompactLine];

    expect(line.opsStart).toBe(line.opsEnd);
    expect(line.length).toBe(line.bytes.length);
    expect(chunkText(line)).toBe(renderGroupLine(task("aaaa")));
  });

  it("keeps a line that differs in one value as a copy of the template, the value's differing tail, and a copy", () => {
    // Prepare: the task ARNs share everything up to the task id.
    const groups = [task("aaaa"), task("bbbb")];

    // Act
    const [template, line] = renderCompactLines(groups) as [CompactLine, CompactLine];

    // Assess: the unchanged labels either side are single copies (merged), the literal is the id.
    const templateText = chunkText(template);
    expect(opsOf(line)).toEqual([
      { kind: "copy", length: templateText.indexOf("aaaa"), at: 0 },
      { kind: "literal", length: 4, at: "bbbb" },
      { kind: "copy", length: templateText.length - templateText.indexOf("aaaa") - 4, at: templateText.indexOf("aaaa") + 4 },
    ]);
    expect(chunkText(line)).toBe(renderGroupLine(groups[1] as TargetGroup));
    expect(line.bytes).toBe(template.bytes);
  });

  it("copies the labels a line shares with its template as one op, whatever is dropped or added around them", () => {
    const groups = [task("aaaa", { b: "1", c: "2" }), { targets: ["10.0.0.1:8080"], labels: { b: "1", c: "2", d: "new" } }];

    const [template, line] = renderCompactLines(groups) as [CompactLine, CompactLine];

    const text = chunkText(template);
    const labelsStart = text.indexOf("{", 1) + 1;
    expect(opsOf(line)).toEqual([
      { kind: "copy", length: labelsStart, at: 0 },
      { kind: "copy", length: '"b":"1","c":"2"'.length, at: text.indexOf('"b":"1"') },
      { kind: "literal", length: ',"d":"new"'.length, at: ',"d":"new"' },
      { kind: "copy", length: 2, at: text.length - 2 },
    ]);
    expect(chunkText(line)).toBe(renderGroupLine(groups[1] as TargetGroup));
  });

  it("writes offsets and lengths past 127 and 16,383 as multi-byte varints", () => {
    // Prepare: a 20,000-byte label before the differing one, so its copy starts past 16,383; a 300-byte literal.
    const big = { _0_padding: "p".repeat(20_000) };
    const groups = [task("aaaa", big), task(`b${"x".repeat(299)}`, big)];

    // Act
    const [, line] = renderCompactLines(groups) as [CompactLine, CompactLine];

    // Assess
    const ops = opsOf(line);
    expect(ops.find((op) => op.kind === "literal")?.length).toBe(300);
    expect(ops.some((op) => op.kind === "copy" && (op.at as number) > 16_383)).toBe(true);
    expect(chunkText(line)).toBe(renderGroupLine(groups[1] as TargetGroup));
  });

  it("copies any byte range of a line, and nothing outside it", () => {
    // Prepare: multi-byte characters, a copy, a literal and a copy.
    const groups = [task("é😀a"), { ...task("é😀b"), targets: ["[::1]:80"] }];
    const lines: Chunk[] = [...renderCompactLines(groups), Buffer.from("plain bytes")];
    for (const line of lines) {
      const expected = Buffer.from(chunkText(line), "utf8");
      for (let from = 0; from <= line.length; from++) {
        for (let to = from; to <= line.length; to++) {
          // Act
          const target = Buffer.alloc(to - from + 6, 0xee);
          copyChunk(line, from, to, target, 3);

          // Assess
          expect(target.subarray(3, 3 + to - from).equals(expected.subarray(from, to)), `[${from}, ${to})`).toBe(true);
          expect([...target.subarray(0, 3), ...target.subarray(3 + to - from)]).toEqual([0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);
        }
      }
    }
  });
});
