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
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CallCounter } from "../../src/aws/call.js";
import { CloudMapApi } from "../../src/aws/cloudmap.js";
import type { Namespace, Service } from "../../src/core/model.js";
import { AwsCallError } from "../../src/errors.js";
import { ACCOUNT, callContext, clientConfig, REGION } from "../helpers/aws-fixtures.js";

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

    it("ignores summaries with another name or without an id (the filter is trusted, not relied on)", async () => {
      mock.on(ListNamespacesCommand).resolves({
        Namespaces: [
          { Id: "ns-a", Name: "svc", Type: "HTTP" },
          { Id: "ns-b", Name: "svc.other", Type: "HTTP" },
          { Name: "svc", Type: "HTTP" },
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
        .resolves({ Services: [{ Id: "srv-2", Name: "api", Arn: arn("srv-2") }, { Id: "srv-3", Name: "no-arn" }] });

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
      mock.on(ListTagsForResourceCommand).resolves({});

      expect(await api.tags(service)).toEqual({});
    });
  });

  describe("instances", () => {
    it("sends the namespace's HTTP name, MaxResults 1000 and the health filter", async () => {
      // Prepare
      mock.on(DiscoverInstancesCommand).resolves({
        Instances: [
          { InstanceId: "task-1", Attributes: { AWS_INSTANCE_IPV4: "10.0.1.5" }, HealthStatus: "HEALTHY" },
          { InstanceId: "task-2", Attributes: { AWS_INSTANCE_IPV4: "10.0.1.6" } },
          { Attributes: { AWS_INSTANCE_IPV4: "10.0.1.7" } },
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
      });
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
});
