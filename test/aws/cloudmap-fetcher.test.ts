import {
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  type HealthStatusFilter,
  ListTagsForResourceCommand,
  ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import pLimit from "p-limit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CloudMapApi } from "../../src/aws/cloudmap.js";
import { CloudMapFetcher, type CloudMapFetcherOptions, type FetchResult } from "../../src/aws/cloudmap-fetcher.js";
import { AwsCallError } from "../../src/errors.js";
import {
  clientConfig,
  ecsAttributes,
  FakeCloudMap,
  type FakeNamespace,
  type FakeService,
  callContext,
} from "../helpers/aws-fixtures.js";

const TAG_TTL_MS = 300_000;
const HEALTH_REFRESH_MS = 60_000;

/** service name → sorted instance ids, for every service the fetcher reports. */
function instancesByService(result: FetchResult): Record<string, string[]> {
  return Object.fromEntries(
    result.snapshots.map((snapshot) => [snapshot.service.name, snapshot.instances.map((instance) => instance.id).sort()]),
  );
}

function tagsOf(result: FetchResult, service: string): Readonly<Record<string, string>> | undefined {
  return result.snapshots.find((snapshot) => snapshot.service.name === service)?.tags;
}

function instance(id: string, ip: string, healthStatus: "HEALTHY" | "UNHEALTHY" = "HEALTHY") {
  return { id, attributes: ecsAttributes(ip), healthStatus };
}

describe("CloudMapFetcher", () => {
  let cloudMap: FakeCloudMap;
  let clock: number;
  let prod: FakeNamespace;
  let web: FakeService;
  let api: FakeService;
  let worker: FakeService;

  /** A fetcher over the fake, with a clock the test moves. Every option can be overridden. */
  function fetcher(options: Partial<CloudMapFetcherOptions> = {}): CloudMapFetcher {
    return new CloudMapFetcher(new CloudMapApi(new ServiceDiscoveryClient(clientConfig), callContext()), {
      healthStatus: "ALL",
      tagTtlMs: TAG_TTL_MS,
      healthRefreshMs: HEALTH_REFRESH_MS,
      readUntaggedInstances: false,
      limit: pLimit(4),
      clock: { monotonicMs: () => clock, wallMs: () => clock },
      ...options,
    });
  }

  beforeEach(() => {
    // Three services in one namespace: ListServices takes two pages of two.
    clock = 1_000_000;
    cloudMap = new FakeCloudMap();
    prod = cloudMap.addNamespace("prod.local");
    web = cloudMap.addService(prod, "web", { METRICS_PATH: "/metrics" }, [instance("w1", "10.0.1.1"), instance("w2", "10.0.1.2")]);
    api = cloudMap.addService(prod, "api", { METRICS_PORT: "9100" }, [instance("a1", "10.0.2.1")]);
    worker = cloudMap.addService(prod, "worker", { METRICS_PATH: "/stats" }, [instance("k1", "10.0.3.1")]);
  });

  afterEach(() => {
    cloudMap.restore();
  });

  describe("first refresh", () => {
    it("reads namespaces, services, tags and instances", async () => {
      // Act
      const result = await fetcher().refresh(["prod.local"]);

      // Assess
      expect(cloudMap.counts()).toEqual({
        ListNamespaces: 1,
        ListServices: 2,
        ListTagsForResource: 3,
        DiscoverInstances: 3,
        DiscoverInstancesRevision: 0,
      });
      expect(instancesByService(result)).toEqual({ web: ["w1", "w2"], api: ["a1"], worker: ["k1"] });
      expect(tagsOf(result, "api")).toEqual({ METRICS_PORT: "9100" });
      expect(result.snapshots[0]?.service.namespace).toEqual({
        id: prod.id,
        arn: `arn:aws:servicediscovery:eu-west-1:123456789012:namespace/${prod.id}`,
        name: "prod.local",
        type: "DNS_PRIVATE",
        httpName: "prod.local",
      });
      expect(result.errors).toEqual([]);
      expect(result.incomplete).toBe(false);
      expect(result.servicesReread).toBe(3);
    });
  });

  describe("snapshot identity (lets the core skip unchanged services)", () => {
    it("hands back the same snapshot objects when nothing changed, and a new one only for a changed service", async () => {
      // Prepare
      const subject = fetcher();
      const first = await subject.refresh(["prod.local"]);
      cloudMap.register(api, instance("a2", "10.0.2.2"));
      clock += TAG_TTL_MS; // tags are re-read too, but unchanged tags keep the snapshot

      // Act
      const second = await subject.refresh(["prod.local"]);

      // Assess
      const byName = (result: FetchResult, name: string) => result.snapshots.find((s) => s.service.name === name);
      expect(byName(second, "web")).toBe(byName(first, "web"));
      expect(byName(second, "worker")).toBe(byName(first, "worker"));
      expect(byName(second, "api")).not.toBe(byName(first, "api"));
      expect(byName(second, "api")?.instances.map((i) => i.id).sort()).toEqual(["a1", "a2"]);
    });
  });

  describe("revision skipping", () => {
    it("with an unchanged revision, costs one DiscoverInstancesRevision per service and nothing more", async () => {
      // Prepare
      const subject = fetcher();
      const first = await subject.refresh(["prod.local"]);
      cloudMap.resetHistory();
      clock += 30_000;

      // Act
      const second = await subject.refresh(["prod.local"]);

      // Assess
      expect(cloudMap.counts()).toEqual({
        ListNamespaces: 1,
        ListServices: 2,
        ListTagsForResource: 0,
        DiscoverInstances: 0,
        DiscoverInstancesRevision: 3,
      });
      expect(second.snapshots).toEqual(first.snapshots);
      expect(second.servicesReread).toBe(0);
      expect(second.errors).toEqual([]);
    });

    it("re-reads only the service whose revision moved", async () => {
      // Prepare
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      cloudMap.register(api, instance("a2", "10.0.2.2"));
      cloudMap.resetHistory();

      // Act
      const result = await subject.refresh(["prod.local"]);

      // Assess
      const reads = cloudMap.mock.commandCalls(DiscoverInstancesCommand).map((call) => call.args[0].input.ServiceName);
      expect(reads).toEqual(["api"]);
      expect(cloudMap.count(DiscoverInstancesRevisionCommand)).toBe(3);
      expect(instancesByService(result)).toEqual({ web: ["w1", "w2"], api: ["a1", "a2"], worker: ["k1"] });
      expect(result.servicesReread).toBe(1);
    });

    it("picks up a deregistration through the revision", async () => {
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      cloudMap.deregister(web, "w1");

      const result = await subject.refresh(["prod.local"]);

      expect(instancesByService(result).web).toEqual(["w2"]);
    });
  });

  describe("tag cache", () => {
    it("keeps tags for at least half of tagTtlMs and has read them all again once it has passed", async () => {
      // Prepare
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      web.tags = { METRICS_PATH: "/custom" };
      cloudMap.resetHistory();

      // Act
      clock += TAG_TTL_MS / 2 - 1;
      const before = await subject.refresh(["prod.local"]);
      const callsBefore = cloudMap.count(ListTagsForResourceCommand);
      clock += TAG_TTL_MS / 2 + 1;
      const after = await subject.refresh(["prod.local"]);

      // Assess
      expect(callsBefore).toBe(0);
      expect(tagsOf(before, "web")).toEqual({ METRICS_PATH: "/metrics" });
      expect(cloudMap.count(ListTagsForResourceCommand)).toBe(3);
      expect(tagsOf(after, "web")).toEqual({ METRICS_PATH: "/custom" });
    });

    it("spreads the re-reads of tags read together over different cycles", async () => {
      // Prepare: 40 services read in one cold sync.
      for (let i = 0; i < 40; i++) cloudMap.addService(prod, `extra-${i}`, { METRICS_PATH: "/metrics" }, []);
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      cloudMap.resetHistory();

      // Act: cycles every 30 s until every tag has been re-read once.
      const perCycle: number[] = [];
      for (let elapsed = 30_000; elapsed <= TAG_TTL_MS; elapsed += 30_000) {
        clock += 30_000;
        const before = cloudMap.count(ListTagsForResourceCommand);
        await subject.refresh(["prod.local"]);
        perCycle.push(cloudMap.count(ListTagsForResourceCommand) - before);
      }

      // Assess
      expect(perCycle.reduce((a, b) => a + b, 0)).toBe(43);
      expect(Math.max(...perCycle)).toBeLessThan(43 / 2);
    });

    it("reads a new service's tags and instances at once", async () => {
      // Prepare
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      cloudMap.addService(prod, "batch", { METRICS_PORT: "9200" }, [instance("b1", "10.0.4.1")]);
      cloudMap.resetHistory();

      // Act
      const result = await subject.refresh(["prod.local"]);

      // Assess
      expect(cloudMap.mock.commandCalls(ListTagsForResourceCommand).map((call) => call.args[0].input.ResourceARN)).toEqual([
        prod.services[3]?.arn,
      ]);
      expect(cloudMap.mock.commandCalls(DiscoverInstancesCommand).map((call) => call.args[0].input.ServiceName)).toEqual(["batch"]);
      expect(tagsOf(result, "batch")).toEqual({ METRICS_PORT: "9200" });
      expect(instancesByService(result).batch).toEqual(["b1"]);
    });
  });

  describe("health re-read", () => {
    it.each<HealthStatusFilter>(["ALL", "HEALTHY", "HEALTHY_OR_ELSE_ALL", "UNHEALTHY"])(
      "with HEALTH_STATUS=%s, re-reads every service within healthRefreshMs, none before half of it, even when the revision has not moved",
      async (healthStatus) => {
        // Prepare
        const subject = fetcher({ healthStatus });
        await subject.refresh(["prod.local"]);
        cloudMap.resetHistory();

        // Act
        clock += HEALTH_REFRESH_MS / 2 - 1;
        await subject.refresh(["prod.local"]);
        const readsBefore = cloudMap.count(DiscoverInstancesCommand);
        const revisionsBefore = cloudMap.count(DiscoverInstancesRevisionCommand);
        clock += HEALTH_REFRESH_MS / 2 + 1;
        await subject.refresh(["prod.local"]);

        // Assess
        expect(readsBefore).toBe(0);
        expect(revisionsBefore).toBe(3);
        expect(cloudMap.count(DiscoverInstancesCommand)).toBe(3);
      },
    );

    it.each<HealthStatusFilter>(["HEALTHY", "ALL"])(
      "with HEALTH_STATUS=%s, sees a task turning unhealthy (which does not move the revision) by the next health re-read",
      async (healthStatus) => {
        // Prepare
        const subject = fetcher({ healthStatus });
        await subject.refresh(["prod.local"]);
        const w1 = web.instances[0];
        if (w1) w1.healthStatus = "UNHEALTHY";

        // Act
        clock += HEALTH_REFRESH_MS / 2 - 1;
        const early = await subject.refresh(["prod.local"]);
        clock += HEALTH_REFRESH_MS;
        const due = await subject.refresh(["prod.local"]);

        // Assess
        const healthOf = (result: FetchResult) =>
          result.snapshots.find((snapshot) => snapshot.service.name === "web")?.instances.map((i) => `${i.id}:${i.healthStatus}`);
        expect(healthOf(early)).toEqual(["w1:HEALTHY", "w2:HEALTHY"]);
        expect(healthOf(due)).toEqual(healthStatus === "ALL" ? ["w1:UNHEALTHY", "w2:HEALTHY"] : ["w2:HEALTHY"]);
      },
    );

    it("spreads the health re-reads of services read together over different cycles", async () => {
      // Prepare: 40 services read in one cold sync.
      for (let i = 0; i < 40; i++) cloudMap.addService(prod, `extra-${i}`, { METRICS_PATH: "/metrics" }, [instance(`e${i}`, "10.0.9.1")]);
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      cloudMap.resetHistory();

      // Act: step through the second half of the refresh interval.
      const reads: number[] = [];
      for (let step = 0; step < 4; step++) {
        clock += HEALTH_REFRESH_MS / 8;
        if (step === 0) clock += HEALTH_REFRESH_MS / 2 - HEALTH_REFRESH_MS / 8;
        const before = cloudMap.count(DiscoverInstancesCommand);
        await subject.refresh(["prod.local"]);
        reads.push(cloudMap.count(DiscoverInstancesCommand) - before);
      }

      // Assess: no single cycle re-reads (nearly) everything.
      expect(Math.max(...reads)).toBeLessThan(30);
    });
  });

  describe("services at DiscoverInstances' limit", () => {
    it("reports a service whose read returned 1,000 instances, and forgets it once it shrinks", async () => {
      // Prepare
      const big = cloudMap.addService(
        prod,
        "big",
        { METRICS_PATH: "/metrics" },
        Array.from({ length: 1000 }, (_, i) => instance(`b${i}`, `10.1.${Math.floor(i / 250)}.${i % 250}`)),
      );
      const subject = fetcher();

      // Act
      const full = await subject.refresh(["prod.local"]);
      cloudMap.deregister(big, "b0");
      const shrunk = await subject.refresh(["prod.local"]);

      // Assess
      expect(full.servicesAtLimit).toEqual(["prod.local/big"]);
      expect(shrunk.servicesAtLimit).toEqual([]);
    });
  });

  describe("estate changes", () => {
    it("drops a service that disappears from ListServices", async () => {
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      cloudMap.removeService(worker);

      const result = await subject.refresh(["prod.local"]);

      expect(Object.keys(instancesByService(result)).sort()).toEqual(["api", "web"]);
    });

    it("reports a listed namespace that Cloud Map does not know, and still reads the others", async () => {
      // Act
      const result = await fetcher().refresh(["ghost.local", "prod.local"]);

      // Assess
      expect(result.missingNamespaces).toEqual(["ghost.local"]);
      expect(result.snapshots.every((snapshot) => snapshot.service.namespace.name === "prod.local")).toBe(true);
      expect(result.snapshots).toHaveLength(3);
      expect([...result.lastCompleteAt.keys()]).toEqual(["prod.local"]);
      expect(result.incomplete).toBe(false);
      expect(result.errors).toEqual([]);
    });

    it("forgets a namespace that is no longer listed", async () => {
      const staging = cloudMap.addNamespace("staging.local", "HTTP");
      cloudMap.addService(staging, "web", { METRICS_PATH: "/metrics" }, [instance("s1", "10.1.0.1")]);
      const subject = fetcher();
      await subject.refresh(["prod.local", "staging.local"]);

      const result = await subject.refresh(["prod.local"]);

      expect(result.snapshots.map((snapshot) => snapshot.service.namespace.name)).not.toContain("staging.local");
      expect([...result.lastCompleteAt.keys()]).toEqual(["prod.local"]);
    });

    it("reads an HTTP namespace (ECS Service Connect) through its HTTP name", async () => {
      // Prepare
      const connect = cloudMap.addNamespace("connect", "HTTP", "connect-http");
      cloudMap.addService(connect, "orders", { METRICS_PATH: "/metrics" }, [instance("o1", "10.2.0.1")]);

      // Act
      const result = await fetcher().refresh(["connect"]);

      // Assess
      expect(instancesByService(result)).toEqual({ orders: ["o1"] });
      expect(cloudMap.mock.commandCalls(DiscoverInstancesCommand)[0]?.args[0].input.NamespaceName).toBe("connect-http");
    });
  });

  describe("last-known-good", () => {
    it("keeps a service's instances when its DiscoverInstances fails, while another service's change is picked up", async () => {
      // Prepare
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      cloudMap.register(web, instance("w3", "10.0.1.3"));
      cloudMap.register(api, instance("a2", "10.0.2.2"));
      cloudMap.fail("DiscoverInstances", "web");

      // Act
      const result = await subject.refresh(["prod.local"]);

      // Assess
      expect(instancesByService(result)).toEqual({ web: ["w1", "w2"], api: ["a1", "a2"], worker: ["k1"] });
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toBeInstanceOf(AwsCallError);
      expect(result.errors[0]?.operation).toBe("DiscoverInstances");
      expect(result.errors[0]?.scope).toEqual({ namespace: "prod.local", service: "web" });
      expect(result.incomplete).toBe(false);
    });

    it("re-reads the failed service on the next cycle (its revision is not taken as seen)", async () => {
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      cloudMap.register(web, instance("w3", "10.0.1.3"));
      cloudMap.fail("DiscoverInstances", "web");
      await subject.refresh(["prod.local"]);
      cloudMap.heal();

      const result = await subject.refresh(["prod.local"]);

      expect(instancesByService(result).web).toEqual(["w1", "w2", "w3"]);
    });

    it("keeps a service's instances when its DiscoverInstancesRevision fails", async () => {
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      cloudMap.fail("DiscoverInstancesRevision", "api");

      const result = await subject.refresh(["prod.local"]);

      expect(instancesByService(result)).toEqual({ web: ["w1", "w2"], api: ["a1"], worker: ["k1"] });
      expect(result.errors.map((error) => error.operation)).toEqual(["DiscoverInstancesRevision"]);
    });

    it("keeps the namespace's services when ListServices fails", async () => {
      // Prepare
      const subject = fetcher();
      const first = await subject.refresh(["prod.local"]);
      cloudMap.removeService(worker);
      cloudMap.fail("ListServices");
      cloudMap.resetHistory();

      // Act
      const result = await subject.refresh(["prod.local"]);

      // Assess
      expect(result.snapshots).toEqual(first.snapshots);
      expect(result.errors.map((error) => error.operation)).toEqual(["ListServices"]);
      expect(cloudMap.counts()).toMatchObject({ ListTagsForResource: 0, DiscoverInstances: 0, DiscoverInstancesRevision: 0 });
    });

    it("keeps the namespace when ListNamespaces fails", async () => {
      const subject = fetcher();
      const first = await subject.refresh(["prod.local"]);
      cloudMap.fail("ListNamespaces");

      const result = await subject.refresh(["prod.local"]);

      expect(result.snapshots).toEqual(first.snapshots);
      expect(result.errors.map((error) => error.operation)).toEqual(["ListNamespaces"]);
      expect(result.missingNamespaces).toEqual([]);
      expect(result.incomplete).toBe(false);
    });

    it("keeps a service's previous tags when ListTagsForResource fails, and still refreshes its instances", async () => {
      // Prepare
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      web.tags = { METRICS_PATH: "/changed" };
      cloudMap.register(web, instance("w3", "10.0.1.3"));
      cloudMap.fail("ListTagsForResource", "web");
      clock += TAG_TTL_MS;

      // Act
      const result = await subject.refresh(["prod.local"]);

      // Assess
      expect(tagsOf(result, "web")).toEqual({ METRICS_PATH: "/metrics" });
      expect(instancesByService(result).web).toEqual(["w1", "w2", "w3"]);
      expect(result.errors.map((error) => error.operation)).toEqual(["ListTagsForResource"]);
    });

    it("retries failed tags on the next cycle rather than waiting for the TTL", async () => {
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      web.tags = { METRICS_PATH: "/changed" };
      cloudMap.fail("ListTagsForResource", "web");
      clock += TAG_TTL_MS;
      await subject.refresh(["prod.local"]);
      cloudMap.heal();

      clock += 1;
      const result = await subject.refresh(["prod.local"]);

      expect(tagsOf(result, "web")).toEqual({ METRICS_PATH: "/changed" });
    });
  });

  describe("completeness", () => {
    it.each([
      ["ListNamespaces", undefined],
      ["ListServices", undefined],
      ["ListTagsForResource", "api"],
      ["DiscoverInstances", "api"],
    ] as const)("is incomplete when %s fails on the very first read, complete after a later success", async (operation, key) => {
      // Prepare
      const subject = fetcher();
      cloudMap.fail(operation, key);

      // Act
      const first = await subject.refresh(["prod.local"]);
      cloudMap.heal();
      const second = await subject.refresh(["prod.local"]);

      // Assess
      expect(first.incomplete).toBe(true);
      expect(first.lastCompleteAt.get("prod.local")).toBeUndefined();
      expect(first.errors).toHaveLength(1);
      expect(second.incomplete).toBe(false);
      expect(second.errors).toEqual([]);
      expect(instancesByService(second)).toEqual({ web: ["w1", "w2"], api: ["a1"], worker: ["k1"] });
    });

    it("is complete once every part has been read, even when the parts succeeded in different cycles", async () => {
      // Prepare: throttling hits a different service each cycle, as it does after a restart under load.
      const subject = fetcher();
      cloudMap.fail("DiscoverInstances", "api");
      const first = await subject.refresh(["prod.local"]);
      cloudMap.heal();
      cloudMap.register(web, instance("w3", "10.0.1.3")); // moves web's revision, so web is read again
      cloudMap.fail("DiscoverInstances", "web");

      // Act
      const second = await subject.refresh(["prod.local"]);

      // Assess
      expect(first.incomplete).toBe(true);
      expect(second.errors).toHaveLength(1);
      expect(second.incomplete).toBe(false);
      expect(second.lastCompleteAt.get("prod.local")).toBeUndefined();
      expect(instancesByService(second)).toEqual({ web: ["w1", "w2"], api: ["a1"], worker: ["k1"] });
    });

    it("advances a namespace's lastCompleteAt only when it was read without error", async () => {
      // Prepare
      const staging = cloudMap.addNamespace("staging.local");
      const stagingWeb = cloudMap.addService(staging, "web", { METRICS_PATH: "/metrics" }, [instance("s1", "10.1.0.1")]);
      const subject = fetcher();

      // Act
      clock = 1_000;
      const first = await subject.refresh(["prod.local", "staging.local"]);
      clock = 2_000;
      cloudMap.register(stagingWeb, instance("s2", "10.1.0.2"));
      cloudMap.fail("DiscoverInstances", "web");
      const second = await subject.refresh(["prod.local", "staging.local"]);
      clock = 3_000;
      cloudMap.heal();
      const third = await subject.refresh(["prod.local", "staging.local"]);

      // Assess: "web" exists in both namespaces; only staging's revision moved, so only staging failed.
      expect(Object.fromEntries(first.lastCompleteAt)).toEqual({ "prod.local": 1_000, "staging.local": 1_000 });
      expect(Object.fromEntries(second.lastCompleteAt)).toEqual({ "prod.local": 2_000, "staging.local": 1_000 });
      expect(Object.fromEntries(third.lastCompleteAt)).toEqual({ "prod.local": 3_000, "staging.local": 3_000 });
    });
  });

  describe("which services need instances", () => {
    it("does not read instances of a service with invalid tags", async () => {
      // Prepare
      const broken = cloudMap.addService(prod, "broken", { METRICS_PORT: "abc" }, [instance("x1", "10.0.9.1")]);

      // Act
      const result = await fetcher().refresh(["prod.local"]);

      // Assess
      const reads = cloudMap.mock.commandCalls(DiscoverInstancesCommand).map((call) => call.args[0].input.ServiceName);
      expect(reads).not.toContain("broken");
      expect(reads).toHaveLength(3);
      expect(tagsOf(result, broken.name)).toEqual({ METRICS_PORT: "abc" });
      expect(instancesByService(result).broken).toEqual([]);
    });

    it.each([
      [false, 3],
      [true, 4],
    ])("reads an untagged service's instances only when readUntaggedInstances=%s", async (readUntaggedInstances, reads) => {
      cloudMap.addService(prod, "connect-svc", {}, [instance("c1", "10.0.8.1")]);

      const result = await fetcher({ readUntaggedInstances }).refresh(["prod.local"]);

      expect(cloudMap.count(DiscoverInstancesCommand)).toBe(reads);
      expect(instancesByService(result)["connect-svc"]).toEqual(readUntaggedInstances ? ["c1"] : []);
    });

    it("forgets a service's instances once its tags stop asking for a scrape", async () => {
      const subject = fetcher();
      await subject.refresh(["prod.local"]);
      api.tags = {};
      clock += TAG_TTL_MS;
      cloudMap.resetHistory();

      const result = await subject.refresh(["prod.local"]);

      expect(instancesByService(result).api).toEqual([]);
      expect(cloudMap.mock.commandCalls(DiscoverInstancesCommand).map((call) => call.args[0].input.ServiceName)).not.toContain("api");
    });
  });

  describe("concurrency", () => {
    it("never has more calls in flight than the limit, and uses all of it on a cold sync", async () => {
      // Prepare
      for (let i = 0; i < 12; i++) cloudMap.addService(prod, `svc-${i}`, { METRICS_PATH: "/metrics" }, [instance(`t${i}`, `10.9.0.${i}`)]);
      const extra = cloudMap.addNamespace("extra.local");
      for (let i = 0; i < 5; i++) cloudMap.addService(extra, `svc-${i}`, { METRICS_PATH: "/metrics" }, [instance(`e${i}`, `10.8.0.${i}`)]);
      cloudMap.latency = () => new Promise((resolve) => setImmediate(resolve));

      // Act
      const subject = fetcher({ limit: pLimit(3) });
      const cold = await subject.refresh(["prod.local", "extra.local"]);
      const coldPeak = cloudMap.maxInFlight;
      cloudMap.maxInFlight = 0;
      await subject.refresh(["prod.local", "extra.local"]);

      // Assess
      expect(cold.snapshots).toHaveLength(20);
      expect(coldPeak).toBe(3);
      expect(cloudMap.maxInFlight).toBeLessThanOrEqual(3);
      expect(cloudMap.maxInFlight).toBeGreaterThan(1);
    });
  });
});
