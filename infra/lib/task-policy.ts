// The task role's permissions: exactly the calls the cloudmap-sd sidecar makes, plus the
// remote write Prometheus makes, each scoped as far as IAM allows. The default shape ships
// as plain JSON in infra/policy/cloudmap-sd-task-policy.json (tests keep them equal).
//
// Resource-level support (Service Authorization Reference, "Actions, resources, and condition
// keys for AWS Cloud Map": https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudmap.html):
// - ListNamespaces, ListServices, ListTagsForResource: no resource types, so Resource "*".
// - GetNamespace: the namespace resource; GetServiceAttributes: the service resource.
// - DiscoverInstances, DiscoverInstancesRevision: the namespace and service resources (both
//   required) and the condition key servicediscovery:NamespaceName, matched against the
//   request's NamespaceName (the namespace's HttpName, which equals its name unless the name
//   was reused). servicediscovery:NamespaceArn applies to CreateService only, so a namespace
//   known only by its ARN is scoped by the namespace resource instead.
// - ecs:DescribeTasks: the task resource type; ecs:DescribeTaskDefinition: none.
// - ssm:GetParameter: the parameter resource type; aps:RemoteWrite: the workspace;
//   sts:AssumeRole: the role.
import { Aws, Stack } from "aws-cdk-lib";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import type { NamespaceArn } from "./estate.js";

export interface TaskPolicyProps {
  /** ARNs of the two SSM parameters the sidecar reads. */
  readonly parameterArns: readonly string[];
  /** Cloud Map namespaces listed by name in the namespaces parameter. */
  readonly namespaceNames: readonly string[];
  /** Cloud Map namespaces listed by ARN (namespaces other accounts share through AWS RAM). */
  readonly namespaceArns?: readonly NamespaceArn[];
  readonly workspaceArn: string;
  /** Roles in workload accounts the sidecar assumes to describe their ECS tasks (ECS_ASSUME_ROLE). */
  readonly ecsReaderRoleArns?: readonly string[];
}

export function taskPolicyStatements(scope: Construct, props: TaskPolicyProps): PolicyStatement[] {
  const stack = Stack.of(scope);
  const namespaceArns = props.namespaceArns ?? [];
  // Any account: a namespace or service of another account is readable only if that account
  // shared it with this one (AWS RAM), and a namespace listed by name may be such a share.
  const anyAccount = (resource: string) => stack.formatArn({ service: "servicediscovery", account: "*", resource, resourceName: "*" });
  return [
    new PolicyStatement({
      sid: "ReadSidecarParameters",
      effect: Effect.ALLOW,
      actions: ["ssm:GetParameter"],
      resources: [...props.parameterArns],
    }),
    new PolicyStatement({
      sid: "ListCloudMapServices",
      effect: Effect.ALLOW,
      actions: ["servicediscovery:ListNamespaces", "servicediscovery:ListServices", "servicediscovery:ListTagsForResource"],
      resources: ["*"],
    }),
    // GetNamespace reads a namespace listed by ARN, GetServiceAttributes the attribute channel:
    // what they return is of the kind ListNamespaces and ListTagsForResource already return on "*".
    new PolicyStatement({
      sid: "ReadCloudMapNamespacesAndServiceAttributes",
      effect: Effect.ALLOW,
      actions: ["servicediscovery:GetNamespace", "servicediscovery:GetServiceAttributes"],
      resources: [anyAccount("namespace"), anyAccount("service")],
    }),
    ...(props.namespaceNames.length === 0
      ? []
      : [
          new PolicyStatement({
            sid: "DiscoverCloudMapInstances",
            effect: Effect.ALLOW,
            actions: ["servicediscovery:DiscoverInstances", "servicediscovery:DiscoverInstancesRevision"],
            resources: ["*"],
            conditions: { StringEquals: { "servicediscovery:NamespaceName": [...props.namespaceNames] } },
          }),
        ]),
    ...(namespaceArns.length === 0
      ? []
      : [
          // The HttpName of a namespace known by its ARN cannot be known at synth time, and
          // servicediscovery:NamespaceArn does not apply to these actions; but both require the
          // namespace resource, so its exact ARN scopes them (the service, required too, is any
          // service of the namespace's region).
          new PolicyStatement({
            sid: "DiscoverSharedCloudMapInstances",
            effect: Effect.ALLOW,
            actions: ["servicediscovery:DiscoverInstances", "servicediscovery:DiscoverInstancesRevision"],
            resources: [
              ...namespaceArns.map((namespace) => namespace.arn),
              ...new Set(namespaceArns.map((namespace) => `arn:${namespace.partition}:servicediscovery:${namespace.region}:*:service/*`)),
            ],
          }),
        ]),
    new PolicyStatement({
      sid: "DescribeEcsTasks",
      effect: Effect.ALLOW,
      actions: ["ecs:DescribeTasks"],
      resources: [stack.formatArn({ service: "ecs", resource: "task", resourceName: "*" })],
    }),
    new PolicyStatement({
      sid: "DescribeEcsTaskDefinitions",
      effect: Effect.ALLOW,
      actions: ["ecs:DescribeTaskDefinition"],
      resources: ["*"],
    }),
    ...(props.ecsReaderRoleArns === undefined || props.ecsReaderRoleArns.length === 0
      ? []
      : [
          new PolicyStatement({
            sid: "AssumeEcsReaderRoles",
            effect: Effect.ALLOW,
            actions: ["sts:AssumeRole"],
            resources: [...props.ecsReaderRoleArns],
          }),
        ]),
    new PolicyStatement({
      sid: "RemoteWriteToWorkspace",
      effect: Effect.ALLOW,
      actions: ["aps:RemoteWrite"],
      resources: [props.workspaceArn],
    }),
  ];
}

/** The role ECS_ASSUME_ROLE names, in `account`. */
export function ecsReaderRoleArn(account: string, roleName: string): string {
  return `arn:${Aws.PARTITION}:iam::${account}:role/${roleName}`;
}
