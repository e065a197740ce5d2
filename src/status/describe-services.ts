import { DockerLabel, endpointsFor, Tag } from "../core/endpoints.js";
import type { ServiceSnapshot } from "../core/model.js";
import { Attribute, type Skip } from "../core/target-groups.js";
import { awsCallOf, errorMessage } from "../errors.js";
import type { EcsStatus, ScrapeSource, ServiceState, ServiceStatus, SkipStatus } from "./status.js";

/** Skips listed per service; the rest are counted (a service with 500 bad instances lists a few). */
export const SKIPS_LISTED = 5;

/** What the last cycle that read the namespaces parameter knew: references the cycle already keeps. */
export interface LatestDiscovery {
  readonly names: readonly string[];
  /** The enriched snapshots the targets were built from, fresh or last-known-good. */
  readonly snapshots: readonly ServiceSnapshot[];
  readonly skips: readonly Skip[];
  /** Every built target's key (targetKey(): its last field is the service id). */
  readonly keys: readonly string[];
  readonly missingNamespaces: readonly string[];
  /** Per listed namespace, when it was last read without error (monotonic ms; undefined: never). */
  readonly lastCompleteAt: ReadonlyMap<string, number | undefined>;
  /** This cycle's failures (AWS calls, and the Prometheus configuration's). */
  readonly errors: readonly Error[];
  /** Cloud Map's InstancesRevision per service id, when the fetcher reports it. */
  readonly revisions?: ReadonlyMap<string, number>;
  /** The owner account per namespace name, for shared namespaces, when known. */
  readonly owners?: ReadonlyMap<string, string>;
}

/** When a service was last read, and since when its reads fail (wall-clock ms), kept across cycles. */
export interface ServiceReads {
  readonly lastReadAtMs?: number;
  readonly failingSinceMs?: number;
}

export interface DescribeOptions {
  /** ECS_ENRICHMENT: with `off` docker labels are never read. */
  readonly ecsEnrichment: string;
}

/** The latest error per scope of this cycle's failures, for one lookup per service. */
export interface ErrorIndex {
  readonly namespaces: ReadonlyMap<string, string>;
  readonly services: ReadonlyMap<string, string>;
  readonly clusters: ReadonlyMap<string, string>;
  readonly taskDefinitions: ReadonlyMap<string, string>;
}

export function serviceKey(namespace: string, service: string): string {
  return `${namespace}\u0000${service}`;
}

export function indexErrors(errors: readonly Error[]): ErrorIndex {
  const index = { namespaces: new Map<string, string>(), services: new Map<string, string>(), clusters: new Map<string, string>(), taskDefinitions: new Map<string, string>() };
  for (const error of errors) {
    const call = awsCallOf(error);
    if (!call) continue;
    const { namespace, service, cluster, taskDefinition } = call.scope;
    const message = errorMessage(call);
    if (namespace !== undefined && service !== undefined) index.services.set(serviceKey(namespace, service), message);
    else if (namespace !== undefined) index.namespaces.set(namespace, message);
    if (cluster !== undefined) index.clusters.set(cluster, message);
    if (taskDefinition !== undefined) index.taskDefinitions.set(taskDefinition, message);
  }
  return index;
}

/** Targets per service id, from the targets' keys (the service id is a key's last field). */
export function targetsPerService(keys: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) {
    const id = key.slice(key.lastIndexOf(" ") + 1);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * Every known service, as a person asks about it: scraped or not, and why. Pure: the same
 * discovery gives the same answer; times are converted by the caller's `iso`.
 */
export function describeServices(
  latest: LatestDiscovery,
  reads: ReadonlyMap<string, ServiceReads>,
  options: DescribeOptions,
  iso: (wallMs: number) => string,
): ServiceStatus[] {
  const errors = indexErrors(latest.errors);
  const targets = targetsPerService(latest.keys);
  const skipsOf = new Map<string, Skip[]>();
  for (const skip of latest.skips) {
    const key = serviceKey(skip.namespace, skip.service);
    const list = skipsOf.get(key) ?? [];
    list.push(skip);
    skipsOf.set(key, list);
  }
  const services = latest.snapshots.map((snapshot) => {
    const { service } = snapshot;
    const key = serviceKey(service.namespace.name, service.name);
    return describeService(snapshot, {
      targets: targets.get(service.id) ?? 0,
      skips: skipsOf.get(key) ?? [],
      reads: reads.get(key) ?? {},
      error: errors.services.get(key) ?? errors.namespaces.get(service.namespace.name),
      ecsError: ecsErrorOf(snapshot, errors),
      revision: latest.revisions?.get(service.id),
      ecsEnrichment: options.ecsEnrichment,
      iso,
    });
  });
  return services.sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name) || compare(a.id, b.id));
}

interface ServiceFacts {
  readonly targets: number;
  readonly skips: readonly Skip[];
  readonly reads: ServiceReads;
  readonly error: string | undefined;
  readonly ecsError: string | undefined;
  readonly revision: number | undefined;
  readonly ecsEnrichment: string;
  readonly iso: (wallMs: number) => string;
}

export function describeService(snapshot: ServiceSnapshot, facts: ServiceFacts): ServiceStatus {
  const { service, instances } = snapshot;
  const { plan, channel } = endpointsFor(snapshot.tags, snapshot.serviceAttributes);
  const settings = channel === "service_attributes" ? (snapshot.serviceAttributes ?? {}) : snapshot.tags;
  const skips: SkipStatus[] = facts.skips.slice(0, SKIPS_LISTED).map(({ reason, detail }) => ({ reason, detail }));
  const ecs = ecsStatus(snapshot, facts);
  const dockerContainers = plan.kind === "untagged" ? labelledContainers(snapshot) : [];

  let source: ScrapeSource = "none";
  let state: ServiceState;
  let why: string;
  if (plan.kind === "invalid") {
    source = channel === "service_attributes" ? "service_attributes" : "tags";
    state = "skipped";
    why = `skipped: ${plan.reason}: ${plan.detail} (${channel === "service_attributes" ? "service attribute" : "tag"} ${describeTags(settings)})`;
  } else {
    if (plan.kind === "tagged") source = channel === "service_attributes" ? "service_attributes" : "tags";
    else if (dockerContainers.length > 0) source = "docker_labels";
    const how =
      plan.kind === "tagged"
        ? `${channel === "service_attributes" ? "service attributes" : "tags"} ${describeTags(settings)}`
        : `docker label ${DockerLabel.port} on ${dockerContainers.join(", ")}`;
    if (facts.targets > 0) {
      state = facts.skips.length > 0 ? "partly_skipped" : "scraped";
      why = facts.skips.length > 0 ? `${how}; some endpoints skipped: ${firstSkip(facts.skips)}` : how;
    } else if (facts.skips.length > 0) {
      state = "skipped";
      why = `${plan.kind === "tagged" ? `${how}, but every endpoint` : "every endpoint"} is skipped: ${firstSkip(facts.skips)}`;
    } else if (plan.kind === "tagged" || source === "docker_labels") {
      state = "no_instances";
      why = instances.length === 0 ? `${how}, but no instance is registered` : `${how}, but no instance gives a target`;
    } else if (facts.ecsEnrichment === "off") {
      state = "not_configured";
      why = `no ${Tag.metricsPath} or ${Tag.metricsPort} tag or service attribute (docker labels are not read: ECS_ENRICHMENT=off)`;
    } else if (ecs !== undefined && ecs.enriched < ecs.tasks) {
      state = "waiting_for_ecs";
      why = `no ${Tag.metricsPath} or ${Tag.metricsPort} tag or service attribute; its docker labels are not known yet: ${facts.ecsError ?? `ECS has not described ${ecs.tasks - ecs.enriched} of its ${ecs.tasks} tasks`}`;
    } else if (instances.length > 0 && missingDefinitions(snapshot)) {
      state = "waiting_for_ecs";
      why = `no ${Tag.metricsPath} or ${Tag.metricsPort} tag or service attribute; its task definitions are not read yet: ${facts.ecsError ?? "DescribeTaskDefinition pending"}`;
    } else {
      state = "not_configured";
      why = `no ${Tag.metricsPath} or ${Tag.metricsPort} tag or service attribute, and no container with a ${DockerLabel.port} docker label`;
    }
  }
  // The fetcher reads the instances of a service only when they could give targets.
  const instancesRead = plan.kind === "tagged" || (plan.kind === "untagged" && facts.ecsEnrichment !== "off");
  const { lastReadAtMs, failingSinceMs } = facts.reads;
  return {
    namespace: service.namespace.name,
    name: service.name,
    id: service.id,
    scraped: facts.targets > 0,
    state,
    source,
    why,
    skips,
    ...(facts.skips.length > SKIPS_LISTED ? { moreSkips: facts.skips.length - SKIPS_LISTED } : {}),
    ...(instancesRead ? { instances: instances.length } : {}),
    targets: facts.targets,
    ...(facts.revision === undefined ? {} : { revision: facts.revision }),
    ...(lastReadAtMs === undefined ? {} : { lastReadAt: facts.iso(lastReadAtMs) }),
    ...(failingSinceMs === undefined ? {} : { lastKnownGoodSince: facts.iso(failingSinceMs) }),
    ...(facts.error === undefined ? {} : { error: facts.error }),
    ...(ecs === undefined ? {} : { ecs }),
  };
}

/** The scrape tags that are set, as `NAME=value`. */
function describeTags(tags: Readonly<Record<string, string>>): string {
  return [Tag.metricsPath, Tag.metricsPort, Tag.ecsMetricsPath, Tag.ecsMetricsPort]
    .filter((name) => tags[name] !== undefined)
    .map((name) => `${name}=${tags[name]}`)
    .join(", ");
}

function firstSkip(skips: readonly Skip[]): string {
  const first = skips[0] as Skip;
  return `${first.reason}: ${first.detail}${skips.length > 1 ? ` (and ${skips.length - 1} more)` : ""}`;
}

/** "container (family:revision)" for each container with PROMETHEUS_EXPORTER_PORT in the service's task definitions. */
function labelledContainers(snapshot: ServiceSnapshot): string[] {
  const names = new Set<string>();
  for (const definition of snapshot.ecsTaskDefinitions?.values() ?? []) {
    for (const container of definition.containers) {
      if (container.dockerLabels[DockerLabel.port] !== undefined) names.add(`${container.name} (${definition.family}:${definition.revision})`);
    }
  }
  return [...names].sort();
}

/** A described task whose task definition has not been read. */
function missingDefinitions(snapshot: ServiceSnapshot): boolean {
  for (const task of snapshot.ecsTasks?.values() ?? []) {
    if (task.taskDefinitionArn && !snapshot.ecsTaskDefinitions?.has(task.taskDefinitionArn)) return true;
  }
  return false;
}

function ecsStatus(snapshot: ServiceSnapshot, facts: ServiceFacts): EcsStatus | undefined {
  if (facts.ecsEnrichment === "off") return undefined;
  let tasks = 0;
  let enriched = 0;
  for (const instance of snapshot.instances) {
    if (!instance.attributes[Attribute.cluster]) continue;
    tasks++;
    if (snapshot.ecsTasks?.has(instance.id)) enriched++;
  }
  if (tasks === 0) return undefined;
  return { tasks, enriched, ...(facts.ecsError === undefined ? {} : { error: facts.ecsError }) };
}

function ecsErrorOf(snapshot: ServiceSnapshot, errors: ErrorIndex): string | undefined {
  if (errors.clusters.size === 0 && errors.taskDefinitions.size === 0) return undefined;
  // Another account's cluster is the part "<account>:<cluster>" (ecs-enricher's inPart).
  const account = snapshot.service.createdBy ?? snapshot.service.namespace.owner;
  for (const instance of snapshot.instances) {
    const cluster = instance.attributes[Attribute.cluster];
    const error =
      cluster === undefined ? undefined : ((account === undefined ? undefined : errors.clusters.get(`${account}:${cluster}`)) ?? errors.clusters.get(cluster));
    if (error !== undefined) return error;
  }
  for (const task of snapshot.ecsTasks?.values() ?? []) {
    const error = task.taskDefinitionArn === undefined ? undefined : errors.taskDefinitions.get(task.taskDefinitionArn);
    if (error !== undefined) return error;
  }
  return undefined;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
