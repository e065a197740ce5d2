import type { LimitFunction } from "p-limit";
import type { Clock } from "../clock.js";
import { endpointsFor } from "../core/endpoints.js";
import type { EcsTask, EcsTaskDefinition, Instance, ServiceSnapshot } from "../core/model.js";
import { RetrySchedule, type RetryScheduleOptions } from "../core/retry-schedule.js";
import { WeightedLimit } from "../core/weighted-limit.js";
import { Attribute } from "../core/target-groups.js";
import { AwsCallError } from "../errors.js";
import { AssumeRoleError } from "./accounts.js";
import { DESCRIBE_TASKS_BATCH, type EcsApi, EcsTaskFailuresError } from "./ecs.js";

export type EnrichmentMode = "auto" | "on" | "off";

/**
 * At most this many tasks asked for in DescribeTasks calls in flight (three full batches),
 * whatever DISCOVERY_CONCURRENCY allows. Each answer is deserialised in one go; a cold sync of
 * 10,000 tasks is 100 answers of 100, back to back, and that phase is CPU-bound, so more in flight
 * finishes no sooner but piles up garbage faster than V8 collects it: 10 in flight peaked 15-20 MB
 * higher than 3 at the same cold sync time (BENCHMARKS.md, issue 9). Counted in tasks, not calls,
 * so a churn cycle's small batches (a few new tasks per cluster) still go out together. It also
 * keeps a cold sync's burst of DescribeTasks calls small against ECS's request throttling.
 */
export const MAX_TASKS_DESCRIBED_AT_ONCE = 3 * DESCRIBE_TASKS_BATCH;

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
  /**
   * Cross-account enrichment (ECS_ASSUME_ROLE): tasks of services another account created (or owns
   * the namespace of) are described with that account's ECS client. Without it, every task is
   * described with cloudmap-sd's own credentials, as before.
   */
  readonly accounts?: EcsAccounts;
}

export interface EcsAccounts {
  /** The ECS calls of another account (a client with an assumed role's credentials), one per account. */
  readonly ecsFor: (account: string) => EcsApi;
  /** cloudmap-sd's own account; undefined while unknown (every task is then described as its own). */
  readonly callerAccount: (abortSignal?: AbortSignal) => Promise<string | undefined>;
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
   * The last failure of each part that is backing off: not called this cycle, so not in `errors`
   * (nor counted again), but still failing. Without them the failure would look cleared between
   * retries, and be logged again at every retry.
   */
  readonly stillFailing: AwsCallError[];
  /** Accounts whose role could not be assumed this cycle (their tasks keep their last-known-good data). Sorted. */
  readonly failingAccounts: string[];
  /**
   * Wanted tasks and task definitions with no data yet, because their call failed or is backing
   * off. 0 when everything wanted is known or is a cached not-found answer: discovery is
   * incomplete while this is above 0 (a docker-label task without its definition has no target).
   */
  readonly pending: number;
}

/**
 * Instances that are ECS tasks: part → their task ids (the instance ids themselves, no new
 * strings). A part is a cluster of cloudmap-sd's own account (its name), or "<account>:<cluster>"
 * for another account's (":" is not allowed in a cluster name).
 */
type WantedTasks = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Per snapshot: the account whose ECS describes its tasks, undefined for one's own, DEFERRED while
 * that cannot be told (ECS_ASSUME_ROLE set, the own account unknown).
 */
type AccountOf = (snapshot: ServiceSnapshot) => string | undefined | typeof DEFERRED;

/** A service whose tasks wait until the own account is known: not described, counted pending. */
const DEFERRED = Symbol("deferred");

/** What one cycle's calls add up to. */
interface Cycle {
  readonly now: number;
  readonly errors: AwsCallError[];
  readonly stillFailing: AwsCallError[];
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
  /**
   * cluster → task id → the task ECS described: kept while the task is in Cloud Map. A task is in
   * at most one of tasks and missingTasks. Keyed by cluster, then by the instance's own id string:
   * with 10,000 tasks, "cluster/id" keys were ~0.6 MB of strings and {task, recheckAt} entries ~0.4 MB.
   */
  private readonly tasks = new ByCluster<EcsTask>();
  /** cluster → task id → when to describe again a task ECS reported MISSING (stopped long ago, or not of this cluster). */
  private readonly missingTasks = new ByCluster<number>();
  private readonly definitions = new Map<string, EcsTaskDefinition>();
  /** cluster → when to ask again whether it exists. */
  private readonly clustersNotFound = new Map<string, number>();
  private readonly clusterRetries: RetrySchedule;
  private readonly definitionRetries: RetrySchedule;
  /** The last failure of each cluster part and each task definition, until it succeeds. */
  private readonly clusterFailures = new Map<string, AwsCallError>();
  private readonly definitionFailures = new Map<string, AwsCallError>();
  private readonly notFoundTtlMs: number;
  /** Bounds the tasks asked for in DescribeTasks calls in flight (see MAX_TASKS_DESCRIBED_AT_ONCE), inside the shared limit. */
  private readonly describeTasksLimit = new WeightedLimit(MAX_TASKS_DESCRIBED_AT_ONCE);
  /**
   * Per input snapshot: the enriched snapshot. Its own ecsTasks and ecsTaskDefinitions maps say
   * which cache entries it was made from: no second list of them is kept.
   */
  private readonly enriched = new WeakMap<ServiceSnapshot, ServiceSnapshot>();
  /**
   * The last cycle, when it left nothing to do: the same input objects then give the same result
   * until a cached not-found answer is due to be re-checked. Saves walking every instance twice.
   */
  private settled: { inputs: readonly ServiceSnapshot[]; result: EnrichResult; until: number } | undefined;
  /** This cycle's answer to "whose ECS describes this service's tasks". */
  private accountOf: AccountOf = () => undefined;

  constructor(
    private readonly api: EcsApi,
    private readonly options: EcsEnricherOptions,
  ) {
    this.notFoundTtlMs = options.notFoundTtlMs ?? DEFAULT_NOT_FOUND_TTL_MS;
    if (!(this.notFoundTtlMs > 0)) throw new RangeError(`notFoundTtlMs must be positive, got ${this.notFoundTtlMs}`);
    this.clusterRetries = new RetrySchedule(options.backoff);
    this.definitionRetries = new RetrySchedule(options.backoff);
  }

  /**
   * A service's tasks belong to the account that created it (ECS creates the Cloud Map service of
   * an ECS service), else to the namespace's owner. Only another account than cloudmap-sd's own
   * needs its role. While the own account is unknown (STS unreachable), a service with an account
   * is deferred: described with the own credentials, another account's cluster would answer
   * "not found", cached, and its docker-label targets dropped from a complete-looking cycle.
   */
  private async accountResolver(abortSignal?: AbortSignal): Promise<AccountOf> {
    const accounts = this.options.accounts;
    if (accounts === undefined) return () => undefined;
    const caller = await accounts.callerAccount(abortSignal);
    if (caller === undefined) return (snapshot) => ((snapshot.service.createdBy ?? snapshot.service.namespace.owner) === undefined ? undefined : DEFERRED);
    return (snapshot) => {
      const account = snapshot.service.createdBy ?? snapshot.service.namespace.owner;
      return account === undefined || account === caller ? undefined : account;
    };
  }

  /** The ECS calls of a part's or a definition's account. */
  private apiFor(account: string | undefined): EcsApi {
    return account === undefined || this.options.accounts === undefined ? this.api : this.options.accounts.ecsFor(account);
  }

  async enrich(snapshots: readonly ServiceSnapshot[], abortSignal?: AbortSignal): Promise<EnrichResult> {
    if (this.options.mode === "off") return unenriched(snapshots);
    const now = this.options.clock.monotonicMs();
    const settled = this.settled;
    if (settled && now < settled.until && sameItems(settled.inputs, snapshots)) {
      return { ...settled.result, snapshots: [...settled.result.snapshots], errors: [], stillFailing: [], missingClusters: [...settled.result.missingClusters], failingAccounts: [] };
    }
    this.settled = undefined;

    this.accountOf = await this.accountResolver(abortSignal);
    const wanted = wantedTasks(snapshots, this.accountOf);
    const deferred = deferredTasks(snapshots, this.accountOf);
    this.forgetUnwanted(wanted);
    if (this.options.mode === "auto" && wanted.size === 0 && deferred === 0) {
      // No instance is an ECS task: nothing to describe, and no definition in use.
      this.definitions.clear();
      this.definitionRetries.forget(new Set());
      return unenriched(snapshots);
    }

    const cycle: Cycle = { now, errors: [], stillFailing: [], backingOff: 0 };
    await this.describeTasks(wanted, cycle, abortSignal);
    const inUse = this.definitionsInUse(snapshots);
    for (const arn of this.definitions.keys()) if (!inUse.has(arn)) this.definitions.delete(arn);
    this.definitionRetries.forget(inUse);
    await this.describeDefinitions(inUse, cycle, abortSignal);

    const summary = this.summary(wanted, inUse, cycle);
    const result = { ...summary, pending: summary.pending + deferred, snapshots: snapshots.map((snapshot) => this.enrichOne(snapshot)) };
    const quiet = result.errors.length === 0 && result.backingOff === 0 && result.pending === 0;
    this.settled = quiet ? { inputs: [...snapshots], result, until: this.nextRecheck(wanted) } : undefined;
    return result;
  }

  /** For tests and metrics: how many tasks and task definitions are cached. */
  cacheSizes(): { tasks: number; taskDefinitions: number } {
    return { tasks: this.tasks.size + this.missingTasks.size, taskDefinitions: this.definitions.size };
  }

  private forgetUnwanted(wanted: WantedTasks): void {
    this.tasks.keepOnly(wanted);
    this.missingTasks.keepOnly(wanted);
    const clusters = new Set(wanted.keys());
    for (const cluster of this.clustersNotFound.keys()) if (!clusters.has(cluster)) this.clustersNotFound.delete(cluster);
    this.clusterRetries.forget(clusters);
  }

  private async describeTasks(wanted: WantedTasks, cycle: Cycle, abortSignal?: AbortSignal): Promise<void> {
    const byCluster = new Map<string, string[]>();
    for (const [cluster, taskIds] of wanted) {
      const ids: string[] = [];
      for (const taskId of taskIds) if (this.needsDescribing(cluster, taskId, cycle.now)) ids.push(taskId);
      if (ids.length > 0) byCluster.set(cluster, ids);
    }
    await Promise.all([...byCluster].map(([cluster, ids]) => this.describeCluster(cluster, ids, cycle, abortSignal)));
  }

  private needsDescribing(cluster: string, taskId: string, now: number): boolean {
    if (this.tasks.get(cluster, taskId) !== undefined) return false;
    const recheckAt = this.missingTasks.get(cluster, taskId);
    if (recheckAt !== undefined && now < recheckAt) return false;
    const clusterRecheckAt = this.clustersNotFound.get(cluster);
    return clusterRecheckAt === undefined || now >= clusterRecheckAt;
  }

  /** One part: every new task of one cluster, in batches of 100. Any batch failing fails the part. */
  private async describeCluster(part: string, ids: readonly string[], cycle: Cycle, abortSignal?: AbortSignal): Promise<void> {
    const cluster = part;
    const { account, name } = splitPart(part);
    const api = this.apiFor(account);
    if (!this.clusterRetries.due(cluster, cycle.now)) {
      cycle.backingOff++;
      const last = this.clusterFailures.get(cluster);
      if (last) cycle.stillFailing.push(last);
      return;
    }
    const errorsBefore = cycle.errors.length;
    let failed = false;
    let aborted = false;
    // Tasks of one cluster repeat the same cluster ARN, definition ARNs, group, tags: one copy each.
    const shared: Shared = { strings: new Map(), tags: new Map() };
    const batches: string[][] = [];
    for (let i = 0; i < ids.length; i += DESCRIBE_TASKS_BATCH) batches.push(ids.slice(i, i + DESCRIBE_TASKS_BATCH));
    await Promise.all(
      batches.map(async (batch) => {
        try {
          const answer = await this.describeTasksLimit.run(batch.length, () => this.options.limit(() => api.tasks(name, batch, abortSignal)));
          if (!answer.clusterFound) {
            this.clustersNotFound.set(cluster, cycle.now + this.notFoundTtlMs);
            return;
          }
          this.clustersNotFound.delete(cluster);
          for (const [id, task] of answer.tasks) {
            this.tasks.set(cluster, id, interned(task, shared));
            this.missingTasks.delete(cluster, id);
          }
          for (const id of answer.missing) {
            this.missingTasks.set(cluster, id, cycle.now + this.notFoundTtlMs);
            this.tasks.delete(cluster, id);
          }
          if (answer.failed.length > 0) {
            failed = true;
            cycle.errors.push(new AwsCallError("DescribeTasks", { cluster }, { cause: new EcsTaskFailuresError(answer.failed) }));
          }
        } catch (error) {
          // Cut off by the cycle's deadline (or a stop): not a failure of ECS, so no backoff.
          if (abortSignal?.aborted) {
            aborted = true;
            return;
          }
          failed = true;
          cycle.errors.push(inPart(asCallError(error, "DescribeTasks", { cluster }), part));
        }
      }),
    );
    if (failed) {
      this.clusterRetries.failed(cluster, this.options.clock.monotonicMs());
      const first = cycle.errors[errorsBefore];
      if (first) this.clusterFailures.set(cluster, first);
    } else if (!aborted) {
      this.clusterRetries.succeeded(cluster);
      this.clusterFailures.delete(cluster);
    }
  }

  /** Definitions of the tasks of docker-label services (the only ones whose containers matter), with their account. */
  private definitionsInUse(snapshots: readonly ServiceSnapshot[]): Map<string, string | undefined> {
    const inUse = new Map<string, string | undefined>();
    for (const snapshot of snapshots) {
      if (!usesDockerLabels(snapshot)) continue;
      const account = this.accountOf(snapshot);
      if (account === DEFERRED) continue;
      for (const instance of snapshot.instances) {
        const arn = this.taskOf(snapshot, instance)?.taskDefinitionArn;
        if (arn) inUse.set(arn, account);
      }
    }
    return inUse;
  }

  private async describeDefinitions(inUse: ReadonlyMap<string, string | undefined>, cycle: Cycle, abortSignal?: AbortSignal): Promise<void> {
    const unknown = [...inUse.keys()].filter((arn) => !this.definitions.has(arn));
    await Promise.all(
      unknown.map(async (arn) => {
        if (!this.definitionRetries.due(arn, cycle.now)) {
          cycle.backingOff++;
          const last = this.definitionFailures.get(arn);
          if (last) cycle.stillFailing.push(last);
          return;
        }
        try {
          const api = this.apiFor(inUse.get(arn));
          this.definitions.set(arn, await this.options.limit(() => api.taskDefinition(arn, abortSignal)));
          this.definitionRetries.succeeded(arn);
          this.definitionFailures.delete(arn);
        } catch (error) {
          if (abortSignal?.aborted) return; // the cycle's deadline, not a failure of ECS
          this.definitionRetries.failed(arn, this.options.clock.monotonicMs());
          const failure = asCallError(error, "DescribeTaskDefinition", { taskDefinition: arn });
          this.definitionFailures.set(arn, failure);
          cycle.errors.push(failure);
        }
      }),
    );
  }

  private summary(wanted: WantedTasks, inUse: ReadonlyMap<string, string | undefined>, cycle: Cycle): Omit<EnrichResult, "snapshots"> {
    let unknownTasks = 0;
    let pending = 0;
    for (const [cluster, taskIds] of wanted) {
      for (const taskId of taskIds) {
        if (this.missingTasks.get(cluster, taskId) !== undefined) unknownTasks++;
        else if (this.tasks.get(cluster, taskId) === undefined && !this.clustersNotFound.has(cluster)) pending++;
      }
    }
    for (const arn of inUse.keys()) if (!this.definitions.has(arn)) pending++;
    const failingAccounts = new Set<string>();
    for (const error of [...cycle.errors, ...cycle.stillFailing]) if (error.cause instanceof AssumeRoleError) failingAccounts.add(error.cause.account);
    // Parts no longer wanted are not failing any more.
    for (const cluster of this.clusterFailures.keys()) if (!wanted.has(cluster)) this.clusterFailures.delete(cluster);
    for (const arn of this.definitionFailures.keys()) if (!inUse.has(arn)) this.definitionFailures.delete(arn);
    return {
      failingAccounts: [...failingAccounts].sort(),
      errors: cycle.errors,
      stillFailing: cycle.stillFailing,
      enabled: true,
      missingClusters: [...this.clustersNotFound.keys()].sort(),
      unknownTasks,
      backingOff: cycle.backingOff,
      pending,
    };
  }

  /** The earliest time a cached not-found answer of a wanted task or cluster is to be asked again. */
  private nextRecheck(wanted: WantedTasks): number {
    let next = Math.min(...this.clustersNotFound.values());
    for (const [cluster, taskIds] of wanted) {
      for (const taskId of taskIds) next = Math.min(next, this.missingTasks.get(cluster, taskId) ?? Number.POSITIVE_INFINITY);
    }
    return next;
  }

  /** The described task of an instance, if it is one. */
  private taskOf(snapshot: ServiceSnapshot, instance: Instance): EcsTask | undefined {
    const cluster = instance.attributes[Attribute.cluster];
    const account = this.accountOf(snapshot);
    return cluster && account !== DEFERRED ? this.tasks.get(partOf(account, cluster), instance.id) : undefined;
  }

  /** Returns the same object as last cycle when the service and its ECS facts are unchanged. */
  private enrichOne(snapshot: ServiceSnapshot): ServiceSnapshot {
    const dockerLabels = usesDockerLabels(snapshot);
    const ecsTasks = new Map<string, EcsTask>();
    const ecsTaskDefinitions = new Map<string, EcsTaskDefinition>();
    for (const instance of snapshot.instances) {
      const task = this.taskOf(snapshot, instance);
      if (!task) continue;
      ecsTasks.set(instance.id, task);
      const definition = dockerLabels && task.taskDefinitionArn ? this.definitions.get(task.taskDefinitionArn) : undefined;
      if (definition) ecsTaskDefinitions.set(definition.arn, definition);
    }
    const cached = this.enriched.get(snapshot);
    if (cached && sameEntries(cached.ecsTasks, ecsTasks) && sameEntries(cached.ecsTaskDefinitions, ecsTaskDefinitions)) return cached;
    const result = { ...snapshot, ecsTasks, ...(dockerLabels ? { ecsTaskDefinitions } : {}) };
    this.enriched.set(snapshot, result);
    return result;
  }
}

/** Instances that are ECS tasks (they carry ECS_CLUSTER_NAME), by part (cluster, in its account). */
function wantedTasks(snapshots: readonly ServiceSnapshot[], accountOf: AccountOf): WantedTasks {
  const wanted = new Map<string, Set<string>>();
  for (const snapshot of snapshots) {
    const account = accountOf(snapshot);
    if (account === DEFERRED) continue;
    for (const instance of snapshot.instances) {
      const cluster = instance.attributes[Attribute.cluster];
      if (!cluster) continue;
      const part = partOf(account, cluster);
      const taskIds = wanted.get(part) ?? new Set<string>();
      taskIds.add(instance.id);
      wanted.set(part, taskIds);
    }
  }
  return wanted;
}

/** ECS tasks of deferred services: wanted but not described this cycle. */
function deferredTasks(snapshots: readonly ServiceSnapshot[], accountOf: AccountOf): number {
  let count = 0;
  for (const snapshot of snapshots) {
    if (accountOf(snapshot) !== DEFERRED) continue;
    for (const instance of snapshot.instances) if (instance.attributes[Attribute.cluster]) count++;
  }
  return count;
}

function partOf(account: string | undefined, cluster: string): string {
  return account === undefined ? cluster : `${account}:${cluster}`;
}

function splitPart(part: string): { account: string | undefined; name: string } {
  const colon = part.indexOf(":");
  return colon === -1 ? { account: undefined, name: part } : { account: part.slice(0, colon), name: part.slice(colon + 1) };
}

/** cluster → task id → V: what the enricher knows per task. */
class ByCluster<V> {
  private readonly clusters = new Map<string, Map<string, V>>();

  get(cluster: string, taskId: string): V | undefined {
    return this.clusters.get(cluster)?.get(taskId);
  }

  set(cluster: string, taskId: string, value: V): void {
    let tasks = this.clusters.get(cluster);
    if (tasks === undefined) {
      tasks = new Map();
      this.clusters.set(cluster, tasks);
    }
    tasks.set(taskId, value);
  }

  delete(cluster: string, taskId: string): void {
    const tasks = this.clusters.get(cluster);
    if (tasks === undefined) return;
    tasks.delete(taskId);
    if (tasks.size === 0) this.clusters.delete(cluster);
  }

  /** Forgets every task that is not wanted. */
  keepOnly(wanted: WantedTasks): void {
    for (const [cluster, tasks] of this.clusters) {
      const taskIds = wanted.get(cluster);
      for (const taskId of tasks.keys()) if (!taskIds?.has(taskId)) tasks.delete(taskId);
      if (tasks.size === 0) this.clusters.delete(cluster);
    }
  }

  get size(): number {
    let size = 0;
    for (const tasks of this.clusters.values()) size += tasks.size;
    return size;
  }
}

/** What the tasks of one DescribeTasks part share, one copy each; dropped with the part. */
interface Shared {
  readonly strings: Map<string, string>;
  /** JSON of a tag record's entries → the record. */
  readonly tags: Map<string, Readonly<Record<string, string>>>;
}

/**
 * A copy of the task whose strings are shared with the other tasks of the same answer, in one
 * fixed shape. Each task parsed from a response has its own copy of the cluster ARN, definition
 * ARN, group...: at 10,000 tasks ~2 MB of duplicate strings kept for the tasks' lifetime. And the
 * parsed object, built field by field, keeps most fields out of line (~0.8 MB more); one literal
 * with every field keeps them in the object. An absent field becomes undefined: readers test the
 * value, never the key. The type lists every field of EcsTask, so a new one cannot be dropped.
 */
function interned(task: EcsTask, shared: Shared): EcsTask {
  const { strings } = shared;
  const intern = <T extends string | undefined>(value: T): T => {
    if (value === undefined) return value;
    const known = strings.get(value);
    if (known !== undefined) return known as T;
    strings.set(value, value);
    return value;
  };
  // Tasks of one service usually carry the same tags (propagated from the service): one record.
  const entries = Object.entries(task.tags);
  const tagsKey = JSON.stringify(entries);
  let tags = shared.tags.get(tagsKey);
  if (tags === undefined) {
    const record: Record<string, string> = {};
    for (const [name, value] of entries) record[intern(name)] = intern(value);
    tags = record;
    shared.tags.set(tagsKey, tags);
  }
  const copy: { readonly [K in keyof Required<EcsTask>]: EcsTask[K] } = {
    taskArn: task.taskArn,
    clusterArn: intern(task.clusterArn),
    taskDefinitionArn: intern(task.taskDefinitionArn),
    launchType: intern(task.launchType),
    availabilityZone: intern(task.availabilityZone),
    group: intern(task.group),
    lastStatus: intern(task.lastStatus),
    desiredStatus: intern(task.desiredStatus),
    healthStatus: intern(task.healthStatus),
    containerInstanceArn: intern(task.containerInstanceArn),
    tags,
    portBindings: task.portBindings,
  };
  return copy;
}

function unenriched(snapshots: readonly ServiceSnapshot[]): EnrichResult {
  return { snapshots: [...snapshots], errors: [], stillFailing: [], enabled: false, missingClusters: [], unknownTasks: 0, backingOff: 0, pending: 0, failingAccounts: [] };
}

/** The same keys with the very same values (absent: empty). */
function sameEntries<V>(a: ReadonlyMap<string, V> | undefined, b: ReadonlyMap<string, V>): boolean {
  if ((a?.size ?? 0) !== b.size) return false;
  for (const [key, value] of b) if (a?.get(key) !== value) return false;
  return true;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** Another account's cluster is named with its account ("<account>:<cluster>"): the same name may exist in several. */
function inPart(error: AwsCallError, part: string): AwsCallError {
  return error.scope.cluster === part ? error : new AwsCallError(error.operation, { ...error.scope, cluster: part }, { cause: error.cause });
}

/** EcsApi throws AwsCallError; anything else (a bug below it) is still reported against its part. */
function asCallError(error: unknown, operation: string, scope: AwsCallError["scope"]): AwsCallError {
  return error instanceof AwsCallError ? error : new AwsCallError(operation, scope, { cause: error });
}

/** Docker labels are the channel for services without METRICS_* tags (e.g. ECS Service Connect). */
function usesDockerLabels(snapshot: ServiceSnapshot): boolean {
  return endpointsFor(snapshot.tags, snapshot.serviceAttributes).plan.kind === "untagged";
}
