import type { LimitFunction } from "p-limit";
import type { Clock } from "../clock.js";
import { endpointsFromTags } from "../core/endpoints.js";
import type { EcsTask, EcsTaskDefinition, ServiceSnapshot } from "../core/model.js";
import { RetrySchedule, type RetryScheduleOptions } from "../core/retry-schedule.js";
import { Attribute } from "../core/target-groups.js";
import { AwsCallError } from "../errors.js";
import { DESCRIBE_TASKS_BATCH, type EcsApi, EcsTaskFailuresError } from "./ecs.js";

export type EnrichmentMode = "auto" | "on" | "off";

/** How long ECS's "no such cluster" or "task MISSING" is believed before it is asked again. */
export const DEFAULT_NOT_FOUND_TTL_MS = 300_000;

export interface EcsEnricherOptions {
  /** ECS_ENRICHMENT: the only thing that switches enrichment off. */
  readonly mode: EnrichmentMode;
  /** Bounds concurrent calls (DISCOVERY_CONCURRENCY). */
  readonly limit: LimitFunction;
  readonly clock: Clock;
  readonly notFoundTtlMs?: number;
  /** When a failed DescribeTasks (per cluster) or DescribeTaskDefinition (per ARN) is tried again. */
  readonly backoff?: RetryScheduleOptions;
}

export interface EnrichResult {
  readonly snapshots: ServiceSnapshot[];
  /** Calls that failed this cycle (AccessDenied included): those parts keep their last-known-good data. */
  readonly errors: AwsCallError[];
  readonly enabled: boolean;
  /** Clusters ECS says do not exist (a cached answer, re-checked after notFoundTtlMs). Sorted. */
  readonly missingClusters: string[];
  /** Tasks ECS reported MISSING (cached answer). */
  readonly unknownTasks: number;
  /** Parts whose call was skipped this cycle because they are backing off after failures. */
  readonly backingOff: number;
  /**
   * Wanted tasks and task definitions with no data yet, because their call failed or is backing
   * off. 0 when everything wanted is known or is a cached not-found answer: discovery is
   * incomplete while this is above 0 (a docker-label task without its definition has no target).
   */
  readonly pending: number;
}

interface TaskEntry {
  /** null: ECS reported the task MISSING (stopped long ago, or not a task of this cluster). */
  readonly task: EcsTask | null;
  /** When to describe it again: a MISSING answer expires, a described task is kept while in Cloud Map. */
  readonly recheckAt: number;
}

interface WantedTask {
  readonly cluster: string;
  readonly taskId: string;
}

/** What one cycle's calls add up to. */
interface Cycle {
  readonly now: number;
  readonly errors: AwsCallError[];
  backingOff: number;
}

/**
 * Adds ECS facts to Cloud Map instances. ECS registers a task's id as its Cloud Map instance id, so
 * a task is described once, when its id first appears, and forgotten when it leaves Cloud Map.
 * A task-definition revision is immutable, so it is cached by ARN (never by family) while any
 * task uses it.
 *
 * Every part (a cluster's DescribeTasks, a definition's DescribeTaskDefinition) fails alone: it
 * keeps its last-known-good data and is retried with backoff, whatever the error, AccessDenied
 * included (a permission can be granted while cloudmap-sd runs). "Not found" is an answer, not a
 * failure: a cluster ECS does not know and a task it reports MISSING are cached for notFoundTtlMs,
 * then asked again.
 */
export class EcsEnricher {
  /** cluster + "/" + task id → what ECS said about it. */
  private readonly tasks = new Map<string, TaskEntry>();
  private readonly definitions = new Map<string, EcsTaskDefinition>();
  /** cluster → when to ask again whether it exists. */
  private readonly clustersNotFound = new Map<string, number>();
  private readonly clusterRetries: RetrySchedule;
  private readonly definitionRetries: RetrySchedule;
  private readonly notFoundTtlMs: number;
  /** Per input snapshot: the enriched snapshot and the cache entries it was made from. */
  private readonly enriched = new WeakMap<ServiceSnapshot, { sources: unknown[]; result: ServiceSnapshot }>();
  /**
   * The last cycle, when it left nothing to do: the same input objects then give the same result
   * until a cached not-found answer is due to be re-checked. Saves walking every instance twice.
   */
  private settled: { inputs: readonly ServiceSnapshot[]; result: EnrichResult; until: number } | undefined;

  constructor(
    private readonly api: EcsApi,
    private readonly options: EcsEnricherOptions,
  ) {
    this.notFoundTtlMs = options.notFoundTtlMs ?? DEFAULT_NOT_FOUND_TTL_MS;
    if (!(this.notFoundTtlMs > 0)) throw new RangeError(`notFoundTtlMs must be positive, got ${this.notFoundTtlMs}`);
    this.clusterRetries = new RetrySchedule(options.backoff);
    this.definitionRetries = new RetrySchedule(options.backoff);
  }

  async enrich(snapshots: readonly ServiceSnapshot[], abortSignal?: AbortSignal): Promise<EnrichResult> {
    if (this.options.mode === "off") return unenriched(snapshots);
    const now = this.options.clock.monotonicMs();
    const settled = this.settled;
    if (settled && now < settled.until && sameItems(settled.inputs, snapshots)) {
      return { ...settled.result, snapshots: [...settled.result.snapshots], errors: [], missingClusters: [...settled.result.missingClusters] };
    }
    this.settled = undefined;

    const wanted = wantedTasks(snapshots);
    this.forgetUnwanted(wanted);
    if (this.options.mode === "auto" && wanted.size === 0) {
      // No instance is an ECS task: nothing to describe, and no definition in use.
      this.definitions.clear();
      this.definitionRetries.forget(new Set());
      return unenriched(snapshots);
    }

    const cycle: Cycle = { now, errors: [], backingOff: 0 };
    await this.describeTasks(wanted, cycle, abortSignal);
    const inUse = this.definitionsInUse(snapshots);
    for (const arn of this.definitions.keys()) if (!inUse.has(arn)) this.definitions.delete(arn);
    this.definitionRetries.forget(inUse);
    await this.describeDefinitions(inUse, cycle, abortSignal);

    const result = { ...this.summary(wanted, inUse, cycle), snapshots: snapshots.map((snapshot) => this.enrichOne(snapshot)) };
    const quiet = result.errors.length === 0 && result.backingOff === 0 && result.pending === 0;
    this.settled = quiet ? { inputs: [...snapshots], result, until: this.nextRecheck(wanted) } : undefined;
    return result;
  }

  /** For tests and metrics: how many tasks and task definitions are cached. */
  cacheSizes(): { tasks: number; taskDefinitions: number } {
    return { tasks: this.tasks.size, taskDefinitions: this.definitions.size };
  }

  private forgetUnwanted(wanted: ReadonlyMap<string, WantedTask>): void {
    for (const key of this.tasks.keys()) if (!wanted.has(key)) this.tasks.delete(key);
    const clusters = new Set([...wanted.values()].map((task) => task.cluster));
    for (const cluster of this.clustersNotFound.keys()) if (!clusters.has(cluster)) this.clustersNotFound.delete(cluster);
    this.clusterRetries.forget(clusters);
  }

  private async describeTasks(wanted: ReadonlyMap<string, WantedTask>, cycle: Cycle, abortSignal?: AbortSignal): Promise<void> {
    const byCluster = new Map<string, string[]>();
    for (const [key, { cluster, taskId }] of wanted) {
      if (!this.needsDescribing(key, cluster, cycle.now)) continue;
      const ids = byCluster.get(cluster) ?? [];
      ids.push(taskId);
      byCluster.set(cluster, ids);
    }
    await Promise.all([...byCluster].map(([cluster, ids]) => this.describeCluster(cluster, ids, cycle, abortSignal)));
  }

  private needsDescribing(key: string, cluster: string, now: number): boolean {
    const entry = this.tasks.get(key);
    if (entry !== undefined && now < entry.recheckAt) return false;
    const clusterRecheckAt = this.clustersNotFound.get(cluster);
    return clusterRecheckAt === undefined || now >= clusterRecheckAt;
  }

  /** One part: every new task of one cluster, in batches of 100. Any batch failing fails the part. */
  private async describeCluster(cluster: string, ids: readonly string[], cycle: Cycle, abortSignal?: AbortSignal): Promise<void> {
    if (!this.clusterRetries.due(cluster, cycle.now)) {
      cycle.backingOff++;
      return;
    }
    let failed = false;
    const batches: string[][] = [];
    for (let i = 0; i < ids.length; i += DESCRIBE_TASKS_BATCH) batches.push(ids.slice(i, i + DESCRIBE_TASKS_BATCH));
    await Promise.all(
      batches.map(async (batch) => {
        try {
          const answer = await this.options.limit(() => this.api.tasks(cluster, batch, abortSignal));
          if (!answer.clusterFound) {
            this.clustersNotFound.set(cluster, cycle.now + this.notFoundTtlMs);
            return;
          }
          this.clustersNotFound.delete(cluster);
          for (const [id, task] of answer.tasks) this.tasks.set(`${cluster}/${id}`, { task, recheckAt: Number.POSITIVE_INFINITY });
          for (const id of answer.missing) this.tasks.set(`${cluster}/${id}`, { task: null, recheckAt: cycle.now + this.notFoundTtlMs });
          if (answer.failed.length > 0) {
            failed = true;
            cycle.errors.push(new AwsCallError("DescribeTasks", { cluster }, { cause: new EcsTaskFailuresError(answer.failed) }));
          }
        } catch (error) {
          failed = true;
          cycle.errors.push(asCallError(error, "DescribeTasks", { cluster }));
        }
      }),
    );
    if (failed) this.clusterRetries.failed(cluster, this.options.clock.monotonicMs());
    else this.clusterRetries.succeeded(cluster);
  }

  /** Definitions of the tasks of docker-label services: the only ones whose containers matter. */
  private definitionsInUse(snapshots: readonly ServiceSnapshot[]): Set<string> {
    const inUse = new Set<string>();
    for (const snapshot of snapshots) {
      if (!usesDockerLabels(snapshot)) continue;
      for (const instance of snapshot.instances) {
        const arn = this.tasks.get(`${instance.attributes[Attribute.cluster]}/${instance.id}`)?.task?.taskDefinitionArn;
        if (arn) inUse.add(arn);
      }
    }
    return inUse;
  }

  private async describeDefinitions(inUse: ReadonlySet<string>, cycle: Cycle, abortSignal?: AbortSignal): Promise<void> {
    const unknown = [...inUse].filter((arn) => !this.definitions.has(arn));
    await Promise.all(
      unknown.map(async (arn) => {
        if (!this.definitionRetries.due(arn, cycle.now)) {
          cycle.backingOff++;
          return;
        }
        try {
          this.definitions.set(arn, await this.options.limit(() => this.api.taskDefinition(arn, abortSignal)));
          this.definitionRetries.succeeded(arn);
        } catch (error) {
          this.definitionRetries.failed(arn, this.options.clock.monotonicMs());
          cycle.errors.push(asCallError(error, "DescribeTaskDefinition", { taskDefinition: arn }));
        }
      }),
    );
  }

  private summary(wanted: ReadonlyMap<string, WantedTask>, inUse: ReadonlySet<string>, cycle: Cycle): Omit<EnrichResult, "snapshots"> {
    let unknownTasks = 0;
    let pending = 0;
    for (const [key, { cluster }] of wanted) {
      const entry = this.tasks.get(key);
      if (entry?.task === null) unknownTasks++;
      else if (entry === undefined && !this.clustersNotFound.has(cluster)) pending++;
    }
    for (const arn of inUse) if (!this.definitions.has(arn)) pending++;
    return {
      errors: cycle.errors,
      enabled: true,
      missingClusters: [...this.clustersNotFound.keys()].sort(),
      unknownTasks,
      backingOff: cycle.backingOff,
      pending,
    };
  }

  /** The earliest time a cached not-found answer of a wanted task or cluster is to be asked again. */
  private nextRecheck(wanted: ReadonlyMap<string, WantedTask>): number {
    let next = Math.min(...this.clustersNotFound.values());
    for (const key of wanted.keys()) next = Math.min(next, this.tasks.get(key)?.recheckAt ?? Number.POSITIVE_INFINITY);
    return next;
  }

  /** Returns the same object as last cycle when the service and its ECS facts are unchanged. */
  private enrichOne(snapshot: ServiceSnapshot): ServiceSnapshot {
    const dockerLabels = usesDockerLabels(snapshot);
    const sources: unknown[] = [];
    const ecsTasks = new Map<string, EcsTask>();
    const ecsTaskDefinitions = new Map<string, EcsTaskDefinition>();
    for (const instance of snapshot.instances) {
      const task = this.tasks.get(`${instance.attributes[Attribute.cluster]}/${instance.id}`)?.task;
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
}

/** Instances that are ECS tasks (they carry ECS_CLUSTER_NAME), keyed by cluster + "/" + task id. */
function wantedTasks(snapshots: readonly ServiceSnapshot[]): Map<string, WantedTask> {
  const wanted = new Map<string, WantedTask>();
  for (const snapshot of snapshots) {
    for (const instance of snapshot.instances) {
      const cluster = instance.attributes[Attribute.cluster];
      if (cluster) wanted.set(`${cluster}/${instance.id}`, { cluster, taskId: instance.id });
    }
  }
  return wanted;
}

function unenriched(snapshots: readonly ServiceSnapshot[]): EnrichResult {
  return { snapshots: [...snapshots], errors: [], enabled: false, missingClusters: [], unknownTasks: 0, backingOff: 0, pending: 0 };
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** EcsApi throws AwsCallError; anything else (a bug below it) is still reported against its part. */
function asCallError(error: unknown, operation: string, scope: AwsCallError["scope"]): AwsCallError {
  return error instanceof AwsCallError ? error : new AwsCallError(operation, scope, { cause: error });
}

/** Docker labels are the channel for services without METRICS_* tags (e.g. ECS Service Connect). */
function usesDockerLabels(snapshot: ServiceSnapshot): boolean {
  return endpointsFromTags(snapshot.tags).kind === "untagged";
}
