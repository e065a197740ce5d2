import { describe, expect, it } from "vitest";
import { buildTargetGroups, targetKey } from "../../src/core/target-groups.js";
import type { ServiceSnapshot } from "../../src/core/model.js";
import { AwsCallError } from "../../src/errors.js";
import { describeServices, type LatestDiscovery, SKIPS_LISTED, serviceKey, targetsPerService } from "../../src/status/describe-services.js";
import { ecsTask, instance, namespace, snapshot, taskDefinition } from "../helpers/fixtures.js";

const iso = (ms: number) => new Date(ms).toISOString();

/** What a cycle would hand over for these snapshots: the real builder's keys and skips. */
function discovery(snapshots: ServiceSnapshot[], extra: Partial<LatestDiscovery> = {}): LatestDiscovery {
  const { groups, skips } = buildTargetGroups(snapshots);
  return {
    names: ["prod.local"],
    snapshots,
    skips,
    keys: groups.map(targetKey),
    missingNamespaces: [],
    lastCompleteAt: new Map([["prod.local", 0]]),
    errors: [],
    ...extra,
  };
}

const describeOne = (snapshots: ServiceSnapshot[], extra: Partial<LatestDiscovery> = {}, ecsEnrichment = "auto", reads = new Map()) =>
  describeServices(discovery(snapshots, extra), reads, { ecsEnrichment }, iso);

describe("describeServices", () => {
  it("says a tagged service is scraped through its tags, with its counts", () => {
    // Act
    const [web] = describeOne([snapshot({ tags: { METRICS_PATH: "/metrics", METRICS_PORT: "9100" }, instances: [instance("t1"), instance("t2", { AWS_INSTANCE_IPV4: "10.0.1.6" })] })]);

    // Assess
    expect(web).toMatchObject({
      namespace: "prod.local",
      name: "web",
      scraped: true,
      state: "scraped",
      source: "tags",
      instances: 2,
      targets: 2,
      why: "tags METRICS_PATH=/metrics, METRICS_PORT=9100",
      skips: [],
    });
  });

  it("says why an invalid tag skips a service, with the offending value", () => {
    const [web] = describeOne([snapshot({ tags: { METRICS_PORT: "abc" } })]);

    expect(web).toMatchObject({ scraped: false, state: "skipped", source: "tags", targets: 0 });
    // The fetcher does not read the instances of a service that cannot be scraped: unknown, not 0.
    expect(web?.instances).toBeUndefined();
    expect(web?.why).toContain("invalid_metrics_port");
    expect(web?.why).toContain('"abc"');
    expect(web?.skips).toEqual([{ reason: "invalid_metrics_port", detail: 'port "abc" is not an integer in 1..65535' }]);
  });

  it("lists a few skips of a service and counts the rest", () => {
    const instances = Array.from({ length: SKIPS_LISTED + 3 }, (_, i) => instance(`t${i}`, { AWS_INSTANCE_IPV4: undefined }));
    const [web] = describeOne([snapshot({ instances })]);

    expect(web?.state).toBe("skipped");
    expect(web?.skips).toHaveLength(SKIPS_LISTED);
    expect(web?.skips[0]?.reason).toBe("missing_address");
    expect(web?.moreSkips).toBe(3);
  });

  it("says a service is partly skipped when some of its instances give targets and others not", () => {
    const [web] = describeOne([snapshot({ instances: [instance("t1"), instance("t2", { AWS_INSTANCE_IPV4: undefined })] })]);

    expect(web).toMatchObject({ scraped: true, state: "partly_skipped", targets: 1 });
    expect(web?.why).toContain("missing_address");
  });

  it("names the containers of a service scraped through docker labels", () => {
    const definition = taskDefinition("pay", 3, [{ name: "payments", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9200" } }, { name: "envoy", dockerLabels: {} }]);
    const [pay] = describeOne([
      snapshot({ serviceName: "payments", tags: {}, ecsTasks: [ecsTask("task-1", { taskDefinitionArn: definition.arn })], ecsTaskDefinitions: [definition] }),
    ]);

    expect(pay).toMatchObject({ scraped: true, source: "docker_labels", targets: 1, ecs: { tasks: 1, enriched: 1 } });
    expect(pay?.why).toBe("docker label PROMETHEUS_EXPORTER_PORT on payments (pay:3)");
  });

  it("says an untagged service without docker labels is not configured, and why with ECS_ENRICHMENT=off", () => {
    const definition = taskDefinition("db", 1, [{ name: "db", dockerLabels: {} }]);
    const untagged = snapshot({ serviceName: "db", tags: {}, ecsTasks: [ecsTask("task-1", { taskDefinitionArn: definition.arn })], ecsTaskDefinitions: [definition] });

    const [on] = describeOne([untagged]);
    const [off] = describeOne([snapshot({ serviceName: "db", tags: {} })], {}, "off");

    expect(on).toMatchObject({ scraped: false, state: "not_configured", source: "none" });
    expect(on?.why).toContain("no container with a PROMETHEUS_EXPORTER_PORT docker label");
    expect(off).toMatchObject({ state: "not_configured" });
    expect(off?.why).toContain("ECS_ENRICHMENT=off");
    expect(off?.ecs).toBeUndefined();
    expect(off?.instances).toBeUndefined();
    expect(on?.instances).toBe(1);
  });

  it("says an untagged service waits for ECS, with the ECS error, while its tasks are not described", () => {
    // Prepare: DescribeTasks fails for the cluster of its instances
    const failure = new AwsCallError("DescribeTasks", { cluster: "prod" }, { cause: Object.assign(new Error("denied"), { name: "AccessDeniedException" }) });

    // Act
    const [pay] = describeOne([snapshot({ serviceName: "payments", tags: {}, ecsTasks: [], ecsTaskDefinitions: [] })], { errors: [failure] });

    // Assess
    expect(pay).toMatchObject({ scraped: false, state: "waiting_for_ecs", ecs: { tasks: 1, enriched: 0 } });
    expect(pay?.ecs?.error).toContain("AccessDeniedException: denied");
    expect(pay?.why).toContain("DescribeTasks failed (cluster=prod)");
  });

  it("finds the ECS error of another account's service under that account's cluster, not under a same-named own cluster", () => {
    // Prepare: the workload account's "prod" cannot be described (AssumeRole denied); the own "prod" is fine
    const shared = namespace({ name: "shop.local", owner: "333333333333", shared: true });
    const failure = new AwsCallError("DescribeTasks", { cluster: "333333333333:prod" }, { cause: Object.assign(new Error("cannot assume"), { name: "AccessDenied" }) });

    // Act
    const [shop] = describeOne([snapshot({ serviceName: "web", tags: {}, namespace: shared, ecsTasks: [], ecsTaskDefinitions: [] })], {
      names: ["shop.local"],
      errors: [failure],
    });

    // Assess
    expect(shop).toMatchObject({ state: "waiting_for_ecs" });
    expect(shop?.ecs?.error).toContain("cannot assume");
  });

  it("reports the error of a service, and of its namespace, with when it was last read and since when it is last-known-good", () => {
    const ns2 = namespace({ name: "staging.local", id: "ns-staging" });
    const failed = new AwsCallError("DiscoverInstances", { namespace: "prod.local", service: "web" }, { cause: new Error("boom") });
    const listing = new AwsCallError("ListServices", { namespace: "staging.local" }, { cause: new Error("slow") });
    const reads = new Map([
      [serviceKey("prod.local", "web"), { lastReadAtMs: 1_000, failingSinceMs: 5_000 }],
      [serviceKey("prod.local", "api"), { lastReadAtMs: 9_000 }],
    ]);

    const services = describeOne(
      [snapshot({ serviceName: "web" }), snapshot({ serviceName: "api" }), snapshot({ serviceName: "web", namespace: ns2, serviceId: "srv-web2" })],
      { errors: [failed, listing] },
      "auto",
      reads,
    );

    const [api, web, staging] = services;
    expect(web).toMatchObject({ name: "web", scraped: true, lastReadAt: iso(1_000), lastKnownGoodSince: iso(5_000) });
    expect(web?.error).toContain("DiscoverInstances failed (namespace=prod.local, service=web): Error: boom");
    expect(api).toMatchObject({ name: "api", lastReadAt: iso(9_000) });
    expect(api?.error).toBeUndefined();
    expect(staging?.namespace).toBe("staging.local");
    expect(staging?.error).toContain("ListServices failed (namespace=staging.local)");
  });

  it("says a configured service without instances has none", () => {
    const [web] = describeOne([snapshot({ instances: [] })]);
    expect(web).toMatchObject({ scraped: false, state: "no_instances", source: "tags", instances: 0 });
  });

  it("reads the revision when the discovery reports it", () => {
    const [web] = describeOne([snapshot()], { revisions: new Map([["srv-web", 42]]) });
    expect(web?.revision).toBe(42);
  });

  it("sorts by namespace, then service", () => {
    const services = describeOne([snapshot({ serviceName: "b" }), snapshot({ serviceName: "a" }), snapshot({ serviceName: "c", namespace: namespace({ name: "a.local" }) })]);
    expect(services.map((s) => `${s.namespace}/${s.name}`)).toEqual(["a.local/c", "prod.local/a", "prod.local/b"]);
  });
});

describe("targetsPerService", () => {
  it("counts targets by the service id at the end of each key", () => {
    const keys = ["10.0.0.1:80 http /metrics srv-a", "10.0.0.2:80 http /metrics srv-a", "[2001:db8::5]:80 https /m srv-b"];
    expect(targetsPerService(keys)).toEqual(new Map([["srv-a", 2], ["srv-b", 1]]));
  });
});
