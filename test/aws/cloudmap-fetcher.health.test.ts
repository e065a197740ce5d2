// The periodic health re-read (HEALTH_REFRESH_INTERVAL) only for services whose instances' health
// can change: a service without a health check is re-read only when its revision moves.
import pLimit from "p-limit";
import { beforeEach, describe, expect, it } from "vitest";
import type { CloudMapApi, ServiceInstances } from "../../src/aws/cloudmap.js";
import { CloudMapFetcher, type FetchResult } from "../../src/aws/cloudmap-fetcher.js";
import { ManualClock } from "../../src/clock.js";
import type { Instance, Namespace, Service } from "../../src/core/model.js";
import { AwsCallError } from "../../src/errors.js";

const HEALTH_REFRESH_MS = 60_000;
const TAG_TTL_MS = 3_600_000; // far away: only instance reads are counted here
const NAMESPACE: Namespace = { id: "ns-1", name: "prod.local", type: "HTTP", httpName: "prod.local" };

interface StubService {
  /** Service.healthChecked as ListServices reports it; undefined: the summary does not say. */
  healthChecked: boolean | undefined;
  revision: number;
  health: string;
}

/** An in-memory Cloud Map behind the CloudMapApi methods the fetcher calls; counts calls per service. */
class StubCloudMap {
  readonly services = new Map<string, StubService>();
  readonly calls: string[] = [];
  failInstances = false;

  add(name: string, healthChecked: boolean | undefined): StubService {
    const service = { healthChecked, revision: 1, health: healthChecked === false ? "UNKNOWN" : "HEALTHY" };
    this.services.set(name, service);
    return service;
  }

  count(operation: string, service?: string): number {
    return this.calls.filter((call) => (service === undefined ? call.startsWith(`${operation} `) : call === `${operation} ${service}`)).length;
  }

  api(): CloudMapApi {
    const stub = (name: string) => this.services.get(name) as StubService;
    return {
      namespacesNamed: async () => [NAMESPACE],
      services: async (): Promise<Service[]> =>
        [...this.services].map(([name, { healthChecked }]) => ({
          id: `srv-${name}`,
          arn: `arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-${name}`,
          name,
          namespace: NAMESPACE,
          ...(healthChecked === undefined ? {} : { healthChecked }),
        })),
      tags: async () => ({ METRICS_PATH: "/metrics" }),
      instances: async (service: Service): Promise<ServiceInstances> => {
        this.calls.push(`DiscoverInstances ${service.name}`);
        if (this.failInstances) throw new AwsCallError("DiscoverInstances", { service: service.name }, { cause: Object.assign(new Error("slow down"), { name: "ThrottlingException" }) });
        const { revision, health } = stub(service.name);
        const instance: Instance = { id: `${service.name}-1`, attributes: { AWS_INSTANCE_IPV4: "10.0.0.1" }, healthStatus: health };
        return { instances: [instance], revision, atLimit: false };
      },
      revision: async (service: Service) => (this.calls.push(`DiscoverInstancesRevision ${service.name}`), stub(service.name).revision),
    } as unknown as CloudMapApi;
  }
}

describe("CloudMapFetcher health re-read by health check", () => {
  let cloudMap: StubCloudMap;
  let clock: ManualClock;

  const fetcher = () =>
    new CloudMapFetcher(cloudMap.api(), {
      healthStatus: "ALL",
      tagTtlMs: TAG_TTL_MS,
      healthRefreshMs: HEALTH_REFRESH_MS,
      readUntaggedInstances: false,
      limit: pLimit(4),
      clock,
    });
  const healthOf = (result: FetchResult, name: string) =>
    result.snapshots.find((snapshot) => snapshot.service.name === name)?.instances.map((instance) => instance.healthStatus);

  beforeEach(() => {
    cloudMap = new StubCloudMap();
    clock = new ManualClock(1_000_000);
  });

  it("re-reads a service without a health check only when its revision moves, however long it has been", async () => {
    // Prepare
    const connect = cloudMap.add("connect", false);
    const subject = fetcher();
    await subject.refresh(["prod.local"]);
    cloudMap.calls.length = 0;

    // Act: ten health intervals of steady cycles, then a registration.
    const steady: FetchResult[] = [];
    for (let cycle = 0; cycle < 20; cycle++) {
      clock.advance(HEALTH_REFRESH_MS / 2);
      steady.push(await subject.refresh(["prod.local"]));
    }
    const probesWhileSteady = cloudMap.count("DiscoverInstancesRevision");
    const readsWhileSteady = cloudMap.count("DiscoverInstances");
    connect.revision++;
    clock.advance(1_000);
    const moved = await subject.refresh(["prod.local"]);

    // Assess
    expect(readsWhileSteady).toBe(0);
    expect(probesWhileSteady).toBe(20);
    expect(steady.every((result) => result.servicesReread === 0 && result.servicesWithoutHealthCheck === 1)).toBe(true);
    expect(moved.servicesReread).toBe(1);
    expect(cloudMap.count("DiscoverInstances", "connect")).toBe(1);
  });

  it.each([
    ["with a health check", true],
    ["whose summary does not say (an older endpoint, a cut-short summary): as if checked", undefined],
  ])("re-reads a service %s once the health interval has passed, with an unmoved revision", async (_, healthChecked) => {
    // Prepare
    cloudMap.add("web", healthChecked);
    const subject = fetcher();
    await subject.refresh(["prod.local"]);
    cloudMap.calls.length = 0;

    // Act
    clock.advance(HEALTH_REFRESH_MS);
    const result = await subject.refresh(["prod.local"]);

    // Assess
    expect(cloudMap.count("DiscoverInstances", "web")).toBe(1);
    expect(result.servicesReread).toBe(1);
    expect(result.servicesWithoutHealthCheck).toBe(0);
  });

  it("starts re-reading at once when a health check is added (the revision does not move), then every health interval", async () => {
    // Prepare
    const connect = cloudMap.add("connect", false);
    const subject = fetcher();
    const before = await subject.refresh(["prod.local"]);
    clock.advance(1_000);
    await subject.refresh(["prod.local"]);
    cloudMap.calls.length = 0;

    // Act: UpdateService adds a Route 53 health check; the next ListServices shows it.
    connect.healthChecked = true;
    connect.health = "UNHEALTHY";
    clock.advance(1_000);
    const added = await subject.refresh(["prod.local"]);
    const readsAtOnce = cloudMap.count("DiscoverInstances");
    clock.advance(1_000);
    await subject.refresh(["prod.local"]);
    const readsNextCycle = cloudMap.count("DiscoverInstances") - readsAtOnce;
    clock.advance(HEALTH_REFRESH_MS);
    await subject.refresh(["prod.local"]);
    const readsAfterInterval = cloudMap.count("DiscoverInstances") - readsAtOnce - readsNextCycle;

    // Assess
    expect(healthOf(before, "connect")).toEqual(["UNKNOWN"]);
    expect(readsAtOnce).toBe(1);
    expect(healthOf(added, "connect")).toEqual(["UNHEALTHY"]);
    expect(added.snapshots[0]?.service.healthChecked).toBe(true);
    expect(added.servicesWithoutHealthCheck).toBe(0);
    expect(readsNextCycle).toBe(0);
    expect(readsAfterInterval).toBe(1);
  });

  it("reads once more when a health check is removed, then only on revision moves", async () => {
    // Prepare
    const web = cloudMap.add("web", true);
    const subject = fetcher();
    await subject.refresh(["prod.local"]);
    cloudMap.calls.length = 0;

    // Act
    web.healthChecked = false;
    web.health = "UNKNOWN";
    clock.advance(1_000);
    const removed = await subject.refresh(["prod.local"]);
    const readsAtOnce = cloudMap.count("DiscoverInstances");
    for (let cycle = 0; cycle < 6; cycle++) {
      clock.advance(HEALTH_REFRESH_MS / 2);
      await subject.refresh(["prod.local"]);
    }

    // Assess
    expect(readsAtOnce).toBe(1);
    expect(healthOf(removed, "web")).toEqual(["UNKNOWN"]);
    expect(cloudMap.count("DiscoverInstances")).toBe(1);
  });

  it("retries the read a health-check change asks for on the next cycle when it fails, keeping the last-known-good instances", async () => {
    // Prepare
    const connect = cloudMap.add("connect", false);
    const subject = fetcher();
    await subject.refresh(["prod.local"]);
    connect.healthChecked = true;
    connect.health = "HEALTHY";
    cloudMap.failInstances = true;

    // Act
    clock.advance(1_000);
    const failed = await subject.refresh(["prod.local"]);
    cloudMap.failInstances = false;
    cloudMap.calls.length = 0;
    clock.advance(1_000);
    const retried = await subject.refresh(["prod.local"]);

    // Assess
    expect(failed.errors.map((error) => error.operation)).toEqual(["DiscoverInstances"]);
    expect(healthOf(failed, "connect")).toEqual(["UNKNOWN"]);
    expect(cloudMap.count("DiscoverInstances")).toBe(1);
    expect(healthOf(retried, "connect")).toEqual(["HEALTHY"]);
  });
});
