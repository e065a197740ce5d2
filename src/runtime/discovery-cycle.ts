import type { Logger } from "pino";
import type { CallCounter } from "../aws/call.js";
import type { CloudMapFetcher } from "../aws/cloudmap-fetcher.js";
import type { EcsEnricher } from "../aws/ecs-enricher.js";
import type { Clock } from "../clock.js";
import { diffKeys } from "../core/diff.js";
import { parseNamespaceList } from "../core/namespace-list.js";
import type { BuildOptions, Skip } from "../core/target-groups.js";
import { TargetSetBuilder } from "../core/target-set.js";
import { CycleDeadlineError, errorMessage, FAILURE_HINTS } from "../errors.js";
import type { Metrics } from "../metrics.js";
import type { PublishedFile, PublishOutcome } from "../output/published-file.js";
import type { CycleFacts, CycleObserver } from "../status/recorder.js";
import { AccountReport } from "./account-report.js";
import { ConditionLog } from "./condition-log.js";
import { FailureReport, hintFor } from "./failure-report.js";
import type { HealthState } from "./health.js";
import { HoldPolicy } from "./hold-policy.js";
import { Sharding } from "./sharding.js";
import type { FileContent } from "../core/file-content.js";
import type { ShardSpec } from "../core/shard.js";

export type CycleOutcome = "success" | "partial" | "failure";

export interface CycleReport {
  readonly outcome: CycleOutcome;
  readonly targets: number;
  readonly added: number;
  readonly removed: number;
  readonly durationMs: number;
  readonly apiCalls: number;
  readonly errors: number;
  readonly file: PublishOutcome | "error" | "none";
  /** The cycle overran its bound and published what it had read by then. */
  readonly overran?: boolean;
}

export interface DiscoveryDeps {
  /** The raw value of the namespaces parameter. */
  readonly readNamespaces: (signal: AbortSignal) => Promise<string>;
  /** The Prometheus configuration to publish, when PROMETHEUS_CONFIG_PARAMETER_NAME is set. */
  readonly readPrometheusConfig?: (signal: AbortSignal) => Promise<string>;
  readonly fetcher: CloudMapFetcher;
  readonly enricher: EcsEnricher;
  readonly targetsFile: PublishedFile;
  readonly prometheusConfigFile?: PublishedFile;
  readonly calls: CallCounter;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly health: HealthState;
  readonly buildOptions: BuildOptions;
  readonly clock: Clock;
  /**
   * How long an existing targets file is held at start while some namespace cannot be read
   * completely. After that an incomplete discovery is published anyway: a part that fails for good
   * (a permission missing for one service) must not freeze every other target.
   */
  readonly maxHoldMs?: number;
  /** cloudmap-sd's own account (sts:GetCallerIdentity): its last failure is reported once. */
  readonly callerAccount?: { readonly error: Error | undefined };
  /** SHARD_COUNT/SHARD_INDEX: which targets the file holds; one shard (all of them) when absent. */
  readonly sharding?: Sharding;
  /** Told what each cycle found (the status page); its failure never affects the cycle. */
  readonly observer?: CycleObserver;
}

/**
 * One discovery cycle: namespaces parameter → Cloud Map → ECS enrichment → target groups →
 * file. Every failure is handled here (logged once, counted, last-known-good kept); nothing throws.
 */
export class Discovery {
  private lastCompleteAt: ReadonlyMap<string, number | undefined> = new Map();
  /** The published targets' keys, for the added/removed counts (the builder's own array: no copy). */
  private previousKeys: readonly string[] = [];
  private readonly builder: TargetSetBuilder;
  private readonly sharding: Sharding;
  private readonly hold: HoldPolicy;
  private readonly failures: FailureReport;
  private readonly skips: ConditionLog<Skip>;
  private readonly missingNamespaces: ConditionLog<string>;
  private readonly servicesAtLimit: ConditionLog<string>;
  private readonly missingClusters: ConditionLog<string>;
  private readonly accounts: AccountReport;
  private readonly namespacesParameter: ConditionLog<Error>;
  /** Conditions of the cycle itself, each logged when it starts and when it ends. */
  private readonly writeProblems: ConditionLog<string>;
  private readonly held: ConditionLog<string>;
  private readonly overruns: ConditionLog<number>;
  private readonly noNamespaces: ConditionLog<string>;
  private readonly observerProblems: ConditionLog<string>;

  constructor(private readonly deps: DiscoveryDeps) {
    const { logger } = deps;
    this.builder = new TargetSetBuilder(deps.buildOptions);
    this.sharding = deps.sharding ?? new Sharding({ index: 0, count: 1 }, deps.metrics, logger);
    this.hold = new HoldPolicy(deps.maxHoldMs ?? Number.POSITIVE_INFINITY);
    this.accounts = new AccountReport(logger, deps.metrics);
    this.failures = new FailureReport(logger, deps.metrics);
    const fields = (skip: Skip) => ({ reason: skip.reason, namespace: skip.namespace, service: skip.service, detail: skip.detail });
    this.skips = new ConditionLog<Skip>({
      appeared: (_key, skip) => logger.warn(fields(skip), "endpoint skipped"),
      persists: (_key, skip) => logger.debug(fields(skip), "endpoint skipped"),
    });
    this.missingNamespaces = new ConditionLog<string>({
      appeared: (namespace) =>
        logger.warn(
          { namespace, hint: "check the namespace names in the namespaces parameter (DISCOVERY_NAMESPACES_PARAMETER_NAME)" },
          "Cloud Map namespace not found",
        ),
      cleared: (namespace) => logger.info({ namespace }, "Cloud Map namespace found again, or no longer listed"),
    });
    this.servicesAtLimit = new ConditionLog<string>({
      appeared: (service) =>
        logger.warn(
          { service, hint: "split the service: DiscoverInstances returns at most 1,000 instances per service" },
          "service has 1,000 instances or more: instances beyond 1,000 are not discovered",
        ),
    });
    this.namespacesParameter = new ConditionLog<Error>({
      appeared: (_key, error) =>
        logger.error(
          { err: errorMessage(error), hint: hintFor(error) },
          "cannot read the namespaces parameter; keeping the last-known-good targets",
        ),
      cleared: () => logger.info("the namespaces parameter is readable again"),
    });
    this.writeProblems = new ConditionLog<string>({
      appeared: (_key, err) =>
        logger.error({ err, hint: FAILURE_HINTS.disk }, "cannot write the targets file; the previous one stays whole, retried every cycle"),
      cleared: () => logger.info("the targets file is writable again"),
    });
    this.held = new ConditionLog<string>({
      appeared: () => logger.warn("discovery is incomplete: keeping the existing targets file until every part has been read"),
      cleared: () => logger.info("no longer holding the existing targets file"),
    });
    this.overruns = new ConditionLog<number>({
      appeared: (_key, boundMs) =>
        logger.warn(
          { boundMs, hint: "raise CONFIG_RELOAD_FREQUENCY or DISCOVERY_CONCURRENCY, or lower AWS_CALL_TIMEOUT" },
          "discovery cycle overran its bound: publishing what was read, the rest keeps its last-known-good targets",
        ),
      cleared: () => logger.info("discovery cycles fit their bound again"),
    });
    this.noNamespaces = new ConditionLog<string>({
      appeared: () => logger.warn("the namespaces parameter lists no namespace: publishing no targets"),
    });
    this.observerProblems = new ConditionLog<string>({
      appeared: (_key, err) => logger.error({ err }, "recording the cycle for the status page failed; discovery goes on, the page shows older data"),
      cleared: () => logger.info("the status page is recorded again"),
    });
    this.missingClusters = new ConditionLog<string>({
      appeared: (cluster) =>
        logger.warn(
          { cluster, hint: "the ECS_CLUSTER_NAME attribute of its instances names a cluster ECS does not know; their targets stay, without __meta_ecs_* labels" },
          "ECS cluster not found",
        ),
      cleared: (cluster) => logger.info({ cluster }, "ECS cluster found again, or no longer referenced"),
    });
  }

  /** Any shard's targets for /prometheus-targets?shard=I&shards=N (see Sharding.serve). */
  targetsOfShard(shard: ShardSpec): FileContent | undefined {
    return this.sharding.serve(shard, this.deps.targetsFile.content);
  }

  /** Per listed namespace, when it was last read without error (monotonic ms): the staleness metric. */
  staleness(): ReadonlyMap<string, number | undefined> {
    return this.lastCompleteAt;
  }

  /**
   * `signal` aborts at the cycle's deadline or at shutdown; `stopSignal` only at shutdown. A
   * deadline ends the cycle's AWS calls and publishes what was read; a shutdown publishes nothing.
   */
  async runCycle(signal: AbortSignal, stopSignal: AbortSignal = signal): Promise<CycleReport> {
    const { health, metrics, clock } = this.deps;
    const started = clock.monotonicMs();
    health.cycleStarted();
    const stopTimer = metrics.cycleDuration.startTimer();
    try {
      const report = await this.cycle(signal, stopSignal, started);
      if (!stopSignal.aborted) metrics.cycles.inc({ outcome: report.outcome });
      return report;
    } finally {
      stopTimer();
      health.cycleEnded();
      metrics.cycleEnded(clock.monotonicMs());
    }
  }

  private async cycle(signal: AbortSignal, stopSignal: AbortSignal, started: number): Promise<CycleReport> {
    const { calls, logger, metrics, clock } = this.deps;
    const report = (outcome: CycleOutcome, rest: Partial<CycleReport> = {}): CycleReport => ({
      outcome,
      targets: this.previousKeys.length,
      added: 0,
      removed: 0,
      errors: 0,
      file: "none",
      ...rest,
      durationMs: Math.round(clock.monotonicMs() - started),
      apiCalls: calls.take(),
    });

    const configRead = this.publishPrometheusConfig(signal, stopSignal);
    let names: string[];
    let parameterValue: string;
    try {
      parameterValue = await this.deps.readNamespaces(signal);
      names = parseNamespaceList(parameterValue);
    } catch (error) {
      const configError = await configRead;
      if (stopSignal.aborted) return report("failure");
      this.namespacesParameter.update(new Map([[(error as Error).name, error as Error]]));
      // Counted, but what the report says about the other parts stands: this cycle did not read them.
      this.failures.countOnly(configError ? [error as Error, configError] : [error as Error]);
      // Nothing new to publish, but the file on disk may have been deleted or overwritten.
      const file = await this.keepFile(stopSignal);
      const result = report("failure", { errors: 1, file });
      this.logCycle(result);
      this.observe(() => ({ report: result, parameter: { error: error as Error }, errors: configError ? [error as Error, configError] : [error as Error] }));
      return result;
    }
    this.namespacesParameter.update(new Map());
    this.noNamespaces.update(new Map(names.length === 0 ? [["empty", "empty"]] : []));

    const fetched = await this.deps.fetcher.refresh(names, signal);
    const enriched = await this.deps.enricher.enrich(fetched.snapshots, signal);
    const configError = await configRead;
    if (stopSignal.aborted) return report("failure");
    const overran = signal.aborted && signal.reason instanceof CycleDeadlineError;
    if (overran) metrics.cycleOverruns.inc();
    this.overruns.update(new Map(overran ? [["overran", (signal.reason as CycleDeadlineError).deadlineMs]] : []));
    this.lastCompleteAt = fetched.lastCompleteAt;

    this.missingNamespaces.update(new Map(fetched.missingNamespaces.map((name) => [name, name])));
    metrics.missingNamespaces.set(fetched.missingNamespaces.length);
    this.servicesAtLimit.update(new Map(fetched.servicesAtLimit.map((name) => [name, name])));
    metrics.servicesAtInstanceLimit.set(fetched.servicesAtLimit.length);
    this.accounts.update(fetched, enriched, this.deps.callerAccount?.error);
    this.missingClusters.update(new Map(enriched.missingClusters.map((name) => [name, name])));
    metrics.ecsMissingClusters.set(enriched.missingClusters.length);
    metrics.ecsUnknownTasks.set(enriched.unknownTasks);
    metrics.ecsBackingOff.set(enriched.backingOff);
    const errors: Error[] = [...fetched.errors, ...enriched.errors];
    if (configError) errors.push(configError);
    this.failures.update(errors, enriched.stillFailing);

    const built = this.builder.build(enriched.snapshots);
    const { perNamespace, skips } = built;
    // Only this sidecar's shard is published (with one shard: the built objects themselves).
    const { keys, content } = this.sharding.cut(built);
    // ECS data not yet read leaves new tasks unenriched, and a docker-label service's tasks
    // untargeted: at start that is as incomplete as a failed Cloud Map call.
    const incomplete = fetched.incomplete || enriched.pending > 0;
    this.reportSkips(skips);

    const { complete, expired } = this.hold.decide(incomplete, started, !fetched.unlisted);
    let file: CycleReport["file"];
    let writeError: string | undefined;
    try {
      file = await this.deps.targetsFile.publish(content, { complete, signal: stopSignal });
    } catch (error) {
      if (stopSignal.aborted) return report("failure");
      file = "error";
      writeError = errorMessage(error);
    }
    metrics.fileWrites.inc({ file: "targets", outcome: file });
    this.writeProblems.update(new Map(writeError === undefined ? [] : [["write", writeError]]));
    // Only when this write ended a hold: later incomplete cycles are ordinary partial ones.
    const endedHold = this.held.keys().length > 0 && file === "written";
    this.held.update(new Map(file === "held" ? [["held", "held"]] : []));
    if (expired && endedHold) {
      logger.warn({ maxHoldMs: this.deps.maxHoldMs }, "discovery still incomplete after the hold limit: published what is known");
    }

    const published = file === "written" || file === "unchanged" || file === "restored";
    const diff = keys === this.previousKeys ? { added: 0, removed: 0 } : diffKeys(this.previousKeys, keys);
    if (published) {
      this.sharding.published(built);
      this.previousKeys = keys;
      this.countTargets(names, perNamespace);
      // Ready once a complete discovery is published, or once the hold limit has passed and what
      // is known is published: a part that fails for good (one account's role denied, say) must
      // not keep the whole sidecar unready for ever, as it must not freeze the file.
      if (complete) this.deps.health.ready = true;
      if (errors.length === 0) metrics.lastSuccess.set(clock.wallMs() / 1000);
    }
    const degraded = errors.length > 0 || fetched.missingNamespaces.length > 0 || enriched.pending > 0 || overran;
    const outcome: CycleOutcome = !published ? "failure" : degraded ? "partial" : "success";
    const result = report(outcome, {
      targets: keys.length,
      added: published ? diff.added : 0,
      removed: published ? diff.removed : 0,
      errors: errors.length,
      file,
      ...(overran ? { overran } : {}),
    });
    this.logCycle(result, {
      namespaces: names.length,
      missingNamespaces: fetched.missingNamespaces.length,
      services: fetched.snapshots.length,
      reread: fetched.servicesReread,
      withoutHealthCheck: fetched.servicesWithoutHealthCheck,
    });
    this.observe(() => ({
      report: result,
      parameter: { value: parameterValue, names },
      discovery: {
        snapshots: enriched.snapshots,
        skips,
        // Every discovered target, not only this shard's: "why is X not scraped?" has the same
        // answer on every shard (which shard scrapes it is cloudmap_sd_shard_targets' business).
        keys: built.keys,
        missingNamespaces: fetched.missingNamespaces,
        lastCompleteAt: fetched.lastCompleteAt,
        revisions: fetched.revisions,
        errors,
      },
      errors,
    }));
    return result;
  }

  /** Hands the cycle to the observer; a failure there is logged once and counted, never thrown. */
  private observe(facts: () => CycleFacts): void {
    const { observer, metrics } = this.deps;
    if (!observer) return;
    try {
      observer.cycleFinished(facts());
      this.observerProblems.update(new Map());
    } catch (error) {
      metrics.statusRecordFailures.inc();
      this.observerProblems.update(new Map([["observer", errorMessage(error)]]));
    }
  }

  /** Re-publishes the current content: restores the file if someone deleted or changed it. */
  private async keepFile(stopSignal: AbortSignal): Promise<CycleReport["file"]> {
    const { targetsFile, metrics } = this.deps;
    let file: CycleReport["file"];
    try {
      file = await targetsFile.publish(targetsFile.content ?? "[]\n", { complete: false, signal: stopSignal });
    } catch (error) {
      file = "error";
      this.writeProblems.update(new Map([["write", errorMessage(error)]]));
    }
    if (file !== "error") this.writeProblems.update(new Map());
    metrics.fileWrites.inc({ file: "targets", outcome: file });
    return file;
  }

  /** Publishes prometheus.yaml; returns the error of a failed read or write for the cycle's failure report. */
  private async publishPrometheusConfig(signal: AbortSignal, stopSignal: AbortSignal): Promise<Error | undefined> {
    const { readPrometheusConfig, prometheusConfigFile, logger, metrics, health } = this.deps;
    if (!readPrometheusConfig || !prometheusConfigFile) return undefined;
    try {
      const content = await readPrometheusConfig(signal);
      const outcome = await prometheusConfigFile.publish(content, { complete: true, signal: stopSignal });
      metrics.fileWrites.inc({ file: "prometheus_config", outcome });
      if (outcome === "written") logger.info({ path: prometheusConfigFile.path }, "Prometheus configuration updated");
      health.setConfigReady(true);
      return undefined;
    } catch (error) {
      if (stopSignal.aborted) return undefined;
      metrics.fileWrites.inc({ file: "prometheus_config", outcome: "error" });
      // Logged with the cycle's other failures (once, with what to do).
      const message = errorMessage(error);
      const exists = prometheusConfigFile.content !== undefined;
      health.setConfigReady(exists, exists ? undefined : `no Prometheus configuration yet (PROMETHEUS_CONFIG_PARAMETER_NAME): ${message}`);
      return error as Error;
    }
  }

  /** Warns once when a skip appears; repeats only at debug level while it lasts. */
  private reportSkips(skips: readonly Skip[]): void {
    const { metrics } = this.deps;
    metrics.skippedEndpoints.reset();
    const current = new Map<string, Skip>();
    for (const skip of skips) {
      metrics.skippedEndpoints.inc({ reason: skip.reason });
      current.set(`${skip.reason} ${skip.namespace} ${skip.service} ${skip.detail}`, skip);
    }
    this.skips.update(current);
  }

  private countTargets(names: readonly string[], perNamespace: ReadonlyMap<string, number>): void {
    const counts = new Map<string, number>(names.map((name) => [name, 0]));
    for (const [namespace, count] of perNamespace) counts.set(namespace, (counts.get(namespace) ?? 0) + count);
    this.deps.metrics.targets.reset();
    for (const [namespace, count] of counts) this.deps.metrics.targets.set({ namespace }, count);
  }

  /** One info line per cycle whatever its outcome; what went wrong was logged at warn/error on its own. */
  private logCycle(report: CycleReport, extra: Record<string, number> = {}): void {
    this.deps.logger.info({ ...report, ...extra }, "discovery cycle finished");
  }
}
