/**
 * The periodic health re-read against the emulator, through the real SDK client: a service without
 * a health check (ECS Service Connect, hand-made) costs only its revision probe in a steady cycle,
 * however long ago its instances were read; a service with one is re-read every health interval.
 * The clock is injected and every cycle driven by the test, so the counts are exact.
 */
import type { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import pLimit from "p-limit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../../dev/emulator/index.js";
import { CloudMapApi } from "../../src/aws/cloudmap.js";
import { CloudMapFetcher, type FetchResult } from "../../src/aws/cloudmap-fetcher.js";
import { ManualClock } from "../../src/clock.js";
import { callContext } from "../helpers/aws-fixtures.js";
import { attrs, cloudMapClient } from "../emulator/support.js";

const HEALTH_REFRESH_MS = 60_000;
const NAMESPACE = "shop";
const TAGS = { METRICS_PATH: "/metrics" };
const instances = (service: string) => [
  { id: `${service}-1`, attributes: attrs("10.0.0.1") },
  { id: `${service}-2`, attributes: attrs("10.0.0.2") },
];

describe("health re-read against the emulator (real SDK client)", () => {
  let emulator: Emulator;
  let client: ServiceDiscoveryClient;
  let clock: ManualClock;
  let fetcher: CloudMapFetcher;

  const cycle = () => fetcher.refresh([NAMESPACE]);
  const idsOf = (result: FetchResult, service: string) =>
    result.snapshots.find((snapshot) => snapshot.service.name === service)?.instances.map((instance) => instance.id);

  beforeAll(async () => {
    emulator = await startEmulator({
      topology: {
        namespaces: [
          {
            name: NAMESPACE,
            type: "HTTP",
            services: [
              { name: "connect", healthCheck: false, tags: TAGS, instances: instances("connect") },
              { name: "web", healthCheck: true, tags: TAGS, instances: instances("web") },
            ],
          },
        ],
      },
    });
    client = cloudMapClient(emulator);
  });
  afterAll(async () => {
    client.destroy();
    await emulator.close();
  });
  beforeEach(() => {
    clock = new ManualClock(1_000_000);
    fetcher = new CloudMapFetcher(new CloudMapApi(client, callContext()), {
      healthStatus: "HEALTHY",
      tagTtlMs: 3_600_000,
      healthRefreshMs: HEALTH_REFRESH_MS,
      readUntaggedInstances: false,
      limit: pLimit(4),
      clock,
    });
    emulator.calls.reset();
  });
  afterEach(() => {
    // Back to the topology above for the next test.
    emulator.state.setHealth(NAMESPACE, "web", "web-1", "HEALTHY");
    const connect = emulator.state.service(NAMESPACE, "connect");
    if (connect.healthCheck) {
      emulator.state.deleteService(NAMESPACE, "connect");
      emulator.state.createService(NAMESPACE, { name: "connect", id: connect.id, healthCheck: false, tags: TAGS, instances: instances("connect") });
    }
  });

  it("once the health interval has passed, makes only the revision probe for the service without a health check, and re-reads the one with", async () => {
    // Prepare
    const cold = await cycle();
    expect(cold.servicesWithoutHealthCheck).toBe(1);
    emulator.state.setHealth(NAMESPACE, "web", "web-1", "UNHEALTHY"); // does not move the revision
    emulator.calls.reset();

    // Act
    clock.advance(HEALTH_REFRESH_MS);
    const steady = await cycle();

    // Assess: connect's revision probe, web's full read (a due re-read skips the probe).
    expect(emulator.calls.snapshot()).toEqual({ DiscoverInstances: 1, DiscoverInstancesRevision: 1, ListNamespaces: 1, ListServices: 1 });
    expect(steady.servicesReread).toBe(1);
    expect(idsOf(steady, "web")).toEqual(["web-2"]);
    expect(idsOf(steady, "connect")).toEqual(["connect-1", "connect-2"]);
    expect(steady.errors).toEqual([]);
  });

  it("re-reads a service at once when a health check appears in ListServices, though its revision has not moved", async () => {
    // Prepare
    await cycle();
    // The emulator has no UpdateService: the service is made again under its id with the same
    // instances and revision, which is what ListServices shows once a health check is added.
    const { id, revision } = emulator.state.service(NAMESPACE, "connect");
    emulator.state.deleteService(NAMESPACE, "connect");
    const connect = emulator.state.createService(NAMESPACE, { name: "connect", id, healthCheck: true, tags: TAGS, instances: instances("connect") });
    expect(connect.revision).toBe(revision);
    emulator.state.setHealth(NAMESPACE, "connect", "connect-1", "UNHEALTHY");
    emulator.calls.reset();

    // Act
    clock.advance(1_000);
    const changed = await cycle();

    // Assess
    expect(emulator.calls.get("DiscoverInstances")).toBe(1);
    expect(idsOf(changed, "connect")).toEqual(["connect-2"]);
    expect(changed.servicesWithoutHealthCheck).toBe(0);
  });
});
