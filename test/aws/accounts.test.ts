// The AWS edges of cross-account discovery: what the Cloud Map calls send for a shared namespace,
// service attributes, bridge-mode host ports, the own account (GetCallerIdentity) and AssumeRole.
import { DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient } from "@aws-sdk/client-ecs";
import {
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  GetNamespaceCommand,
  GetServiceAttributesCommand,
  ListServicesCommand,
  NamespaceNotFound,
  ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AssumeRoleError, assumeRoleCredentials } from "../../src/aws/accounts.js";
import { CallCounter } from "../../src/aws/call.js";
import { CloudMapApi } from "../../src/aws/cloudmap.js";
import { EcsApi } from "../../src/aws/ecs.js";
import { CallerAccount } from "../../src/aws/sts.js";
import { ManualClock } from "../../src/clock.js";
import { isRoleSetting, roleArnFor } from "../../src/core/accounts.js";
import type { Namespace, Service } from "../../src/core/model.js";
import { failureKind } from "../../src/errors.js";
import { callContext, clientConfig, taskArn, taskDefinitionArn } from "../helpers/aws-fixtures.js";

const WORKLOAD = "222222222222";
const sharedNamespace: Namespace = {
  id: "ns-1",
  name: "shop.local",
  type: "HTTP",
  httpName: "shop.local",
  owner: WORKLOAD,
  shared: true,
  arn: `arn:aws:servicediscovery:eu-west-1:${WORKLOAD}:namespace/ns-1`,
};
const service: Service = { id: "srv-1", arn: `arn:aws:servicediscovery:eu-west-1:${WORKLOAD}:service/srv-1`, name: "web", namespace: sharedNamespace };

describe("CloudMapApi with a namespace of another account", () => {
  let mock: AwsClientStub<ServiceDiscoveryClient>;
  let api: CloudMapApi;

  beforeEach(() => {
    mock = mockClient(ServiceDiscoveryClient);
    api = new CloudMapApi(new ServiceDiscoveryClient(clientConfig), callContext());
  });
  afterEach(() => mock.restore());

  it("lists its services by the namespace ARN and reads CreatedByAccount", async () => {
    mock.on(ListServicesCommand).resolves({ Services: [{ Id: "srv-1", Arn: service.arn, Name: "web", CreatedByAccount: WORKLOAD }] });

    const services = await api.services(sharedNamespace);

    expect(mock.commandCalls(ListServicesCommand)[0]?.args[0].input.Filters).toEqual([{ Name: "NAMESPACE_ID", Values: [sharedNamespace.arn], Condition: "EQ" }]);
    expect(services[0]?.createdBy).toBe(WORKLOAD);
  });

  it("keeps the namespace id in the filter when Cloud Map gave no owner (as before)", async () => {
    mock.on(ListServicesCommand).resolves({ Services: [] });

    await api.services({ id: "ns-2", name: "n", type: "HTTP", httpName: "n", arn: "arn:aws:servicediscovery:eu-west-1:111111111111:namespace/ns-2" });

    expect(mock.commandCalls(ListServicesCommand)[0]?.args[0].input.Filters?.[0]?.Values).toEqual(["ns-2"]);
  });

  it("passes OwnerAccount to DiscoverInstances and DiscoverInstancesRevision", async () => {
    mock.on(DiscoverInstancesCommand).resolves({ Instances: [], InstancesRevision: 3 });
    mock.on(DiscoverInstancesRevisionCommand).resolves({ InstancesRevision: 3 });

    await api.instances(service, "ALL");
    await api.revision(service);

    expect(mock.commandCalls(DiscoverInstancesCommand)[0]?.args[0].input.OwnerAccount).toBe(WORKLOAD);
    expect(mock.commandCalls(DiscoverInstancesRevisionCommand)[0]?.args[0].input.OwnerAccount).toBe(WORKLOAD);
  });

  it("reads a namespace by ARN (GetNamespace); NamespaceNotFound is an answer: undefined", async () => {
    mock.on(GetNamespaceCommand, { Id: sharedNamespace.arn }).resolves({
      Namespace: { Id: "ns-1", Arn: sharedNamespace.arn, Name: "shop.local", Type: "HTTP", ResourceOwner: WORKLOAD, Properties: { HttpProperties: { HttpName: "shop.local" } } },
    });
    mock.on(GetNamespaceCommand, { Id: "arn:gone" }).rejects(new NamespaceNotFound({ message: "no", $metadata: {} }));

    expect(await api.namespaceByArn(sharedNamespace.arn as string)).toEqual({ ...sharedNamespace, shared: undefined });
    expect(await api.namespaceByArn("arn:gone")).toBeUndefined();
  });

  it("reads service attributes by the service ARN; an answer without ServiceAttributes is malformed", async () => {
    mock.on(GetServiceAttributesCommand).resolvesOnce({ ServiceAttributes: { ServiceArn: service.arn, Attributes: { METRICS_PORT: "9100" } } }).resolvesOnce({});

    expect(await api.serviceAttributes(service)).toEqual({ METRICS_PORT: "9100" });
    expect(mock.commandCalls(GetServiceAttributesCommand)[0]?.args[0].input).toEqual({ ServiceId: service.arn });
    expect(failureKind(await api.serviceAttributes(service).catch((e: unknown) => e))).toBe("malformed");
  });

  it("fails a service attribute that is not a string (it would become a label)", async () => {
    mock.on(GetServiceAttributesCommand).resolves({ ServiceAttributes: { ServiceArn: service.arn, Attributes: { METRICS_PORT: 9100 as unknown as string } } });

    const error = await api.serviceAttributes(service).catch((e: unknown) => e);
    expect(failureKind(error)).toBe("malformed");
    expect(String((error as Error).cause)).toContain("ServiceAttributes.Attributes.METRICS_PORT as a string");
  });
});

describe("EcsApi for bridge and host tasks", () => {
  let mock: AwsClientStub<ECSClient>;
  beforeEach(() => {
    mock = mockClient(ECSClient);
  });
  afterEach(() => mock.restore());

  it("reads networkBindings as container port → host port, per container, and the definition's network mode", async () => {
    mock.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: taskArn("t1"),
          containers: [
            { name: "app", networkBindings: [{ containerPort: 9404, hostPort: 32768 }, { containerPort: 8080 }] },
            { name: "envoy", networkBindings: [] },
          ],
        },
        { taskArn: taskArn("t2"), containers: [{ name: "app", networkInterfaces: [{ privateIpv4Address: "10.0.0.1" }] }] },
      ],
      failures: [],
    });
    mock.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { taskDefinitionArn: taskDefinitionArn("web", 1), family: "web", revision: 1, networkMode: "bridge", containerDefinitions: [] },
    });
    const api = new EcsApi(new ECSClient(clientConfig), callContext());

    const answer = await api.tasks("prod", ["t1", "t2"]);
    const definition = await api.taskDefinition(taskDefinitionArn("web", 1));

    expect(answer.tasks.get("t1")?.portBindings).toEqual([{ container: "app", containerPort: 9404, hostPort: 32768 }]);
    expect(answer.tasks.get("t2")?.portBindings).toBeUndefined();
    expect(definition.networkMode).toBe("bridge");
  });
});

describe("CallerAccount (sts:GetCallerIdentity)", () => {
  let mock: AwsClientStub<STSClient>;
  beforeEach(() => {
    mock = mockClient(STSClient);
  });
  afterEach(() => mock.restore());

  it("asks once and keeps the answer; concurrent callers share the call", async () => {
    mock.on(GetCallerIdentityCommand).resolves({ Account: "111111111111" });
    const subject = new CallerAccount(new STSClient(clientConfig), callContext(), new ManualClock());

    const answers = await Promise.all([subject.get(), subject.get(), subject.get()]);
    await subject.get();

    expect(answers).toEqual(["111111111111", "111111111111", "111111111111"]);
    expect(mock.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
  });

  it("answers undefined on failure, keeps the error for the report, and backs off before asking again", async () => {
    mock.on(GetCallerIdentityCommand).rejectsOnce(Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" })).resolves({ Account: "111111111111" });
    const clock = new ManualClock(1_000);
    const subject = new CallerAccount(new STSClient(clientConfig), callContext(), clock, { baseMs: 10_000, jitter: 0 });

    expect(await subject.get()).toBeUndefined();
    expect(subject.error?.operation).toBe("GetCallerIdentity");
    expect(await subject.get()).toBeUndefined(); // backing off: not asked
    expect(mock.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);

    clock.advance(10_000);
    expect(await subject.get()).toBe("111111111111");
    expect(subject.error).toBeUndefined();
  });
});

describe("ECS_ASSUME_ROLE", () => {
  it.each<[string, string]>([
    ["cloudmap-sd-ecs-reader", `arn:aws:iam::${WORKLOAD}:role/cloudmap-sd-ecs-reader`],
    ["monitoring/reader", `arn:aws:iam::${WORKLOAD}:role/monitoring/reader`],
    ["arn:aws-cn:iam::${ACCOUNT_ID}:role/reader", `arn:aws-cn:iam::${WORKLOAD}:role/reader`],
  ])("turns %j into the role of each account", (setting, expected) => {
    expect(isRoleSetting(setting)).toBe(true);
    expect(roleArnFor(setting, WORKLOAD)).toBe(expected);
  });

  it.each(["", "/leading", "trailing/", "arn:aws:iam::123456789012:role/fixed-account", "has space"])("rejects %j", (setting) => {
    expect(isRoleSetting(setting)).toBe(false);
  });

  describe("assumeRoleCredentials", () => {
    let mock: AwsClientStub<STSClient>;
    beforeEach(() => {
      mock = mockClient(STSClient);
    });
    afterEach(() => mock.restore());

    it("assumes the role with the external id and returns expiring credentials, counting the outcome per account", async () => {
      const expiration = new Date(Date.now() + 3_600_000);
      mock.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: "ASIA1", SecretAccessKey: "s", SessionToken: "t", Expiration: expiration } });
      const outcomes: string[] = [];
      const recorded: string[] = [];
      const calls = new CallCounter({ record: (operation, outcome) => recorded.push(`${operation} ${outcome}`) });
      const provider = assumeRoleCredentials(new STSClient(clientConfig), {
        account: WORKLOAD,
        roleArn: roleArnFor("reader", WORKLOAD),
        externalId: "ext-1",
        sessionName: "cloudmap-sd",
        durationSeconds: 3600,
        onResult: (account, outcome) => outcomes.push(`${account} ${outcome}`),
        context: callContext(calls),
      });

      const credentials = await provider();

      expect(credentials).toMatchObject({ accessKeyId: "ASIA1", sessionToken: "t", expiration, accountId: WORKLOAD });
      expect(mock.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toEqual({
        RoleArn: `arn:aws:iam::${WORKLOAD}:role/reader`,
        RoleSessionName: "cloudmap-sd",
        DurationSeconds: 3600,
        ExternalId: "ext-1",
      });
      expect(outcomes).toEqual([`${WORKLOAD} success`]);
      // Counted like every AWS call: in the cycle's call count and cloudmap_sd_aws_calls_total.
      expect(calls.take()).toBe(1);
      expect(recorded).toEqual(["AssumeRole success"]);
    });

    it("a denied AssumeRole names the account and role, and is classified like the STS error", async () => {
      mock.on(AssumeRoleCommand).rejects(Object.assign(new Error("not authorized"), { name: "AccessDenied" }));
      const outcomes: string[] = [];
      const recorded: string[] = [];
      const provider = assumeRoleCredentials(new STSClient(clientConfig), {
        account: WORKLOAD,
        roleArn: roleArnFor("reader", WORKLOAD),
        sessionName: "cloudmap-sd",
        durationSeconds: 3600,
        onResult: (_account, outcome) => outcomes.push(outcome),
        context: callContext({ record: (operation, outcome) => recorded.push(`${operation} ${outcome}`) }),
      });

      const error = await provider().catch((e: unknown) => e);
      expect(recorded).toEqual(["AssumeRole AccessDenied"]);
      expect((error as Error).message).toContain(`AssumeRole failed (account=${WORKLOAD})`);

      expect(error).toBeInstanceOf(AssumeRoleError);
      expect((error as AssumeRoleError).message).toContain(`arn:aws:iam::${WORKLOAD}:role/reader`);
      expect(failureKind(error)).toBe("access_denied");
      expect(outcomes).toEqual(["AccessDenied"]);
    });

    it("a hung AssumeRole ends within AWS_CALL_TIMEOUT, as a timeout", async () => {
      mock.on(AssumeRoleCommand).callsFake(() => new Promise(() => {}));
      const provider = assumeRoleCredentials(new STSClient(clientConfig), {
        account: WORKLOAD,
        roleArn: roleArnFor("reader", WORKLOAD),
        sessionName: "cloudmap-sd",
        durationSeconds: 3600,
        context: callContext(undefined, 20),
      });

      const error = await provider().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(AssumeRoleError);
      expect(failureKind(error)).toBe("timeout");
    });
  });
});
