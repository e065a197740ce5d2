import type { InstanceRecord, NamespaceRecord, ServiceRecord } from "../model/state.js";
import { AwsServiceError } from "../protocol/errors.js";

type Condition = "EQ" | "IN" | "BEGINS_WITH";

interface FilterRule<T> {
  readonly conditions: readonly Condition[];
  readonly value: (item: T) => string;
}

// Which condition AWS accepts for which filter name (NamespaceFilter / ServiceFilter docs), as the
// caller sees it: RESOURCE_OWNER is SELF for its own namespaces, OTHER_ACCOUNTS for shared ones.
function namespaceRules(caller: string): ReadonlyMap<string, FilterRule<NamespaceRecord>> {
  return new Map([
    ["TYPE", { conditions: ["EQ", "IN", "BEGINS_WITH"], value: (ns: NamespaceRecord) => ns.type }],
    ["NAME", { conditions: ["EQ", "BEGINS_WITH"], value: (ns: NamespaceRecord) => ns.name }],
    ["HTTP_NAME", { conditions: ["EQ", "BEGINS_WITH"], value: (ns: NamespaceRecord) => ns.httpName }],
    ["RESOURCE_OWNER", { conditions: ["EQ"], value: (ns: NamespaceRecord) => ownerValue(ns, caller) }],
  ]);
}

function serviceRules(caller: string): ReadonlyMap<string, FilterRule<ServiceRecord>> {
  return new Map([
    // Values may be namespace ids or ARNs; both are compared, except that a namespace shared with
    // the caller matches its ARN only (as on AWS).
    [
      "NAMESPACE_ID",
      {
        conditions: ["EQ", "IN"],
        value: (svc: ServiceRecord) => (svc.namespace.owner === caller ? `${svc.namespace.id} ${svc.namespace.arn}` : svc.namespace.arn),
      },
    ],
    ["RESOURCE_OWNER", { conditions: ["EQ"], value: (svc: ServiceRecord) => ownerValue(svc.namespace, caller) }],
  ]);
}

function ownerValue(ns: NamespaceRecord, caller: string): string {
  return ns.owner === caller ? "SELF" : "OTHER_ACCOUNTS";
}

/** Compiles ListNamespaces filters into a predicate; every filter must match (AWS ANDs them). */
export function namespaceFilter(filters: readonly Record<string, unknown>[] | undefined, caller: string): (ns: NamespaceRecord) => boolean {
  return compile(filters, namespaceRules(caller), (actual, wanted) => actual === wanted);
}

/** Compiles ListServices filters into a predicate. */
export function serviceFilter(filters: readonly Record<string, unknown>[] | undefined, caller: string): (svc: ServiceRecord) => boolean {
  return compile(filters, serviceRules(caller), (actual, wanted) => actual.split(" ").includes(wanted));
}

function compile<T>(
  filters: readonly Record<string, unknown>[] | undefined,
  rules: ReadonlyMap<string, FilterRule<T>>,
  equals: (actual: string, wanted: string) => boolean,
): (item: T) => boolean {
  const predicates = (filters ?? []).map((filter) => {
    const { Name, Values, Condition = "EQ" } = filter;
    const rule = typeof Name === "string" ? rules.get(Name) : undefined;
    if (rule === undefined) throw invalid(`Filter Name ${String(Name)} is not supported`);
    if (!Array.isArray(Values) || Values.length === 0 || !Values.every((v) => typeof v === "string")) {
      throw invalid(`Filter ${Name} needs at least one value`);
    }
    if (!rule.conditions.includes(Condition as Condition)) {
      throw invalid(`Condition ${String(Condition)} is not supported for filter ${Name}`);
    }
    if (Condition !== "IN" && Values.length !== 1) throw invalid(`Condition ${Condition} takes exactly one value`);
    const values = Values as string[];
    if (Condition === "BEGINS_WITH") return (item: T) => rule.value(item).startsWith(values[0] ?? "");
    return (item: T) => values.some((v) => equals(rule.value(item), v));
  });
  return (item) => predicates.every((p) => p(item));
}

function invalid(message: string): AwsServiceError {
  return new AwsServiceError("InvalidInput", message);
}

export type HealthStatusFilter = "HEALTHY" | "UNHEALTHY" | "ALL" | "HEALTHY_OR_ELSE_ALL";

export interface DiscoverQuery {
  readonly queryParameters: Readonly<Record<string, string>>;
  readonly optionalParameters: Readonly<Record<string, string>>;
  readonly healthStatus: HealthStatusFilter;
  readonly maxResults: number;
}

/**
 * DiscoverInstances' selection, in AWS order: QueryParameters must all match; OptionalParameters
 * narrow further only when something still matches; then health; then MaxResults (no paging —
 * DiscoverInstances silently truncates, which is why clients must pass MaxResults).
 */
export function discover(svc: ServiceRecord, query: DiscoverQuery): InstanceRecord[] {
  const required = [...svc.instances.values()].filter((i) => matchesAll(i, query.queryParameters));
  const optional = required.filter((i) => matchesAll(i, query.optionalParameters));
  const matched = optional.length > 0 ? optional : required;
  return byHealth(matched, svc.healthCheck ? query.healthStatus : "ALL").slice(0, query.maxResults);
}

function matchesAll(instance: InstanceRecord, wanted: Readonly<Record<string, string>>): boolean {
  return Object.entries(wanted).every(([key, value]) => instance.attributes[key] === value);
}

function byHealth(instances: InstanceRecord[], filter: HealthStatusFilter): InstanceRecord[] {
  switch (filter) {
    case "ALL":
      return instances;
    case "HEALTHY":
    case "UNHEALTHY":
      return instances.filter((i) => i.health === filter);
    case "HEALTHY_OR_ELSE_ALL": {
      const healthy = instances.filter((i) => i.health === "HEALTHY");
      return healthy.length > 0 ? healthy : instances;
    }
  }
}

export function isHealthStatusFilter(value: string): value is HealthStatusFilter {
  return value === "HEALTHY" || value === "UNHEALTHY" || value === "ALL" || value === "HEALTHY_OR_ELSE_ALL";
}
