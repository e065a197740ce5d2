import { describe, expect, it } from "vitest";
import { CompactLine } from "../../src/core/compact-line.js";
import { asChunks, byteLengthOf, chunksFrom, packedPieces, sameBytes, textOf } from "../../src/core/file-content.js";
import type { TargetGroup } from "../../src/core/model.js";
import { frameLines, renderCompactLines, renderTargetGroups } from "../../src/core/render.js";

const bytes = (text: string) => Buffer.from(text, "utf8");

describe("sameBytes", () => {
  const text = '[\n{"targets":["10.0.1.5:8080"],"labels":{"a":"ü"}}\n]\n';

  it("is true for the same bytes whatever the representation and the chunk boundaries", () => {
    // Prepare
    const whole = bytes(text);
    const split = chunksFrom([whole.subarray(0, 3), whole.subarray(3, 17), bytes(""), whole.subarray(17)]);
    const otherSplit = chunksFrom([whole.subarray(0, 10), whole.subarray(10, 11), whole.subarray(11)]);

    // Assess
    expect(sameBytes(text, whole)).toBe(true);
    expect(sameBytes(split, otherSplit)).toBe(true);
    expect(sameBytes(otherSplit, text)).toBe(true);
    expect(sameBytes(split, whole)).toBe(true);
  });

  it("is false when one byte differs, wherever it is", () => {
    const whole = bytes(text);
    for (let at = 0; at < whole.length; at++) {
      const changed = Buffer.from(whole);
      changed[at] = (changed[at] as number) ^ 1;
      const chunks = chunksFrom([changed.subarray(0, 7), changed.subarray(7)]);

      expect(sameBytes(chunks, chunksFrom([whole.subarray(0, 20), whole.subarray(20)])), `byte ${at}`).toBe(false);
    }
  });

  it("skips a chunk both sides share without reading it", () => {
    // Prepare: reading the shared chunk would throw, so passing proves it was skipped by identity.
    const shared = bytes("a rendered line");
    shared.subarray = () => {
      throw new Error("the shared chunk was read");
    };
    const a = chunksFrom([bytes("[\n"), shared, bytes("\n]\n")]);
    const b = chunksFrom([bytes("[\n"), shared, bytes("\n]\n")]);

    // Assess
    expect(sameBytes(a, b)).toBe(true);
  });

  it("is false for different lengths", () => {
    expect(sameBytes(chunksFrom([bytes("[\n"), bytes("x\n]\n")]), chunksFrom([bytes("[\n"), bytes("x\n]")]))).toBe(false);
  });

  it("is false for two different strings", () => {
    expect(sameBytes("[]\n", "[ ]\n")).toBe(false);
  });
});

describe("content helpers", () => {
  it("measures, converts and decodes every representation alike", () => {
    const text = "é😀x\n";
    for (const content of [text, bytes(text), chunksFrom([bytes("é"), bytes("😀x\n")])]) {
      expect(byteLengthOf(content)).toBe(bytes(text).length);
      expect(textOf(content)).toBe(text);
      expect(Buffer.concat([...packedPieces(asChunks(content), 2, false)]).equals(bytes(text))).toBe(true);
    }
  });
});

/** A service of `count` targets whose lines differ in a task id and an address (compact: copies and literals). */
function service(name: string, count: number, marker = ""): TargetGroup[] {
  return Array.from({ length: count }, (_, i) => ({
    targets: [`10.0.0.${i}:8080`],
    labels: { service: name, note: `ünï 😀${marker}`, taskid: `task-${i}-${"0".repeat(i)}`, zone: "eu-west-1a" },
  }));
}

describe("compact content", () => {
  const groups = [...service("web", 4), ...service("api", 3)];
  const content = () => frameLines([...renderCompactLines(groups.slice(0, 4)), ...renderCompactLines(groups.slice(4))]);

  it("is the same bytes as its rendering, and as the same lines rendered again (other objects)", () => {
    const expected = renderTargetGroups(groups);

    expect(textOf(content())).toBe(expected);
    expect(sameBytes(content(), expected)).toBe(true);
    expect(sameBytes(content(), content())).toBe(true);
    expect(sameBytes(bytes(expected), content())).toBe(true);
  });

  it("differs when one line differs at the same length, or in length", () => {
    const zone = [...groups.slice(0, 4), ...service("api", 3).map((group) => ({ ...group, labels: { ...group.labels, zone: "eu-west-1b" } }))];
    const longer = [...groups.slice(0, 4), ...service("api", 3, "x")];

    expect(frameLines(renderCompactLines(zone)).byteLength).toBe(content().byteLength);
    expect(sameBytes(content(), frameLines(renderCompactLines(zone)))).toBe(false);
    expect(sameBytes(content(), frameLines(renderCompactLines(longer)))).toBe(false);
  });

  it("skips a compact line both sides share without decoding it", () => {
    // Prepare: decoding the shared line would read past its poisoned buffer and throw.
    const [line] = renderCompactLines(service("web", 1)) as [CompactLine];
    const poisoned = new CompactLine(new Proxy(line.bytes, { get: () => { throw new Error("the shared line was read"); } }), 0, 0, line.length);

    // Assess
    expect(sameBytes(frameLines([poisoned]), frameLines([poisoned]))).toBe(true);
  });

  it.each([1, 7, 100, 4096])("packs the bytes into pieces of %i bytes, fresh or through one reused buffer", (size) => {
    // Prepare
    const expected = bytes(renderTargetGroups(groups));

    // Act
    const fresh = [...packedPieces(content(), size, false)];
    const reused: Buffer[] = [];
    for (const piece of packedPieces(content(), size, true)) reused.push(Buffer.from(piece));

    // Assess: full pieces but the last, which is shorter. Fresh pieces are kept uncopied, so a
    // reused buffer among them would overwrite earlier ones and break the bytes.
    for (const pieces of [fresh, reused]) {
      expect(Buffer.concat(pieces).equals(expected)).toBe(true);
      expect(pieces.slice(0, -1).every((piece) => piece.length === size)).toBe(true);
      expect(pieces.at(-1)?.length).toBe(expected.length - size * (pieces.length - 1));
    }
    const raw = [...packedPieces(content(), size, true)];
    expect(raw.every((piece) => piece.buffer === raw[0]?.buffer && piece.byteOffset === raw[0]?.byteOffset)).toBe(true);
  });
});
