// A failure is logged once when it starts and once when it clears, even when its part backs off
// between retries and is not called in every cycle.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { AwsCallError } from "../../src/errors.js";
import { Metrics } from "../../src/metrics.js";
import { FailureReport } from "../../src/runtime/failure-report.js";
import { memoryLogger } from "../helpers/fixtures.js";

const denied = () => new AwsCallError("DescribeTasks", { cluster: "prod" }, { cause: Object.assign(new Error("no"), { name: "AccessDeniedException" }) });

async function metric(metrics: Metrics, line: string): Promise<string | undefined> {
  return (await metrics.registry.metrics()).split("\n").find((l) => l.startsWith(line));
}

describe("FailureReport", () => {
  it("keeps a failure open while its part backs off: one warning, no 'recovered' between retries, counted once per call", async () => {
    // Prepare
    const { logger, lines } = memoryLogger();
    const metrics = new Metrics(new ManualClock(), () => new Map());
    const report = new FailureReport(logger, metrics);
    const failure = denied();

    // Act: failed, then two cycles backing off (not called), then failed again at the retry
    report.update([failure]);
    report.update([], [failure]);
    report.update([], [failure]);
    const gaugeWhileBackingOff = await metric(metrics, 'cloudmap_sd_failing_parts{kind="access_denied"}');
    report.update([denied()]);

    // Assess
    expect(lines().filter((line) => line.msg === "AWS calls failing; the parts they read keep their last-known-good targets")).toHaveLength(1);
    expect(lines().filter((line) => line.msg === "AWS calls recovered")).toHaveLength(0);
    expect(gaugeWhileBackingOff).toBe('cloudmap_sd_failing_parts{kind="access_denied"} 1');
    expect(await metric(metrics, 'cloudmap_sd_aws_failures_total{operation="DescribeTasks",kind="access_denied"}')).toBe(
      'cloudmap_sd_aws_failures_total{operation="DescribeTasks",kind="access_denied"} 2',
    );
  });

  it("reports the recovery once the part neither fails nor backs off", () => {
    // Prepare
    const { logger, lines } = memoryLogger();
    const report = new FailureReport(logger, new Metrics(new ManualClock(), () => new Map()));
    report.update([denied()]);
    report.update([], [denied()]);

    // Act
    report.update([]);

    // Assess
    expect(lines().filter((line) => line.msg === "AWS calls recovered")).toHaveLength(1);
  });
});
