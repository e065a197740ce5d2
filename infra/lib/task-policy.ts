// The task role's permissions: exactly the calls the cloudmap-sd sidecar makes, plus the
// remote write Prometheus makes, each scoped as far as IAM allows. The same policy ships
// as plain JSON in infra/policy/cloudmap-sd-task-policy.json (tests keep them equal).
//
// Resource-level support (Service Authorization Reference):
// - ListNamespaces, ListServices, ListTagsForResource: no resource types, so Resource "*".
// - DiscoverInstances, DiscoverInstancesRevision: no resource types, but the condition key
//   servicediscovery:NamespaceName, matched against the request's NamespaceName (the
//   namespace's HttpName, which equals its name unless the name was reused).
// - ecs:DescribeTasks: the task resource type; ecs:DescribeTaskDefinition: none.
// - ssm:GetParameter: the parameter resource type; aps:RemoteWrite: the workspace.
import { Stack } from "aws-cdk-lib";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";

export interface TaskPolicyProps {
  /** ARNs of the two SSM parameters the sidecar reads. */
  readonly parameterArns: readonly string[];
  /** Cloud Map namespace names (as listed in the namespaces parameter). */
  readonly namespaceNames: readonly string[];
  readonly workspaceArn: string;
}

export function taskPolicyStatements(scope: Construct, props: TaskPolicyProps): PolicyStatement[] {
  const stack = Stack.of(scope);
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
    new PolicyStatement({
      sid: "DiscoverCloudMapInstances",
      effect: Effect.ALLOW,
      actions: ["servicediscovery:DiscoverInstances", "servicediscovery:DiscoverInstancesRevision"],
      resources: ["*"],
      conditions: { StringEquals: { "servicediscovery:NamespaceName": [...props.namespaceNames] } },
    }),
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
    new PolicyStatement({
      sid: "RemoteWriteToWorkspace",
      effect: Effect.ALLOW,
      actions: ["aps:RemoteWrite"],
      resources: [props.workspaceArn],
    }),
  ];
}
