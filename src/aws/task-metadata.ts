import { hostname } from "node:os";
import { errorMessage } from "../errors.js";

/** Where the replica id came from, for the startup log. */
export type ReplicaSource = "ecs-task-metadata" | "hostname";

export interface Replica {
  readonly id: string;
  readonly source: ReplicaSource;
  /** Why the task metadata endpoint was not used although ECS set it. */
  readonly fallbackReason?: string;
}

export interface ReplicaOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Bound on the whole lookup: startup waits at most this long. */
  readonly timeoutMs?: number;
  readonly hostname?: () => string;
}

const METADATA_VARIABLE = "ECS_CONTAINER_METADATA_URI_V4";

/**
 * The replica of an HA pair: the ECS task id, from the task metadata endpoint v4
 * ($ECS_CONTAINER_METADATA_URI_V4/task, field TaskARN), unique per task and stable across
 * restarts of the container. Outside ECS (no variable), or when the endpoint does not answer in
 * time, the hostname: in awsvpc mode it is unique per task too. Never throws.
 */
export async function resolveReplica(options: ReplicaOptions): Promise<Replica> {
  const host = options.hostname ?? hostname;
  const base = options.env[METADATA_VARIABLE];
  if (!base) return { id: host(), source: "hostname" };
  try {
    const response = await fetch(`${base.replace(/\/+$/, "")}/task`, { signal: AbortSignal.timeout(options.timeoutMs ?? 3_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = (await response.json()) as { TaskARN?: unknown };
    return { id: taskIdOf(body.TaskARN), source: "ecs-task-metadata" };
  } catch (error) {
    return { id: host(), source: "hostname", fallbackReason: `${METADATA_VARIABLE}/task: ${errorMessage(error)}` };
  }
}

/** arn:aws:ecs:region:account:task/cluster/id (or the older task/id): the id is the last part. */
export function taskIdOf(taskArn: unknown): string {
  if (typeof taskArn !== "string" || !/^arn:[^:]+:ecs:[^:]*:[^:]*:task\/.+/.test(taskArn)) {
    throw new Error(`TaskARN missing or not an ECS task ARN: ${JSON.stringify(taskArn)}`);
  }
  return taskArn.slice(taskArn.lastIndexOf("/") + 1);
}
