import { describe, expect, it } from "vitest";
import { WeightedLimit } from "../../src/core/weighted-limit.js";

/** A task that runs until released, recording when it started. */
function gate(log: string[], name: string) {
  let release: () => void = () => {};
  const done = new Promise<void>((resolve) => (release = resolve));
  return {
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
    release: () => release(),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("WeightedLimit", () => {
  it("starts tasks while their weights fit the capacity, and the rest in order as weight frees up", async () => {
    const limit = new WeightedLimit(300);
    const log: string[] = [];
    const gates = ["a", "b", "c", "d", "e"].map((name) => gate(log, name));
    const results = gates.map((g) => limit.run(100, g.task));
    await settle();
    expect(log).toEqual(["a", "b", "c"]);
    expect(limit.inUse).toBe(300);

    gates[1]?.release();
    await settle();
    expect(log).toEqual(["a", "b", "c", "d"]);

    for (const g of gates) g.release();
    expect(await Promise.all(results)).toEqual(["a", "b", "c", "d", "e"]);
    expect(limit.inUse).toBe(0);
  });

  it("runs many light tasks at once where p-limit would count them", async () => {
    const limit = new WeightedLimit(300);
    const log: string[] = [];
    const gates = ["a", "b", "c", "d", "e"].map((name) => gate(log, name));
    const results = gates.map((g) => limit.run(20, g.task));
    await settle();
    expect(log).toEqual(["a", "b", "c", "d", "e"]);
    for (const g of gates) g.release();
    await Promise.all(results);
  });

  it("does not let lighter tasks overtake a heavy one waiting at the head", async () => {
    const limit = new WeightedLimit(300);
    const log: string[] = [];
    const first = gate(log, "first");
    const heavy = gate(log, "heavy");
    const light = gate(log, "light");
    const results = [limit.run(250, first.task), limit.run(100, heavy.task), limit.run(10, light.task)];
    await settle();
    expect(log).toEqual(["first"]);

    first.release();
    await settle();
    expect(log).toEqual(["first", "heavy", "light"]);
    heavy.release();
    light.release();
    await Promise.all(results);
  });

  it("runs a task heavier than the capacity alone", async () => {
    const limit = new WeightedLimit(300);
    const log: string[] = [];
    const huge = gate(log, "huge");
    const small = gate(log, "small");
    const results = [limit.run(1_000, huge.task), limit.run(1, small.task)];
    await settle();
    expect(log).toEqual(["huge"]);
    huge.release();
    await settle();
    expect(log).toEqual(["huge", "small"]);
    small.release();
    await Promise.all(results);
  });

  it("frees a failed task's weight", async () => {
    const limit = new WeightedLimit(100);
    await expect(limit.run(100, async () => Promise.reject(new Error("denied")))).rejects.toThrow("denied");
    expect(limit.inUse).toBe(0);
    expect(await limit.run(100, async () => "next")).toBe("next");
  });

  it("frees the weight of a task that throws before returning a promise", async () => {
    const limit = new WeightedLimit(100);
    const throwing = (() => {
      throw new Error("bad input");
    }) as unknown as () => Promise<string>;
    await expect(limit.run(100, throwing)).rejects.toThrow("bad input");
    expect(limit.inUse).toBe(0);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])("refuses a weight of %s, which would wedge the count", async (weight) => {
    const limit = new WeightedLimit(100);
    await expect(limit.run(weight, async () => "never")).rejects.toThrow(RangeError);
    expect(limit.inUse).toBe(0);
  });

  it.each([0, -1, Number.NaN])("refuses a capacity of %s", (capacity) => {
    expect(() => new WeightedLimit(capacity)).toThrow(RangeError);
  });
});
