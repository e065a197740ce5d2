import {
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  NamespaceNotFound,
  ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallCounter, noopRecorder } from "../../src/aws/call.js";
import { type AwsClients, createAwsClients, destroyAwsClients } from "../../src/aws/clients.js";
import { CloudMapApi } from "../../src/aws/cloudmap.js";
import type { Namespace, Service } from "../../src/core/model.js";
import { AwsCallError, failureKind, MalformedResponseError } from "../../src/errors.js";
import { ACCOUNT, callContext, clientConfig, REGION } from "../helpers/aws-fixtures.js";
import { answer, cutShort, emptyBody, type LoopbackEndpoint, loopbackEndpoint, useLoopbackEndpoint } from "../helpers/loopback.js";

const namespace: Namespace = { id: "ns-1", name: "prod.local", type: "DNS_PRIVATE", httpName: "prod-http" };
const service: Service = {
  id: "srv-1",
  arn: `arn:aws:servicediscovery:${REGION}:${ACCOUNT}:service/srv-1`,
  name: "web",
  namespace,
};

describe("CloudMapApi", () => {
  let mock: AwsClientStub<ServiceDiscoveryClient>;
  let api: CloudMapApi;

  beforeEach(() => {
    mock = mockClient(ServiceDiscoveryClient);
    api = new CloudMapApi(new ServiceDiscoveryClient(clientConfig), callContext());
  });

  afterEach(() => {
    mock.restore();
  });

  describe("namespacesNamed", () => {
    it("reads every page with the NAME/EQ filter sent to Cloud Map", async () => {
      // Prepare
      mock
        .on(ListNamespacesCommand, { NextToken: undefined })
        .resolves({ Namespaces: [{ Id: "ns-1", Name: "prod.local", Type: "DNS_PRIVATE" }], NextToken: "t1" })
        .on(ListNamespacesCommand, { NextToken: "t1" })
        .resolves({ Namespaces: [], NextToken: "t2" })
        .on(ListNamespacesCommand, { NextToken: "t2" })
        .resolves({ Namespaces: [{ Id: "ns-2", Name: "prod.local", Type: "HTTP" }] });

      // Act
      const found = await api.namespacesNamed("prod.local");

      // Assess
      expect(found.map((ns) => ns.id)).toEqual(["ns-1", "ns-2"]);
      const inputs = mock.commandCalls(ListNamespacesCommand).map((call) => call.args[0].input);
      expect(inputs.map((input) => input.NextToken)).toEqual([undefined, "t1", "t2"]);
      for (const input of inputs) {
        expect(input.Filters).toEqual([{ Name: "NAME", Values: ["prod.local"], Condition: "EQ" }]);
      }
    });

    it("maps DNS_PRIVATE, DNS_PUBLIC and HTTP namespaces with their HTTP name", async () => {
      mock.on(ListNamespacesCommand).resolves({
        Namespaces: [
          { Id: "ns-a", Name: "svc", Type: "DNS_PRIVATE", Properties: { HttpProperties: { HttpName: "svc-http-a" } } },
          { Id: "ns-b", Name: "svc", Type: "DNS_PUBLIC", Properties: { HttpProperties: { HttpName: "svc-http-b" } } },
          { Id: "ns-c", Name: "svc", Type: "HTTP", Properties: { HttpProperties: { HttpName: "svc-http-c" } } },
        ],
      });

      expect(await api.namespacesNamed("svc")).toEqual([
        { id: "ns-a", name: "svc", type: "DNS_PRIVATE", httpName: "svc-http-a" },
        { id: "ns-b", name: "svc", type: "DNS_PUBLIC", httpName: "svc-http-b" },
        { id: "ns-c", name: "svc", type: "HTTP", httpName: "svc-http-c" },
      ]);
    });

    it("falls back to the name when Cloud Map reports no HTTP name", async () => {
      mock.on(ListNamespacesCommand).resolves({ Namespaces: [{ Id: "ns-a", Name: "svc", Type: "DNS_PRIVATE" }] });

      expect(await api.namespacesNamed("svc")).toEqual([{ id: "ns-a", name: "svc", type: "DNS_PRIVATE", httpName: "svc" }]);
    });

    it("ignores summaries with another name (the filter is trusted, not relied on)", async () => {
      mock.on(ListNamespacesCommand).resolves({
        Namespaces: [
          { Id: "ns-a", Name: "svc", Type: "HTTP" },
          { Id: "ns-b", Name: "svc.other", Type: "HTTP" },
        ],
      });

      expect((await api.namespacesNamed("svc")).map((ns) => ns.id)).toEqual(["ns-a"]);
    });

    it("returns nothing for a name Cloud Map does not know", async () => {
      mock.on(ListNamespacesCommand).resolves({ Namespaces: [] });

      expect(await api.namespacesNamed("nope")).toEqual([]);
    });
  });

  describe("services", () => {
    it("reads every page with the NAMESPACE_ID filter", async () => {
      // Prepare
      const arn = (id: string) => `arn:aws:servicediscovery:${REGION}:${ACCOUNT}:service/${id}`;
      mock
        .on(ListServicesCommand, { NextToken: undefined })
        .resolves({ Services: [{ Id: "srv-1", Name: "web", Arn: arn("srv-1") }], NextToken: "n1" })
        .on(ListServicesCommand, { NextToken: "n1" })
        .resolves({ Services: [{ Id: "srv-2", Name: "api", Arn: arn("srv-2") }] });

      // Act
      const services = await api.services(namespace);

      // Assess
      expect(services).toEqual([
        { id: "srv-1", name: "web", arn: arn("srv-1"), namespace },
        { id: "srv-2", name: "api", arn: arn("srv-2"), namespace },
      ]);
      const inputs = mock.commandCalls(ListServicesCommand).map((call) => call.args[0].input);
      expect(inputs).toHaveLength(2);
      for (const input of inputs) {
        expect(input.Filters).toEqual([{ Name: "NAMESPACE_ID", Values: ["ns-1"], Condition: "EQ" }]);
      }
    });

    const created = new Date("2025-01-01T00:00:00Z");
    it.each([
      ["a custom health check (ECS service discovery)", { HealthCheckCustomConfig: { FailureThreshold: 1 }, CreateDate: created }, true],
      ["a Route 53 health check", { HealthCheckConfig: { Type: "HTTP" as const, ResourcePath: "/" }, CreateDate: created }, true],
      ["a health check but no CreateDate", { HealthCheckCustomConfig: {} }, true],
      ["no health check in a complete summary (Service Connect, hand-made)", { CreateDate: created }, false],
      ["no health check and no CreateDate (an older endpoint, a cut-short summary): unknown", {}, undefined],
    ])("maps a summary with %s", async (_, fields, healthChecked) => {
      // Prepare
      mock.on(ListServicesCommand).resolves({ Services: [{ Id: "srv-1", Name: "web", Arn: service.arn, ...fields }] });

      // Act
      const [listed] = await api.services(namespace);

      // Assess
      expect(listed?.healthChecked).toBe(healthChecked);
      expect(listed !== undefined && "healthChecked" in listed).toBe(healthChecked !== undefined);
    });
  });

  describe("tags", () => {
    it("reads the service's tags by ARN", async () => {
      mock.on(ListTagsForResourceCommand, { ResourceARN: service.arn }).resolves({
        Tags: [
          { Key: "METRICS_PATH", Value: "/metrics" },
          { Key: "METRICS_PORT", Value: "9100" },
        ],
      });

      expect(await api.tags(service)).toEqual({ METRICS_PATH: "/metrics", METRICS_PORT: "9100" });
    });

    it("returns no tags when Cloud Map reports none", async () => {
      mock.on(ListTagsForResourceCommand).resolves({ Tags: [] });

      expect(await api.tags(service)).toEqual({});
    });

    it("keeps a tag whose value is empty", async () => {
      mock.on(ListTagsForResourceCommand).resolves({ Tags: [{ Key: "METRICS_PATH", Value: "" }] });

      expect(await api.tags(service)).toEqual({ METRICS_PATH: "" });
    });
  });

  describe("instances", () => {
    it("sends the namespace's HTTP name, MaxResults 1000 and the health filter", async () => {
      // Prepare
      mock.on(DiscoverInstancesCommand).resolves({
        Instances: [
          { InstanceId: "task-1", Attributes: { AWS_INSTANCE_IPV4: "10.0.1.5" }, HealthStatus: "HEALTHY" },
          { InstanceId: "task-2", Attributes: { AWS_INSTANCE_IPV4: "10.0.1.6" } },
        ],
        InstancesRevision: 17,
      });

      // Act
      const result = await api.instances(service, "HEALTHY_OR_ELSE_ALL");

      // Assess
      expect(mock.commandCalls(DiscoverInstancesCommand)[0]?.args[0].input).toEqual({
        NamespaceName: "prod-http",
        ServiceName: "web",
        MaxResults: 1000,
        HealthStatus: "HEALTHY_OR_ELSE_ALL",
      });
      expect(result).toEqual({
        instances: [
          { id: "task-1", attributes: { AWS_INSTANCE_IPV4: "10.0.1.5" }, healthStatus: "HEALTHY" },
          { id: "task-2", attributes: { AWS_INSTANCE_IPV4: "10.0.1.6" } },
        ],
        revision: 17,
        atLimit: false,
      });
    });

    it("passes every attribute through unchanged (IPv6, ports, custom ones)", async () => {
      // Prepare
      const attributes = {
        AWS_INSTANCE_IPV6: "2001:db8::5",
        AWS_INSTANCE_IPV4: "10.0.1.5",
        AWS_INSTANCE_PORT: "8080",
        METRICS_PORT: " 9100 ",
        "custom/κ": "",
      };
      mock.on(DiscoverInstancesCommand).resolves({ Instances: [{ InstanceId: "task-1", Attributes: attributes }], InstancesRevision: 1 });

      // Act
      const { instances } = await api.instances(service, "ALL");

      // Assess
      expect(instances[0]?.attributes).toStrictEqual(attributes);
    });

    it("reads an instance registered without attributes as having none", async () => {
      mock.on(DiscoverInstancesCommand).resolves({ Instances: [{ InstanceId: "task-1" }], InstancesRevision: 1 });

      expect((await api.instances(service, "ALL")).instances).toEqual([{ id: "task-1", attributes: {} }]);
    });

    it.each([
      [0, false],
      [999, false],
      [1000, true],
    ])("with %i instances back, says whether the 1,000 limit was reached (%s)", async (count, atLimit) => {
      // Prepare
      const Instances = Array.from({ length: count }, (_, i) => ({ InstanceId: `task-${i}`, Attributes: { AWS_INSTANCE_IPV4: "10.0.0.1" } }));
      mock.on(DiscoverInstancesCommand).resolves({ Instances, InstancesRevision: 2 });

      // Act
      const result = await api.instances(service, "ALL");

      // Assess
      expect(result.instances).toHaveLength(count);
      expect(result.atLimit).toBe(atLimit);
    });

    it("wraps an SDK error with the operation and the service", async () => {
      mock.on(DiscoverInstancesCommand).rejects(new NamespaceNotFound({ message: "Namespace not found", $metadata: {} }));

      const error = await api.instances(service, "ALL").catch((e: unknown) => e);

      expect(error).toBeInstanceOf(AwsCallError);
      expect((error as AwsCallError).scope).toEqual({ namespace: "prod.local", service: "web" });
      expect((error as AwsCallError).cause).toBeInstanceOf(NamespaceNotFound);
    });
  });

  describe("revision", () => {
    it("asks DiscoverInstancesRevision by HTTP name and returns the revision", async () => {
      mock.on(DiscoverInstancesRevisionCommand, { NamespaceName: "prod-http", ServiceName: "web" }).resolves({ InstancesRevision: 5 });

      expect(await api.revision(service)).toBe(5);
      expect(mock.commandCalls(DiscoverInstancesRevisionCommand)).toHaveLength(1);
    });
  });

  it("records every call with its outcome", async () => {
    // Prepare
    const recorded: string[] = [];
    const counter = new CallCounter({ record: (operation, outcome) => recorded.push(`${operation}:${outcome}`) });
    const counted = new CloudMapApi(new ServiceDiscoveryClient(clientConfig), callContext(counter));
    mock.on(DiscoverInstancesRevisionCommand).resolves({ InstancesRevision: 1 });
    mock.on(ListTagsForResourceCommand).rejects(new NamespaceNotFound({ message: "gone", $metadata: {} }));

    // Act
    await counted.revision(service);
    await counted.tags(service).catch(() => undefined);

    // Assess
    expect(recorded).toEqual(["DiscoverInstancesRevision:success", "ListTagsForResource:NamespaceNotFound"]);
    expect(counter.take()).toBe(2);
  });

  describe("malformed answers", () => {
    type Call = (target: CloudMapApi) => Promise<unknown>;
    const calls: Array<[string, Call]> = [
      ["ListNamespaces", (target) => target.namespacesNamed("prod.local")],
      ["ListServices", (target) => target.services(namespace)],
      ["ListTagsForResource", (target) => target.tags(service)],
      ["DiscoverInstances", (target) => target.instances(service, "ALL")],
      ["DiscoverInstancesRevision", (target) => target.revision(service)],
    ];
    const commands = {
      ListNamespaces: ListNamespacesCommand,
      ListServices: ListServicesCommand,
      ListTagsForResource: ListTagsForResourceCommand,
      DiscoverInstances: DiscoverInstancesCommand,
      DiscoverInstancesRevision: DiscoverInstancesRevisionCommand,
    } as const;

    it.each(calls)("fails %s on an empty answer ({}) instead of reading it as nothing", async (operation, call) => {
      // Prepare
      const recorded: string[] = [];
      const counted = new CloudMapApi(new ServiceDiscoveryClient(clientConfig), callContext({ record: (op, outcome) => recorded.push(`${op}:${outcome}`) }));
      mock.on(commands[operation as keyof typeof commands] as typeof ListServicesCommand).resolves({});

      // Act
      const error = await call(counted).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(AwsCallError);
      expect((error as AwsCallError).operation).toBe(operation);
      expect((error as AwsCallError).cause).toBeInstanceOf(MalformedResponseError);
      expect(failureKind(error)).toBe("malformed");
      expect(recorded).toEqual([`${operation}:MalformedResponseError`]);
    });

    const arn = service.arn;
    it.each([
      ["ListNamespaces", "Namespaces[].Id", { Namespaces: [{ Name: "prod.local", Type: "HTTP" }] }],
      ["ListNamespaces", "Namespaces[].Name", { Namespaces: [{ Id: "ns-1", Type: "HTTP" }] }],
      ["ListServices", "Services[].Id", { Services: [{ Name: "web", Arn: arn }] }],
      ["ListServices", "Services[].Name", { Services: [{ Id: "srv-1", Arn: arn }] }],
      ["ListServices", "Services[].Arn", { Services: [{ Id: "srv-1", Name: "web" }] }],
      ["ListTagsForResource", "Tags[].Key", { Tags: [{ Value: "/metrics" }] }],
      ["ListTagsForResource", "Tags[].Value", { Tags: [{ Key: "METRICS_PATH" }] }],
      ["DiscoverInstances", "Instances[].InstanceId", { Instances: [{ Attributes: { AWS_INSTANCE_IPV4: "10.0.0.1" } }], InstancesRevision: 1 }],
      ["DiscoverInstances", "InstancesRevision", { Instances: [] }],
      // Typed as strings, yet a JSON answer can carry null or a number: never a label that is not a string.
      ["DiscoverInstances", "Instances[].Attributes.team as a string", { Instances: [{ InstanceId: "t-1", Attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", team: null } }], InstancesRevision: 1 }],
      ["ListTagsForResource", "Tags[].Value.METRICS_PORT as a string", { Tags: [{ Key: "METRICS_PORT", Value: 9100 }] }],
      ["DiscoverInstancesRevision", "InstancesRevision", {}],
    ] as const)("fails %s when an answer lacks %s, rather than dropping the item", async (operation, field, output) => {
      // Prepare
      mock.on(commands[operation] as typeof ListServicesCommand).resolves(output as object);
      const call = calls.find(([name]) => name === operation)?.[1] as Call;

      // Act
      const error = await call(api).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(AwsCallError);
      expect(((error as AwsCallError).cause as MalformedResponseError).field).toBe(field);
      expect(failureKind(error)).toBe("malformed");
    });

    it("fails the whole list when a later page is empty, never returning the pages before it", async () => {
      mock
        .on(ListServicesCommand, { NextToken: undefined })
        .resolves({ Services: [{ Id: "srv-1", Name: "web", Arn: service.arn }], NextToken: "n1" })
        .on(ListServicesCommand, { NextToken: "n1" })
        .resolves({});

      const error = await api.services(namespace).catch((e: unknown) => e);

      expect(failureKind(error)).toBe("malformed");
      expect((error as AwsCallError).scope).toEqual({ namespace: "prod.local" });
    });
  });
});

describe("CloudMapApi against a real endpoint answering 200 with a broken body", () => {
  let clients: AwsClients | undefined;
  let endpoint: LoopbackEndpoint | undefined;

  afterEach(async () => {
    if (clients) destroyAwsClients(clients);
    clients = undefined;
    vi.unstubAllEnvs();
    await endpoint?.close();
    endpoint = undefined;
  });

  const ok = {
    ListNamespaces: { Namespaces: [{ Id: "ns-1", Name: "prod.local", Type: "HTTP" }] },
    ListServices: { Services: [{ Id: "srv-1", Name: "web", Arn: service.arn }] },
    ListTagsForResource: { Tags: [{ Key: "METRICS_PATH", Value: "/metrics" }] },
    DiscoverInstances: { Instances: [{ InstanceId: "task-1", Attributes: { AWS_INSTANCE_IPV4: "10.0.0.1" } }], InstancesRevision: 3 },
    DiscoverInstancesRevision: { InstancesRevision: 3 },
  } as const;
  const calls: Record<keyof typeof ok, (target: CloudMapApi) => Promise<unknown>> = {
    ListNamespaces: (target) => target.namespacesNamed("prod.local"),
    ListServices: (target) => target.services(namespace),
    ListTagsForResource: (target) => target.tags(service),
    DiscoverInstances: (target) => target.instances(service, "ALL"),
    DiscoverInstancesRevision: (target) => target.revision(service),
  };
  const cases = (Object.keys(ok) as Array<keyof typeof ok>).flatMap((operation) => [
    [operation, "an empty body", emptyBody, "MalformedResponseError"] as const,
    [operation, "a JSON body cut short", cutShort(ok[operation]), "SyntaxError"] as const,
  ]);

  it.each(cases)("fails %s on %s (real SDK client)", async (operation, _, responder, causeName) => {
    // Prepare
    endpoint = await loopbackEndpoint([responder]);
    useLoopbackEndpoint(endpoint.url);
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "standard", endpointOverridden: true, region: REGION });
    const api = new CloudMapApi(clients.serviceDiscovery, callContext(noopRecorder, 5_000));

    // Act
    const error = await calls[operation](api).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsCallError);
    expect(endpoint.requests[0]?.target).toBe(`Route53AutoNaming_v20170314.${operation}`);
    expect(((error as AwsCallError).cause as Error).name).toBe(causeName);
    expect(failureKind(error)).toBe("malformed");
  });

  it("reads a service without a health check from the wire (CreateDate as epoch seconds, no health-check config)", async () => {
    endpoint = await loopbackEndpoint([
      answer({
        Services: [
          { Id: "srv-1", Name: "web", Arn: service.arn, Type: "HTTP", CreateDate: 1735689600.5 },
          { Id: "srv-2", Name: "api", Arn: service.arn, Type: "HTTP", CreateDate: 1735689600, HealthCheckCustomConfig: { FailureThreshold: 1 } },
        ],
      }),
    ]);
    useLoopbackEndpoint(endpoint.url);
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "standard", endpointOverridden: true, region: REGION });

    const listed = await new CloudMapApi(clients.serviceDiscovery, callContext()).services(namespace);

    expect(listed.map((s) => [s.name, s.healthChecked])).toEqual([
      ["web", false],
      ["api", true],
    ]);
  });

  it("reads the same endpoint fine when the body is whole (the cases above fail for the body only)", async () => {
    endpoint = await loopbackEndpoint([answer(ok.DiscoverInstances)]);
    useLoopbackEndpoint(endpoint.url);
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "standard", endpointOverridden: true, region: REGION });

    const result = await new CloudMapApi(clients.serviceDiscovery, callContext()).instances(service, "ALL");

    expect(result).toEqual({ instances: [{ id: "task-1", attributes: { AWS_INSTANCE_IPV4: "10.0.0.1" } }], revision: 3, atLimit: false });
  });
});
