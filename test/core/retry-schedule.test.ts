import { describe, expect, it } from "vitest";
import { backoffDelayMs, DEFAULT_RETRY_SCHEDULE, RetrySchedule } from "../../src/core/retry-schedule.js";

const noJitter = { baseMs: 5_000, maxMs: 300_000, jitter: 0 };

describe("RetrySchedule", () => {
  it("defaults to 5 s doubling up to 5 min", () => {
    expect(DEFAULT_RETRY_SCHEDULE).toMatchObject({ baseMs: 5_000, maxMs: 300_000 });
  });

  it("lets a key that never failed be tried at once", () => {
    const schedule = new RetrySchedule();

    expect(schedule.due("prod", 0)).toBe(true);
    expect(schedule.failures("prod")).toBe(0);
  });

  it("doubles the delay with each consecutive failure, from baseMs up to maxMs", () => {
    // Prepare
    const schedule = new RetrySchedule(noJitter);
    const delays: number[] = [];
    let now = 1_000;

    // Act
    for (let i = 0; i < 9; i++) {
      const notBefore = schedule.failed("prod", now);
      delays.push(notBefore - now);
      now = notBefore;
    }

    // Assess
    expect(delays).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    expect(schedule.failures("prod")).toBe(9);
  });

  it("is not due before the delay has passed, and due from then on", () => {
    const schedule = new RetrySchedule(noJitter);

    schedule.failed("prod", 100);

    expect(schedule.due("prod", 5_099)).toBe(false);
    expect(schedule.due("prod", 5_100)).toBe(true);
    expect(schedule.due("prod", 1_000_000)).toBe(true);
  });

  it("a success clears the key: the next failure starts again from baseMs", () => {
    // Prepare
    const schedule = new RetrySchedule(noJitter);
    schedule.failed("prod", 0);
    schedule.failed("prod", 5_000);

    // Act
    schedule.succeeded("prod");
    const notBefore = schedule.failed("prod", 20_000);

    // Assess
    expect(notBefore).toBe(25_000);
    expect(schedule.failures("prod")).toBe(1);
  });

  it("keeps keys apart: one failing key does not delay another", () => {
    const schedule = new RetrySchedule(noJitter);

    schedule.failed("prod", 0);

    expect(schedule.due("batch", 1)).toBe(true);
    expect(schedule.due("prod", 1)).toBe(false);
  });

  it("forgets the keys not in use", () => {
    // Prepare
    const schedule = new RetrySchedule(noJitter);
    schedule.failed("prod", 0);
    schedule.failed("batch", 0);

    // Act
    schedule.forget(new Set(["batch"]));

    // Assess
    expect(schedule.size).toBe(1);
    expect(schedule.failures("prod")).toBe(0);
    expect(schedule.due("prod", 1)).toBe(true);
    expect(schedule.failures("batch")).toBe(1);
  });

  it("survives a huge number of failures without overflowing past maxMs", () => {
    const schedule = new RetrySchedule();
    let notBefore = 0;

    for (let i = 0; i < 2_000; i++) notBefore = schedule.failed("prod", 0);

    expect(notBefore).toBe(DEFAULT_RETRY_SCHEDULE.maxMs);
  });

  it.each([
    [{ baseMs: 0 }, /baseMs/],
    [{ baseMs: -1 }, /baseMs/],
    [{ baseMs: Number.NaN }, /baseMs/],
    [{ baseMs: 10_000, maxMs: 5_000 }, /maxMs/],
    [{ maxMs: Number.POSITIVE_INFINITY }, /maxMs/],
    [{ jitter: -0.1 }, /jitter/],
    [{ jitter: 2 }, /jitter/],
  ])("rejects bad options %j", (options, message) => {
    expect(() => new RetrySchedule(options)).toThrow(message);
  });
});

describe("backoffDelayMs (deterministic jitter)", () => {
  const options = { baseMs: 5_000, maxMs: 300_000, jitter: 0.2 };

  it("is 0 before any failure", () => {
    expect(backoffDelayMs("prod", 0, options)).toBe(0);
  });

  it("never goes below the exponential step nor above maxMs", () => {
    for (const key of ["prod", "batch", "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7"]) {
      for (let failures = 1; failures <= 12; failures++) {
        const step = Math.min(options.maxMs, options.baseMs * 2 ** (failures - 1));
        const delay = backoffDelayMs(key, failures, options);
        expect(delay).toBeGreaterThanOrEqual(step);
        expect(delay).toBeLessThanOrEqual(Math.min(options.maxMs, step * 1.2));
      }
    }
  });

  it("is the same for the same key every time, and differs between keys", () => {
    const delays = ["a", "b", "c", "d", "e"].map((key) => backoffDelayMs(key, 1, options));

    expect(delays).toEqual(["a", "b", "c", "d", "e"].map((key) => backoffDelayMs(key, 1, options)));
    expect(new Set(delays).size).toBeGreaterThan(1);
  });
});
