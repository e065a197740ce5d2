import type { DescribeTaskDefinitionResponse, DescribeTasksResponse } from "@aws-sdk/client-ecs";
import { arn, nameFromArn } from "../model/ids.js";
import { AwsServiceError } from "../protocol/errors.js";
import type { Handler, OperationTable, Wire } from "../protocol/handler.js";
import type { InputReader } from "../protocol/input.js";
import { renderTask, renderTaskDefinition, tagList } from "./render.js";

// DescribeTasks takes at most 100 task ids per call; callers must batch.
const DESCRIBE_TASKS_MAX = 100;

function includesTags(input: InputReader): boolean {
  const include = input.optionalStringArray("include") ?? [];
  for (const field of include) if (field !== "TAGS") throw input.invalid(`include value ${field} is not valid`);
  return include.includes("TAGS");
}

const describeTasks: Handler = (input, ctx): Wire<DescribeTasksResponse> => {
  const cluster = nameFromArn(input.optionalString("cluster") ?? "default");
  const requested = input.optionalStringArray("tasks") ?? [];
  const withTags = includesTags(input);
  if (requested.length === 0) throw input.invalid("Tasks cannot be empty.");
  if (requested.length > DESCRIBE_TASKS_MAX) throw input.invalid(`taskIds can have at most ${DESCRIBE_TASKS_MAX} items.`);
  // ECS is per account: the caller sees its own clusters and tasks only.
  if (!ctx.state.hasCluster(cluster, ctx.caller)) throw new AwsServiceError("ClusterNotFoundException", "Cluster not found.");
  const account = ctx.state.accountOf(ctx.caller);
  const response: Required<Wire<DescribeTasksResponse>> = { tasks: [], failures: [] };
  for (const taskId of new Set(requested.map(nameFromArn))) {
    const task = ctx.state.findTask(cluster, taskId, ctx.caller);
    const definition = task && ctx.state.findTaskDefinition(task.spec.taskDefinition, ctx.caller);
    if (task === undefined || definition === undefined) {
      response.failures.push({ arn: arn.task(account, cluster, taskId), reason: "MISSING" });
    } else {
      response.tasks.push(renderTask(account, task, definition, withTags));
    }
  }
  return response;
};

const describeTaskDefinition: Handler = (input, ctx): Wire<DescribeTaskDefinitionResponse> => {
  const requested = input.string("taskDefinition");
  const withTags = includesTags(input);
  // Another account's task definition is not the caller's to describe.
  const ownArn = !requested.startsWith("arn:") || requested.split(":")[4] === ctx.caller;
  const definition = ownArn ? ctx.state.findTaskDefinition(nameFromArn(requested), ctx.caller) : undefined;
  if (definition === undefined) throw new AwsServiceError("ClientException", "Unable to describe task definition.");
  return {
    taskDefinition: renderTaskDefinition(definition),
    ...(withTags ? { tags: tagList(definition.spec.tags) } : {}),
  };
};

export const ecsOperations: OperationTable = new Map<string, Handler>([
  ["DescribeTasks", describeTasks],
  ["DescribeTaskDefinition", describeTaskDefinition],
]);
