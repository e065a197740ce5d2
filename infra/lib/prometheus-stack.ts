import { Aws, CfnOutput, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { CfnWorkspace } from "aws-cdk-lib/aws-aps";
import { SecurityGroup, SubnetType, Vpc } from "aws-cdk-lib/aws-ec2";
import { Repository } from "aws-cdk-lib/aws-ecr";
import { CfnService, CfnTaskDefinition, Cluster } from "aws-cdk-lib/aws-ecs";
import { Policy, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { PrivateDnsNamespace } from "aws-cdk-lib/aws-servicediscovery";
import { StringParameter } from "aws-cdk-lib/aws-ssm";
import type { Construct } from "constructs";
import { taskPolicyStatements } from "./task-policy.js";
import { containerNamed, environmentOf, fillText, readTemplate, taskDefinitionTemplate, type Placeholders } from "./templates.js";

export interface PrometheusCloudMapStackProps extends StackProps {
  /** The Cloud Map private DNS namespace to create and to discover (default `ecs-services`). */
  readonly namespaceName?: string;
  /** ECR repository holding the cloudmap-sd image (default `cloudmap-sd`). */
  readonly imageRepositoryName?: string;
  /** Tag of the cloudmap-sd image in that repository (default `latest`). */
  readonly imageTag?: string;
}

/** The task definition deployed here: the Fargate variant with Prometheus' native SigV4. */
export const TASK_DEFINITION_FILE = "prometheus-fargate-sigv4.json";

/**
 * Everything the Prometheus task needs: a VPC and cluster, the Cloud Map namespace, the two
 * SSM parameters, an AMP workspace, the log group, the execution and task roles, and one
 * Fargate service running task-definitions/prometheus-fargate-sigv4.json.
 */
export class PrometheusCloudMapStack extends Stack {
  constructor(scope: Construct, id: string, props: PrometheusCloudMapStackProps = {}) {
    super(scope, id, props);
    const namespaceName = props.namespaceName ?? "ecs-services";

    const vpc = new Vpc(this, "Vpc", { maxAzs: 2, natGateways: 1 });
    const cluster = new Cluster(this, "Cluster", { vpc });
    const namespace = new PrivateDnsNamespace(this, "Namespace", { name: namespaceName, vpc });
    const workspace = new CfnWorkspace(this, "Workspace", { alias: "prometheus-cloudmap" });
    const repository = Repository.fromRepositoryName(this, "ImageRepository", props.imageRepositoryName ?? "cloudmap-sd");

    const placeholders: Placeholders = {
      AWS_REGION: Aws.REGION,
      ACCOUNT_ID: Aws.ACCOUNT_ID,
      WORKSPACE_ID: workspace.attrWorkspaceId,
      CLOUDMAP_SD_IMAGE: repository.repositoryUriForTag(props.imageTag ?? "latest"),
    };
    const template = taskDefinitionTemplate(TASK_DEFINITION_FILE, placeholders);
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
      stringValue: namespaceName,
    });
    const prometheusConfigParameter = new StringParameter(this, "PrometheusConfigParameter", {
      parameterName: environmentOf(sidecar, "PROMETHEUS_CONFIG_PARAMETER_NAME"),
      description: "prometheus.yaml that cloudmap-sd writes into CONFIG_FILE_DIR",
      stringValue: fillText(readTemplate("prometheus/prometheus.yaml"), placeholders),
    });

    const ecsTasks = new ServicePrincipal("ecs-tasks.amazonaws.com").withConditions({
      // Only ECS tasks of this account may assume the roles (confused-deputy guard).
      StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID },
      ArnLike: { "aws:SourceArn": this.formatArn({ service: "ecs", resource: "*" }) },
    });
    const executionRole = new Role(this, "ExecutionRole", {
      assumedBy: ecsTasks,
      description: "Pulls the cloudmap-sd image and writes the task's logs",
    });
    repository.grantPull(executionRole);
    logGroup.grantWrite(executionRole);

    const taskRole = new Role(this, "TaskRole", {
      assumedBy: ecsTasks,
      description: "cloudmap-sd discovery (SSM, Cloud Map, ECS) and Prometheus remote write to AMP",
    });
    const taskPolicy = new Policy(this, "TaskPolicy", {
      roles: [taskRole],
      statements: taskPolicyStatements(this, {
        parameterArns: [namespacesParameter.parameterArn, prometheusConfigParameter.parameterArn],
        namespaceNames: [namespaceName],
        workspaceArn: workspace.attrArn,
      }),
    });

    // CPU/memory come from the template: the cloudmap-sd sidecar gets 128 CPU units and
    // 384 MiB (192 reserved), sized from the benchmark's peak RSS at 10,000 targets
    // (320-350 MB); see BENCHMARKS.md and docs/deploy.md.
    // The template is the RegisterTaskDefinition input; CloudFormation's TaskDefinition
    // uses the same (camelCase) member names, so it passes through unchanged.
    const taskDefinition = new CfnTaskDefinition(this, "TaskDefinition", {
      ...(template as unknown as CfnTaskDefinitionProps),
      executionRoleArn: executionRole.roleArn,
      taskRoleArn: taskRole.roleArn,
    });
    taskDefinition.node.addDependency(logGroup);

    const securityGroup = new SecurityGroup(this, "PrometheusSecurityGroup", {
      vpc,
      description: "Prometheus task: scrapes targets (allow it in their security groups) and calls AWS APIs",
      allowAllOutbound: true,
    });
    // L1 service: the L2 FargateService wants an L2 task definition, and this one is the template.
    const service = new CfnService(this, "Service", {
      cluster: cluster.clusterName,
      taskDefinition: taskDefinition.ref,
      launchType: "FARGATE",
      desiredCount: 1,
      deploymentConfiguration: {
        // One Prometheus at a time: two writers of the same series would send AMP duplicates.
        minimumHealthyPercent: 0,
        maximumPercent: 100,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: vpc.selectSubnets({ subnetType: SubnetType.PRIVATE_WITH_EGRESS }).subnetIds,
          securityGroups: [securityGroup.securityGroupId],
          assignPublicIp: "DISABLED",
        },
      },
      enableEcsManagedTags: true,
      propagateTags: "SERVICE",
    });
    // Tasks start only once the role can act and the private subnets can reach AWS.
    service.node.addDependency(taskPolicy);
    service.node.addDependency(vpc);

    new CfnOutput(this, "ClusterName", { value: cluster.clusterName });
    new CfnOutput(this, "ServiceName", { value: service.attrName });
    new CfnOutput(this, "NamespaceId", { value: namespace.namespaceId });
    new CfnOutput(this, "WorkspaceId", { value: workspace.attrWorkspaceId });
    new CfnOutput(this, "RemoteWriteUrl", { value: `${workspace.attrPrometheusEndpoint}api/v1/remote_write` });
    new CfnOutput(this, "PrometheusSecurityGroupId", { value: securityGroup.securityGroupId });
    new CfnOutput(this, "LogGroupName", { value: logGroup.logGroupName });
  }
}

type CfnTaskDefinitionProps = ConstructorParameters<typeof CfnTaskDefinition>[2];
