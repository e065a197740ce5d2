// CDK entry point. Run through infra/cdk.json after `npm run build`:
//   cd infra && npx cdk synth     (offline: the stack is environment-agnostic, no lookups)
//
// Context (-c key=value), every one optional; without any, everything is created new:
//   namespaceName=ecs-services           the namespace to create (when `namespaces` is not given)
//   namespaces=ns-a,arn:aws:servicediscovery:…:namespace/ns-…   existing Cloud Map namespaces to
//                                        discover, by name or (shared through AWS RAM) by ARN
//   vpcId=vpc-… subnetIds=subnet-…,…     an existing VPC and the private subnets to run in
//   clusterName=…                        an existing ECS cluster (name or ARN)
//   workspaceId=ws-…                     an existing AMP workspace (id or ARN)
//   imageRepositoryName=cloudmap-sd imageTag=0.1.0   or   cloudmapSdImage=<full URI>
//   prometheusImage=<URI>                e.g. an ECR pull-through cache of quay.io
//   cpuArchitecture=X86_64|ARM64
//   shards=N                             the sharded HA shape: N services × 2 tasks
//   alertRules=false                     do not load the alerting rules into the workspace
//   ecsReaderAccounts=111122223333,…     describe these accounts' ECS tasks through a role there
//   ecsReaderRoleName=…                  that role's name (default cloudmap-sd-ecs-reader)
//   ecsReaderExternalId=…                the external id sts:AssumeRole passes
//
// In a workload account, instead of the stack above, the role cloudmap-sd assumes there:
//   workloadAccountRole=true monitoringAccount=444455556666
//   [monitoringRoleArn=<the monitoring stack's TaskRoleArn output>] [ecsReaderRoleName=…]
//   [ecsReaderExternalId=…] [clusterNames=a,b]
import { App } from "aws-cdk-lib";
import { EcsReaderRoleStack } from "../lib/ecs-reader-role-stack.js";
import { checkCpuArchitecture, EstatePropsError } from "../lib/estate.js";
import { PrometheusCloudMapStack } from "../lib/prometheus-stack.js";

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value === "string" && value !== "" ? value : undefined;
};
const list = (key: string): string[] | undefined =>
  context(key)
    ?.split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
const optional = <T>(key: string, parse: (value: string) => T): T | undefined => {
  const value = context(key);
  return value === undefined ? undefined : parse(value);
};

function workloadAccountRole(): void {
  const monitoringAccount = context("monitoringAccount");
  if (monitoringAccount === undefined) throw new EstatePropsError("monitoringAccount", monitoringAccount, "workloadAccountRole needs the monitoring account's id (-c monitoringAccount=…)");
  new EcsReaderRoleStack(app, "CloudMapSdEcsReader", {
    description: "The role cloudmap-sd in the monitoring account assumes to read this account's ECS tasks",
    monitoringAccount,
    monitoringRoleArn: context("monitoringRoleArn"),
    roleName: context("ecsReaderRoleName"),
    externalId: context("ecsReaderExternalId"),
    clusterNames: list("clusterNames"),
  });
}

function monitoringAccountStack(): void {
  const vpcId = context("vpcId");
  const subnetIds = list("subnetIds");
  if ((vpcId === undefined) !== (subnetIds === undefined)) {
    throw new EstatePropsError(vpcId === undefined ? "subnetIds" : "vpcId", vpcId ?? subnetIds, "an existing VPC needs both vpcId and subnetIds");
  }

  new PrometheusCloudMapStack(app, "PrometheusCloudMap", {
    description: "Prometheus on ECS with cloudmap-sd service discovery, remote-writing to Amazon Managed Service for Prometheus",
    namespaceName: context("namespaceName"),
    namespaces: list("namespaces"),
    vpc: vpcId !== undefined && subnetIds !== undefined ? { vpcId, subnetIds } : undefined,
    clusterName: context("clusterName"),
    workspaceId: context("workspaceId"),
    imageRepositoryName: context("imageRepositoryName"),
    imageTag: context("imageTag"),
    cloudmapSdImage: context("cloudmapSdImage"),
    prometheusImage: context("prometheusImage"),
    cpuArchitecture: optional("cpuArchitecture", checkCpuArchitecture),
    shards: optional("shards", Number),
    alertRules: optional("alertRules", (value) => value !== "false"),
    ecsReaderAccounts: list("ecsReaderAccounts"),
    ecsReaderRoleName: context("ecsReaderRoleName"),
    ecsReaderExternalId: context("ecsReaderExternalId"),
  });
}

if (context("workloadAccountRole") === "true") workloadAccountRole();
else monitoringAccountStack();
app.synth();
