// The role cloudmap-sd assumes in a workload account to describe that account's ECS tasks
// (ECS_ASSUME_ROLE; docs/accounts.md#cross-account-ecs-enrichment). Deployed in each workload
// account; PrometheusCloudMapStack, in the monitoring account, lists these accounts in
// ecsReaderAccounts.
import { Aws, CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import { AccountPrincipal, Effect, PolicyDocument, PolicyStatement, Role } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { checkAccountId, checkExternalId, checkRoleName, DEFAULT_ECS_READER_ROLE_NAME, EstatePropsError } from "./estate.js";

export interface EcsReaderRoleStackProps extends StackProps {
  /** The monitoring account (12 digits) where cloudmap-sd runs. */
  readonly monitoringAccount: string;
  /**
   * The cloudmap-sd task role allowed to assume this role: its ARN (the monitoring stack's
   * TaskRoleArn output), or an ARN pattern with `*`. Default: the task role of the CDK app's
   * PrometheusCloudMap stack, `arn:…:iam::<monitoringAccount>:role/PrometheusCloudMap-TaskRole*`.
   */
  readonly monitoringRoleArn?: string;
  /** The role's name, ECS_ASSUME_ROLE on the sidecar (default `cloudmap-sd-ecs-reader`). */
  readonly roleName?: string;
  /** Required in sts:AssumeRole when given (ECS_ASSUME_ROLE_EXTERNAL_ID on the sidecar). */
  readonly externalId?: string;
  /** Clusters whose tasks may be described (default: every cluster of this account and region). */
  readonly clusterNames?: readonly string[];
}

/** The CDK app's task role: CloudFormation names it `<stack>-<logical id>-<suffix>`. */
export const DEFAULT_MONITORING_ROLE_NAME_PATTERN = "PrometheusCloudMap-TaskRole*";

export class EcsReaderRoleStack extends Stack {
  readonly role: Role;

  constructor(scope: Construct, id: string, props: EcsReaderRoleStackProps) {
    super(scope, id, props);
    const monitoringAccount = checkAccountId("monitoringAccount", props.monitoringAccount);
    const monitoringRoleArn = props.monitoringRoleArn ?? `arn:${Aws.PARTITION}:iam::${monitoringAccount}:role/${DEFAULT_MONITORING_ROLE_NAME_PATTERN}`;
    if (props.monitoringRoleArn !== undefined) checkMonitoringRoleArn(monitoringRoleArn, monitoringAccount);
    const roleName = checkRoleName("roleName", props.roleName ?? DEFAULT_ECS_READER_ROLE_NAME);
    const externalId = props.externalId === undefined ? undefined : checkExternalId("externalId", props.externalId);
    const clusterNames = props.clusterNames?.map((name) => {
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(name)) throw new EstatePropsError("clusterNames", name, "an ECS cluster name (letters, digits, - and _), not an ARN");
      return name;
    });
    if (clusterNames?.length === 0) throw new EstatePropsError("clusterNames", clusterNames, "list at least one cluster, or leave it out for all");

    // The account as principal, narrowed to the task role by aws:PrincipalArn: a role ARN as
    // principal would have to exist before this stack deploys, and IAM would break the trust
    // (it keeps the role's unique id) whenever the monitoring stack replaces its role.
    const principal = new AccountPrincipal(monitoringAccount).withConditions({
      ArnLike: { "aws:PrincipalArn": monitoringRoleArn },
      ...(externalId === undefined ? {} : { StringEquals: { "sts:ExternalId": externalId } }),
    });
    this.role = new Role(this, "EcsReaderRole", {
      roleName,
      assumedBy: principal,
      description: "Assumed by cloudmap-sd in the monitoring account to read this account's ECS tasks and task definitions",
      inlinePolicies: {
        DescribeEcsTasks: new PolicyDocument({
          statements: [
            new PolicyStatement({
              sid: "DescribeEcsTasks",
              effect: Effect.ALLOW,
              actions: ["ecs:DescribeTasks"],
              // Task ARNs are task/<cluster>/<id>: the cluster scopes them without a condition.
              resources: (clusterNames ?? ["*"]).map((cluster) => this.formatArn({ service: "ecs", resource: "task", resourceName: cluster === "*" ? "*" : `${cluster}/*` })),
            }),
            // No resource types: IAM allows it on "*" only.
            new PolicyStatement({ sid: "DescribeEcsTaskDefinitions", effect: Effect.ALLOW, actions: ["ecs:DescribeTaskDefinition"], resources: ["*"] }),
          ],
        }),
      },
    });
    new CfnOutput(this, "EcsReaderRoleArn", { value: this.role.roleArn });
  }
}

function checkMonitoringRoleArn(value: string, account: string): void {
  const match = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/*-]+$/.exec(value);
  if (!match) throw new EstatePropsError("monitoringRoleArn", value, "not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME, * allowed in NAME)");
  if (match[1] !== account) throw new EstatePropsError("monitoringRoleArn", value, `the role must be in monitoringAccount ${account}`);
}
