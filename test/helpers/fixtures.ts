// Shared test fixtures: plain-value builders for the core model, a pino logger that writes to
// memory, and temp directories that are removed after each test. Reuse them; do not copy them.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Logger } from "pino";
import { mulberry32 } from "../../dev/emulator/control/faults.js";
import { createLogger } from "../../src/logger.js";
import type { EcsTask, EcsTaskDefinition, Instance, Namespace, ServiceSnapshot } from "../../src/core/model.js";

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
export const CLUSTER = "prod";

export function namespace(overrides: Partial<Namespace> = {}): Namespace {
  const name = overrides.name ?? "prod.local";
  return { id: "ns-prod0000000000001", name, type: "DNS_PRIVATE", httpName: name, ...overrides };
}

/**
 * An instance as ECS registers it in Cloud Map for an awsvpc task: the id is the task id and the
 * attributes carry the task's IP, the container port and the ECS names. `attributes` are merged
 * over those; set one to `undefined` to leave it out. `healthStatus: null` leaves the health out.
 */
export function instance(
  id: string,
  attributes: Readonly<Record<string, string | undefined>> = {},
  healthStatus: string | null = "HEALTHY",
): Instance {
  const merged: Record<string, string | undefined> = {
    AWS_INSTANCE_IPV4: "10.0.1.5",
    AWS_INSTANCE_PORT: "8080",
    AVAILABILITY_ZONE: "eu-west-1a",
    ECS_CLUSTER_NAME: CLUSTER,
    ECS_SERVICE_NAME: "web",
    ECS_TASK_DEFINITION_FAMILY: "web",
    REGION,
    ...attributes,
  };
  const defined = Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined)) as Record<string, string>;
  return healthStatus === null ? { id, attributes: defined } : { id, attributes: defined, healthStatus };
}

export interface SnapshotOptions {
  readonly serviceName?: string;
  readonly serviceId?: string;
  readonly namespace?: Namespace;
  readonly tags?: Readonly<Record<string, string>>;
  readonly instances?: readonly Instance[];
  readonly ecsTasks?: readonly EcsTask[];
  readonly ecsTaskDefinitions?: readonly EcsTaskDefinition[];
}

/** One Cloud Map service with its instances; ECS tasks are keyed by the task id at the end of their ARN. */
export function snapshot(options: SnapshotOptions = {}): ServiceSnapshot {
  const name = options.serviceName ?? "web";
  const id = options.serviceId ?? `srv-${name}`;
  const ns = options.namespace ?? namespace();
  return {
    service: { id, name, arn: `arn:aws:servicediscovery:${REGION}:${ACCOUNT}:service/${id}`, namespace: ns },
    tags: options.tags ?? { METRICS_PATH: "/metrics" },
    instances: options.instances ?? [instance("task-1")],
    ...(options.ecsTasks ? { ecsTasks: new Map(options.ecsTasks.map((task) => [taskIdOf(task.taskArn), task])) } : {}),
    ...(options.ecsTaskDefinitions
      ? { ecsTaskDefinitions: new Map(options.ecsTaskDefinitions.map((definition) => [definition.arn, definition])) }
      : {}),
  };
}

export function taskArn(taskId: string, cluster = CLUSTER): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${cluster}/${taskId}`;
}

export function taskDefinitionArn(family: string, revision: number): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`;
}

/** A running Fargate task as ecs:DescribeTasks reports it. */
export function ecsTask(taskId: string, overrides: Partial<EcsTask> = {}): EcsTask {
  return {
    taskArn: taskArn(taskId),
    clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`,
    taskDefinitionArn: taskDefinitionArn("web", 7),
    launchType: "FARGATE",
    availabilityZone: "eu-west-1a",
    group: "service:web",
    lastStatus: "RUNNING",
    desiredStatus: "RUNNING",
    healthStatus: "HEALTHY",
    tags: {},
    ...overrides,
  };
}

export function taskDefinition(
  family: string,
  revision: number,
  containers: EcsTaskDefinition["containers"],
): EcsTaskDefinition {
  return { arn: taskDefinitionArn(family, revision), family, revision, containers };
}

function taskIdOf(arn: string): string {
  return arn.slice(arn.lastIndexOf("/") + 1);
}

/** A pino logger writing JSON lines to memory; `lines()` parses what was logged. */
export function memoryLogger(level = "debug"): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString("utf8"));
      callback();
    },
  });
  const logger = createLogger(level, stream);
  const lines = () =>
    chunks
      .join("")
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

/**
 * Temp directories under os.tmpdir(): `make()` creates one, `cleanup()` (call it in afterEach)
 * removes every directory made so far.
 */
export function tempDirs(prefix = "cloudmap-sd-test-"): { make: () => Promise<string>; cleanup: () => Promise<void> } {
  const made: string[] = [];
  return {
    async make() {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
    async cleanup() {
      await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

/** A deterministic Fisher-Yates shuffle (mulberry32), so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = mulberry32(seed);
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
