import { describe, expect, it } from "vitest";
import { WeightedLimit } from "../../src/core/weighted-limit.js";

/**
 * Runs [name, weight] tasks through the limit, each until released: `started` lists them in the
 * order they began, `release` lets some finish (each settles the loop), `done` is their results.
 */
function runGated(limit: WeightedLimit, tasks: ReadonlyArray<readonly [string, number]>) {
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  const results = tasks.map(([name, weight]) => {
    const released = new Promise<void>((resolve) => releases.set(name, resolve));
    return limit.run(weight, async () => {
      started.push(name);
      await released;
      return name;
    });
  });
  return {
    started,
    release: async (...names: string[]) => {
      for (const name of names) releases.get(name)?.();
      await settle();
    },
    done: () => Promise.all(results),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("WeightedLimit", () => {
  it("starts tasks while their weights fit the capacity, and the rest in order as weight frees up", async () => {
    const limit = new WeightedLimit(300);
    const run = runGated(limit, ["a", "b", "c", "d", "e"].map((name) => [name, 100] as const));
    await settle();
    expect(run.started).toEqual(["a", "b", "c"]);
    expect(limit.inUse).toBe(300);

    await run.release("b");
    expect(run.started).toEqual(["a", "b", "c", "d"]);

    await run.release("a", "c", "d", "e");
    expect(await run.done()).toEqual(["a", "b", "c", "d", "e"]);
    expect(limit.inUse).toBe(0);
  });

  it("runs many light tasks at once where p-limit would count them", async () => {
    const run = runGated(new WeightedLimit(300), ["a", "b", "c", "d", "e"].map((name) => [name, 20] as const));
    await settle();
    expect(run.started).toEqual(["a", "b", "c", "d", "e"]);
    await run.release("a", "b", "c", "d", "e");
    await run.done();
  });

  it("does not let lighter tasks overtake a heavy one waiting at the head", async () => {
    const run = runGated(new WeightedLimit(300), [
      ["first", 250],
      ["heavy", 100],
      ["light", 10],
    ]);
    await settle();
    expect(run.started).toEqual(["first"]);

    await run.release("first");
    expect(run.started).toEqual(["first", "heavy", "light"]);
    await run.release("heavy", "light");
    await run.done();
  });

  it("runs a task heavier than the capacity alone", async () => {
    const run = runGated(new WeightedLimit(300), [
      ["huge", 1_000],
      ["small", 1],
    ]);
    await settle();
    expect(run.started).toEqual(["huge"]);
    await run.release("huge");
    expect(run.started).toEqual(["huge", "small"]);
    await run.release("small");
    await run.done();
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
