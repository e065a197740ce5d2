import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { buildTargetGroups, targetKey } from "../../src/core/target-groups.js";
import type { ServiceSnapshot } from "../../src/core/model.js";
import { AwsCallError, ParameterNotFoundError } from "../../src/errors.js";
import { type CycleFacts, StatusRecorder } from "../../src/status/recorder.js";
import { snapshot } from "../helpers/fixtures.js";

const OPTIONS = { version: "0.0.0", parameterName: "NS", intervalSeconds: 30, ecsEnrichment: "auto" };
const report = (outcome: "success" | "partial" | "failure" = "success", durationMs = 100) => ({
  outcome,
  durationMs,
  apiCalls: 4,
  targets: 1,
  added: 0,
  removed: 0,
  errors: 0,
  file: "unchanged",
});

function cycle(snapshots: ServiceSnapshot[], errors: Error[] = []): CycleFacts {
  const { groups, skips } = buildTargetGroups(snapshots);
  return {
    report: report(errors.length ? "partial" : "success"),
    parameter: { value: "prod.local", names: ["prod.local"] },
    discovery: { snapshots, skips, keys: groups.map(targetKey), missingNamespaces: [], lastCompleteAt: new Map([["prod.local", 0]]), errors },
    errors,
  };
}

const throttled = (service: string) =>
  new AwsCallError("DiscoverInstances", { namespace: "prod.local", service }, { cause: Object.assign(new Error("slow down"), { name: "ThrottlingException" }) });

describe("StatusRecorder", () => {
  it("keeps the last cycles only, newest first", () => {
    const clock = new ManualClock();
    const recorder = new StatusRecorder(OPTIONS, clock, undefined, { cycles: 3, errors: 10 });

    for (let i = 1; i <= 5; i++) {
      clock.advance(30_000);
      recorder.cycleFinished({ ...cycle([snapshot()]), report: report("success", i) });
    }

    const status = recorder.status();
    expect(status.summary.cycles).toBe(5);
    expect(status.cycles.map((c) => c.durationMs)).toEqual([5, 4, 3]);
    // A cycle's start is its end minus its duration, on the wall clock.
    expect(status.cycles[0]?.startedAt).toBe(new Date(clock.wallMs() - 5).toISOString());
  });

  it("marks a failing service last-known-good since its first failure and keeps when it was last read", () => {
    // Prepare
    const clock = new ManualClock();
    const recorder = new StatusRecorder(OPTIONS, clock);
    const web = snapshot();
    recorder.cycleFinished(cycle([web]));
    const readAt = new Date(clock.wallMs() - 100).toISOString();

    // Act: two failing cycles, then a good one
    clock.advance(30_000);
    recorder.cycleFinished(cycle([web], [throttled("web")]));
    const failedAt = new Date(clock.wallMs() - 100).toISOString();
    const errorSeenAt = new Date(clock.wallMs()).toISOString();
    clock.advance(30_000);
    recorder.cycleFinished(cycle([web], [throttled("web")]));
    const failing = recorder.status();
    clock.advance(30_000);
    recorder.cycleFinished(cycle([web]));
    const recovered = recorder.status();

    // Assess
    expect(failing.services[0]).toMatchObject({ lastReadAt: readAt, lastKnownGoodSince: failedAt, scraped: true });
    expect(failing.errors).toEqual([
      expect.objectContaining({ operation: "DiscoverInstances", scope: "namespace=prod.local, service=web", kind: "throttled", current: true, cycles: 2, firstAt: errorSeenAt }),
    ]);
    expect(failing.errors[0]?.hint).toContain("DISCOVERY_CONCURRENCY");
    expect(recovered.services[0]?.lastKnownGoodSince).toBeUndefined();
    expect(recovered.services[0]?.lastReadAt).toBe(new Date(clock.wallMs() - 100).toISOString());
    expect(recovered.errors[0]).toMatchObject({ current: false, cycles: 2 });
  });

  it("keeps at most its bound of errors, dropping those that no longer fail first", () => {
    const clock = new ManualClock();
    const recorder = new StatusRecorder(OPTIONS, clock, undefined, { cycles: 5, errors: 3 });
    const services = ["a", "b", "c", "d"].map((name) => snapshot({ serviceName: name, serviceId: `srv-${name}` }));

    recorder.cycleFinished(cycle(services, [throttled("a")]));
    clock.advance(1_000);
    recorder.cycleFinished(cycle(services, [throttled("b"), throttled("c"), throttled("d")]));

    const errors = recorder.status().errors;
    expect(errors.map((e) => e.scope).sort()).toEqual(["b", "c", "d"].map((name) => `namespace=prod.local, service=${name}`));
    expect(errors.every((e) => e.current)).toBe(true);
  });

  it("keeps the last discovery when the namespaces parameter cannot be read, and says so", () => {
    const clock = new ManualClock();
    const recorder = new StatusRecorder(OPTIONS, clock);
    recorder.cycleFinished(cycle([snapshot()]));
    clock.advance(30_000);
    const missing = new ParameterNotFoundError("NS");

    recorder.cycleFinished({ report: report("failure"), parameter: { error: missing }, errors: [missing] });

    const status = recorder.status();
    expect(status.namespacesParameter.error).toContain('SSM parameter "NS" does not exist');
    expect(status.namespacesParameter.namespaces).toEqual(["prod.local"]);
    expect(status.services).toHaveLength(1);
    expect(status.errors[0]).toMatchObject({ operation: "ParameterNotFoundError", kind: "not_found", current: true });
    expect(status.errors[0]?.hint).toContain('create the SSM parameter "NS"');
  });

  it("computes staleness at request time, so it grows between cycles", () => {
    const clock = new ManualClock();
    const recorder = new StatusRecorder(OPTIONS, clock);
    recorder.cycleFinished(cycle([snapshot()]));
    clock.advance(45_000);
    expect(recorder.status().namespaces[0]?.stalenessSeconds).toBe(45);
  });

  it("asks the health view at each request", () => {
    let ready = false;
    const recorder = new StatusRecorder(OPTIONS, new ManualClock(), () => ({ ready }));
    expect(recorder.status().sidecar.ready).toBe(false);
    ready = true;
    expect(recorder.status().sidecar.ready).toBe(true);
  });
});
