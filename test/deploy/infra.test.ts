// The CDK app, synthesised in-process (no CLI, no AWS credentials, no network).
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PrometheusCloudMapStack, TASK_DEFINITION_FILE } from "../../infra/lib/prometheus-stack.js";
import { repo, taskDefinitionsDir } from "./render.js";

// Without an outdir, App synthesises into a new os.tmpdir()/cdk.outXXXXXX that nothing removes.
const outdir = mkdtempSync(path.join(tmpdir(), "cloudmap-sd-cdk-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
const template = Template.fromStack(new PrometheusCloudMapStack(new App({ outdir }), "Test"));
const resources = template.toJSON()["Resources"] as Record<string, { Type: string; Properties: Record<string, unknown> }>;
const logicalIdOf = (type: string) => {
  const ids = Object.keys(resources).filter((id) => resources[id]?.Type === type);
  expect(ids, type).toHaveLength(1);
  return ids[0]!;
};
const propertiesOf = (type: string) => resources[logicalIdOf(type)]!.Properties;

// Evaluates the CloudFormation expressions the stack uses back into the placeholders of
// the plain files, so the synthesised policy, task definition and configuration can be
// compared with infra/policy/*.json and task-definitions/ exactly.
function evaluate(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(evaluate);
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
    const referenced = resources[argument as string];
    if (referenced?.Type === "AWS::SSM::Parameter") return referenced.Properties["Name"];
    if (pseudo[argument as string] !== undefined) return pseudo[argument as string];
    return { Ref: argument };
  }
  if (entries.length === 1 && key === "Fn::GetAtt") {
    const [id, attribute] = argument as [string, string];
    if (resources[id]?.Type === "AWS::APS::Workspace") {
      if (attribute === "Arn") return "arn:aws:aps:${AWS_REGION}:${ACCOUNT_ID}:workspace/${WORKSPACE_ID}";
      if (attribute === "WorkspaceId") return "${WORKSPACE_ID}";
    }
    return { "Fn::GetAtt": [id, attribute] };
  }
  if (entries.length === 1 && key === "Fn::Join") {
    const [separator, parts] = argument as [string, unknown[]];
    const evaluated = parts.map(evaluate);
    if (evaluated.every((part) => typeof part === "string")) return evaluated.join(separator);
    return { "Fn::Join": [separator, evaluated] };
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, evaluate(v)]));
}

type Statement = { Sid?: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown };
const asList = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
const policyNamed = (idPrefix: string) => {
  const id = Object.keys(resources).find((key) => key.startsWith(idPrefix) && resources[key]?.Type === "AWS::IAM::Policy");
  return resources[id!]!.Properties as { PolicyDocument: { Statement: Statement[] }; Roles: unknown[] };
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
    const expected = pascal(JSON.parse(JSON.stringify(json).replaceAll("${CLOUDMAP_SD_IMAGE}", image))) as Record<string, unknown>;
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
});
