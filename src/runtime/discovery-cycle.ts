import type { Logger } from "pino";
import type { CallCounter } from "../aws/call.js";
import type { CloudMapFetcher } from "../aws/cloudmap-fetcher.js";
import type { EcsEnricher } from "../aws/ecs-enricher.js";
import { diffKeys } from "../core/diff.js";
import { parseNamespaceList } from "../core/namespace-list.js";
import type { BuildOptions, Skip } from "../core/target-groups.js";
import { type RenderedTarget, TargetSetBuilder } from "../core/target-set.js";
import { errorMessage } from "../errors.js";
import type { Metrics } from "../metrics.js";
import type { PublishedFile, PublishOutcome } from "../output/published-file.js";
import type { HealthState } from "./health.js";

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
  readonly now: () => number;
  /**
   * How long an existing targets file is held at start while some namespace cannot be read
   * completely. After that an incomplete discovery is published anyway: a part that fails for good
   * (a permission missing for one service) must not freeze every other target.
   */
  readonly maxHoldMs?: number;
}

/**
 * One discovery cycle: namespaces parameter → Cloud Map → ECS enrichment → target groups →
 * file. Every failure is handled here (logged, counted, last-known-good kept); nothing throws.
 */
export class Discovery {
  private lastCompleteAt: ReadonlyMap<string, number | undefined> = new Map();
  private previousTargets: readonly RenderedTarget[] = [];
  private previousSkips = new Set<string>();
  private readonly builder: TargetSetBuilder;
  private firstCycleAt: number | undefined;

  constructor(private readonly deps: DiscoveryDeps) {
    this.builder = new TargetSetBuilder(deps.buildOptions);
  }

  /** Per listed namespace, when it was last read without error: the staleness metric. */
  staleness(): ReadonlyMap<string, number | undefined> {
    return this.lastCompleteAt;
  }

  async runCycle(signal: AbortSignal): Promise<CycleReport> {
    const { health, metrics, now } = this.deps;
    const started = now();
    health.cycleStarted();
    const stopTimer = metrics.cycleDuration.startTimer();
    try {
      const report = await this.cycle(signal, started);
      if (!signal.aborted) metrics.cycles.inc({ outcome: report.outcome });
      return report;
    } finally {
      stopTimer();
      health.cycleEnded();
    }
  }

  private async cycle(signal: AbortSignal, started: number): Promise<CycleReport> {
    const { calls, logger, metrics, now } = this.deps;
    const report = (outcome: CycleOutcome, rest: Partial<CycleReport> = {}): CycleReport => ({
      outcome,
      targets: this.previousTargets.length,
      added: 0,
      removed: 0,
      errors: 0,
      file: "none",
      ...rest,
      durationMs: now() - started,
      apiCalls: calls.take(),
    });

    const configPublished = this.publishPrometheusConfig(signal);
    let names: string[];
    try {
      names = parseNamespaceList(await this.deps.readNamespaces(signal));
    } catch (error) {
      await configPublished;
      if (signal.aborted) return report("failure");
      logger.error({ err: errorMessage(error) }, "cannot read the namespaces parameter; keeping the last-known-good targets");
      const result = report("failure", { errors: 1 });
      this.logCycle(result);
      return result;
    }
    if (names.length === 0) logger.warn("the namespaces parameter lists no namespace: publishing no targets");

    const fetched = await this.deps.fetcher.refresh(names, signal);
    const enriched = await this.deps.enricher.enrich(fetched.snapshots, signal);
    await configPublished;
    if (signal.aborted) return report("failure");
    this.lastCompleteAt = fetched.lastCompleteAt;

    for (const name of fetched.missingNamespaces) logger.warn({ namespace: name }, "Cloud Map namespace not found");
    if (enriched.turnedOff) {
      logger.warn("ECS enrichment turned off: the task role may not call ecs:DescribeTasks (grant it, or set ECS_ENRICHMENT=off)");
    }
    const errors = [...fetched.errors, ...enriched.errors];
    for (const error of errors) logger.warn({ err: errorMessage(error) }, "AWS call failed; that part keeps its last-known-good targets");

    const { targets, skips, content } = this.builder.build(enriched.snapshots);
    // Failed ECS calls leave new tasks unenriched, and a docker-label service's tasks untargeted:
    // at start that is as incomplete as a failed Cloud Map call.
    const incomplete = fetched.incomplete || enriched.errors.length > 0;
    this.reportSkips(skips);

    let file: CycleReport["file"];
    const holdExpired = incomplete && this.holdExpired(started);
    try {
      file = await this.deps.targetsFile.publish(content, { complete: !incomplete || holdExpired });
    } catch (error) {
      file = "error";
      logger.error({ err: errorMessage(error) }, "cannot write the targets file; will retry next cycle");
    }
    metrics.fileWrites.inc({ file: "targets", outcome: file });
    if (file === "held") logger.warn("discovery is incomplete: keeping the existing targets file until every part has been read");
    if (holdExpired && file === "written") {
      logger.warn({ maxHoldMs: this.deps.maxHoldMs }, "discovery still incomplete after the hold limit: published what is known");
    }

    const published = file === "written" || file === "unchanged";
    const diff = targets === this.previousTargets ? { added: 0, removed: 0 } : diffKeys(this.previousTargets.map((t) => t.key), targets.map((t) => t.key));
    if (published) {
      this.previousTargets = targets;
      this.countTargets(names, targets);
      if (!incomplete) this.deps.health.ready = true;
      if (errors.length === 0) metrics.lastSuccess.set(now() / 1000);
    }
    const outcome: CycleOutcome = !published ? "failure" : errors.length > 0 ? "partial" : "success";
    const result = report(outcome, {
      targets: targets.length,
      added: published ? diff.added : 0,
      removed: published ? diff.removed : 0,
      errors: errors.length,
      file,
    });
    this.logCycle(result, { namespaces: names.length, services: fetched.snapshots.length, reread: fetched.servicesReread });
    return result;
  }

  private holdExpired(now: number): boolean {
    this.firstCycleAt ??= now;
    return now - this.firstCycleAt >= (this.deps.maxHoldMs ?? Number.POSITIVE_INFINITY);
  }

  private async publishPrometheusConfig(signal: AbortSignal): Promise<void> {
    const { readPrometheusConfig, prometheusConfigFile, logger, metrics } = this.deps;
    if (!readPrometheusConfig || !prometheusConfigFile) return;
    try {
      const content = await readPrometheusConfig(signal);
      const outcome = await prometheusConfigFile.publish(content, { complete: true });
      metrics.fileWrites.inc({ file: "prometheus_config", outcome });
      if (outcome === "written") logger.info({ path: prometheusConfigFile.path }, "Prometheus configuration updated");
    } catch (error) {
      if (signal.aborted) return;
      metrics.fileWrites.inc({ file: "prometheus_config", outcome: "error" });
      logger.error({ err: errorMessage(error) }, "cannot update the Prometheus configuration; keeping the current one");
    }
  }

  /** Warns once when a skip appears; repeats only at debug level while it lasts. */
  private reportSkips(skips: readonly Skip[]): void {
    const { logger, metrics } = this.deps;
    const current = new Set<string>();
    metrics.skippedEndpoints.reset();
    for (const skip of skips) {
      metrics.skippedEndpoints.inc({ reason: skip.reason });
      const key = `${skip.reason} ${skip.namespace} ${skip.service} ${skip.detail}`;
      current.add(key);
      const level = this.previousSkips.has(key) ? "debug" : "warn";
      logger[level]({ reason: skip.reason, namespace: skip.namespace, service: skip.service, detail: skip.detail }, "endpoint skipped");
    }
    this.previousSkips = current;
  }

  private countTargets(names: readonly string[], targets: readonly RenderedTarget[]): void {
    const counts = new Map<string, number>(names.map((name) => [name, 0]));
    for (const target of targets) counts.set(target.namespace, (counts.get(target.namespace) ?? 0) + 1);
    this.deps.metrics.targets.reset();
    for (const [namespace, count] of counts) this.deps.metrics.targets.set({ namespace }, count);
  }

  /** One info line per cycle whatever its outcome; what went wrong was logged at warn/error on its own. */
  private logCycle(report: CycleReport, extra: Record<string, number> = {}): void {
    this.deps.logger.info({ ...report, ...extra }, "discovery cycle finished");
  }
}
