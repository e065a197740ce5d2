import type { Clock } from "../clock.js";
import { awsCallOf, type CallScope, errorMessage, failureKind } from "../errors.js";
import { hintFor } from "../runtime/failure-report.js";
import { buildStatus, type CycleRecord, type Instant, type KeptError, type KeptParameter, type StatusOptions } from "./build-status.js";
import { describeServices, indexErrors, type LatestDiscovery, type ServiceReads, serviceKey } from "./describe-services.js";
import { isoTime } from "./build-status.js";
import type { ServiceStatus, Status } from "./status.js";

/** What a cycle hands the recorder when it ends: references to what it already holds, no copies. */
export interface CycleFacts {
  readonly report: Omit<CycleRecord, "startedAtMs">;
  /** The namespaces parameter: its value as read, or why it could not be read. */
  readonly parameter: { readonly value: string; readonly names: readonly string[] } | { readonly error: Error };
  /** Absent when the parameter could not be read: the cycle read nothing else. */
  readonly discovery?: Omit<LatestDiscovery, "names">;
  /** Every failure of the cycle, the parameter's included. */
  readonly errors: readonly Error[];
}

/** The part of a cycle the status page sees; Discovery calls it once per cycle. */
export interface CycleObserver {
  cycleFinished(facts: CycleFacts): void;
}

export interface RecorderLimits {
  /** Cycles kept for the history. */
  readonly cycles: number;
  /** Errors kept (one per operation and scope); those failing now are dropped last. */
  readonly errors: number;
}

export const DEFAULT_LIMITS: RecorderLimits = { cycles: 20, errors: 100 };

/**
 * Keeps what the status page shows, fed once per cycle. Bounded: the last `limits.cycles` cycles,
 * at most `limits.errors` errors, one entry per known service, and references to the cycle's own
 * snapshots and target keys (which the fetcher and the builder keep anyway). A request makes no
 * AWS call: it renders this state.
 */
export class StatusRecorder implements CycleObserver {
  private readonly startedAt: Instant;
  private parameter: KeptParameter = { names: [] };
  private latest: LatestDiscovery | undefined;
  private reads = new Map<string, ServiceReads>();
  private readonly errors = new Map<string, KeptError>();
  private readonly cycles: CycleRecord[] = [];
  private cycleCount = 0;
  /** The services described for the last cycle: they change only when a cycle ends. */
  private described: { cycle: number; services: ServiceStatus[] } | undefined;

  constructor(
    private readonly options: StatusOptions,
    private readonly clock: Clock,
    private readonly health?: () => { readonly ready: boolean; readonly reason?: string },
    private readonly limits: RecorderLimits = DEFAULT_LIMITS,
  ) {
    this.startedAt = { monotonicMs: clock.monotonicMs(), wallMs: clock.wallMs() };
  }

  cycleFinished(facts: CycleFacts): void {
    const nowMs = this.clock.wallMs();
    const startedAtMs = nowMs - facts.report.durationMs;
    this.cycleCount++;
    this.cycles.push({ startedAtMs, ...facts.report });
    if (this.cycles.length > this.limits.cycles) this.cycles.splice(0, this.cycles.length - this.limits.cycles);
    this.recordErrors(facts.errors, nowMs);

    if ("error" in facts.parameter) {
      this.parameter = { ...this.parameter, error: errorMessage(facts.parameter.error) };
      return;
    }
    this.parameter = { value: facts.parameter.value, names: facts.parameter.names, readAtMs: startedAtMs };
    if (facts.discovery) {
      this.latest = { ...facts.discovery, names: facts.parameter.names };
      this.reads = nextReads(this.reads, this.latest, startedAtMs);
    }
  }

  status(): Status {
    const now = { monotonicMs: this.clock.monotonicMs(), wallMs: this.clock.wallMs() };
    if (this.latest && this.described?.cycle !== this.cycleCount) {
      this.described = { cycle: this.cycleCount, services: describeServices(this.latest, this.reads, this.options, isoTime) };
    }
    const health = this.health?.();
    return buildStatus(
      {
        options: this.options,
        startedAt: this.startedAt,
        parameter: this.parameter,
        ...(this.latest ? { latest: this.latest } : {}),
        reads: this.reads,
        errors: [...this.errors.values()],
        cycles: this.cycles,
        cycleCount: this.cycleCount,
        ...(health ? { health } : {}),
      },
      now,
      this.described?.services ?? [],
    );
  }

  private recordErrors(errors: readonly Error[], nowMs: number): void {
    const seen = new Set<string>();
    for (const error of errors) {
      const call = awsCallOf(error);
      const operation = call?.operation ?? error.name;
      const scope = describeScope(call?.scope ?? {});
      const key = `${operation} ${scope}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const previous = this.errors.get(key);
      const continuing = previous?.current === true;
      this.errors.delete(key); // re-inserted: the map's order is the order of last failure
      this.errors.set(key, {
        operation,
        scope,
        kind: failureKind(error),
        message: errorMessage(error),
        hint: hintFor(error),
        firstAtMs: continuing ? previous.firstAtMs : nowMs,
        lastAtMs: nowMs,
        current: true,
        cycles: continuing ? previous.cycles + 1 : 1,
      });
    }
    for (const [key, error] of this.errors) if (error.current && !seen.has(key)) this.errors.set(key, { ...error, current: false });
    // Over the bound: the oldest that no longer fail go first, then the oldest failing ones.
    for (const current of [false, true]) {
      for (const [key, error] of this.errors) {
        if (this.errors.size <= this.limits.errors) return;
        if (error.current === current) this.errors.delete(key);
      }
    }
  }
}

/** Per service: read in this cycle (no error for it or its namespace), or failing since when. */
function nextReads(previous: ReadonlyMap<string, ServiceReads>, latest: LatestDiscovery, cycleStartMs: number): Map<string, ServiceReads> {
  const errors = indexErrors(latest.errors);
  const reads = new Map<string, ServiceReads>();
  for (const { service } of latest.snapshots) {
    const key = serviceKey(service.namespace.name, service.name);
    const failed = errors.services.has(key) || errors.namespaces.has(service.namespace.name);
    const before = previous.get(key);
    reads.set(
      key,
      failed
        ? {
            ...(before?.lastReadAtMs === undefined ? {} : { lastReadAtMs: before.lastReadAtMs }),
            failingSinceMs: before?.failingSinceMs ?? cycleStartMs,
          }
        : { lastReadAtMs: cycleStartMs },
    );
  }
  return reads;
}

function describeScope(scope: CallScope): string {
  return Object.entries(scope)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");
}
