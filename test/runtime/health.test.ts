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

  it("is not alive when no cycle has finished within the bound, even if none is running (a frozen loop)", () => {
    // The bound includes one interval, so a healthy loop always finishes a cycle within it.
    health.cycleStarted();
    health.cycleEnded();
    clock += STUCK_AFTER_MS;

    expect(health.alive()).toBe(false);
    expect(health.describe()).toMatchObject({ alive: false, reason: expect.stringContaining("no discovery cycle has finished") });
  });

  it("measures from the loop's start before the first cycle has finished", () => {
    clock += STUCK_AFTER_MS;
    health.loopStarted();
    clock += STUCK_AFTER_MS - 1;

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

describe("HealthState readiness", () => {
  it("is not ready while the Prometheus configuration is missing, and says why", () => {
    const health = new HealthState(1_000, () => 0);
    health.ready = true;

    health.setConfigReady(false, "no Prometheus configuration yet: SSM parameter does not exist");

    expect(health.ready).toBe(false);
    expect(health.describe().reason).toContain("SSM parameter does not exist");
    health.setConfigReady(true);
    expect(health.ready).toBe(true);
    expect(health.describe().reason).toBeUndefined();
  });

  it("says that no complete discovery has happened yet", () => {
    const health = new HealthState(1_000, () => 0);

    expect(health.describe()).toEqual({ alive: true, ready: false, reason: expect.stringContaining("no complete discovery yet") });
  });
});
