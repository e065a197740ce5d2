import { Aws, CfnOutput, Fn, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { CfnRuleGroupsNamespace, CfnWorkspace } from "aws-cdk-lib/aws-aps";
import { CfnSecurityGroup, SubnetType, Vpc } from "aws-cdk-lib/aws-ec2";
import { type IRepository, Repository } from "aws-cdk-lib/aws-ecr";
import { CfnCluster, CfnService, CfnTaskDefinition } from "aws-cdk-lib/aws-ecs";
import { Policy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { CfnPrivateDnsNamespace } from "aws-cdk-lib/aws-servicediscovery";
import { StringParameter } from "aws-cdk-lib/aws-ssm";
import type { RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import type { Construct } from "constructs";
import {
  checkAccountIds,
  checkCpuArchitecture,
  checkExternalId,
  checkNamespaces,
  checkRoleName,
  checkShards,
  checkVpc,
  DEFAULT_ECS_READER_ROLE_NAME,
  ecrImageOf,
  EstatePropsError,
  workspaceIdOf,
  type CpuArchitecture,
  type ExistingVpc,
  type NamespaceArn,
} from "./estate.js";
import { ecsReaderRoleArn, taskPolicyStatements } from "./task-policy.js";
import {
  PLACEHOLDER_DEFAULTS,
  containerNamed,
  environmentOf,
  fillText,
  readDeployFile,
  readTemplate,
  taskDefinitionTemplate,
  type Placeholders,
} from "./templates.js";

export interface PrometheusCloudMapStackProps extends StackProps {
  /** Name of the Cloud Map private DNS namespace to create (default `ecs-services`) when `namespaces` is not given. */
  readonly namespaceName?: string;
  /**
   * Existing Cloud Map namespaces to discover (any number); none is created. Each is a name, or
   * the ARN of a namespace another account shares with this one through AWS RAM.
   */
  readonly namespaces?: readonly string[];
  /** An existing VPC and its private subnets; default: a new VPC (2 AZs, one NAT gateway). */
  readonly vpc?: ExistingVpc;
  /** An existing ECS cluster (name or ARN); default: a new cluster. */
  readonly clusterName?: string;
  /** An existing AMP workspace (id `ws-…` or ARN) in the stack's region; default: a new workspace. */
  readonly workspaceId?: string;
  /** ECR repository holding the cloudmap-sd image (default `cloudmap-sd`). */
  readonly imageRepositoryName?: string;
  /** Tag of the cloudmap-sd image in that repository (default `latest`). */
  readonly imageTag?: string;
  /** The full cloudmap-sd image URI; overrides imageRepositoryName and imageTag. */
  readonly cloudmapSdImage?: string;
  /** The Prometheus image URI (default quay.io's), e.g. an ECR pull-through cache for private subnets. */
  readonly prometheusImage?: string;
  /** The tasks' CPU architecture (default X86_64); ARM64 runs on Graviton and needs multi-arch images. */
  readonly cpuArchitecture?: CpuArchitecture;
  /**
   * The sharded HA shape: this many shard services of 2 tasks each, the sidecars with
   * SHARD_COUNT, SHARD_INDEX and LABEL_NAMING=ecs, Prometheus with external labels for AMP's
   * HA deduplication. Default: one service of one task (no sharding, no HA).
   */
  readonly shards?: number;
  /** Load deploy/prometheus/cloudmap-sd.rules.yaml into the workspace as a rule groups namespace (default true). */
  readonly alertRules?: boolean;
  /**
   * Workload accounts (12-digit ids) whose ECS tasks the sidecar describes by assuming
   * `ecsReaderRoleName` there (ECS_ASSUME_ROLE); create that role with EcsReaderRoleStack.
   */
  readonly ecsReaderAccounts?: readonly string[];
  /** The role assumed in each of `ecsReaderAccounts` (default `cloudmap-sd-ecs-reader`). */
  readonly ecsReaderRoleName?: string;
  /** The external id the sidecar passes to sts:AssumeRole (ECS_ASSUME_ROLE_EXTERNAL_ID). */
  readonly ecsReaderExternalId?: string;
}


/** The task definition deployed here: the Fargate variant with Prometheus' native SigV4. */
export const TASK_DEFINITION_FILE = "prometheus-fargate-sigv4.json";
/** The Prometheus configuration of the single-task shape, and of the sharded HA shape. */
export const PROMETHEUS_CONFIG_FILE = "prometheus/prometheus.yaml";
export const PROMETHEUS_HA_CONFIG_FILE = "prometheus/prometheus-ha.template.yaml";
export const ALERT_RULES_FILE = "prometheus/cloudmap-sd.rules.yaml";

/**
 * Everything the Prometheus task needs, each piece new or existing: a VPC and cluster, the
 * Cloud Map namespaces, the two SSM parameters, an AMP workspace with the alerting rules, the
 * log group, the execution and task roles, and Fargate services running
 * task-definitions/prometheus-fargate-sigv4.json: one task, or N shards of 2 tasks.
 */
export class PrometheusCloudMapStack extends Stack {
  constructor(scope: Construct, id: string, props: PrometheusCloudMapStackProps = {}) {
    super(scope, id, props);
    const existingVpc = props.vpc === undefined ? undefined : checkVpc(props.vpc);
    const existingNamespaces = props.namespaces === undefined ? undefined : checkNamespaces(props.namespaces);
    const ecsReader = checkEcsReader(props);
    const cpuArchitecture = checkCpuArchitecture(props.cpuArchitecture ?? PLACEHOLDER_DEFAULTS.CPU_ARCHITECTURE);
    const shards = props.shards === undefined ? undefined : checkShards(props.shards);

    // Network: a new VPC, or the given one. L1 resources below take plain ids, so an existing
    // VPC needs no lookup and `cdk synth` stays offline.
    let vpcId: string;
    let subnetIds: string[];
    let newVpc: Vpc | undefined;
    if (existingVpc) {
      vpcId = existingVpc.vpcId;
      subnetIds = [...existingVpc.subnetIds];
    } else {
      newVpc = new Vpc(this, "Vpc", { maxAzs: 2, natGateways: 1 });
      vpcId = newVpc.vpcId;
      subnetIds = newVpc.selectSubnets({ subnetType: SubnetType.PRIVATE_WITH_EGRESS }).subnetIds;
    }
    const clusterName = props.clusterName ?? new CfnCluster(this, "Cluster").ref;

    // Entries of the namespaces parameter: names and ARNs, in the order given.
    let namespaceEntries: readonly string[];
    let namespaceNames: readonly string[];
    let namespaceArns: readonly NamespaceArn[] = [];
    let createdNamespace: CfnPrivateDnsNamespace | undefined;
    if (existingNamespaces) {
      namespaceEntries = existingNamespaces.entries;
      namespaceNames = existingNamespaces.names;
      namespaceArns = existingNamespaces.arns;
    } else {
      const name = props.namespaceName ?? "ecs-services";
      createdNamespace = new CfnPrivateDnsNamespace(this, "Namespace", { name, vpc: vpcId });
      namespaceEntries = namespaceNames = [name];
    }

    let workspaceId: string;
    let workspaceArn: string;
    let workspaceEndpoint: string;
    if (props.workspaceId !== undefined) {
      workspaceId = workspaceIdOf(props.workspaceId);
      workspaceArn = this.formatArn({ service: "aps", resource: "workspace", resourceName: workspaceId });
      workspaceEndpoint = `https://aps-workspaces.${Aws.REGION}.amazonaws.com/workspaces/${workspaceId}/`;
    } else {
      const workspace = new CfnWorkspace(this, "Workspace", { alias: "prometheus-cloudmap" });
      workspaceId = workspace.attrWorkspaceId;
      workspaceArn = workspace.attrArn;
      workspaceEndpoint = workspace.attrPrometheusEndpoint;
    }
    if (props.alertRules !== false) {
      // AMP takes the Prometheus rules file as it is; read at synth time, so a change to the
      // file is a change to the stack.
      new CfnRuleGroupsNamespace(this, "AlertRules", { workspace: workspaceArn, name: "cloudmap-sd", data: readDeployFile(ALERT_RULES_FILE) });
    }

    let repository: IRepository | undefined;
    let cloudmapSdImage = props.cloudmapSdImage;
    if (cloudmapSdImage === undefined) {
      repository = Repository.fromRepositoryName(this, "ImageRepository", props.imageRepositoryName ?? "cloudmap-sd");
      cloudmapSdImage = repository.repositoryUriForTag(props.imageTag ?? "latest");
    }
    const prometheusImage = props.prometheusImage ?? PLACEHOLDER_DEFAULTS.PROMETHEUS_IMAGE;

    const placeholders: Placeholders = {
      AWS_REGION: Aws.REGION,
      ACCOUNT_ID: Aws.ACCOUNT_ID,
      WORKSPACE_ID: workspaceId,
      CLOUDMAP_SD_IMAGE: cloudmapSdImage,
      PROMETHEUS_IMAGE: prometheusImage,
      SIGV4_PROXY_IMAGE: PLACEHOLDER_DEFAULTS.SIGV4_PROXY_IMAGE,
      CPU_ARCHITECTURE: cpuArchitecture,
    };
    const template = withSidecarEnvironment(taskDefinitionTemplate(TASK_DEFINITION_FILE, placeholders), ecsReader?.environment ?? []);
    const sidecar = containerNamed(template, "cloudmap-sd");

    const logGroup = new LogGroup(this, "LogGroup", {
      logGroupName: sidecar.logConfiguration?.options?.["awslogs-group"],
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Names come from the sidecar's environment in the task definition, so they cannot drift.
    const namespacesParameter = new StringParameter(this, "NamespacesParameter", {
      parameterName: environmentOf(sidecar, "DISCOVERY_NAMESPACES_PARAMETER_NAME"),
      description: "Cloud Map namespaces cloudmap-sd discovers (comma or newline separated)",
      stringValue: namespaceEntries.join(","),
    });
    const prometheusConfigParameter = new StringParameter(this, "PrometheusConfigParameter", {
      parameterName: environmentOf(sidecar, "PROMETHEUS_CONFIG_PARAMETER_NAME"),
      description: "prometheus.yaml that cloudmap-sd writes into CONFIG_FILE_DIR",
      stringValue: fillText(readTemplate(shards === undefined ? PROMETHEUS_CONFIG_FILE : PROMETHEUS_HA_CONFIG_FILE), placeholders),
    });

    const ecsTasks = new ServicePrincipal("ecs-tasks.amazonaws.com").withConditions({
      // Only ECS tasks of this account may assume the roles (confused-deputy guard).
      StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID },
      ArnLike: { "aws:SourceArn": this.formatArn({ service: "ecs", resource: "*" }) },
    });
    const executionRole = new Role(this, "ExecutionRole", {
      assumedBy: ecsTasks,
      description: "Pulls the cloudmap-sd and Prometheus images and writes the task's logs",
    });
    repository?.grantPull(executionRole);
    this.grantEcrPull(executionRole, [props.cloudmapSdImage, props.prometheusImage]);
    logGroup.grantWrite(executionRole);

    const taskRole = new Role(this, "TaskRole", {
      assumedBy: ecsTasks,
      description: "cloudmap-sd discovery (SSM, Cloud Map, ECS) and Prometheus remote write to AMP",
    });
    const taskPolicy = new Policy(this, "TaskPolicy", {
      roles: [taskRole],
      statements: taskPolicyStatements(this, {
        parameterArns: [namespacesParameter.parameterArn, prometheusConfigParameter.parameterArn],
        namespaceNames,
        namespaceArns,
        workspaceArn,
        ecsReaderRoleArns: ecsReader?.roleArns,
      }),
    });

    const securityGroup = new CfnSecurityGroup(this, "PrometheusSecurityGroup", {
      vpcId,
      groupDescription: "Prometheus task: scrapes targets (allow it in their security groups) and calls AWS APIs",
      securityGroupEgress: [{ ipProtocol: "-1", cidrIp: "0.0.0.0/0", description: "Allow all outbound traffic by default" }],
    });

    const services: CfnService[] = [];
    const addService = (idSuffix: string, task: RegisterTaskDefinitionCommandInput, desiredCount: number) => {
      // CPU/memory come from the template: the cloudmap-sd sidecar gets 128 CPU units and
      // 256 MiB (128 reserved), sized from the benchmark's peak RSS (image flags, Node 24): ~125 MB
      // at 10,000 instances, ~210 MB at 50,000; see BENCHMARKS.md and docs/deploy.md.
      // The template is the RegisterTaskDefinition input; CloudFormation's TaskDefinition
      // uses the same (camelCase) member names, so it passes through unchanged.
      const taskDefinition = new CfnTaskDefinition(this, `TaskDefinition${idSuffix}`, {
        ...(task as unknown as CfnTaskDefinitionProps),
        executionRoleArn: executionRole.roleArn,
        taskRoleArn: taskRole.roleArn,
      });
      taskDefinition.node.addDependency(logGroup);
      // L1 service: the L2 FargateService wants an L2 task definition, and this one is the template.
      const service = new CfnService(this, `Service${idSuffix}`, {
        cluster: clusterName,
        taskDefinition: taskDefinition.ref,
        launchType: "FARGATE",
        desiredCount,
        deploymentConfiguration:
          desiredCount === 1
            ? // One Prometheus at a time: two writers of the same series would send AMP duplicates.
              { minimumHealthyPercent: 0, maximumPercent: 100, deploymentCircuitBreaker: { enable: true, rollback: true } }
            : // An HA pair: replace one replica at a time, the other keeps writing (AMP deduplicates them).
              { minimumHealthyPercent: 50, maximumPercent: 100, deploymentCircuitBreaker: { enable: true, rollback: true } },
        networkConfiguration: {
          awsvpcConfiguration: { subnets: subnetIds, securityGroups: [securityGroup.attrGroupId], assignPublicIp: "DISABLED" },
        },
        enableEcsManagedTags: true,
        propagateTags: "SERVICE",
      });
      // Tasks start only once the role can act and (a new VPC's) private subnets can reach AWS.
      service.node.addDependency(taskPolicy);
      if (newVpc) service.node.addDependency(newVpc);
      services.push(service);
    };
    if (shards === undefined) {
      addService("", template, 1);
    } else {
      for (let index = 0; index < shards; index++) addService(`Shard${index}`, shardTaskDefinition(template, index, shards), 2);
    }

    new CfnOutput(this, "ClusterName", { value: clusterName });
    services.forEach((service, index) => new CfnOutput(this, shards === undefined ? "ServiceName" : `ServiceNameShard${index}`, { value: service.attrName }));
    if (createdNamespace) new CfnOutput(this, "NamespaceId", { value: createdNamespace.attrId });
    new CfnOutput(this, "NamespaceNames", { value: namespaceEntries.join(",") });
    // What EcsReaderRoleStack's monitoringRoleArn trusts.
    new CfnOutput(this, "TaskRoleArn", { value: taskRole.roleArn });
    new CfnOutput(this, "WorkspaceId", { value: workspaceId });
    new CfnOutput(this, "RemoteWriteUrl", { value: `${workspaceEndpoint}api/v1/remote_write` });
    new CfnOutput(this, "PrometheusSecurityGroupId", { value: securityGroup.attrGroupId });
    new CfnOutput(this, "LogGroupName", { value: logGroup.logGroupName });
  }

  /**
   * Images given as private ECR URIs: pull them, and let a pull-through cache create and fill
   * its repository on the first pull (ecr:CreateRepository, ecr:BatchImportUpstreamImage),
   * each on that one repository only.
   */
  private grantEcrPull(role: Role, images: readonly (string | undefined)[]): void {
    const repositoryArns = images
      .map((uri) => (uri === undefined ? undefined : ecrImageOf(uri)))
      .filter((image) => image !== undefined)
      .map((image) => `arn:${Aws.PARTITION}:ecr:${image.region}:${image.account}:repository/${image.repositoryName}`);
    if (repositoryArns.length === 0) return;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
        resources: repositoryArns,
      }),
    );
    // The registry login token has no resource: IAM allows it on "*" only.
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }));
  }
}

/** The template for shard `index` of `count`: its own family, the sidecar told its shard and the collision-free label names. */
export function shardTaskDefinition(template: RegisterTaskDefinitionCommandInput, index: number, count: number): RegisterTaskDefinitionCommandInput {
  const sharded = withSidecarEnvironment(template, [
    { name: "SHARD_COUNT", value: String(count) },
    { name: "SHARD_INDEX", value: String(index) },
    // A target label `cluster` would override AMP's HA external label `cluster` (docs/deploy.md#scaling-out).
    { name: "LABEL_NAMING", value: "ecs" },
  ]);
  return { ...sharded, family: `${template.family}-shard-${index}` };
}

interface EnvironmentVariable {
  readonly name: string;
  readonly value: string;
}

/** The template with these variables set in the cloudmap-sd container (replacing any of the same name). */
export function withSidecarEnvironment(template: RegisterTaskDefinitionCommandInput, variables: readonly EnvironmentVariable[]): RegisterTaskDefinitionCommandInput {
  if (variables.length === 0) return template;
  return {
    ...template,
    containerDefinitions: template.containerDefinitions?.map((container) =>
      container.name === "cloudmap-sd"
        ? { ...container, environment: [...(container.environment ?? []).filter((e) => !variables.some((v) => v.name === e.name)), ...variables] }
        : container,
    ),
  };
}

/** Cross-account ECS enrichment: the sidecar's settings and the roles it may assume; undefined without ecsReaderAccounts. */
function checkEcsReader(props: PrometheusCloudMapStackProps): { environment: EnvironmentVariable[]; roleArns: string[] } | undefined {
  if (props.ecsReaderAccounts === undefined) {
    for (const prop of ["ecsReaderRoleName", "ecsReaderExternalId"] as const) {
      if (props[prop] !== undefined) throw new EstatePropsError(prop, props[prop], "only means something with ecsReaderAccounts (the accounts to assume the role in)");
    }
    return undefined;
  }
  const accounts = checkAccountIds("ecsReaderAccounts", props.ecsReaderAccounts);
  const roleName = checkRoleName("ecsReaderRoleName", props.ecsReaderRoleName ?? DEFAULT_ECS_READER_ROLE_NAME);
  const externalId = props.ecsReaderExternalId === undefined ? undefined : checkExternalId("ecsReaderExternalId", props.ecsReaderExternalId);
  return {
    environment: [
      // An ARN template in the stack's own partition (aws-cn, aws-us-gov): a bare name would be
      // assumed as arn:aws:… by the sidecar, where the task policy grants arn:<partition>:….
      // Fn::Sub: "${!ACCOUNT_ID}" is the literal ${ACCOUNT_ID} the sidecar fills per account.
      { name: "ECS_ASSUME_ROLE", value: Fn.sub(`arn:\${AWS::Partition}:iam::\${!ACCOUNT_ID}:role/${roleName}`) },
      ...(externalId === undefined ? [] : [{ name: "ECS_ASSUME_ROLE_EXTERNAL_ID", value: externalId }]),
    ],
    roleArns: accounts.map((account) => ecsReaderRoleArn(account, roleName)),
  };
}

type CfnTaskDefinitionProps = ConstructorParameters<typeof CfnTaskDefinition>[2];
