import { describe, expect, it } from "vitest";
import { explainText, parseExplainFilter } from "../../src/cli/explain.js";
import type { ServiceStatus, Status } from "../../src/status/status.js";

function status(services: Partial<ServiceStatus>[], extra: Partial<Status> = {}): Status {
  return {
    version: 1,
    generatedAt: "2026-01-01T00:00:00.000Z",
    sidecar: { version: "0.1.0", startedAt: "2026-01-01T00:00:00.000Z", intervalSeconds: 30, ecsEnrichment: "auto" },
    namespacesParameter: { name: "NS", value: "prod.local", namespaces: ["prod.local"] },
    file: { outcome: "written", targets: 1 },
    summary: { cycles: 1, namespaces: 1, namespacesInError: 0, services: 1, servicesScraped: 1, servicesNotScraped: 0, servicesInError: 0, targets: 1, skippedEndpoints: 0 },
    namespaces: [{ name: "prod.local", state: "ok", ids: ["ns-1"], types: ["HTTP"], services: services.length, targets: 1 }],
    services: services.map((service) => ({
      namespace: "prod.local",
      name: "web",
      id: "srv-web",
      scraped: true,
      state: "scraped",
      source: "tags",
      why: "tags METRICS_PATH=/metrics",
      skips: [],
      instances: 1,
      targets: 1,
      ...service,
    })),
    errors: [],
    cycles: [],
    ...extra,
  };
}

describe("parseExplainFilter", () => {
  it("reads nothing, a namespace, or namespace/service; rejects the rest", () => {
    expect(parseExplainFilter(undefined)).toEqual({});
    expect(parseExplainFilter("prod.local")).toEqual({ namespace: "prod.local" });
    expect(parseExplainFilter("prod.local/web")).toEqual({ namespace: "prod.local", service: "web" });
    for (const bad of ["", "/web", "prod.local/", "a/b/c"]) expect(parseExplainFilter(bad), bad).toBeUndefined();
  });
});

describe("explainText", () => {
  it("exits 1 when ECS enrichment fails for a listed service, and says so", () => {
    const { text, code } = explainText(status([{ ecs: { tasks: 2, enriched: 0, error: "DescribeTasks failed (cluster=prod): AccessDeniedException" } }]), {});
    expect(code).toBe(1);
    expect(text).toContain("prod.local/web: ECS: DescribeTasks failed (cluster=prod): AccessDeniedException");
  });

  it("marks last-known-good services and lists skips in the WHY column", () => {
    const { text, code } = explainText(
      status([{ lastKnownGoodSince: "2026-01-01T00:00:00.000Z", error: "throttled", skips: [{ reason: "missing_address", detail: "instance i-1 has no address" }] }]),
      {},
    );
    expect(code).toBe(1);
    expect(text).toMatch(/scraped \(last-known-good\)\s+tags METRICS_PATH=\/metrics; \[missing_address\] instance i-1 has no address; error: throttled/);
  });

  it("exits 0 for a service that is read but not configured: that is an answer", () => {
    const { code } = explainText(status([{ scraped: false, state: "not_configured", source: "none", targets: 0 }]), { namespace: "prod.local", service: "web" });
    expect(code).toBe(0);
  });
});
