// What the fetcher keeps of a namespace that goes away: nothing. A namespace dropped from the
// namespaces parameter, or one Cloud Map says no longer exists, must not come back as
// "last-known-good" the next time its lookup fails: that state is from before it went away, and
// serving it would scrape tasks that may have been gone for weeks.
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import pLimit from "p-limit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CloudMapApi } from "../../src/aws/cloudmap.js";
import { CloudMapFetcher, type FetchResult } from "../../src/aws/cloudmap-fetcher.js";
import { ManualClock } from "../../src/clock.js";
import { callContext, clientConfig, ecsAttributes, FakeCloudMap, type FakeNamespace } from "../helpers/aws-fixtures.js";

const PROD = "prod.local";
const STAGING = "staging.local";

/** "namespace/service" of every service the fetcher reports, sorted. */
function servicesOf(result: FetchResult): string[] {
  return result.snapshots.map((snapshot) => `${snapshot.service.namespace.name}/${snapshot.service.name}`).sort();
}

describe("CloudMapFetcher, when a namespace goes away", () => {
  let cloudMap: FakeCloudMap;
  let clock: ManualClock;
  let staging: FakeNamespace;

  function fetcher(): CloudMapFetcher {
    return new CloudMapFetcher(new CloudMapApi(new ServiceDiscoveryClient(clientConfig), callContext()), {
      healthStatus: "ALL",
      tagTtlMs: 300_000,
      healthRefreshMs: 60_000,
      readUntaggedInstances: false,
      limit: pLimit(4),
      clock,
    });
  }

  /** Deletes the namespace from the fake Cloud Map, as `aws servicediscovery delete-namespace` would. */
  function deleteNamespace(namespace: FakeNamespace): void {
    cloudMap.namespaces.splice(cloudMap.namespaces.indexOf(namespace), 1);
  }

  beforeEach(() => {
    clock = new ManualClock(1_000_000);
    cloudMap = new FakeCloudMap();
    const prod = cloudMap.addNamespace(PROD);
    cloudMap.addService(prod, "web", { METRICS_PATH: "/metrics" }, [{ id: "w1", attributes: ecsAttributes("10.0.1.1") }]);
    staging = cloudMap.addNamespace(STAGING, "HTTP");
    cloudMap.addService(staging, "api", { METRICS_PATH: "/metrics" }, [{ id: "s1", attributes: ecsAttributes("10.1.0.1") }]);
  });

  afterEach(() => {
    cloudMap.restore();
  });

  describe("from the namespaces parameter", () => {
    it("is forgotten: listed again while ListNamespaces fails, its old services do not come back", async () => {
      // Prepare
      const subject = fetcher();
      expect(servicesOf(await subject.refresh([PROD, STAGING]))).toEqual(["prod.local/web", "staging.local/api"]);
      expect(servicesOf(await subject.refresh([PROD]))).toEqual(["prod.local/web"]);
      clock.advance(30_000);
      cloudMap.fail("ListNamespaces");

      // Act
      const result = await subject.refresh([PROD, STAGING]);

      // Assess: prod keeps its last-known-good; staging is unknown, not what it was before it went away.
      expect(servicesOf(result)).toEqual(["prod.local/web"]);
      expect(result.errors.map((error) => error.operation)).toEqual(["ListNamespaces", "ListNamespaces"]);
      expect(result.incomplete).toBe(true);
      expect(result.lastCompleteAt.get(STAGING)).toBeUndefined();
      expect(result.lastCompleteAt.get(PROD)).toBe(1_000_000);
    });

    it("is read afresh when listed again: tags and instances, not a revision check against old state", async () => {
      // Prepare
      const subject = fetcher();
      await subject.refresh([PROD, STAGING]);
      await subject.refresh([PROD]);
      cloudMap.resetHistory();

      // Act
      const result = await subject.refresh([PROD, STAGING]);

      // Assess: prod is steady (one revision check); staging's only service is read in full.
      expect(servicesOf(result)).toEqual(["prod.local/web", "staging.local/api"]);
      expect(cloudMap.counts()).toEqual({
        ListNamespaces: 2,
        ListServices: 2,
        ListTagsForResource: 1,
        DiscoverInstances: 1,
        DiscoverInstancesRevision: 1,
      });
      expect(result.incomplete).toBe(false);
    });
  });

  describe("from Cloud Map (ListNamespaces finds none of that name)", () => {
    it("drops its services at once and reports it missing", async () => {
      // Prepare
      const subject = fetcher();
      await subject.refresh([PROD, STAGING]);
      deleteNamespace(staging);

      // Act
      const result = await subject.refresh([PROD, STAGING]);

      // Assess
      expect(servicesOf(result)).toEqual(["prod.local/web"]);
      expect(result.missingNamespaces).toEqual([STAGING]);
      expect([...result.lastCompleteAt.keys()]).toEqual([PROD]);
      expect(result.incomplete).toBe(false);
    });

    it("does not bring its services back when a later ListNamespaces fails", async () => {
      // Prepare
      const subject = fetcher();
      await subject.refresh([PROD, STAGING]);
      deleteNamespace(staging);
      await subject.refresh([PROD, STAGING]);
      cloudMap.fail("ListNamespaces");

      // Act
      const result = await subject.refresh([PROD, STAGING]);

      // Assess
      expect(servicesOf(result)).toEqual(["prod.local/web"]);
      expect(result.missingNamespaces).toEqual([]);
      expect(result.incomplete).toBe(true);
      expect(result.lastCompleteAt.get(STAGING)).toBeUndefined();
    });

    it("shows only the new services when a namespace of that name is created again", async () => {
      // Prepare
      const subject = fetcher();
      await subject.refresh([PROD, STAGING]);
      deleteNamespace(staging);
      await subject.refresh([PROD, STAGING]);
      const recreated = cloudMap.addNamespace(STAGING, "HTTP");
      cloudMap.addService(recreated, "orders", { METRICS_PATH: "/metrics" }, [{ id: "o1", attributes: ecsAttributes("10.1.0.9") }]);

      // Act
      const result = await subject.refresh([PROD, STAGING]);

      // Assess
      expect(servicesOf(result)).toEqual(["prod.local/web", "staging.local/orders"]);
      expect(result.snapshots.find((snapshot) => snapshot.service.name === "orders")?.service.namespace.id).toBe(recreated.id);
      expect(result.missingNamespaces).toEqual([]);
      expect(result.incomplete).toBe(false);
    });
  });
});
