// Account conditions are logged once when they appear and once when they clear, and counted.
import { describe, expect, it } from "vitest";
import type { FetchResult } from "../../src/aws/cloudmap-fetcher.js";
import type { EnrichResult } from "../../src/aws/ecs-enricher.js";
import { ManualClock } from "../../src/clock.js";
import { AwsCallError } from "../../src/errors.js";
import { Metrics } from "../../src/metrics.js";
import { AccountReport } from "../../src/runtime/account-report.js";
import { memoryLogger } from "../helpers/fixtures.js";

const fetched = (overrides: Partial<FetchResult> = {}): FetchResult => ({
  snapshots: [],
  errors: [],
  missingNamespaces: [],
  incomplete: false,
  unlisted: false,
  lastCompleteAt: new Map(),
  servicesReread: 0,
  servicesWithoutHealthCheck: 0,
  servicesAtLimit: [],
  ambiguousNamespaces: [],
  unreadableTags: [],
  attributeErrors: [],
  revisions: new Map(),
  ...overrides,
});
const enriched = (failingAccounts: string[] = []): EnrichResult => ({
  snapshots: [],
  errors: [],
  stillFailing: [],
  enabled: true,
  missingClusters: [],
  unknownTasks: 0,
  backingOff: 0,
  pending: 0,
  failingAccounts,
});
const denied = (operation: string) => new AwsCallError(operation, {}, { cause: Object.assign(new Error("no"), { name: "AccessDeniedException" }) });

describe("AccountReport", () => {
  it("says so when an ambiguous name is read as the own account's namespace", () => {
    // Prepare
    const { logger, lines } = memoryLogger();
    const subject = new AccountReport(logger, new Metrics(new ManualClock(), () => new Map()));

    // Act
    subject.update(fetched({ ambiguousNamespaces: [{ name: "apps", arns: ["arn:own", "arn:theirs"], used: ["arn:own"] }] }), enriched(), undefined);

    // Assess
    expect(lines().find((line) => line.level === "warn")).toMatchObject({ msg: "ambiguous namespace name: reading the own account's", namespace: "apps", used: ["arn:own"] });
  });

  it("logs each condition once while it lasts, its end once, and sets the gauges", async () => {
    // Prepare
    const { logger, lines } = memoryLogger();
    const metrics = new Metrics(new ManualClock(), () => new Map());
    const subject = new AccountReport(logger, metrics);
    const bad = fetched({
      ambiguousNamespaces: [{ name: "common", arns: ["arn:a", "arn:b"] }],
      unreadableTags: [{ service: "pay/api", channel: "service_attributes" }],
      attributeErrors: [denied("GetServiceAttributes"), denied("GetServiceAttributes")],
    });

    // Act
    subject.update(bad, enriched(["333333333333"]), new Error("no route to STS"));
    subject.update(bad, enriched(["333333333333"]), new Error("no route to STS"));
    const during = await metrics.registry.metrics();
    subject.update(fetched(), enriched(), undefined);

    // Assess
    const warnings = lines().filter((line) => line.level === "warn").map((line) => line.msg);
    expect(warnings).toEqual([
      "ambiguous namespace name: skipped, last-known-good targets kept",
      "the tags of this service cannot be read (AccessDenied): using another channel",
      "cannot read Cloud Map service attributes",
      "cannot tell which account cloudmap-sd runs in",
      "cannot assume the ECS role in this account",
    ]);
    expect(lines().find((line) => line.msg === "ambiguous namespace name: skipped, last-known-good targets kept")).toMatchObject({ namespace: "common", arns: ["arn:a", "arn:b"] });
    expect(lines().find((line) => line.msg === "cannot read Cloud Map service attributes")).toMatchObject({ kind: "access_denied", services: 2 });
    expect(lines().filter((line) => line.level === "info")).toHaveLength(5);
    expect(during).toContain("cloudmap_sd_ambiguous_namespaces 1");
    expect(during).toContain('cloudmap_sd_services_tags_unreadable{channel="service_attributes"} 1');
    expect(during).toContain('cloudmap_sd_service_attributes_failures{kind="access_denied"} 2');
    expect(await metrics.registry.metrics()).toContain("cloudmap_sd_ambiguous_namespaces 0");
  });
});
