import { beforeEach, describe, expect, it } from "vitest";
import { HealthState } from "../../src/runtime/health.js";

const STUCK_AFTER_MS = 300_000;

describe("HealthState", () => {
  let clock: number;
  let health: HealthState;

  beforeEach(() => {
    clock = 1_700_000_000_000;
    health = new HealthState(STUCK_AFTER_MS, () => clock);
  });

  it("is alive and not ready before the first cycle", () => {
    expect(health.alive()).toBe(true);
    expect(health.ready).toBe(false);
  });

  it("stays alive while a cycle runs for less than the stuck threshold", () => {
    health.cycleStarted();
    clock += STUCK_AFTER_MS - 1;

    expect(health.alive()).toBe(true);
  });

  it("is stuck once a cycle has run for the threshold", () => {
    health.cycleStarted();
    clock += STUCK_AFTER_MS;

    expect(health.alive()).toBe(false);
  });

  it("measures from the start of the current cycle, not the first one", () => {
    // Prepare: a long history of short cycles.
    for (let i = 0; i < 10; i++) {
      health.cycleStarted();
      clock += 60_000;
      health.cycleEnded();
    }

    // Act
    health.cycleStarted();
    clock += STUCK_AFTER_MS - 1;

    // Assess
    expect(health.alive()).toBe(true);
  });

  it("is alive again once the stuck cycle ends", () => {
    health.cycleStarted();
    clock += 2 * STUCK_AFTER_MS;
    expect(health.alive()).toBe(false);

    health.cycleEnded();

    expect(health.alive()).toBe(true);
  });

  it("is alive however long the loop waits between cycles", () => {
    health.cycleStarted();
    health.cycleEnded();
    clock += 100 * STUCK_AFTER_MS;

    expect(health.alive()).toBe(true);
  });

  it("is not alive once the loop has stopped, whatever the cycles do", () => {
    health.loopStopped();
    expect(health.alive()).toBe(false);

    health.cycleStarted();
    health.cycleEnded();
    expect(health.alive()).toBe(false);
  });

  it("reports ready once set, independently of liveness", () => {
    health.ready = true;
    health.cycleStarted();
    clock += STUCK_AFTER_MS;

    expect(health.ready).toBe(true);
    expect(health.alive()).toBe(false);
  });
});
