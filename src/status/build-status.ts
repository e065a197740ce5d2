import { type DescribeOptions, describeServices, indexErrors, type LatestDiscovery, type ServiceReads } from "./describe-services.js";
import {
  type CycleStatus,
  type ErrorStatus,
  type NamespaceStatus,
  STATUS_VERSION,
  type ServiceStatus,
  type Status,
} from "./status.js";

export interface StatusOptions extends DescribeOptions {
  readonly version: string;
  /** DISCOVERY_NAMESPACES_PARAMETER_NAME. */
  readonly parameterName: string;
  readonly intervalSeconds: number;
}

/** A time on both clocks: monotonic for durations (staleness), wall for what people read. */
export interface Instant {
  readonly monotonicMs: number;
  readonly wallMs: number;
}

export interface KeptParameter {
  readonly value?: string;
  readonly names: readonly string[];
  readonly readAtMs?: number;
  readonly error?: string;
}

/** An error as kept between cycles (wall-clock ms); ErrorStatus once rendered. */
export interface KeptError extends Omit<ErrorStatus, "firstAt" | "lastAt"> {
  readonly firstAtMs: number;
  readonly lastAtMs: number;
}

/** A cycle as kept between cycles (wall-clock ms); CycleStatus once rendered, like KeptError. */
export interface CycleRecord extends Omit<CycleStatus, "startedAt"> {
  readonly startedAtMs: number;
}

/** Everything the status is made from: what the recorder keeps, all plain values or the cycle's own objects. */
export interface KeptStatus {
  readonly options: StatusOptions;
  readonly startedAt: Instant;
  readonly parameter: KeptParameter;
  readonly latest?: LatestDiscovery;
  readonly reads: ReadonlyMap<string, ServiceReads>;
  readonly errors: readonly KeptError[];
  /** Oldest first. */
  readonly cycles: readonly CycleRecord[];
  readonly cycleCount: number;
  readonly health?: { readonly ready: boolean; readonly reason?: string };
}

export function isoTime(wallMs: number): string {
  return new Date(wallMs).toISOString();
}

/**
 * The status document. Pure: the same kept state and `now` give the same document. `services`
 * can be passed when already described for this cycle (the recorder memoises them: they change
 * only when a cycle ends, while staleness changes with `now`).
 */
export function buildStatus(kept: KeptStatus, now: Instant, services?: readonly ServiceStatus[]): Status {
  const { options, latest } = kept;
  const described = services ?? (latest ? describeServices(latest, kept.reads, options, isoTime) : []);
  const namespaces = latest ? describeNamespaces(latest, described, kept.startedAt, now) : [];
  const last = kept.cycles.at(-1);
  const skipped = latest?.skips.length ?? 0;
  return {
    version: STATUS_VERSION,
    generatedAt: isoTime(now.wallMs),
    sidecar: {
      version: options.version,
      startedAt: isoTime(kept.startedAt.wallMs),
      intervalSeconds: options.intervalSeconds,
      ecsEnrichment: options.ecsEnrichment,
      ...(kept.health ? { ready: kept.health.ready } : {}),
      ...(kept.health?.reason === undefined ? {} : { healthReason: kept.health.reason }),
    },
    namespacesParameter: {
      name: options.parameterName,
      ...(kept.parameter.value === undefined ? {} : { value: kept.parameter.value }),
      namespaces: kept.parameter.names,
      ...(kept.parameter.readAtMs === undefined ? {} : { readAt: isoTime(kept.parameter.readAtMs) }),
      ...(kept.parameter.error === undefined ? {} : { error: kept.parameter.error }),
    },
    file: { outcome: last?.file ?? "none", targets: latest?.keys.length ?? 0 },
    summary: {
      cycles: kept.cycleCount,
      ...(last ? { lastCycleOutcome: last.outcome } : {}),
      namespaces: namespaces.length,
      namespacesInError: namespaces.filter((namespace) => namespace.state !== "ok").length,
      services: described.length,
      servicesScraped: described.filter((service) => service.scraped).length,
      servicesNotScraped: described.filter((service) => !service.scraped).length,
      servicesInError: described.filter((service) => service.error !== undefined).length,
      targets: latest?.keys.length ?? 0,
      skippedEndpoints: skipped,
    },
    namespaces,
    services: described,
    errors: [...kept.errors]
      .sort((a, b) => Number(b.current) - Number(a.current) || b.lastAtMs - a.lastAtMs)
      .map(({ firstAtMs, lastAtMs, ...error }) => ({ ...error, firstAt: isoTime(firstAtMs), lastAt: isoTime(lastAtMs) })),
    cycles: [...kept.cycles].reverse().map(({ startedAtMs, ...cycle }) => ({ startedAt: isoTime(startedAtMs), ...cycle })),
  };
}

function describeNamespaces(latest: LatestDiscovery, services: readonly ServiceStatus[], startedAt: Instant, now: Instant): NamespaceStatus[] {
  const errors = indexErrors(latest.errors);
  // Grouped once: a namespace-by-namespace filter would cost namespaces × services.
  const byNamespace = new Map<string, { services: ServiceStatus[]; ids: Set<string>; types: Set<string>; owners: Set<string> }>();
  const groupOf = (name: string) => {
    let group = byNamespace.get(name);
    if (!group) byNamespace.set(name, (group = { services: [], ids: new Set(), types: new Set(), owners: new Set() }));
    return group;
  };
  for (const service of services) groupOf(service.namespace).services.push(service);
  for (const { service } of latest.snapshots) {
    const group = groupOf(service.namespace.name);
    group.ids.add(service.namespace.id);
    group.types.add(service.namespace.type);
    if (service.namespace.shared && service.namespace.owner) group.owners.add(service.namespace.owner);
  }
  return latest.names.map((name) => {
    const { services: own, ids, types, owners } = groupOf(name);
    const missing = latest.missingNamespaces.includes(name);
    const completeAt = latest.lastCompleteAt.get(name);
    const error = errors.namespaces.get(name) ?? own.find((service) => service.error !== undefined)?.error;
    const state = missing ? "not_found" : error !== undefined ? "error" : completeAt === undefined ? "never_read" : "ok";
    const owner = latest.owners?.get(name) ?? ([...owners].sort().join(", ") || undefined);
    return {
      name,
      state,
      ids: [...ids].sort(),
      types: [...types].sort(),
      ...(owner === undefined ? {} : { owner }),
      ...(completeAt === undefined ? {} : { lastCompleteReadAt: isoTime(now.wallMs - (now.monotonicMs - completeAt)) }),
      ...(missing ? {} : { stalenessSeconds: Math.max(0, Math.round((now.monotonicMs - (completeAt ?? startedAt.monotonicMs)) / 100) / 10) }),
      services: own.length,
      targets: own.reduce((sum, service) => sum + service.targets, 0),
      ...(error === undefined ? {} : { error }),
    };
  });
}
