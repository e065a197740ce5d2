// The emulator's accounts, with the real SDK clients: the caller is the account of the signing
// key; namespaces shared through AWS RAM are seen by ARN only and read with OwnerAccount; service
// attributes; ECS per account; STS AssumeRole and GetCallerIdentity on the same port.
import { DescribeTasksCommand, ECSClient } from "@aws-sdk/client-ecs";
import {
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  GetNamespaceCommand,
  GetServiceAttributesCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  ServiceDiscoveryClient,
  UpdateServiceAttributesCommand,
} from "@aws-sdk/client-servicediscovery";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Emulator, parseTopology, startEmulator, TopologyError } from "../../dev/emulator/index.js";
import { REGION, rejection } from "./support.js";

const MONITORING = "111111111111";
const WORKLOAD = "222222222222";
const OTHER = "444444444444";
const ROLE = `arn:aws:iam::${WORKLOAD}:role/reader`;
const keys = { monitoring: "AKIDMONITORING", workload: "AKIDWORKLOAD", other: "AKIDOTHER" };

describe("emulator accounts", () => {
  let emu: Emulator;
  const credentials = (accessKeyId: string, sessionToken?: string) => ({ accessKeyId, secretAccessKey: "x", ...(sessionToken ? { sessionToken } : {}) });
  const cloudMap = (key: string) => new ServiceDiscoveryClient({ endpoint: emu.url, region: REGION, credentials: credentials(key), disableHostPrefix: true, maxAttempts: 1 });
  const sts = (key: string) => new STSClient({ endpoint: emu.url, region: REGION, credentials: credentials(key), maxAttempts: 1 });
  let sharedArn: string;
  let serviceArn: string;

  beforeAll(async () => {
    emu = await startEmulator({
      topology: {
        accountId: MONITORING,
        accessKeys: { [keys.workload]: WORKLOAD, [keys.other]: OTHER },
        roles: [{ arn: ROLE, externalId: "ext" }],
        namespaces: [
          { name: "ops", type: "HTTP" },
          {
            name: "shop",
            type: "HTTP",
            owner: WORKLOAD,
            sharedWith: [MONITORING],
            services: [
              { name: "web", tags: { METRICS_PORT: "9100" }, attributes: { METRICS_PATH: "/m" }, instances: [{ id: "t1", attributes: { AWS_INSTANCE_IPV4: "10.2.0.1", ECS_CLUSTER_NAME: "prod" } }] },
            ],
          },
        ],
        ecs: {
          taskDefinitions: [{ account: WORKLOAD, family: "Web", networkMode: "bridge", containerDefinitions: [{ name: "web", portMappings: [{ containerPort: 9404, hostPort: 0 }] }] }],
          tasks: [{ account: WORKLOAD, cluster: "prod", taskId: "t1", taskDefinition: "Web:1", launchType: "EC2" }],
        },
      },
    });
    const shop = [...emu.state.namespaces()].find((ns) => ns.name === "shop");
    sharedArn = shop?.arn ?? "";
    serviceArn = shop?.services.get("web")?.arn ?? "";
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.state.setRoleDenied(ROLE, false));

  describe("Cloud Map", () => {
    it("lists the caller's own namespaces and those shared with it, with their ResourceOwner", async () => {
      const monitoring = await cloudMap(keys.monitoring).send(new ListNamespacesCommand({}));
      const other = await cloudMap(keys.other).send(new ListNamespacesCommand({}));
      const foreign = await cloudMap(keys.monitoring).send(new ListNamespacesCommand({ Filters: [{ Name: "RESOURCE_OWNER", Values: ["OTHER_ACCOUNTS"], Condition: "EQ" }] }));

      expect(monitoring.Namespaces?.map((ns) => [ns.Name, ns.ResourceOwner])).toEqual([
        ["ops", MONITORING],
        ["shop", WORKLOAD],
      ]);
      expect(monitoring.Namespaces?.[1]?.Arn).toBe(`arn:aws:servicediscovery:${REGION}:${WORKLOAD}:namespace/${monitoring.Namespaces?.[1]?.Id}`);
      expect(other.Namespaces).toEqual([]);
      expect(foreign.Namespaces?.map((ns) => ns.Name)).toEqual(["shop"]);
    });

    it("finds a shared namespace and its services by ARN only", async () => {
      const client = cloudMap(keys.monitoring);
      const id = sharedArn.slice(sharedArn.lastIndexOf("/") + 1);

      expect((await rejection(client.send(new GetNamespaceCommand({ Id: id })))).name).toBe("NamespaceNotFound");
      expect((await client.send(new GetNamespaceCommand({ Id: sharedArn }))).Namespace?.ResourceOwner).toBe(WORKLOAD);
      const byId = await client.send(new ListServicesCommand({ Filters: [{ Name: "NAMESPACE_ID", Values: [id], Condition: "EQ" }] }));
      const byArn = await client.send(new ListServicesCommand({ Filters: [{ Name: "NAMESPACE_ID", Values: [sharedArn], Condition: "EQ" }] }));
      expect(byId.Services).toEqual([]);
      expect(byArn.Services?.map((s) => [s.Name, s.ResourceOwner, s.CreatedByAccount])).toEqual([["web", WORKLOAD, WORKLOAD]]);
      const serviceId = serviceArn.slice(serviceArn.lastIndexOf("/") + 1);
      expect((await rejection(client.send(new GetServiceAttributesCommand({ ServiceId: serviceId })))).name).toBe("ServiceNotFound");
      // The owner finds its own by id, as before.
      const owner = await cloudMap(keys.workload).send(new ListServicesCommand({ Filters: [{ Name: "NAMESPACE_ID", Values: [id], Condition: "EQ" }] }));
      expect(owner.Services).toHaveLength(1);
    });

    it("needs OwnerAccount to discover instances of a shared namespace", async () => {
      const client = cloudMap(keys.monitoring);
      const without = await rejection(client.send(new DiscoverInstancesCommand({ NamespaceName: "shop", ServiceName: "web", HealthStatus: "ALL" })));
      const found = await client.send(new DiscoverInstancesCommand({ NamespaceName: "shop", ServiceName: "web", HealthStatus: "ALL", OwnerAccount: WORKLOAD }));
      const revision = await client.send(new DiscoverInstancesRevisionCommand({ NamespaceName: "shop", ServiceName: "web", OwnerAccount: WORKLOAD }));
      const stranger = await rejection(cloudMap(keys.other).send(new DiscoverInstancesCommand({ NamespaceName: "shop", ServiceName: "web", OwnerAccount: WORKLOAD })));

      expect(without.name).toBe("NamespaceNotFound");
      expect(found.Instances?.map((i) => i.InstanceId)).toEqual(["t1"]);
      expect(revision.InstancesRevision).toBe(1);
      expect(stranger.name).toBe("NamespaceNotFound");
    });

    it("denies a consumer the tags of a shared service unless the namespace allows it", async () => {
      const denied = await rejection(cloudMap(keys.monitoring).send(new ListTagsForResourceCommand({ ResourceARN: serviceArn })));
      const owner = await cloudMap(keys.workload).send(new ListTagsForResourceCommand({ ResourceARN: serviceArn }));

      expect(denied.name).toBe("AccessDeniedException");
      expect(owner.Tags).toEqual([{ Key: "METRICS_PORT", Value: "9100" }]);
    });

    it("serves service attributes by ARN, merges updates and enforces the 30-key limit", async () => {
      const client = cloudMap(keys.monitoring);
      const read = await client.send(new GetServiceAttributesCommand({ ServiceId: serviceArn }));
      await cloudMap(keys.workload).send(new UpdateServiceAttributesCommand({ ServiceId: serviceArn, Attributes: { METRICS_PORT: "9200" } }));
      const updated = await client.send(new GetServiceAttributesCommand({ ServiceId: serviceArn }));
      const tooMany = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, "v"]));
      const limit = await rejection(client.send(new UpdateServiceAttributesCommand({ ServiceId: serviceArn, Attributes: tooMany })));

      expect(read.ServiceAttributes).toEqual({ ServiceArn: serviceArn, ResourceOwner: WORKLOAD, Attributes: { METRICS_PATH: "/m" } });
      expect(updated.ServiceAttributes?.Attributes).toEqual({ METRICS_PATH: "/m", METRICS_PORT: "9200" });
      expect(limit.name).toBe("ServiceAttributesLimitExceededException");
      emu.state.setServiceAttributes(`${WORKLOAD}/shop`, "web", { METRICS_PATH: "/m" });
    });
  });

  describe("STS and ECS per account", () => {
    it("answers GetCallerIdentity with the account of the signing key", async () => {
      expect((await sts(keys.monitoring).send(new GetCallerIdentityCommand({}))).Account).toBe(MONITORING);
      expect((await sts(keys.workload).send(new GetCallerIdentityCommand({}))).Account).toBe(WORKLOAD);
    });

    it("hands out credentials of the role's account, which then see that account's ECS", async () => {
      const assumed = await sts(keys.monitoring).send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "s", ExternalId: "ext" }));
      const c = assumed.Credentials;
      const asWorkload = new ECSClient({ endpoint: emu.url, region: REGION, credentials: credentials(c?.AccessKeyId ?? "", c?.SessionToken), maxAttempts: 1 });
      const asMonitoring = new ECSClient({ endpoint: emu.url, region: REGION, credentials: credentials(keys.monitoring), maxAttempts: 1 });

      const described = await asWorkload.send(new DescribeTasksCommand({ cluster: "prod", tasks: ["t1"] }));
      const own = await rejection(asMonitoring.send(new DescribeTasksCommand({ cluster: "prod", tasks: ["t1"] })));

      expect(c?.Expiration?.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
      expect(assumed.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${WORKLOAD}:assumed-role/reader/s`);
      expect(described.tasks?.[0]?.taskArn).toBe(`arn:aws:ecs:${REGION}:${WORKLOAD}:task/prod/t1`);
      // bridge: the dynamic host port (0) is a stable ephemeral port
      const binding = described.tasks?.[0]?.containers?.[0]?.networkBindings?.[0];
      expect(binding?.containerPort).toBe(9404);
      expect(binding?.hostPort).toBeGreaterThanOrEqual(32768);
      expect(own.name).toBe("ClusterNotFoundException");
    });

    it("answers AccessDenied for a denied role, a wrong external id or an unknown role", async () => {
      emu.state.setRoleDenied(ROLE, true);
      const denied = await rejection(sts(keys.monitoring).send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "s", ExternalId: "ext" })));
      emu.state.setRoleDenied(ROLE, false);
      const wrongId = await rejection(sts(keys.monitoring).send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "s", ExternalId: "nope" })));
      const unknown = await rejection(sts(keys.monitoring).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${OTHER}:role/x`, RoleSessionName: "s" })));

      for (const error of [denied, wrongId, unknown]) {
        expect(error.name).toBe("AccessDenied");
        expect((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(403);
      }
    });

    it("counts STS calls and applies faults to them by Action", async () => {
      emu.calls.reset();
      emu.faults.set("GetCallerIdentity", { errorCount: 1, error: "Throttling" });

      const throttled = await rejection(sts(keys.monitoring).send(new GetCallerIdentityCommand({})));

      expect(throttled.name).toBe("Throttling");
      expect(emu.calls.get("GetCallerIdentity")).toBe(1);
      emu.faults.clear();
    });
  });

  describe("topology", () => {
    it("allows one name in two accounts, and rejects bad accounts and roles with their path", () => {
      expect(() => parseTopology({ namespaces: [{ name: "n" }, { name: "n", owner: WORKLOAD }] })).not.toThrow();
      try {
        parseTopology({ accessKeys: { k: "12" }, roles: [{ arn: "role/x" }], namespaces: [{ name: "n", sharedWith: ["abc"] }] });
        throw new Error("expected a TopologyError");
      } catch (error) {
        expect(error).toBeInstanceOf(TopologyError);
        expect((error as TopologyError).issues).toEqual(
          expect.arrayContaining([
            expect.stringMatching(/^accessKeys\.k: must be 12 digits/),
            expect.stringMatching(/^roles\[0\]\.arn: must be arn:aws:iam::/),
            expect.stringMatching(/^namespaces\[0\]\.sharedWith\[0\]: must be 12 digits/),
          ]),
        );
      }
    });
  });
});
