import {
  type ContainerDefinition,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandOutput,
  DescribeTasksCommand,
  type DescribeTasksCommandOutput,
  type ECSClient,
  type Task,
} from "@aws-sdk/client-ecs";
import type { EcsTask, EcsTaskDefinition, PortBinding } from "../core/model.js";
import { AwsCallError, errorCode, MalformedResponseError } from "../errors.js";
import { awsCall, type CallContext, required, stringRecord } from "./call.js";

/** DescribeTasks accepts at most 100 tasks per call. */
export const DESCRIBE_TASKS_BATCH = 100;

/** ECS's failure reason for a task id it does not know (stopped long ago, or never of this cluster). */
const MISSING = "MISSING";

/** ECS's answer about some tasks of one cluster. */
export interface DescribedTasks {
  /** False when ECS answered ClusterNotFoundException: an answer about every task asked (all empty), not a failure. */
  readonly clusterFound: boolean;
  readonly tasks: ReadonlyMap<string, EcsTask>;
  /** Ids ECS reported MISSING. */
  readonly missing: readonly string[];
  /** Ids ECS could not describe for another reason (a failure of those tasks, not an answer). */
  readonly failed: ReadonlyArray<{ readonly taskId: string; readonly reason: string }>;
}

/**
 * DescribeTasks answered, but could not describe some tasks for a reason other than MISSING: those
 * tasks failed (they are asked again), unlike a MISSING task, which is an answer.
 */
export class EcsTaskFailuresError extends Error {
  override readonly name = "EcsTaskFailuresError";
  constructor(readonly failures: ReadonlyArray<{ readonly taskId: string; readonly reason: string }>) {
    const shown = failures.slice(0, 3).map((failure) => `${failure.taskId} (${failure.reason})`);
    const more = failures.length > shown.length ? ` and ${failures.length - shown.length} more` : "";
    super(`ECS could not describe ${failures.length} task(s): ${shown.join(", ")}${more}`);
  }
}

/** The ECS calls cloudmap-sd makes, each returning plain values. Stateless. */
export class EcsApi {
  constructor(
    private readonly client: ECSClient,
    private readonly context: CallContext,
  ) {}

  /**
   * Describes up to 100 tasks of one cluster. Every id asked must come back, either in `tasks` or
   * in `failures`: an answer that mentions neither is cut short, so the call fails as malformed
   * rather than reporting that task as MISSING (which would be cached as an answer).
   */
  async tasks(cluster: string, taskIds: readonly string[], abortSignal?: AbortSignal): Promise<DescribedTasks> {
    if (taskIds.length > DESCRIBE_TASKS_BATCH) throw new RangeError(`at most ${DESCRIBE_TASKS_BATCH} tasks per call`);
    try {
      return await awsCall(
        this.context,
        "DescribeTasks",
        { cluster },
        async () =>
          readTasks(taskIds, await this.client.send(new DescribeTasksCommand({ cluster, tasks: [...taskIds], include: ["TAGS"] }))),
        abortSignal,
      );
    } catch (error) {
      if (error instanceof AwsCallError && errorCode(error) === "ClusterNotFoundException") return { clusterFound: false, tasks: new Map(), missing: [], failed: [] };
      throw error;
    }
  }

  async taskDefinition(arn: string, abortSignal?: AbortSignal): Promise<EcsTaskDefinition> {
    return awsCall(
      this.context,
      "DescribeTaskDefinition",
      { taskDefinition: arn },
      async () => readTaskDefinition(await this.client.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))),
      abortSignal,
    );
  }
}

/** arn:aws:ecs:region:account:task/cluster/0123abcd → 0123abcd (old-format ARNs have no cluster part). */
export function taskIdOf(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf("/") + 1);
}

// Validation runs inside awsCall, so a malformed answer is a failed call of that part: counted
// with its outcome and wrapped in an AwsCallError naming the cluster or task definition.

function readTasks(taskIds: readonly string[], output: DescribeTasksCommandOutput): DescribedTasks {
  const operation = "DescribeTasks";
  const tasks = new Map<string, EcsTask>();
  for (const task of required(operation, "tasks", output.tasks)) {
    const id = taskIdOf(required(operation, "tasks[].taskArn", task.taskArn));
    tasks.set(id, toEcsTask(task));
  }
  const failures = new Map<string, string>();
  for (const failure of required(operation, "failures", output.failures)) {
    failures.set(taskIdOf(required(operation, "failures[].arn", failure.arn)), required(operation, "failures[].reason", failure.reason));
  }
  const missing: string[] = [];
  const failed: Array<{ taskId: string; reason: string }> = [];
  for (const id of taskIds) {
    if (tasks.has(id)) continue;
    const reason = failures.get(id);
    if (reason === undefined) throw new MalformedResponseError(operation, `tasks or failures entry for task ${id}`);
    if (reason === MISSING) missing.push(id);
    else failed.push({ taskId: id, reason });
  }
  return { clusterFound: true, tasks, missing, failed };
}

function readTaskDefinition(output: DescribeTaskDefinitionCommandOutput): EcsTaskDefinition {
  const operation = "DescribeTaskDefinition";
  const definition = required(operation, "taskDefinition", output.taskDefinition);
  return {
    arn: required(operation, "taskDefinition.taskDefinitionArn", definition.taskDefinitionArn),
    family: required(operation, "taskDefinition.family", definition.family),
    revision: required(operation, "taskDefinition.revision", definition.revision),
    ...(definition.networkMode ? { networkMode: definition.networkMode } : {}),
    containers: required(operation, "taskDefinition.containerDefinitions", definition.containerDefinitions).map(toContainer),
  };
}

/**
 * A container without docker labels is common (dockerLabels is optional), not malformed; a label
 * that is not a string is (it would reach the file), like a Cloud Map attribute that is not.
 */
function toContainer(container: ContainerDefinition): EcsTaskDefinition["containers"][number] {
  return { name: container.name ?? "", dockerLabels: stringRecord("DescribeTaskDefinition", "containerDefinitions[].dockerLabels", container.dockerLabels) };
}

function toEcsTask(task: Task): EcsTask {
  const tags: Record<string, string> = {};
  for (const tag of task.tags ?? []) if (typeof tag.key === "string") tags[tag.key] = tag.value ?? "";
  const optional = {
    clusterArn: task.clusterArn,
    taskDefinitionArn: task.taskDefinitionArn,
    launchType: task.launchType,
    availabilityZone: task.availabilityZone,
    group: task.group,
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus,
    healthStatus: task.healthStatus,
    containerInstanceArn: task.containerInstanceArn,
  };
  // Typed as strings, but a JSON answer can carry null or a number: these become labels, and a
  // label that is not a string would make Prometheus reject the whole file.
  const present = Object.fromEntries(Object.entries(optional).filter(([, value]) => typeof value === "string" && value !== ""));
  const portBindings = hostPortBindings(task);
  return { taskArn: task.taskArn as string, tags: stringRecord("DescribeTasks", "tasks[].tags[].value", tags), ...present, ...(portBindings ? { portBindings } : {}) };
}

/** bridge and host tasks: container port → host port per container. awsvpc tasks have none (undefined). */
function hostPortBindings(task: Task): PortBinding[] | undefined {
  const bindings: PortBinding[] = [];
  for (const container of task.containers ?? []) {
    for (const binding of container.networkBindings ?? []) {
      if (container.name === undefined || binding.containerPort === undefined || binding.hostPort === undefined) continue;
      bindings.push({ container: container.name, containerPort: binding.containerPort, hostPort: binding.hostPort });
    }
  }
  return bindings.length > 0 ? bindings : undefined;
}
