// The CDK app, synthesised in-process (no CLI, no AWS credentials, no network).
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EcsReaderRoleStack, type EcsReaderRoleStackProps } from "../../infra/lib/ecs-reader-role-stack.js";
import { PrometheusCloudMapStack, type PrometheusCloudMapStackProps, TASK_DEFINITION_FILE } from "../../infra/lib/prometheus-stack.js";
import { PLACEHOLDER_DEFAULTS } from "../../infra/lib/templates.js";
import { repo, taskDefinitionsDir } from "./render.js";

// Without an outdir, App synthesises into a new os.tmpdir()/cdk.outXXXXXX that nothing removes.
const outdir = mkdtempSync(path.join(tmpdir(), "cloudmap-sd-cdk-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
const readdirSafe = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] }>;
let stackCount = 0;
function synth(props: PrometheusCloudMapStackProps = {}) {
  const synthesised = Template.fromStack(new PrometheusCloudMapStack(new App({ outdir: path.join(outdir, String(stackCount++)) }), "Test", props));
  const all = synthesised.toJSON()["Resources"] as Resources;
  const ofType = (type: string) => Object.entries(all).filter(([, r]) => r.Type === type);
  return { template: synthesised, resources: all, ofType };
}
const { template, resources } = synth();
const logicalIdOf = (type: string) => {
  const ids = Object.keys(resources).filter((id) => resources[id]?.Type === type);
  expect(ids, type).toHaveLength(1);
  return ids[0]!;
};
const propertiesOf = (type: string) => resources[logicalIdOf(type)]!.Properties;

// Evaluates the CloudFormation expressions the stack uses back into the placeholders of
// the plain files, so the synthesised policy, task definition and configuration can be
// compared with infra/policy/*.json and task-definitions/ exactly.
function evaluate(value: unknown, within: Resources = resources): unknown {
  const recurse = (inner: unknown): unknown => evaluate(inner, within);
  if (Array.isArray(value)) return value.map(recurse);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value);
  const [key, argument] = entries[0] ?? [];
  if (entries.length === 1 && key === "Ref") {
    const pseudo: Record<string, string> = {
      "AWS::Partition": "aws",
      "AWS::URLSuffix": "amazonaws.com",
      "AWS::Region": "${AWS_REGION}",
      "AWS::AccountId": "${ACCOUNT_ID}",
    };
    const referenced = within[argument as string];
    if (referenced?.Type === "AWS::SSM::Parameter") return referenced.Properties["Name"];
    if (pseudo[argument as string] !== undefined) return pseudo[argument as string];
    return { Ref: argument };
  }
  if (entries.length === 1 && key === "Fn::GetAtt") {
    const [id, attribute] = argument as [string, string];
    if (within[id]?.Type === "AWS::APS::Workspace") {
      if (attribute === "Arn") return "arn:aws:aps:${AWS_REGION}:${ACCOUNT_ID}:workspace/${WORKSPACE_ID}";
      if (attribute === "WorkspaceId") return "${WORKSPACE_ID}";
    }
    return { "Fn::GetAtt": [id, attribute] };
  }
  if (entries.length === 1 && key === "Fn::Join") {
    const [separator, parts] = argument as [string, unknown[]];
    const evaluated = parts.map(recurse);
    if (evaluated.every((part) => typeof part === "string")) return evaluated.join(separator);
    return { "Fn::Join": [separator, evaluated] };
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, recurse(v)]));
}

type Statement = { Sid?: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown };
const asList = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
const policyNamed = (idPrefix: string, within: Resources = resources) => {
  const id = Object.keys(within).find((key) => key.startsWith(idPrefix) && within[key]?.Type === "AWS::IAM::Policy");
  return within[id!]!.Properties as { PolicyDocument: { Statement: Statement[] }; Roles: unknown[] };
};

describe("CDK stack", () => {
  it("creates the namespace, two SSM parameters, the workspace, the log group, two roles and one Fargate service", () => {
    for (const [type, count] of [
      ["AWS::ServiceDiscovery::PrivateDnsNamespace", 1],
      ["AWS::SSM::Parameter", 2],
      ["AWS::APS::Workspace", 1],
      ["AWS::Logs::LogGroup", 1],
      ["AWS::IAM::Role", 2],
      ["AWS::ECS::Cluster", 1],
      ["AWS::ECS::TaskDefinition", 1],
      ["AWS::ECS::Service", 1],
      ["AWS::APS::RuleGroupsNamespace", 1],
    ] as const) {
      template.resourceCountIs(type, count);
    }
    template.hasResourceProperties("AWS::ServiceDiscovery::PrivateDnsNamespace", { Name: "ecs-services" });
    template.hasResourceProperties("AWS::SSM::Parameter", { Name: "ECS-ServiceDiscovery-Namespaces", Type: "String", Value: "ecs-services" });
    template.hasResourceProperties("AWS::Logs::LogGroup", { LogGroupName: "/ecs/prometheus" });
    template.hasResourceProperties("AWS::ECS::Service", {
      LaunchType: "FARGATE",
      DesiredCount: 1,
      DeploymentConfiguration: { MinimumHealthyPercent: 0, MaximumPercent: 100 },
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: "DISABLED" } },
    });
  });

  it("stores task-definitions/prometheus/prometheus.yaml, with the workspace filled in, as the Prometheus configuration", () => {
    const parameter = Object.values(resources).find((r) => r.Type === "AWS::SSM::Parameter" && r.Properties["Name"] === "ECS-Prometheus-Configuration");
    const raw = readFileSync(path.join(taskDefinitionsDir, "prometheus/prometheus.yaml"), "utf8");
    expect(evaluate(parameter?.Properties["Value"])).toBe(raw);
  });

  it("registers task-definitions/" + TASK_DEFINITION_FILE + " with the stack's roles", () => {
    const json = JSON.parse(readFileSync(path.join(taskDefinitionsDir, TASK_DEFINITION_FILE), "utf8")) as Record<string, unknown>;
    const synthesised = evaluate(propertiesOf("AWS::ECS::TaskDefinition")) as Record<string, unknown>;
    // CloudFormation's member names are the API's with a capital first letter.
    const pascal = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(pascal)
        : typeof value === "object" && value !== null
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k.startsWith("awslogs-") ? k : k[0]!.toUpperCase() + k.slice(1), pascal(v)]))
          : value;
    const image = "${ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/cloudmap-sd:latest";
    const filled = JSON.stringify(json)
      .replaceAll("${CLOUDMAP_SD_IMAGE}", image)
      .replaceAll("${PROMETHEUS_IMAGE}", PLACEHOLDER_DEFAULTS.PROMETHEUS_IMAGE)
      .replaceAll("${CPU_ARCHITECTURE}", PLACEHOLDER_DEFAULTS.CPU_ARCHITECTURE);
    const expected = pascal(JSON.parse(filled)) as Record<string, unknown>;
    const { ExecutionRoleArn, TaskRoleArn, ...rest } = synthesised;
    const { ExecutionRoleArn: _e, TaskRoleArn: _t, ...expectedRest } = expected;
    expect(rest).toEqual(expectedRest);
    expect(ExecutionRoleArn).toEqual({ "Fn::GetAtt": [expect.stringMatching(/^ExecutionRole/), "Arn"] });
    expect(TaskRoleArn).toEqual({ "Fn::GetAtt": [expect.stringMatching(/^TaskRole/), "Arn"] });
  });

  it("grants the task role exactly infra/policy/cloudmap-sd-task-policy.json", () => {
    const plain = JSON.parse(
      readFileSync(path.join(repo, "infra/policy/cloudmap-sd-task-policy.json"), "utf8").replaceAll("${NAMESPACE_NAME}", "ecs-services"),
    ) as { Statement: (Statement & { Effect: string })[] };
    const policy = policyNamed("TaskPolicy");
    expect(policy.Roles).toEqual([{ Ref: expect.stringMatching(/^TaskRole/) }]);
    const normalise = (statements: Statement[]) =>
      statements.map((s) => ({ ...s, Action: asList(s.Action), Resource: asList(s.Resource) }));
    expect(normalise(evaluate(policy.PolicyDocument.Statement) as Statement[])).toEqual(normalise(plain.Statement));
  });

  it("allows only the AWS calls the sidecar makes and Prometheus' remote write", () => {
    const actions = policyNamed("TaskPolicy").PolicyDocument.Statement.flatMap((s) => asList(s.Action)).sort();
    expect(actions).toEqual([
      "aps:RemoteWrite",
      "ecs:DescribeTaskDefinition",
      "ecs:DescribeTasks",
      "servicediscovery:DiscoverInstances",
      "servicediscovery:DiscoverInstancesRevision",
      "servicediscovery:GetNamespace",
      "servicediscovery:GetServiceAttributes",
      "servicediscovery:ListNamespaces",
      "servicediscovery:ListServices",
      "servicediscovery:ListTagsForResource",
      "ssm:GetParameter",
    ]);
  });

  it("has no wildcard action in any policy, and Resource '*' only where IAM offers nothing narrower", () => {
    const mayUseStar = new Set([
      "servicediscovery:ListNamespaces",
      "servicediscovery:ListServices",
      "servicediscovery:ListTagsForResource",
      "servicediscovery:DiscoverInstances",
      "servicediscovery:DiscoverInstancesRevision",
      "ecs:DescribeTaskDefinition",
      "ecr:GetAuthorizationToken",
    ]);
    const plain = JSON.parse(readFileSync(path.join(repo, "infra/policy/cloudmap-sd-task-policy.json"), "utf8")) as { Statement: Statement[] };
    const documents = [...Object.values(resources).filter((r) => r.Type === "AWS::IAM::Policy").map((r) => r.Properties["PolicyDocument"] as { Statement: Statement[] }), plain];
    for (const document of documents) {
      for (const statement of document.Statement) {
        for (const action of asList(statement.Action)) {
          expect(action).not.toContain("*");
          if (asList(statement.Resource).includes("*")) expect(mayUseStar, `${action} on "*"`).toContain(action);
        }
      }
    }
  });

  it("lets only ECS tasks of this account assume the roles", () => {
    template.allResourcesProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: "ecs-tasks.amazonaws.com" },
            Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } }, ArnLike: Match.anyValue() },
          }),
        ],
      },
    });
  });
});

describe("alerting rules in AMP", () => {
  it("loads deploy/prometheus/cloudmap-sd.rules.yaml into the workspace as the rule groups namespace cloudmap-sd", () => {
    const rules = evaluate(propertiesOf("AWS::APS::RuleGroupsNamespace")) as Record<string, unknown>;
    expect(rules).toEqual({
      Name: "cloudmap-sd",
      Workspace: "arn:aws:aps:${AWS_REGION}:${ACCOUNT_ID}:workspace/${WORKSPACE_ID}",
      Data: readFileSync(path.join(repo, "deploy/prometheus/cloudmap-sd.rules.yaml"), "utf8"),
    });
  });

  it("leaves them out with alertRules: false", () => {
    synth({ alertRules: false }).template.resourceCountIs("AWS::APS::RuleGroupsNamespace", 0);
  });
});

describe("CDK stack in an existing estate", () => {
  const estate = {
    vpc: { vpcId: "vpc-0123456789abcdef0", subnetIds: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"] },
    clusterName: "production",
    workspaceId: "ws-11111111-2222-3333-4444-555555555555",
    namespaces: ["orders.internal", "payments.internal", "search"],
  };
  const existing = synth(estate);
  const only = (type: string) => {
    const found = existing.ofType(type);
    expect(found, type).toHaveLength(1);
    return found[0]![1].Properties;
  };

  it("creates no VPC, cluster, namespace or workspace", () => {
    for (const type of ["AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::NatGateway", "AWS::ECS::Cluster", "AWS::ServiceDiscovery::PrivateDnsNamespace", "AWS::APS::Workspace"]) {
      existing.template.resourceCountIs(type, 0);
    }
  });

  it("runs the service in the given cluster and subnets, its security group in the given VPC", () => {
    expect(only("AWS::ECS::Service")).toMatchObject({
      Cluster: "production",
      NetworkConfiguration: { AwsvpcConfiguration: { Subnets: estate.vpc.subnetIds, AssignPublicIp: "DISABLED" } },
    });
    expect(only("AWS::EC2::SecurityGroup")).toMatchObject({ VpcId: estate.vpc.vpcId });
  });

  it("lists every namespace in the namespaces parameter and allows DiscoverInstances on each, and only those", () => {
    const parameter = existing.ofType("AWS::SSM::Parameter").find(([, r]) => r.Properties["Name"] === "ECS-ServiceDiscovery-Namespaces");
    expect(parameter?.[1].Properties["Value"]).toBe("orders.internal,payments.internal,search");
    const discover = policyNamed("TaskPolicy", existing.resources).PolicyDocument.Statement.find((st) => st.Sid === "DiscoverCloudMapInstances");
    expect(discover?.Condition).toEqual({ StringEquals: { "servicediscovery:NamespaceName": estate.namespaces } });
  });

  it("remote-writes to, grants and loads the rules into the given workspace", () => {
    const workspaceArn = "arn:aws:aps:${AWS_REGION}:${ACCOUNT_ID}:workspace/" + estate.workspaceId;
    const remoteWrite = policyNamed("TaskPolicy", existing.resources).PolicyDocument.Statement.find((st) => st.Sid === "RemoteWriteToWorkspace");
    expect(evaluate(remoteWrite?.Resource, existing.resources)).toBe(workspaceArn);
    expect(evaluate(only("AWS::APS::RuleGroupsNamespace")["Workspace"], existing.resources)).toBe(workspaceArn);
    const config = existing.ofType("AWS::SSM::Parameter").find(([, r]) => r.Properties["Name"] === "ECS-Prometheus-Configuration");
    expect(evaluate(config?.[1].Properties["Value"], existing.resources)).toContain(
      "url: https://aps-workspaces.${AWS_REGION}.amazonaws.com/workspaces/" + estate.workspaceId + "/api/v1/remote_write",
    );
  });

  it("accepts the workspace as an ARN, and a new namespace in the existing VPC", () => {
    const mixed = synth({ vpc: estate.vpc, workspaceId: `arn:aws:aps:eu-west-1:123456789012:workspace/${estate.workspaceId}` });
    mixed.template.resourceCountIs("AWS::APS::Workspace", 0);
    mixed.template.hasResourceProperties("AWS::ServiceDiscovery::PrivateDnsNamespace", { Name: "ecs-services", Vpc: estate.vpc.vpcId });
    mixed.template.resourceCountIs("AWS::ECS::Cluster", 1);
  });

  it.each([
    [{ namespaces: ["arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-abcdefghijklmnop"] }, /namespaces=.*not a Cloud Map namespace ARN/],
    [{ namespaces: ["arn:aws:servicediscovery:eu-west-1:1234:namespace/ns-abcdefghijklmnop"] }, /not a Cloud Map namespace ARN/],
    [{ namespaces: ["arn:aws:servicediscovery:eu-west-1:123456789012:namespace/orders.internal"] }, /not a Cloud Map namespace ARN/],
    [{ namespaces: ["ns-abcdefghijklmnop"] }, /namespaces="ns-abcdefghijklmnop": give the namespace's name or ARN, not its id/],
    [{ namespaces: [] }, /list at least one namespace/],
    [{ namespaces: ["a", "a"] }, /listed twice/],
    [{ namespaces: ["a,b"] }, /commas/],
    [{ vpc: { vpcId: "vpc-0123456789abcdef0", subnetIds: [] } }, /subnetIds=\[\]: an existing VPC needs the private subnets/],
    [{ vpc: { vpcId: "prod-vpc", subnetIds: ["subnet-0aaaaaaaaaaaaaaaa"] } }, /vpcId="prod-vpc": not a VPC id/],
    [{ workspaceId: "prometheus-cloudmap" }, /workspaceId="prometheus-cloudmap": not an AMP workspace id/],
    [{ shards: 0 }, /shards=0: a whole number from 1 to 50/],
    [{ shards: 2.5 }, /shards=2.5/],
    [{ cpuArchitecture: "arm64" as never }, /cpuArchitecture="arm64": X86_64 or ARM64/],
    [{ ecsReaderAccounts: ["12345"] }, /ecsReaderAccounts="12345": not an AWS account id \(12 digits\)/],
    [{ ecsReaderAccounts: ["arn:aws:iam::111122223333:root"] }, /ecsReaderAccounts=.*not an AWS account id/],
    [{ ecsReaderAccounts: [] }, /ecsReaderAccounts=\[\]: list at least one account id/],
    [{ ecsReaderAccounts: ["111122223333", "111122223333"] }, /an account is listed twice/],
    [{ ecsReaderAccounts: ["111122223333"], ecsReaderRoleName: "arn:aws:iam::111122223333:role/reader" }, /ecsReaderRoleName=.*an IAM role name/],
    [{ ecsReaderAccounts: ["111122223333"], ecsReaderRoleName: "monitoring/reader" }, /ecsReaderRoleName=.*no path/],
    [{ ecsReaderAccounts: ["111122223333"], ecsReaderExternalId: "x" }, /ecsReaderExternalId="x": 2 to 1224/],
    [{ ecsReaderExternalId: "shared-secret" }, /ecsReaderExternalId="shared-secret": only means something with ecsReaderAccounts/],
    [{ ecsReaderRoleName: "reader" }, /ecsReaderRoleName="reader": only means something with ecsReaderAccounts/],
  ] as const)("refuses %j with a message naming the prop", (props, message) => {
    expect(() => synth(props as PrometheusCloudMapStackProps)).toThrow(message);
  });
});

describe("CDK stack with namespaces shared by other accounts (AWS RAM)", () => {
  const ordersArn = "arn:aws:servicediscovery:eu-west-1:222233334444:namespace/ns-abcdef0123456789";
  const paymentsArn = "arn:aws:servicediscovery:eu-west-1:555566667777:namespace/ns-0123456789abcdef";
  const discoverStatements = (resources: Resources) =>
    policyNamed("TaskPolicy", resources).PolicyDocument.Statement.filter((st) => asList(st.Action).includes("servicediscovery:DiscoverInstances"));

  it("lists names and ARNs in the namespaces parameter as given; names by the NamespaceName condition, ARNs by the namespace resource", () => {
    const mixed = synth({ namespaces: ["search", ordersArn, "billing.internal", paymentsArn] });
    const parameter = mixed.ofType("AWS::SSM::Parameter").find(([, r]) => r.Properties["Name"] === "ECS-ServiceDiscovery-Namespaces");
    expect(parameter?.[1].Properties["Value"]).toBe(`search,${ordersArn},billing.internal,${paymentsArn}`);
    const [byName, byArn, ...others] = discoverStatements(mixed.resources);
    expect(others).toEqual([]);
    expect(byName).toMatchObject({ Sid: "DiscoverCloudMapInstances", Resource: "*", Condition: { StringEquals: { "servicediscovery:NamespaceName": ["search", "billing.internal"] } } });
    expect(byArn).toEqual({
      Sid: "DiscoverSharedCloudMapInstances",
      Effect: "Allow",
      Action: ["servicediscovery:DiscoverInstances", "servicediscovery:DiscoverInstancesRevision"],
      // Both resources are required by these actions: the exact namespaces, any service of their region.
      Resource: [ordersArn, paymentsArn, "arn:aws:servicediscovery:eu-west-1:*:service/*"],
    });
  });

  it("with ARNs only, has no NamespaceName statement (an empty condition list would be a trap)", () => {
    const shared = synth({ namespaces: [ordersArn] });
    expect(discoverStatements(shared.resources).map((st) => st.Sid)).toEqual(["DiscoverSharedCloudMapInstances"]);
  });

  it("keeps names-only estates as before: no statement on namespace ARNs", () => {
    expect(discoverStatements(synth({ namespaces: ["orders.internal"] }).resources).map((st) => st.Sid)).toEqual(["DiscoverCloudMapInstances"]);
  });

  it("reads namespaces and service attributes of any account in the stack's region, and nothing wider", () => {
    const read = policyNamed("TaskPolicy").PolicyDocument.Statement.find((st) => st.Sid === "ReadCloudMapNamespacesAndServiceAttributes");
    expect(asList(read!.Action)).toEqual(["servicediscovery:GetNamespace", "servicediscovery:GetServiceAttributes"]);
    expect(evaluate(read!.Resource)).toEqual(["arn:aws:servicediscovery:${AWS_REGION}:*:namespace/*", "arn:aws:servicediscovery:${AWS_REGION}:*:service/*"]);
  });
});

describe("CDK stack, cross-account ECS enrichment (ecsReaderAccounts)", () => {
  const accounts = ["111122223333", "222233334444"];
  const sidecarEnvironments = (resources: Resources) =>
    Object.values(resources)
      .filter((r) => r.Type === "AWS::ECS::TaskDefinition")
      .map((r) => {
        const containers = r.Properties["ContainerDefinitions"] as { Name: string; Environment: { Name: string; Value: unknown }[] }[];
        return Object.fromEntries(containers.find((c) => c.Name === "cloudmap-sd")!.Environment.map((e) => [e.Name, e.Value]));
      });
  /** ECS_ASSUME_ROLE as the stack writes it: an ARN template in the stack's partition, ${ACCOUNT_ID} left to the sidecar. */
  const roleTemplate = (name: string) => ({ "Fn::Sub": `arn:\${AWS::Partition}:iam::\${!ACCOUNT_ID}:role/${name}` });
  const assumeStatements = (resources: Resources) => policyNamed("TaskPolicy", resources).PolicyDocument.Statement.filter((st) => asList(st.Action).includes("sts:AssumeRole"));

  it("tells the sidecar the role and external id, and lets the task role assume exactly that role in exactly those accounts", () => {
    const reader = synth({ ecsReaderAccounts: accounts, ecsReaderExternalId: "org-monitoring" });
    expect(sidecarEnvironments(reader.resources)).toEqual([expect.objectContaining({ ECS_ASSUME_ROLE: roleTemplate("cloudmap-sd-ecs-reader"), ECS_ASSUME_ROLE_EXTERNAL_ID: "org-monitoring" })]);
    const [assume, ...others] = assumeStatements(reader.resources);
    expect(others).toEqual([]);
    expect(assume?.Sid).toBe("AssumeEcsReaderRoles");
    expect(evaluate(assume?.Resource, reader.resources)).toEqual(["arn:aws:iam::111122223333:role/cloudmap-sd-ecs-reader", "arn:aws:iam::222233334444:role/cloudmap-sd-ecs-reader"]);
  });

  it("uses the given role name, sets no external id unless given, and reaches every shard's sidecar", () => {
    const reader = synth({ ecsReaderAccounts: accounts.slice(0, 1), ecsReaderRoleName: "ecs-read", shards: 2 });
    const environments = sidecarEnvironments(reader.resources);
    expect(environments).toHaveLength(2);
    for (const environment of environments) {
      expect(environment["ECS_ASSUME_ROLE"]).toEqual(roleTemplate("ecs-read"));
      expect(environment).not.toHaveProperty("ECS_ASSUME_ROLE_EXTERNAL_ID");
    }
    expect(evaluate(assumeStatements(reader.resources)[0]?.Resource, reader.resources)).toBe("arn:aws:iam::111122223333:role/ecs-read");
  });

  it("without it, assumes no role and leaves ECS_ASSUME_ROLE unset", () => {
    expect(assumeStatements(resources)).toEqual([]);
    expect(sidecarEnvironments(resources)[0]).not.toHaveProperty("ECS_ASSUME_ROLE");
  });
});

describe("EcsReaderRoleStack (in a workload account)", () => {
  function synthReader(props: EcsReaderRoleStackProps) {
    const stack = new EcsReaderRoleStack(new App({ outdir: path.join(outdir, String(stackCount++)) }), "Reader", props);
    const all = Template.fromStack(stack).toJSON()["Resources"] as Resources;
    const roles = Object.values(all).filter((r) => r.Type === "AWS::IAM::Role");
    expect(roles).toHaveLength(1);
    expect(Object.values(all).filter((r) => r.Type === "AWS::IAM::Policy" || r.Type === "AWS::IAM::ManagedPolicy")).toEqual([]);
    return { role: roles[0]!.Properties, resources: all };
  }
  type TrustStatement = { Effect: string; Action: string; Principal: unknown; Condition: Record<string, Record<string, unknown>> };
  type InlinePolicy = { PolicyName: string; PolicyDocument: { Statement: Statement[] } };

  it("trusts only the monitoring account's cloudmap-sd task role, with the external id when given", () => {
    const { role, resources: within } = synthReader({ monitoringAccount: "444455556666", externalId: "org-monitoring" });
    expect(role["RoleName"]).toBe("cloudmap-sd-ecs-reader");
    const trust = (role["AssumeRolePolicyDocument"] as { Statement: TrustStatement[] }).Statement;
    expect(trust).toHaveLength(1);
    expect(evaluate(trust[0], within)).toEqual({
      Effect: "Allow",
      Action: "sts:AssumeRole",
      Principal: { AWS: "arn:aws:iam::444455556666:root" },
      Condition: {
        ArnLike: { "aws:PrincipalArn": "arn:aws:iam::444455556666:role/PrometheusCloudMap-TaskRole*" },
        StringEquals: { "sts:ExternalId": "org-monitoring" },
      },
    });
  });

  it("may describe this account's tasks (of the given clusters) and task definitions, nothing else", () => {
    const taskRole = "arn:aws:iam::444455556666:role/PrometheusCloudMap-TaskRole30FC0FBB-AbCdEf";
    const { role, resources: within } = synthReader({ monitoringAccount: "444455556666", monitoringRoleArn: taskRole, roleName: "ecs-read", clusterNames: ["production", "batch"] });
    expect(role["RoleName"]).toBe("ecs-read");
    const trust = (role["AssumeRolePolicyDocument"] as { Statement: TrustStatement[] }).Statement[0]!;
    expect(trust.Condition).toEqual({ ArnLike: { "aws:PrincipalArn": taskRole } });
    const policies = role["Policies"] as InlinePolicy[];
    expect(policies).toHaveLength(1);
    const statements = evaluate(policies[0]!.PolicyDocument.Statement, within) as Statement[];
    expect(statements).toEqual([
      {
        Sid: "DescribeEcsTasks",
        Effect: "Allow",
        Action: "ecs:DescribeTasks",
        Resource: ["arn:aws:ecs:${AWS_REGION}:${ACCOUNT_ID}:task/production/*", "arn:aws:ecs:${AWS_REGION}:${ACCOUNT_ID}:task/batch/*"],
      },
      { Sid: "DescribeEcsTaskDefinitions", Effect: "Allow", Action: "ecs:DescribeTaskDefinition", Resource: "*" },
    ]);
    const all = synthReader({ monitoringAccount: "444455556666" });
    const allStatements = evaluate((all.role["Policies"] as InlinePolicy[])[0]!.PolicyDocument.Statement, all.resources) as Statement[];
    expect(allStatements[0]?.Resource).toBe("arn:aws:ecs:${AWS_REGION}:${ACCOUNT_ID}:task/*");
  });

  it.each([
    [{ monitoringAccount: "4444-5555-6666" }, /monitoringAccount="4444-5555-6666": not an AWS account id/],
    [{ monitoringAccount: "444455556666", monitoringRoleArn: "PrometheusCloudMap-TaskRole" }, /monitoringRoleArn=.*not an IAM role ARN/],
    [{ monitoringAccount: "444455556666", monitoringRoleArn: "arn:aws:iam::111122223333:role/x" }, /monitoringRoleArn=.*must be in monitoringAccount 444455556666/],
    [{ monitoringAccount: "444455556666", roleName: "a/b" }, /roleName="a\/b": an IAM role name/],
    [{ monitoringAccount: "444455556666", externalId: "x" }, /externalId="x"/],
    [{ monitoringAccount: "444455556666", clusterNames: ["arn:aws:ecs:eu-west-1:111122223333:cluster/production"] }, /clusterNames=.*an ECS cluster name/],
    [{ monitoringAccount: "444455556666", clusterNames: [] }, /clusterNames=\[\]: list at least one cluster/],
  ] as const)("refuses %j with a message naming the prop", (props, message) => {
    expect(() => synthReader(props as EcsReaderRoleStackProps)).toThrow(message);
  });
});

describe("CDK stack, sharded HA shape", () => {
  const sharded = synth({ shards: 3 });
  const taskDefinitions = sharded.ofType("AWS::ECS::TaskDefinition").map(([, r]) => r.Properties as { Family: string; ContainerDefinitions: { Name: string; Environment: { Name: string; Value: string }[] }[] });
  const sidecarEnvironment = (family: string) => {
    const definition = taskDefinitions.find((t) => t.Family === family);
    return Object.fromEntries(definition!.ContainerDefinitions.find((c) => c.Name === "cloudmap-sd")!.Environment.map((e) => [e.Name, e.Value]));
  };

  it("runs N shard services of 2 tasks, replaced one task at a time", () => {
    sharded.template.resourceCountIs("AWS::ECS::Service", 3);
    sharded.template.allResourcesProperties("AWS::ECS::Service", {
      DesiredCount: 2,
      DeploymentConfiguration: { MinimumHealthyPercent: 50, MaximumPercent: 100 },
    });
  });

  it("tells each shard's sidecars SHARD_COUNT, their SHARD_INDEX and LABEL_NAMING=ecs, and nothing else differs", () => {
    expect(taskDefinitions.map((t) => t.Family).sort()).toEqual(["prometheus-cloudmap-shard-0", "prometheus-cloudmap-shard-1", "prometheus-cloudmap-shard-2"]);
    const single = sidecarEnvironment("prometheus-cloudmap-shard-0");
    for (const index of [0, 1, 2]) {
      const environment = sidecarEnvironment(`prometheus-cloudmap-shard-${index}`);
      expect(environment).toMatchObject({ SHARD_COUNT: "3", SHARD_INDEX: String(index), LABEL_NAMING: "ecs" });
      expect({ ...environment, SHARD_INDEX: undefined }).toEqual({ ...single, SHARD_INDEX: undefined });
    }
    const base = (propertiesOf("AWS::ECS::TaskDefinition") as { ContainerDefinitions: { Name: string; Environment: { Name: string }[] }[] }).ContainerDefinitions;
    const baseNames = base.find((c) => c.Name === "cloudmap-sd")!.Environment.map((e) => e.Name);
    expect(Object.keys(single).sort()).toEqual([...baseNames, "SHARD_COUNT", "SHARD_INDEX", "LABEL_NAMING"].sort());
  });

  it("stores task-definitions/prometheus/prometheus-ha.template.yaml, leaving the shard and replica to the sidecar", () => {
    const parameter = sharded.ofType("AWS::SSM::Parameter").find(([, r]) => r.Properties["Name"] === "ECS-Prometheus-Configuration");
    const raw = readFileSync(path.join(taskDefinitionsDir, "prometheus/prometheus-ha.template.yaml"), "utf8");
    const value = evaluate(parameter?.[1].Properties["Value"], sharded.resources) as string;
    expect(value).toBe(raw);
    expect(value).toContain('cluster: "shard-${CLOUDMAP_SD_SHARD_INDEX}"');
    expect(value).toContain('__replica__: "${CLOUDMAP_SD_REPLICA}"');
  });
});

describe("CDK stack images and CPU architecture", () => {
  const cache = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
  const custom = synth({
    prometheusImage: `${cache}/quay/prometheus/prometheus:v3.5.0`,
    cloudmapSdImage: "public.ecr.aws/example/cloudmap-sd:0.1.0",
    cpuArchitecture: "ARM64",
  });
  const definition = custom.ofType("AWS::ECS::TaskDefinition")[0]![1].Properties as {
    RuntimePlatform: unknown;
    ContainerDefinitions: { Name: string; Image: string }[];
  };

  it("uses the given image URIs and runtime platform", () => {
    expect(definition.RuntimePlatform).toEqual({ CpuArchitecture: "ARM64", OperatingSystemFamily: "LINUX" });
    expect(Object.fromEntries(definition.ContainerDefinitions.map((c) => [c.Name, c.Image]))).toEqual({
      prometheus: `${cache}/quay/prometheus/prometheus:v3.5.0`,
      "cloudmap-sd": "public.ecr.aws/example/cloudmap-sd:0.1.0",
    });
  });

  it("lets the execution role pull the ECR image, and a pull-through cache create and fill that one repository", () => {
    const statements = Object.entries(custom.resources)
      .filter(([id, r]) => id.startsWith("ExecutionRole") && r.Type === "AWS::IAM::Policy")
      .flatMap(([, r]) => (r.Properties["PolicyDocument"] as { Statement: Statement[] }).Statement);
    const repositoryArn = "arn:aws:ecr:eu-west-1:123456789012:repository/quay/prometheus/prometheus";
    const onRepository = statements.filter((st) => asList(evaluate(st.Resource, custom.resources) as string | string[]).includes(repositoryArn));
    expect(onRepository.flatMap((st) => asList(st.Action)).sort()).toEqual(
      ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository", "ecr:GetDownloadUrlForLayer"].sort(),
    );
    // The public image needs no grant, and no ECR statement reaches beyond that repository.
    for (const statement of statements.filter((st) => asList(st.Action).some((a) => a.startsWith("ecr:") && a !== "ecr:GetAuthorizationToken"))) {
      expect(evaluate(statement.Resource, custom.resources)).toEqual(repositoryArn);
    }
  });
});

describe("infra/bin/app.ts", () => {
  it("synthesises offline through the compiled entry point cdk.json runs", () => {
    const cdkJson = JSON.parse(readFileSync(path.join(repo, "infra/cdk.json"), "utf8")) as { app: string };
    const [command, script] = cdkJson.app.split(" ");
    expect(command).toBe("node");
    const entry = path.resolve(repo, "infra", script!);
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
    const out = mkdtempSync(path.join(tmpdir(), "cloudmap-sd-cdk-"));
    try {
      // What `cdk synth` does: run the app with CDK_OUTDIR set. No credentials, no network.
      execFileSync(process.execPath, [entry], {
        cwd: path.join(repo, "infra"),
        env: { PATH: process.env["PATH"] ?? "", CDK_OUTDIR: out },
        stdio: ["ignore", "ignore", "pipe"],
      });
      const synthesised = JSON.parse(readFileSync(path.join(out, "PrometheusCloudMap.template.json"), "utf8")) as { Resources: object };
      expect(Object.keys(synthesised.Resources).length).toBeGreaterThan(10);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  // `cdk synth -c key=value` reaches the app as CDK_CONTEXT_JSON.
  const runApp = (context: Record<string, string>, stackName = "PrometheusCloudMap") => {
    const out = mkdtempSync(path.join(tmpdir(), "cloudmap-sd-cdk-"));
    try {
      const result = spawnSync(process.execPath, [path.join(repo, "dist/infra/bin/app.js")], {
        cwd: path.join(repo, "infra"),
        env: { PATH: process.env["PATH"] ?? "", CDK_OUTDIR: out, CDK_CONTEXT_JSON: JSON.stringify(context) },
        encoding: "utf8",
      });
      const file = path.join(out, `${stackName}.template.json`);
      const stacks = readdirSafe(out).filter((name) => name.endsWith(".template.json"));
      return { status: result.status, stderr: result.stderr, stacks, template: existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { Resources: Resources }) : undefined };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  };

  it("takes an existing estate and the sharded shape from context", () => {
    const { status, stderr, template: synthesised } = runApp({
      vpcId: "vpc-0123456789abcdef0",
      subnetIds: "subnet-0aaaaaaaaaaaaaaaa, subnet-0bbbbbbbbbbbbbbbb",
      clusterName: "production",
      workspaceId: "ws-11111111-2222-3333-4444-555555555555",
      namespaces: "orders.internal,payments.internal",
      shards: "2",
      cpuArchitecture: "ARM64",
      prometheusImage: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/quay/prometheus/prometheus:v3.5.0",
    });
    expect(stderr).toBe("");
    expect(status).toBe(0);
    const types = Object.values(synthesised!.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === "AWS::ECS::Service")).toHaveLength(2);
    for (const absent of ["AWS::EC2::VPC", "AWS::ECS::Cluster", "AWS::APS::Workspace", "AWS::ServiceDiscovery::PrivateDnsNamespace"]) expect(types).not.toContain(absent);
    const services = Object.values(synthesised!.Resources).filter((r) => r.Type === "AWS::ECS::Service");
    expect(services[0]?.Properties).toMatchObject({ Cluster: "production", NetworkConfiguration: { AwsvpcConfiguration: { Subnets: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"] } } });
    const parameter = Object.values(synthesised!.Resources).find((r) => r.Type === "AWS::SSM::Parameter" && r.Properties["Name"] === "ECS-ServiceDiscovery-Namespaces");
    expect(parameter?.Properties["Value"]).toBe("orders.internal,payments.internal");
  }, 60_000);

  it("takes shared namespace ARNs and the workload accounts from context", () => {
    const shared = "arn:aws:servicediscovery:eu-west-1:222233334444:namespace/ns-abcdef0123456789";
    const { status, stderr, template: synthesised } = runApp({ namespaces: `orders.internal,${shared}`, ecsReaderAccounts: "222233334444, 333344445555", ecsReaderExternalId: "org-monitoring" });
    expect(stderr).toBe("");
    expect(status).toBe(0);
    const parameter = Object.values(synthesised!.Resources).find((r) => r.Type === "AWS::SSM::Parameter" && r.Properties["Name"] === "ECS-ServiceDiscovery-Namespaces");
    expect(parameter?.Properties["Value"]).toBe(`orders.internal,${shared}`);
    const policy = Object.entries(synthesised!.Resources).find(([id, r]) => id.startsWith("TaskPolicy") && r.Type === "AWS::IAM::Policy")![1];
    const statements = (policy.Properties["PolicyDocument"] as { Statement: Statement[] }).Statement;
    expect(statements.find((st) => st.Sid === "DiscoverSharedCloudMapInstances")?.Resource).toContain(shared);
    expect(evaluate(statements.find((st) => st.Sid === "AssumeEcsReaderRoles")?.Resource, synthesised!.Resources)).toEqual([
      "arn:aws:iam::222233334444:role/cloudmap-sd-ecs-reader",
      "arn:aws:iam::333344445555:role/cloudmap-sd-ecs-reader",
    ]);
  }, 60_000);

  it("synthesises only the reader role stack with workloadAccountRole=true", () => {
    const { status, stderr, stacks, template: synthesised } = runApp(
      { workloadAccountRole: "true", monitoringAccount: "444455556666", ecsReaderExternalId: "org-monitoring", clusterNames: "production" },
      "CloudMapSdEcsReader",
    );
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(stacks).toEqual(["CloudMapSdEcsReader.template.json"]);
    const role = Object.values(synthesised!.Resources).find((r) => r.Type === "AWS::IAM::Role")!;
    expect(role.Properties["RoleName"]).toBe("cloudmap-sd-ecs-reader");
    expect(JSON.stringify(role.Properties["AssumeRolePolicyDocument"])).toContain('"sts:ExternalId":"org-monitoring"');
  }, 60_000);

  it.each([
    [{ workloadAccountRole: "true" }, "monitoringAccount=undefined: workloadAccountRole needs the monitoring account's id"],
    [{ workloadAccountRole: "true", monitoringAccount: "12345" }, 'monitoringAccount="12345": not an AWS account id'],
    [{ ecsReaderAccounts: "111122223333,12345" }, 'ecsReaderAccounts="12345": not an AWS account id'],
    [{ namespaces: "arn:aws:servicediscovery:eu-west-1:222233334444:service/srv-abcdef0123456789" }, "not a Cloud Map namespace ARN"],
  ])("fails on bad context %j with a message naming the key", (context, message) => {
    const { status, stderr } = runApp(context);
    expect(status).not.toBe(0);
    expect(stderr).toContain(message);
  }, 60_000);

  it("fails with a message naming the context key when a VPC id comes without subnets", () => {
    const { status, stderr } = runApp({ vpcId: "vpc-0123456789abcdef0" });
    expect(status).not.toBe(0);
    expect(stderr).toContain("an existing VPC needs both vpcId and subnetIds");
  }, 60_000);
});
