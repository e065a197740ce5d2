import { describe, expect, it } from "vitest";
import { buildTargetGroups, targetKey } from "../../src/core/target-groups.js";
import type { ServiceSnapshot } from "../../src/core/model.js";
import { AwsCallError } from "../../src/errors.js";
import { buildStatus, type KeptStatus } from "../../src/status/build-status.js";
import type { LatestDiscovery } from "../../src/status/describe-services.js";
import { STATUS_VERSION } from "../../src/status/status.js";
import { namespace, snapshot } from "../helpers/fixtures.js";

const WALL = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

function latest(snapshots: ServiceSnapshot[], extra: Partial<LatestDiscovery> = {}): LatestDiscovery {
  const { groups, skips } = buildTargetGroups(snapshots);
  return { names: ["prod.local"], snapshots, skips, keys: groups.map(targetKey), missingNamespaces: [], lastCompleteAt: new Map(), errors: [], ...extra };
}

function kept(extra: Partial<KeptStatus> = {}): KeptStatus {
  return {
    options: { version: "1.2.3", parameterName: "NS-PARAM", intervalSeconds: 30, ecsEnrichment: "auto" },
    startedAt: { monotonicMs: 0, wallMs: WALL },
    parameter: { value: "prod.local", names: ["prod.local"], readAtMs: WALL + 1_000 },
    reads: new Map(),
    errors: [],
    cycles: [],
    cycleCount: 0,
    ...extra,
  };
}

describe("buildStatus", () => {
  it("has a version and the sidecar's facts before any cycle", () => {
    const status = buildStatus(kept({ parameter: { names: [] } }), { monotonicMs: 5_000, wallMs: WALL + 5_000 });

    expect(status).toMatchObject({
      version: STATUS_VERSION,
      generatedAt: iso(WALL + 5_000),
      sidecar: { version: "1.2.3", startedAt: iso(WALL), intervalSeconds: 30, ecsEnrichment: "auto" },
      namespacesParameter: { name: "NS-PARAM", namespaces: [] },
      file: { outcome: "none", targets: 0 },
      namespaces: [],
      services: [],
      errors: [],
      cycles: [],
    });
    expect(status.summary).toEqual({
      cycles: 0,
      namespaces: 0,
      namespacesInError: 0,
      services: 0,
      servicesScraped: 0,
      servicesNotScraped: 0,
      servicesInError: 0,
      targets: 0,
      skippedEndpoints: 0,
    });
    // A plain JSON document: what JSON.stringify gives back is the same.
    expect(JSON.parse(JSON.stringify(status))).toEqual(status);
  });

  it("tells each namespace's state: ok with its staleness, in error, not found, never read", () => {
    // Prepare: prod read 2 s ago; staging fails to list its services; gone does not exist; new has never been read
    const staging = namespace({ name: "staging.local", id: "ns-staging", type: "HTTP" });
    const discovery = latest([snapshot(), snapshot({ namespace: staging, serviceId: "srv-s" })], {
      names: ["prod.local", "staging.local", "gone.local", "new.local"],
      missingNamespaces: ["gone.local"],
      lastCompleteAt: new Map([["prod.local", 8_000], ["staging.local", 1_000], ["new.local", undefined]]),
      errors: [new AwsCallError("ListServices", { namespace: "staging.local" }, { cause: new Error("AccessDenied") })],
    });

    // Act
    const status = buildStatus(kept({ latest: discovery }), { monotonicMs: 10_000, wallMs: WALL + 10_000 });

    // Assess
    const byName = Object.fromEntries(status.namespaces.map((ns) => [ns.name, ns]));
    expect(byName["prod.local"]).toMatchObject({ state: "ok", ids: ["ns-prod0000000000001"], types: ["DNS_PRIVATE"], stalenessSeconds: 2, lastCompleteReadAt: iso(WALL + 8_000), services: 1, targets: 1 });
    expect(byName["staging.local"]).toMatchObject({ state: "error", types: ["HTTP"], stalenessSeconds: 9 });
    expect(byName["staging.local"]?.error).toContain("ListServices failed (namespace=staging.local)");
    expect(byName["gone.local"]).toMatchObject({ state: "not_found", services: 0 });
    expect(byName["gone.local"]?.stalenessSeconds).toBeUndefined();
    expect(byName["new.local"]).toMatchObject({ state: "never_read", stalenessSeconds: 10 });
    expect(byName["new.local"]?.lastCompleteReadAt).toBeUndefined();
    expect(status.summary).toMatchObject({ namespaces: 4, namespacesInError: 3, services: 2, servicesScraped: 2, servicesInError: 1, targets: 2 });
  });

  it("shows the owner of a shared namespace", () => {
    const shared = namespace({ owner: "210987654321", shared: true });
    const status = buildStatus(kept({ latest: latest([snapshot({ namespace: shared })]) }), { monotonicMs: 0, wallMs: WALL });
    expect(status.namespaces[0]?.owner).toBe("210987654321");
  });

  it("lists errors failing now first, then the most recent, and cycles newest first", () => {
    const error = (operation: string, current: boolean, lastAtMs: number) => ({
      operation,
      scope: "",
      kind: "throttled",
      message: `${operation} failed`,
      hint: "lower DISCOVERY_CONCURRENCY",
      firstAtMs: 0,
      lastAtMs,
      current,
      cycles: 1,
    });
    const cycle = (startedAtMs: number, outcome: "success" | "partial") => ({ startedAtMs, outcome, durationMs: 12, apiCalls: 3, targets: 1, added: 0, removed: 0, errors: 0, file: "unchanged" });

    const status = buildStatus(
      kept({ errors: [error("Old", false, 1), error("Recent", false, 5), error("Now", true, 3)], cycles: [cycle(WALL, "success"), cycle(WALL + 30_000, "partial")], cycleCount: 7 }),
      { monotonicMs: 0, wallMs: WALL },
    );

    expect(status.errors.map((e) => e.operation)).toEqual(["Now", "Recent", "Old"]);
    expect(status.errors[0]).toMatchObject({ firstAt: iso(0), lastAt: iso(3), current: true });
    expect(status.cycles.map((c) => c.outcome)).toEqual(["partial", "success"]);
    expect(status.cycles[0]?.startedAt).toBe(iso(WALL + 30_000));
    expect(status.summary).toMatchObject({ cycles: 7, lastCycleOutcome: "partial" });
    expect(status.file.outcome).toBe("unchanged");
  });

  it("reports the namespaces parameter's failure and keeps the names last read", () => {
    const status = buildStatus(kept({ parameter: { value: "prod.local", names: ["prod.local"], readAtMs: WALL, error: "AccessDeniedException: no" } }), { monotonicMs: 0, wallMs: WALL });
    expect(status.namespacesParameter).toEqual({ name: "NS-PARAM", value: "prod.local", namespaces: ["prod.local"], readAt: iso(WALL), error: "AccessDeniedException: no" });
  });

  it("says whether the sidecar is ready and why not", () => {
    const status = buildStatus(kept({ health: { ready: false, reason: "no complete discovery yet" } }), { monotonicMs: 0, wallMs: WALL });
    expect(status.sidecar).toMatchObject({ ready: false, healthReason: "no complete discovery yet" });
  });
});
