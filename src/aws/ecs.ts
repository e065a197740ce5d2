import { DescribeTaskDefinitionCommand, DescribeTasksCommand, type ECSClient, type Task } from "@aws-sdk/client-ecs";
import type { EcsTask, EcsTaskDefinition } from "../core/model.js";
import { awsCall, type CallContext } from "./call.js";

/** DescribeTasks accepts at most 100 tasks per call. */
export const DESCRIBE_TASKS_BATCH = 100;

/** The ECS calls cloudmap-sd makes, each returning plain values. Stateless. */
export class EcsApi {
  constructor(
    private readonly client: ECSClient,
    private readonly context: CallContext,
  ) {}

  /** Describes up to 100 tasks of one cluster. Ids that ECS no longer knows come back in `missing`. */
  async tasks(
    cluster: string,
    taskIds: readonly string[],
    abortSignal?: AbortSignal,
  ): Promise<{ tasks: Map<string, EcsTask>; missing: string[] }> {
    if (taskIds.length > DESCRIBE_TASKS_BATCH) throw new RangeError(`at most ${DESCRIBE_TASKS_BATCH} tasks per call`);
    const output = await awsCall(
      this.context,
      "DescribeTasks",
      { cluster },
      (signal) => this.client.send(new DescribeTasksCommand({ cluster, tasks: [...taskIds], include: ["TAGS"] }), { abortSignal: signal }),
      abortSignal,
    );
    const tasks = new Map<string, EcsTask>();
    for (const task of output.tasks ?? []) {
      if (task.taskArn) tasks.set(taskIdOf(task.taskArn), toEcsTask(task));
    }
    const missing = taskIds.filter((id) => !tasks.has(id));
    return { tasks, missing };
  }

  async taskDefinition(arn: string, abortSignal?: AbortSignal): Promise<EcsTaskDefinition> {
    const output = await awsCall(
      this.context,
      "DescribeTaskDefinition",
      { taskDefinition: arn },
      (signal) => this.client.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }), { abortSignal: signal }),
      abortSignal,
    );
    const definition = output.taskDefinition;
    return {
      arn: definition?.taskDefinitionArn ?? arn,
      family: definition?.family ?? "",
      revision: definition?.revision ?? 0,
      containers: (definition?.containerDefinitions ?? []).map((container) => ({
        name: container.name ?? "",
        dockerLabels: container.dockerLabels ?? {},
      })),
    };
  }
}

/** arn:aws:ecs:region:account:task/cluster/0123abcd → 0123abcd (old-format ARNs have no cluster part). */
export function taskIdOf(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf("/") + 1);
}

function toEcsTask(task: Task): EcsTask {
  const tags: Record<string, string> = {};
  for (const tag of task.tags ?? []) if (tag.key !== undefined) tags[tag.key] = tag.value ?? "";
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
  const present = Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined && value !== ""));
  return { taskArn: task.taskArn as string, tags, ...present };
}
