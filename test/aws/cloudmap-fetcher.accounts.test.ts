// The fetcher across accounts: namespaces named by ARN, a name several accounts carry, shared
// namespaces, tags a consumer may not read, and Cloud Map service attributes as a channel.
import pLimit from "p-limit";
import { beforeEach, describe, expect, it } from "vitest";
import type { CloudMapApi, ServiceInstances } from "../../src/aws/cloudmap.js";
import { CloudMapFetcher, type CloudMapFetcherOptions, type FetchResult } from "../../src/aws/cloudmap-fetcher.js";
import { ManualClock } from "../../src/clock.js";
import type { Namespace, Service } from "../../src/core/model.js";
import { AwsCallError } from "../../src/errors.js";

const MONITORING = "111111111111";
const WORKLOAD = "222222222222";
const TTL = 300_000;

function error(name: string, operation: string): AwsCallError {
  const cause = Object.assign(new Error(`${name} for ${operation}`), { name });
  return new AwsCallError(operation, {}, { cause });
}

function namespaceOf(name: string, owner: string): Namespace {
  const id = `ns-${owner}-${name}`;
  return { id, name, type: "HTTP", httpName: name, owner, arn: `arn:aws:servicediscovery:eu-west-1:${owner}:namespace/${id}` };
}

/** An in-memory Cloud Map behind the CloudMapApi methods the fetcher calls; counts calls; fails on demand. */
class StubCloudMap {
  readonly namespaces: Namespace[] = [];
  readonly tags = new Map<string, Record<string, string> | Error>();
  readonly attributes = new Map<string, Record<string, string> | Error>();
  readonly calls: Record<string, number> = {};

  service(namespace: Namespace, name: string, tags: Record<string, string> | Error, attributes: Record<string, string> | Error = {}): void {
    const arn = `${namespace.arn}/${name}`;
    this.tags.set(arn, tags);
    this.attributes.set(arn, attributes);
  }

  api(): CloudMapApi {
    const count = (op: string) => {
      this.calls[op] = (this.calls[op] ?? 0) + 1;
    };
    const answer = <T>(value: T | Error | undefined): T => {
      if (value instanceof Error) throw value;
      return value as T;
    };
    return {
      namespacesNamed: async (name: string) => (count("ListNamespaces"), this.namespaces.filter((ns) => ns.name === name)),
      namespaceByArn: async (arn: string) => (count("GetNamespace"), this.namespaces.find((ns) => ns.arn === arn)),
      services: async (namespace: Namespace): Promise<Service[]> => {
        count("ListServices");
        return [...this.tags.keys()]
          .filter((arn) => arn.startsWith(`${namespace.arn}/`))
          .map((arn) => ({ id: arn.slice(arn.lastIndexOf("/") + 1), arn, name: arn.slice(arn.lastIndexOf("/") + 1), namespace, createdBy: namespace.owner as string }));
      },
      tags: async (service: Service) => (count("ListTagsForResource"), answer(this.tags.get(service.arn))),
      serviceAttributes: async (service: Service) => (count("GetServiceAttributes"), answer(this.attributes.get(service.arn))),
      instances: async (): Promise<ServiceInstances> => (count("DiscoverInstances"), { instances: [{ id: "i-1", attributes: { AWS_INSTANCE_IPV4: "10.0.0.1" } }], revision: 1, atLimit: false }),
      revision: async () => (count("DiscoverInstancesRevision"), 1),
    } as unknown as CloudMapApi;
  }
}

describe("CloudMapFetcher across accounts", () => {
  let cloudMap: StubCloudMap;
  let clock: ManualClock;
  let callerAsked: number;

  const fetcher = (options: Partial<CloudMapFetcherOptions> = {}) =>
    new CloudMapFetcher(cloudMap.api(), {
      healthStatus: "ALL",
      tagTtlMs: TTL,
      healthRefreshMs: 60_000,
      readUntaggedInstances: true,
      serviceAttributes: "auto",
      callerAccount: async () => {
        callerAsked++;
        return MONITORING;
      },
      limit: pLimit(4),
      clock,
      ...options,
    });
  const services = (result: FetchResult) => result.snapshots.map((s) => `${s.service.namespace.name}/${s.service.name}`).sort();

  beforeEach(() => {
    cloudMap = new StubCloudMap();
    clock = new ManualClock(1_000_000);
    callerAsked = 0;
  });

  describe("namespace names and ARNs", () => {
    it("skips a name that namespaces of two accounts carry, naming both ARNs, without failing the cycle", async () => {
      const own = namespaceOf("common", MONITORING);
      const theirs = namespaceOf("common", WORKLOAD);
      cloudMap.namespaces.push(own, theirs);
      cloudMap.service(own, "a", { METRICS_PATH: "/metrics" });

      const result = await fetcher().refresh(["common"]);

      expect(result.ambiguousNamespaces).toEqual([{ name: "common", arns: [own.arn, theirs.arn].sort() }]);
      expect(result.snapshots).toEqual([]);
      expect(result).toMatchObject({ errors: [], incomplete: false, unlisted: false, missingNamespaces: [] });
      expect(cloudMap.calls.ListServices).toBeUndefined();
    });

    it("keeps two namespaces of one name and one account (DNS namespaces in two VPCs), as before", async () => {
      cloudMap.namespaces.push(namespaceOf("dup", MONITORING), { ...namespaceOf("dup", MONITORING), id: "ns-other", arn: "arn:aws:servicediscovery:eu-west-1:111111111111:namespace/ns-other" });

      expect((await fetcher().refresh(["dup"])).ambiguousNamespaces).toEqual([]);
    });

    it("reads a namespace named by its ARN with GetNamespace; an unknown ARN is a missing namespace", async () => {
      const theirs = namespaceOf("common", WORKLOAD);
      cloudMap.namespaces.push(namespaceOf("common", MONITORING), theirs);
      cloudMap.service(theirs, "b", { METRICS_PATH: "/metrics" });
      const unknown = "arn:aws:servicediscovery:eu-west-1:222222222222:namespace/ns-gone";

      const result = await fetcher().refresh([theirs.arn as string, unknown]);

      expect(services(result)).toEqual(["common/b"]);
      expect(result.missingNamespaces).toEqual([unknown]);
      expect(cloudMap.calls).toMatchObject({ GetNamespace: 2 });
      expect(cloudMap.calls.ListNamespaces).toBeUndefined();
    });
  });

  describe("shared namespaces", () => {
    it("marks a namespace another account owns as shared, and asks for the own account only once namespaces have owners", async () => {
      const theirs = namespaceOf("shop", WORKLOAD);
      const own = namespaceOf("ops", MONITORING);
      cloudMap.namespaces.push(theirs, own);
      cloudMap.service(theirs, "web", { METRICS_PATH: "/metrics" });
      cloudMap.service(own, "grafana", { METRICS_PATH: "/metrics" });

      const result = await fetcher().refresh(["shop", "ops"]);

      const shared = Object.fromEntries(result.snapshots.map((s) => [s.service.name, s.service.namespace.shared]));
      expect(shared).toEqual({ web: true, grafana: undefined });
      expect(callerAsked).toBe(2); // once per listed name (the CallerAccount caches the answer itself)
    });

    it("treats every namespace as its own while the own account is unknown", async () => {
      cloudMap.namespaces.push(namespaceOf("shop", WORKLOAD));
      cloudMap.service(namespaceOf("shop", WORKLOAD), "web", { METRICS_PATH: "/metrics" });

      const result = await fetcher({ callerAccount: async () => undefined }).refresh(["shop"]);

      expect(result.snapshots[0]?.service.namespace.shared).toBeUndefined();
    });

    it("does not ask for the own account when namespaces carry no owner (an endpoint without ResourceOwner)", async () => {
      const ns = { ...namespaceOf("plain", MONITORING), owner: undefined } as Namespace;
      cloudMap.namespaces.push(ns);

      await fetcher().refresh(["plain"]);

      expect(callerAsked).toBe(0);
    });
  });

  describe("tags a consumer may not read", () => {
    it("fall back to the service attributes, without failing the cycle, and say which channel each service uses", async () => {
      const theirs = namespaceOf("pay", WORKLOAD);
      cloudMap.namespaces.push(theirs);
      cloudMap.service(theirs, "api", error("AccessDeniedException", "ListTagsForResource"), { METRICS_PORT: "9100" });
      cloudMap.service(theirs, "worker", error("AccessDeniedException", "ListTagsForResource"));

      const result = await fetcher().refresh(["pay"]);

      expect(result).toMatchObject({ errors: [], incomplete: false });
      const api = result.snapshots.find((s) => s.service.name === "api");
      expect(api).toMatchObject({ tags: {}, serviceAttributes: { METRICS_PORT: "9100" } });
      expect(result.unreadableTags).toEqual([
        { service: "pay/api", channel: "service_attributes" },
        { service: "pay/worker", channel: "docker_labels" },
      ]);
    });

    it("still fail the cycle for any other error (last-known-good kept)", async () => {
      const theirs = namespaceOf("pay", WORKLOAD);
      cloudMap.namespaces.push(theirs);
      cloudMap.service(theirs, "api", error("ThrottlingException", "ListTagsForResource"));

      const result = await fetcher().refresh(["pay"]);

      expect(result.errors.map((e) => e.operation)).toEqual(["ListTagsForResource"]);
      expect(result.incomplete).toBe(true);
    });
  });

  describe("service attributes (SERVICE_ATTRIBUTES)", () => {
    const setUp = () => {
      const ns = namespaceOf("ops", MONITORING);
      cloudMap.namespaces.push(ns);
      cloudMap.service(ns, "tagged", { METRICS_PATH: "/metrics" }, { METRICS_PORT: "9999" });
      cloudMap.service(ns, "connect", {}, { METRICS_PORT: "9100" });
      return ns;
    };

    it("auto: reads them only for services whose tags name no endpoint, on the tags' schedule", async () => {
      setUp();
      const subject = fetcher();

      const first = await subject.refresh(["ops"]);
      await subject.refresh(["ops"]);

      expect(cloudMap.calls.GetServiceAttributes).toBe(1);
      expect(first.snapshots.find((s) => s.service.name === "connect")?.serviceAttributes).toEqual({ METRICS_PORT: "9100" });
      expect(first.snapshots.find((s) => s.service.name === "tagged")?.serviceAttributes).toBeUndefined();

      clock.advance(TTL);
      await subject.refresh(["ops"]);
      expect(cloudMap.calls.GetServiceAttributes).toBe(2);
    });

    it("on: reads them for every service; off: never", async () => {
      setUp();
      await fetcher({ serviceAttributes: "on" }).refresh(["ops"]);
      expect(cloudMap.calls.GetServiceAttributes).toBe(2);

      cloudMap.calls.GetServiceAttributes = 0;
      const off = await fetcher({ serviceAttributes: "off" }).refresh(["ops"]);
      expect(cloudMap.calls.GetServiceAttributes).toBe(0);
      expect(off.snapshots.every((s) => s.serviceAttributes === undefined)).toBe(true);
    });

    it("a denied or unsupported GetServiceAttributes fails that service's attributes only, and waits for the next refresh", async () => {
      const ns = setUp();
      cloudMap.service(ns, "connect", {}, error("AccessDeniedException", "GetServiceAttributes"));
      const subject = fetcher();

      const first = await subject.refresh(["ops"]);
      const second = await subject.refresh(["ops"]);

      expect(first).toMatchObject({ errors: [], incomplete: false });
      expect(first.attributeErrors.map((e) => e.operation)).toEqual(["GetServiceAttributes"]);
      expect(services(first)).toEqual(["ops/connect", "ops/tagged"]);
      expect(second.attributeErrors).toEqual([]);
      expect(cloudMap.calls.GetServiceAttributes).toBe(1);
    });

    it("a throttled GetServiceAttributes is asked again next cycle, keeping what was read before", async () => {
      const ns = setUp();
      const subject = fetcher();
      await subject.refresh(["ops"]);
      clock.advance(TTL);
      cloudMap.service(ns, "connect", {}, error("ThrottlingException", "GetServiceAttributes"));

      const throttled = await subject.refresh(["ops"]);
      const again = await subject.refresh(["ops"]);

      expect(throttled.snapshots.find((s) => s.service.name === "connect")?.serviceAttributes).toEqual({ METRICS_PORT: "9100" });
      expect(again.attributeErrors).toHaveLength(1);
      expect(cloudMap.calls.GetServiceAttributes).toBe(3);
    });
  });
});
