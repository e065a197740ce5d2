import {
  DeregisterInstanceCommand,
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  GetNamespaceCommand,
  GetOperationCommand,
  GetServiceCommand,
  InstanceNotFound,
  InvalidInput,
  ListInstancesCommand,
  ListNamespacesCommand,
  ListTagsForResourceCommand,
  NamespaceNotFound,
  RegisterInstanceCommand,
  ResourceNotFoundException,
  ServiceNotFound,
  type NamespaceFilter,
  type ServiceDiscoveryClient,
  type ServiceSummary,
  paginateListInstances,
  paginateListNamespaces,
  paginateListServices,
} from "@aws-sdk/client-servicediscovery";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../../dev/emulator/index.js";
import { attrs, cloudMapClient, rejection, smallTopology } from "./support.js";

let emu: Emulator;
let client: ServiceDiscoveryClient;

beforeAll(async () => {
  // Page size 2 forces several pages out of every list below.
  emu = await startEmulator({ topology: smallTopology(), pageSize: 2 });
  client = cloudMapClient(emu);
});

afterAll(async () => {
  client.destroy();
  await emu.close();
});

async function namespaceNames(filters?: NamespaceFilter[]): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListNamespaces({ client }, { Filters: filters })) {
    names.push(...(page.Namespaces ?? []).map((ns) => ns.Name ?? ""));
  }
  return names;
}

async function namespaceId(name: string): Promise<string> {
  const [page] = (await client.send(new ListNamespacesCommand({ Filters: [{ Name: "NAME", Values: [name] }] }))).Namespaces ?? [];
  if (page?.Id === undefined) throw new Error(`no namespace ${name}`);
  return page.Id;
}

async function serviceId(namespace: string, service: string): Promise<string> {
  for await (const page of paginateListServices(
    { client },
    { Filters: [{ Name: "NAMESPACE_ID", Values: [await namespaceId(namespace)], Condition: "EQ" }] },
  )) {
    const found = page.Services?.find((s) => s.Name === service);
    if (found?.Id !== undefined) return found.Id;
  }
  throw new Error(`no service ${namespace}/${service}`);
}

function discover(ServiceName: string, extra: Partial<ConstructorParameters<typeof DiscoverInstancesCommand>[0]> = {}) {
  return client.send(new DiscoverInstancesCommand({ NamespaceName: "alpha", ServiceName, ...extra }));
}

async function discoveredIds(ServiceName: string, extra: Parameters<typeof discover>[1] = {}): Promise<string[]> {
  return ((await discover(ServiceName, extra)).Instances ?? []).map((i) => i.InstanceId ?? "");
}

describe("ListNamespaces", () => {
  it("pages through every namespace with the SDK paginator", async () => {
    // Prepare
    emu.calls.reset();
    // Act
    const names = await namespaceNames();
    // Assess
    expect(names).toEqual(["alpha", "beta", "gamma", "alphabet"]);
    expect(emu.calls.get("ListNamespaces")).toBe(2);
  });

  it("returns the summary fields discovery code reads, with CreateDate as a Date", async () => {
    const { Namespaces = [] } = await client.send(new ListNamespacesCommand({ Filters: [{ Name: "NAME", Values: ["alphabet"] }] }));
    expect(Namespaces).toHaveLength(1);
    const [ns] = Namespaces;
    expect(ns).toMatchObject({
      Name: "alphabet",
      Type: "HTTP",
      ServiceCount: 0,
      Properties: { HttpProperties: { HttpName: "alphabet-http" } },
    });
    expect(ns?.Id).toMatch(/^ns-[0-9a-f]{16}$/);
    expect(ns?.Arn).toBe(`arn:aws:servicediscovery:us-east-1:123456789012:namespace/${ns?.Id}`);
    expect(ns?.CreateDate).toBeInstanceOf(Date);
  });

  it.each([
    [[{ Name: "TYPE", Values: ["HTTP"] }], ["beta", "alphabet"]],
    [[{ Name: "TYPE", Values: ["HTTP", "DNS_PUBLIC"], Condition: "IN" }], ["beta", "gamma", "alphabet"]],
    [[{ Name: "NAME", Values: ["alpha"], Condition: "BEGINS_WITH" }], ["alpha", "alphabet"]],
    [[{ Name: "HTTP_NAME", Values: ["alphabet-http"], Condition: "EQ" }], ["alphabet"]],
    [[{ Name: "NAME", Values: ["alpha"], Condition: "BEGINS_WITH" }, { Name: "TYPE", Values: ["HTTP"] }], ["alphabet"]],
  ] as [NamespaceFilter[], string[]][])("filters %j", async (filters, expected) => {
    expect(await namespaceNames(filters)).toEqual(expected);
  });

  it.each([
    [{ Name: "NAME", Values: ["a", "b"], Condition: "IN" }],
    [{ Name: "TYPE", Values: ["HTTP", "DNS_PUBLIC"], Condition: "EQ" }],
    [{ Name: "TYPE", Values: ["HTTP"], Condition: "BETWEEN" }],
  ] as NamespaceFilter[][])("rejects the unsupported filter %j with InvalidInput", async (filter) => {
    expect(await rejection(client.send(new ListNamespacesCommand({ Filters: [filter] })))).toBeInstanceOf(InvalidInput);
  });

  it("rejects MaxResults above the AWS maximum and a forged NextToken with InvalidInput", async () => {
    expect(await rejection(client.send(new ListNamespacesCommand({ MaxResults: 101 })))).toBeInstanceOf(InvalidInput);
    expect(await rejection(client.send(new ListNamespacesCommand({ NextToken: "bogus" })))).toBeInstanceOf(InvalidInput);
  });
});

describe("GetNamespace / GetService / ListTagsForResource", () => {
  it("gets a namespace by id and by ARN", async () => {
    const id = await namespaceId("beta");
    const byId = await client.send(new GetNamespaceCommand({ Id: id }));
    const byArn = await client.send(new GetNamespaceCommand({ Id: byId.Namespace?.Arn }));
    expect(byId.Namespace?.Name).toBe("beta");
    expect(byArn.Namespace?.Id).toBe(id);
  });

  it("maps an unknown namespace or service to NamespaceNotFound / ServiceNotFound", async () => {
    const nsError = await rejection(client.send(new GetNamespaceCommand({ Id: "ns-doesnotexist0000" })));
    const svcError = await rejection(client.send(new GetServiceCommand({ Id: "srv-doesnotexist000" })));
    expect(nsError).toBeInstanceOf(NamespaceNotFound);
    expect(svcError).toBeInstanceOf(ServiceNotFound);
    expect((svcError as ServiceNotFound).$metadata.httpStatusCode).toBe(400);
  });

  it("returns a service with its namespace, type and instance count", async () => {
    const { Service } = await client.send(new GetServiceCommand({ Id: await serviceId("alpha", "web") }));
    expect(Service).toMatchObject({ Name: "web", Type: "DNS_HTTP", InstanceCount: 5, NamespaceId: await namespaceId("alpha") });
    expect(Service?.HealthCheckCustomConfig).toBeDefined();
  });

  it("lists the tags of a service and of a namespace, and fails for an unknown ARN", async () => {
    const svc = await client.send(new GetServiceCommand({ Id: await serviceId("alpha", "web") }));
    const ns = await client.send(new GetNamespaceCommand({ Id: await namespaceId("alpha") }));
    const svcTags = await client.send(new ListTagsForResourceCommand({ ResourceARN: svc.Service?.Arn }));
    const nsTags = await client.send(new ListTagsForResourceCommand({ ResourceARN: ns.Namespace?.Arn }));
    expect(svcTags.Tags).toEqual([
      { Key: "METRICS_PATH", Value: "/metrics" },
      { Key: "METRICS_PORT", Value: "9100" },
    ]);
    expect(nsTags.Tags).toEqual([{ Key: "owner", Value: "platform" }]);
    const unknown = "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-nope";
    expect(await rejection(client.send(new ListTagsForResourceCommand({ ResourceARN: unknown })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });
});

describe("ListServices", () => {
  it("pages through the services of one namespace (NAMESPACE_ID EQ) with summary fields", async () => {
    const services = [];
    for await (const page of paginateListServices(
      { client },
      { Filters: [{ Name: "NAMESPACE_ID", Values: [await namespaceId("alpha")], Condition: "EQ" }] },
    )) {
      services.push(...(page.Services ?? []));
    }
    expect(services.map((s) => s.Name)).toEqual(["web", "empty", "down", "nohc", "churn"]);
    expect(services[0]).toMatchObject({ Type: "DNS_HTTP", InstanceCount: 5 });
    expect(services[0]?.Arn).toMatch(/^arn:aws:servicediscovery:us-east-1:123456789012:service\/srv-[0-9a-f]{16}$/);
  });

  it("carries the health-check config in the summary only for a service that has one, and CreateDate for every service", async () => {
    const Services: ServiceSummary[] = [];
    const Filters = [{ Name: "NAMESPACE_ID" as const, Values: [await namespaceId("alpha")], Condition: "EQ" as const }];
    for await (const page of paginateListServices({ client }, { Filters })) Services.push(...(page.Services ?? []));
    const summary = (name: string) => Services.find((s) => s.Name === name);
    expect(summary("web")?.HealthCheckCustomConfig).toBeDefined();
    expect(summary("nohc")).not.toHaveProperty("HealthCheckCustomConfig");
    expect(summary("nohc")).not.toHaveProperty("HealthCheckConfig");
    for (const service of Services) expect(service.CreateDate).toBeInstanceOf(Date);
  });

  it("lists services of several namespaces with NAMESPACE_ID IN, and all without a filter", async () => {
    const names = async (Filters?: { Name: "NAMESPACE_ID"; Values: string[]; Condition: "IN" }[]) => {
      const out: string[] = [];
      for await (const page of paginateListServices({ client }, { Filters })) out.push(...(page.Services ?? []).map((s) => s.Name ?? ""));
      return out;
    };
    const gammaAndBeta = [await namespaceId("gamma"), await namespaceId("beta")];
    expect(await names([{ Name: "NAMESPACE_ID", Values: gammaAndBeta, Condition: "IN" }])).toEqual(["pay"]);
    expect(await names()).toHaveLength(6);
  });
});

describe("ListInstances", () => {
  it("pages through a service's instances with ids and attributes", async () => {
    emu.calls.reset();
    const instances = [];
    for await (const page of paginateListInstances({ client }, { ServiceId: await serviceId("alpha", "web") })) {
      instances.push(...(page.Instances ?? []));
    }
    expect(instances.map((i) => i.Id)).toEqual(["web-1", "web-2", "web-3", "web-4", "web-5"]);
    expect(instances[0]?.Attributes).toEqual(attrs("10.0.0.1", { version: "v1", az: "a" }));
    expect(emu.calls.get("ListInstances")).toBe(3);
  });

  it("answers an unknown service with ServiceNotFound", async () => {
    expect(await rejection(client.send(new ListInstancesCommand({ ServiceId: "srv-nope" })))).toBeInstanceOf(ServiceNotFound);
  });
});

describe("DiscoverInstances", () => {
  it.each([
    ["ALL", ["web-1", "web-2", "web-3", "web-4", "web-5"]],
    ["HEALTHY", ["web-1", "web-2", "web-3"]],
    ["UNHEALTHY", ["web-4", "web-5"]],
    ["HEALTHY_OR_ELSE_ALL", ["web-1", "web-2", "web-3"]],
  ] as const)("HealthStatus %s selects %j", async (HealthStatus, expected) => {
    expect(await discoveredIds("web", { HealthStatus })).toEqual(expected);
  });

  it("fails open with HEALTHY_OR_ELSE_ALL when no instance is healthy", async () => {
    expect(await discoveredIds("down", { HealthStatus: "HEALTHY" })).toEqual([]);
    expect(await discoveredIds("down", { HealthStatus: "HEALTHY_OR_ELSE_ALL" })).toEqual(["down-1", "down-2"]);
  });

  it("ignores HealthStatus for a service without a health check and reports UNKNOWN", async () => {
    const { Instances = [] } = await discover("nohc", { HealthStatus: "HEALTHY" });
    expect(Instances.map((i) => [i.InstanceId, i.HealthStatus])).toEqual([
      ["nohc-1", "UNKNOWN"],
      ["nohc-2", "UNKNOWN"],
    ]);
  });

  it("returns the fields of each instance", async () => {
    const { Instances = [] } = await discover("web", { HealthStatus: "UNHEALTHY", MaxResults: 1 });
    expect(Instances).toEqual([
      {
        InstanceId: "web-4",
        NamespaceName: "alpha",
        ServiceName: "web",
        HealthStatus: "UNHEALTHY",
        Attributes: attrs("10.0.0.4", { version: "v2", az: "b" }),
      },
    ]);
  });

  it("requires every QueryParameter and applies OptionalParameters only when something matches them", async () => {
    const all = { HealthStatus: "ALL" } as const;
    expect(await discoveredIds("web", { ...all, QueryParameters: { version: "v1", az: "a" } })).toEqual(["web-1", "web-5"]);
    expect(await discoveredIds("web", { ...all, QueryParameters: { version: "v1" }, OptionalParameters: { az: "b" } })).toEqual(["web-2"]);
    expect(await discoveredIds("web", { ...all, QueryParameters: { version: "v1" }, OptionalParameters: { az: "zz" } })).toEqual([
      "web-1",
      "web-2",
      "web-5",
    ]);
  });

  it("truncates at MaxResults instead of paginating", async () => {
    const response = await discover("web", { HealthStatus: "ALL", MaxResults: 2 });
    expect(response.Instances?.map((i) => i.InstanceId)).toEqual(["web-1", "web-2"]);
    expect(response).not.toHaveProperty("NextToken");
  });

  it("finds services by the namespace's HttpName, not its Name", async () => {
    const byHttpName = client.send(new DiscoverInstancesCommand({ NamespaceName: "alphabet-http", ServiceName: "x" }));
    const byName = client.send(new DiscoverInstancesCommand({ NamespaceName: "alphabet", ServiceName: "x" }));
    expect(await rejection(byHttpName)).toBeInstanceOf(ServiceNotFound);
    expect(await rejection(byName)).toBeInstanceOf(NamespaceNotFound);
  });

  it("maps an unknown service to ServiceNotFound and MaxResults over 1000 to InvalidInput", async () => {
    expect(await rejection(discover("nope"))).toBeInstanceOf(ServiceNotFound);
    expect(await rejection(discover("web", { MaxResults: 1001 }))).toBeInstanceOf(InvalidInput);
  });
});

describe("InstancesRevision", () => {
  const revision = async () =>
    (await client.send(new DiscoverInstancesRevisionCommand({ NamespaceName: "alpha", ServiceName: "churn" }))).InstancesRevision ?? -1;

  it("moves on register, re-register and deregister, but not on a health change", async () => {
    // Prepare
    const churnId = await serviceId("alpha", "churn");
    const r0 = await revision();
    // Act + Assess, one change at a time
    await client.send(new RegisterInstanceCommand({ ServiceId: churnId, InstanceId: "c-1", Attributes: attrs("10.9.0.1") }));
    const r1 = await revision();
    expect(r1).toBeGreaterThan(r0);

    emu.state.setHealth("alpha", "churn", "c-1", "UNHEALTHY");
    expect(await revision()).toBe(r1);
    expect(await discoveredIds("churn", { HealthStatus: "UNHEALTHY" })).toEqual(["c-1"]);

    emu.state.registerInstance("alpha", "churn", { id: "c-1", attributes: attrs("10.9.0.1", { version: "v2" }) });
    const r2 = await revision();
    expect(r2).toBeGreaterThan(r1);

    await client.send(new DeregisterInstanceCommand({ ServiceId: churnId, InstanceId: "c-1" }));
    const r3 = await revision();
    expect(r3).toBeGreaterThan(r2);
    expect((await discover("churn", { HealthStatus: "ALL" })).InstancesRevision).toBe(r3);
  });

  it("keeps an instance's health across a re-registration", async () => {
    emu.state.registerInstance("alpha", "churn", { id: "c-2", attributes: attrs("10.9.0.2"), health: "UNHEALTHY" });
    emu.state.registerInstance("alpha", "churn", { id: "c-2", attributes: attrs("10.9.0.2", { version: "v3" }) });
    expect(await discoveredIds("churn", { HealthStatus: "UNHEALTHY" })).toEqual(["c-2"]);
    emu.state.deregisterInstance("alpha", "churn", "c-2");
  });
});

describe("RegisterInstance / DeregisterInstance", () => {
  it("returns an OperationId that GetOperation reports as SUCCESS", async () => {
    const ServiceId = await serviceId("beta", "pay");
    const { OperationId } = await client.send(new RegisterInstanceCommand({ ServiceId, InstanceId: "pay-2", Attributes: { A: "1" } }));
    const { Operation } = await client.send(new GetOperationCommand({ OperationId }));
    expect(Operation).toMatchObject({ Id: OperationId, Type: "REGISTER_INSTANCE", Status: "SUCCESS", Targets: { INSTANCE: "pay-2" } });
    await client.send(new DeregisterInstanceCommand({ ServiceId, InstanceId: "pay-2" }));
  });

  it("refuses a DNS-service instance without an address, and an unknown instance on deregister", async () => {
    const ServiceId = await serviceId("alpha", "churn");
    const noAddress = client.send(new RegisterInstanceCommand({ ServiceId, InstanceId: "x", Attributes: { AWS_INSTANCE_PORT: "1" } }));
    expect(await rejection(noAddress)).toBeInstanceOf(InvalidInput);
    const unknown = client.send(new DeregisterInstanceCommand({ ServiceId, InstanceId: "never-registered" }));
    expect(await rejection(unknown)).toBeInstanceOf(InstanceNotFound);
  });
});
