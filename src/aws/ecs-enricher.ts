import type { LimitFunction } from "p-limit";
import { endpointsFromTags } from "../core/endpoints.js";
import type { EcsTask, EcsTaskDefinition, ServiceSnapshot } from "../core/model.js";
import { Attribute } from "../core/target-groups.js";
import { type AwsCallError, errorCode } from "../errors.js";
import { DESCRIBE_TASKS_BATCH, type EcsApi } from "./ecs.js";

export type EnrichmentMode = "auto" | "on" | "off";

export interface EnrichResult {
  readonly snapshots: ServiceSnapshot[];
  readonly errors: AwsCallError[];
  readonly enabled: boolean;
  /** Set in the one cycle where auto mode gave up for lack of permission. */
  readonly turnedOff?: boolean;
}

/**
 * Adds ECS facts to Cloud Map instances. ECS registers a task's id as its Cloud Map instance id, so
 * a task is described once, when its id first appears, and forgotten when it leaves Cloud Map.
 * A task-definition revision is immutable, so it is cached by ARN (never by family) while any
 * task uses it. Failures are not cached: those tasks lack enrichment until a later cycle succeeds.
 */
export class EcsEnricher {
  /** cluster + "/" + task id → task, or null when ECS no longer knows it (stopped long ago). */
  private readonly tasks = new Map<string, EcsTask | null>();
  private readonly definitions = new Map<string, EcsTaskDefinition>();
  /** Per input snapshot: the enriched snapshot and the cache entries it was made from. */
  private readonly enriched = new WeakMap<ServiceSnapshot, { sources: unknown[]; result: ServiceSnapshot }>();

  constructor(
    private readonly api: EcsApi,
    private mode: EnrichmentMode,
    private readonly limit: LimitFunction,
  ) {}

  async enrich(snapshots: readonly ServiceSnapshot[], abortSignal?: AbortSignal): Promise<EnrichResult> {
    const wanted = new Map<string, { cluster: string; taskId: string }>();
    for (const snapshot of snapshots) {
      for (const instance of snapshot.instances) {
        const cluster = instance.attributes[Attribute.cluster];
        if (cluster) wanted.set(`${cluster}/${instance.id}`, { cluster, taskId: instance.id });
      }
    }
    const enabled = this.mode === "on" || (this.mode === "auto" && wanted.size > 0);
    if (!enabled) return { snapshots: [...snapshots], errors: [], enabled };

    for (const key of this.tasks.keys()) if (!wanted.has(key)) this.tasks.delete(key);
    const errors: AwsCallError[] = [];
    await this.describeNewTasks(wanted, errors, abortSignal);
    await this.describeNewDefinitions(snapshots, errors, abortSignal);
    // "auto" means "when possible": a task role without ecs:Describe* (the earlier Go sidecar's
    // policy had none) turns enrichment off for good instead of failing every cycle.
    if (this.mode === "auto" && errors.some((error) => errorCode(error) === "AccessDeniedException")) {
      this.mode = "off";
      return { snapshots: [...snapshots], errors, enabled: false, turnedOff: true };
    }

    return { snapshots: snapshots.map((snapshot) => this.enrichOne(snapshot)), errors, enabled };
  }

  /** Returns the same object as last cycle when the service and its ECS facts are unchanged. */
  private enrichOne(snapshot: ServiceSnapshot): ServiceSnapshot {
    const dockerLabels = usesDockerLabels(snapshot);
    const sources: unknown[] = [];
    const ecsTasks = new Map<string, EcsTask>();
    const ecsTaskDefinitions = new Map<string, EcsTaskDefinition>();
    for (const instance of snapshot.instances) {
      const task = this.tasks.get(`${instance.attributes[Attribute.cluster]}/${instance.id}`);
      sources.push(task);
      if (!task) continue;
      ecsTasks.set(instance.id, task);
      const definition = dockerLabels && task.taskDefinitionArn ? this.definitions.get(task.taskDefinitionArn) : undefined;
      sources.push(definition);
      if (definition) ecsTaskDefinitions.set(definition.arn, definition);
    }
    const cached = this.enriched.get(snapshot);
    if (cached && cached.sources.length === sources.length && cached.sources.every((source, i) => source === sources[i])) {
      return cached.result;
    }
    const result = { ...snapshot, ecsTasks, ...(dockerLabels ? { ecsTaskDefinitions } : {}) };
    this.enriched.set(snapshot, { sources, result });
    return result;
  }

  private async describeNewTasks(
    wanted: Map<string, { cluster: string; taskId: string }>,
    errors: AwsCallError[],
    abortSignal?: AbortSignal,
  ): Promise<void> {
    const byCluster = new Map<string, string[]>();
    for (const [key, { cluster, taskId }] of wanted) {
      if (this.tasks.has(key)) continue;
      const ids = byCluster.get(cluster) ?? [];
      ids.push(taskId);
      byCluster.set(cluster, ids);
    }
    const batches: Array<{ cluster: string; ids: string[] }> = [];
    for (const [cluster, ids] of byCluster) {
      for (let i = 0; i < ids.length; i += DESCRIBE_TASKS_BATCH) batches.push({ cluster, ids: ids.slice(i, i + DESCRIBE_TASKS_BATCH) });
    }
    await Promise.all(
      batches.map(async ({ cluster, ids }) => {
        try {
          const { tasks, missing } = await this.limit(() => this.api.tasks(cluster, ids, abortSignal));
          for (const [id, task] of tasks) this.tasks.set(`${cluster}/${id}`, task);
          for (const id of missing) this.tasks.set(`${cluster}/${id}`, null);
        } catch (error) {
          errors.push(error as AwsCallError);
        }
      }),
    );
  }

  private async describeNewDefinitions(
    snapshots: readonly ServiceSnapshot[],
    errors: AwsCallError[],
    abortSignal?: AbortSignal,
  ): Promise<void> {
    const inUse = new Set<string>();
    for (const snapshot of snapshots) {
      if (!usesDockerLabels(snapshot)) continue;
      for (const instance of snapshot.instances) {
        const arn = this.tasks.get(`${instance.attributes[Attribute.cluster]}/${instance.id}`)?.taskDefinitionArn;
        if (arn) inUse.add(arn);
      }
    }
    for (const arn of this.definitions.keys()) if (!inUse.has(arn)) this.definitions.delete(arn);
    await Promise.all(
      [...inUse]
        .filter((arn) => !this.definitions.has(arn))
        .map(async (arn) => {
          try {
            this.definitions.set(arn, await this.limit(() => this.api.taskDefinition(arn, abortSignal)));
          } catch (error) {
            errors.push(error as AwsCallError);
          }
        }),
    );
  }

  /** For tests and metrics: how many tasks and task definitions are cached. */
  cacheSizes(): { tasks: number; taskDefinitions: number } {
    return { tasks: this.tasks.size, taskDefinitions: this.definitions.size };
  }
}

/** Docker labels are the channel for services without METRICS_* tags (e.g. ECS Service Connect). */
function usesDockerLabels(snapshot: ServiceSnapshot): boolean {
  return endpointsFromTags(snapshot.tags).kind === "untagged";
}
