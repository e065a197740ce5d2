// The fetcher across accounts: namespaces named by ARN, a name several accounts carry, shared
// namespaces, tags a consumer may not read, and Cloud Map service attributes as a channel.
import pLimit from "p-limit";
import { beforeEach, describe, expect, it } from "vitest";
import type { CloudMapApi, ServiceInstances } from "../../src/aws/cloudmap.js";
import { type CallerAccountSource, CloudMapFetcher, type CloudMapFetcherOptions, type FetchResult } from "../../src/aws/cloudmap-fetcher.js";
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

/** cloudmap-sd's own account as the fetcher sees it: known once asked (like CallerAccount); counts the asks. */
class StubCaller implements CallerAccountSource {
  asked = 0;
  private account: string | undefined;
  constructor(private readonly answer: string | undefined) {}
  known(): string | undefined {
    return this.account;
  }
  async get(): Promise<string | undefined> {
    this.asked++;
    this.account = this.answer;
    return this.account;
  }
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
  let caller: StubCaller;

  const fetcher = (options: Partial<CloudMapFetcherOptions> = {}) =>
    new CloudMapFetcher(cloudMap.api(), {
      healthStatus: "ALL",
      tagTtlMs: TTL,
      healthRefreshMs: 60_000,
      readUntaggedInstances: true,
      serviceAttributes: "auto",
      callerAccount: caller,
      limit: pLimit(4),
      clock,
      ...options,
    });
  const services = (result: FetchResult) => result.snapshots.map((s) => `${s.service.namespace.name}/${s.service.name}`).sort();

  beforeEach(() => {
    cloudMap = new StubCloudMap();
    clock = new ManualClock(1_000_000);
    caller = new StubCaller(MONITORING);
  });

  describe("namespace names and ARNs", () => {
    it("reads the own account's namespace when another account starts sharing one of the same name, naming both ARNs", async () => {
      const own = namespaceOf("common", MONITORING);
      cloudMap.namespaces.push(own);
      cloudMap.service(own, "a", { METRICS_PATH: "/metrics" });
      const subject = fetcher();
      expect(services(await subject.refresh(["common"]))).toEqual(["common/a"]);

      const theirs = namespaceOf("common", WORKLOAD);
      cloudMap.namespaces.push(theirs);
      cloudMap.service(theirs, "b", { METRICS_PATH: "/metrics" });
      const result = await subject.refresh(["common"]);

      expect(result.ambiguousNamespaces).toEqual([{ name: "common", arns: [own.arn, theirs.arn].sort(), used: [own.arn] }]);
      expect(services(result)).toEqual(["common/a"]);
      expect(result.snapshots[0]?.service.namespace.shared).toBeUndefined();
      expect(result).toMatchObject({ errors: [], incomplete: false, unlisted: false, missingNamespaces: [] });
    });

    it("skips a name that only other accounts carry, keeping its last-known-good services, counted as not complete at start", async () => {
      const first = namespaceOf("common", WORKLOAD);
      cloudMap.namespaces.push(first);
      cloudMap.service(first, "a", { METRICS_PATH: "/metrics" });
      const subject = fetcher();
      expect(services(await subject.refresh([first.arn as string, "common"]))).toEqual(["common/a", "common/a"]);

      const second = namespaceOf("common", "333333333333");
      cloudMap.namespaces.push(second);
      cloudMap.service(second, "x", { METRICS_PATH: "/metrics" });
      const listServicesBefore = cloudMap.calls.ListServices;
      const result = await subject.refresh(["common"]);

      expect(result.ambiguousNamespaces).toEqual([{ name: "common", arns: [first.arn, second.arn].sort() }]);
      expect(services(result)).toEqual(["common/a"]);
      expect(result).toMatchObject({ errors: [], incomplete: false, unlisted: false });
      expect(cloudMap.calls.ListServices).toBe(listServicesBefore);

      const atStart = await fetcher().refresh(["common"]);
      expect(atStart.snapshots).toEqual([]);
      // Not complete, so the startup hold keeps the existing file; not unlisted, so the hold may expire.
      expect(atStart).toMatchObject({ incomplete: true, unlisted: false });
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
      expect(caller.asked).toBe(1);
    });

    it("never asks for the own account in a single-account estate (STS may have no route), nor when it is known", async () => {
      const ops = namespaceOf("ops", MONITORING);
      const web = namespaceOf("web", MONITORING);
      cloudMap.namespaces.push(ops, web);
      cloudMap.service(ops, "grafana", { METRICS_PATH: "/metrics" });
      cloudMap.service(web, "shop", {});

      const subject = fetcher();
      const result = await subject.refresh(["ops", "web"]);
      await subject.refresh(["ops", "web"]);

      expect(caller.asked).toBe(0);
      expect(services(result)).toEqual(["ops/grafana", "web/shop"]);
    });

    it("asks with ECS_ASSUME_ROLE set or a namespace listed by ARN, without waiting for the answer before ListServices", async () => {
      const theirs = namespaceOf("shop", WORKLOAD);
      cloudMap.namespaces.push(theirs);
      cloudMap.service(theirs, "web", { METRICS_PATH: "/metrics" });
      let answer: (account: string) => void = () => {};
      let account: string | undefined;
      let asked = 0;
      const slow: CallerAccountSource = {
        known: () => account,
        get: () => {
          asked++;
          return new Promise((resolve) => {
            answer = (value) => resolve((account = value));
          });
        },
      };

      const first = await fetcher({ callerAccount: slow }).refresh([theirs.arn as string]);
      expect(asked).toBe(1);
      expect(services(first)).toEqual(["shop/web"]);
      expect(first.snapshots[0]?.service.namespace.shared).toBeUndefined(); // unknown yet: counts as own

      await fetcher({ callerAccount: slow, askCallerAccount: true }).refresh(["shop"]);
      expect(asked).toBe(2);
      answer(MONITORING);
      const known = await fetcher({ callerAccount: slow }).refresh(["shop"]);
      expect(known.snapshots[0]?.service.namespace.shared).toBe(true);
      expect(asked).toBe(2);
    });

    it("treats every namespace as its own while the own account is unknown", async () => {
      cloudMap.namespaces.push(namespaceOf("shop", WORKLOAD));
      cloudMap.service(namespaceOf("shop", WORKLOAD), "web", { METRICS_PATH: "/metrics" });

      const result = await fetcher({ callerAccount: new StubCaller(undefined), askCallerAccount: true }).refresh(["shop"]);

      expect(result.snapshots[0]?.service.namespace.shared).toBeUndefined();
    });

    it("does not ask for the own account when namespaces carry no owner (an endpoint without ResourceOwner)", async () => {
      const ns = { ...namespaceOf("plain", MONITORING), owner: undefined } as Namespace;
      cloudMap.namespaces.push(ns);

      await fetcher({ askCallerAccount: false }).refresh(["plain"]);

      expect(caller.asked).toBe(0);
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

    it("are a failure for the own account's services (an IAM or SCP change): last-known-good kept, not un-scraped", async () => {
      const own = namespaceOf("ops", MONITORING);
      cloudMap.namespaces.push(own);
      cloudMap.service(own, "grafana", { METRICS_PATH: "/metrics" });
      cloudMap.service(own, "new", error("AccessDeniedException", "ListTagsForResource"));
      const subject = fetcher();
      const first = await subject.refresh(["ops"]);
      expect(first.errors.map((e) => e.operation)).toEqual(["ListTagsForResource"]);
      expect(first).toMatchObject({ incomplete: true, unreadableTags: [] });
      expect(services(first)).toEqual(["ops/grafana"]);

      cloudMap.service(own, "grafana", error("AccessDeniedException", "ListTagsForResource"));
      clock.advance(TTL);
      const denied = await subject.refresh(["ops"]);

      expect(denied.errors.map((e) => e.operation)).toEqual(["ListTagsForResource", "ListTagsForResource"]);
      expect(denied.snapshots.find((s) => s.service.name === "grafana")?.tags).toEqual({ METRICS_PATH: "/metrics" });
      expect(denied.unreadableTags).toEqual([]);
    });

    it("of another account's service that were read before are kept (a later denial is a failure, not an empty answer)", async () => {
      const theirs = namespaceOf("pay", WORKLOAD);
      cloudMap.namespaces.push(theirs);
      cloudMap.service(theirs, "api", { METRICS_PATH: "/metrics" });
      const subject = fetcher();
      await subject.refresh(["pay"]);

      cloudMap.service(theirs, "api", error("AccessDeniedException", "ListTagsForResource"));
      clock.advance(TTL);
      const denied = await subject.refresh(["pay"]);

      expect(denied.snapshots[0]?.tags).toEqual({ METRICS_PATH: "/metrics" });
      expect(denied.errors.map((e) => e.operation)).toEqual(["ListTagsForResource"]);
      expect(denied.unreadableTags).toEqual([]);
    });

    it("of a service another account created in the own namespace fall back like a shared one's", async () => {
      const own = namespaceOf("ops", MONITORING);
      cloudMap.namespaces.push(own);
      const subject = new CloudMapFetcher(
        {
          ...cloudMap.api(),
          namespacesNamed: async () => [own],
          services: async () => [{ id: "x", arn: `${own.arn}/x`, name: "x", namespace: own, createdBy: WORKLOAD }],
          tags: async () => {
            throw error("AccessDeniedException", "ListTagsForResource");
          },
        } as unknown as CloudMapApi,
        { healthStatus: "ALL", tagTtlMs: TTL, healthRefreshMs: 60_000, readUntaggedInstances: true, serviceAttributes: "auto", callerAccount: caller, limit: pLimit(4), clock },
      );

      const result = await subject.refresh(["ops"]);

      expect(result).toMatchObject({ errors: [], incomplete: false, unreadableTags: [{ service: "ops/x", channel: "docker_labels" }] });
    });

    it("of a shared service are a failure while the own account cannot be told (STS unreachable)", async () => {
      const theirs = namespaceOf("pay", WORKLOAD);
      cloudMap.namespaces.push(theirs);
      cloudMap.service(theirs, "api", error("AccessDeniedException", "ListTagsForResource"));

      const result = await fetcher({ callerAccount: new StubCaller(undefined) }).refresh(["pay"]);

      expect(result.errors.map((e) => e.operation)).toEqual(["ListTagsForResource"]);
      expect(result.incomplete).toBe(true);
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

    it("a first GetServiceAttributes that failed transiently leaves the service not known (the startup hold applies)", async () => {
      const ns = setUp();
      cloudMap.service(ns, "connect", {}, error("ThrottlingException", "GetServiceAttributes"));
      const subject = fetcher();

      const throttled = await subject.refresh(["ops"]);
      expect(throttled).toMatchObject({ errors: [], incomplete: true });

      cloudMap.service(ns, "connect", {}, { METRICS_PORT: "9100" });
      const read = await subject.refresh(["ops"]);
      expect(read.incomplete).toBe(false);
      expect(read.snapshots.find((s) => s.service.name === "connect")?.serviceAttributes).toEqual({ METRICS_PORT: "9100" });
    });

    it("a first GetServiceAttributes that was denied is an answer: the service is known without them", async () => {
      const ns = setUp();
      cloudMap.service(ns, "connect", {}, error("AccessDeniedException", "GetServiceAttributes"));

      expect((await fetcher().refresh(["ops"])).incomplete).toBe(false);
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
