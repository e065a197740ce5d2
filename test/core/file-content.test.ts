import { describe, expect, it } from "vitest";
import { asChunks, byteLengthOf, chunksFrom, sameBytes, textOf } from "../../src/core/file-content.js";

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
      expect(Buffer.concat(asChunks(content).chunks).equals(bytes(text))).toBe(true);
    }
  });
});
