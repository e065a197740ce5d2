import type { HealthStatusFilter } from "@aws-sdk/client-servicediscovery";
import type { LimitFunction } from "p-limit";
import { type ConfigChannel, endpointsFor, endpointsFromTags } from "../core/endpoints.js";
import type { Instance, Namespace, Service, ServiceSnapshot } from "../core/model.js";
import { isNamespaceArn } from "../core/namespace-list.js";
import { type AwsCallError, failureKind } from "../errors.js";
import type { Clock } from "../clock.js";
import type { CloudMapApi } from "./cloudmap.js";

export interface CloudMapFetcherOptions {
  readonly healthStatus: HealthStatusFilter;
  /** How long a service's tags are trusted before they are read again. */
  readonly tagTtlMs: number;
  /**
   * How often a service's instances are re-read even when its revision has not moved: Cloud Map
   * does not move the revision on health changes, so without it the health label (and a health
   * filter) would go stale. Each service re-reads after 50-100 % of it, spread like the tags.
   * Not for a service without a health check: its instances' health never changes.
   */
  readonly healthRefreshMs: number;
  /** Untagged services may still be scraped through docker labels, which needs their instances. */
  readonly readUntaggedInstances: boolean;
  /**
   * SERVICE_ATTRIBUTES: when to read a service's Cloud Map attributes. auto: only when its tags
   * name no endpoint (tags win, so reading them for a tagged service would change nothing); on:
   * always (their __meta_cloudmap_service_attribute_* labels on every service); off: never.
   */
  readonly serviceAttributes?: ServiceAttributesMode;
  /**
   * The account cloudmap-sd runs in (sts:GetCallerIdentity), to tell shared namespaces from its
   * own. Asked only when it can matter (see askCallerAccount), in the background: the answer known
   * at the time is used, never waited for. Unknown: every namespace counts as its own.
   */
  readonly callerAccount?: CallerAccountSource;
  /**
   * Ask for the own account even if every listed namespace has one owner: ECS_ASSUME_ROLE is set,
   * so another account's services are expected.
   */
  readonly askCallerAccount?: boolean;
  readonly limit: LimitFunction;
  readonly clock: Clock;
}

export type ServiceAttributesMode = "auto" | "on" | "off";

/** cloudmap-sd's own account: CallerAccount (src/aws/sts.ts). */
export interface CallerAccountSource {
  /** The account if it is known, without asking. */
  known(): string | undefined;
  /** Asks STS when unknown and due (concurrent callers share one call); undefined while unknown. */
  get(abortSignal?: AbortSignal): Promise<string | undefined>;
}

/**
 * A listed name that matches namespaces of several accounts: the ARNs name them apart. When
 * cloudmap-sd's own account is one of them, its namespaces are read (`used`: a bare name meant
 * them before the others were shared); otherwise the name is skipped, keeping its last-known-good.
 */
export interface AmbiguousNamespace {
  readonly name: string;
  readonly arns: readonly string[];
  /** The ARNs of the own account's namespaces, read in the name's place; absent: skipped. */
  readonly used?: readonly string[];
}

/** A service whose tags cannot be read (AccessDenied), and the channel its endpoints come from instead. */
export interface UnreadableTags {
  readonly service: string;
  readonly channel: ConfigChannel | "docker_labels";
}

export interface FetchResult {
  /** Every known service, fresh or last-known-good. */
  readonly snapshots: ServiceSnapshot[];
  readonly errors: AwsCallError[];
  /** Listed names that Cloud Map does not know. */
  readonly missingNamespaces: string[];
  /**
   * Some part of a listed namespace has never been read (its service list, or a service's tags or
   * instances), so its targets are not all known yet. Parts read in different cycles count: a
   * throttled call that later succeeds completes the picture.
   */
  readonly incomplete: boolean;
  /**
   * Some listed namespace has never had its service list read (ListNamespaces or ListServices has
   * failed since start): nothing at all is known of it, so publishing would drop all its targets.
   */
  readonly unlisted: boolean;
  /** Per listed namespace: when it was last read without any error (undefined: never). */
  readonly lastCompleteAt: ReadonlyMap<string, number | undefined>;
  /** Services whose instances were read in full this cycle (revision moved, new, or health re-read). */
  readonly servicesReread: number;
  /**
   * Services whose instances are read and which have no health check (ListServices shows neither
   * HealthCheckConfig nor HealthCheckCustomConfig): never re-read for health, only when their
   * revision moves.
   */
  readonly servicesWithoutHealthCheck: number;
  /**
   * Services whose last instance read returned DiscoverInstances' maximum of 1,000 instances: there
   * may be more, which Cloud Map does not return. "namespace/service", sorted.
   */
  readonly servicesAtLimit: string[];
  /**
   * Listed names that namespaces of several accounts carry: skipped (last-known-good kept), or
   * read as the own account's (`used`).
   */
  readonly ambiguousNamespaces: AmbiguousNamespace[];
  /** Services whose tags are denied to this account (shared ones, typically), sorted by service. */
  readonly unreadableTags: UnreadableTags[];
  /**
   * GetServiceAttributes calls that failed this cycle. Not in `errors`: attributes are an optional
   * channel (an older policy or endpoint may not allow it), so such a failure never makes a cycle
   * partial nor discovery incomplete; the service goes on with its tags or docker labels.
   */
  readonly attributeErrors: AwsCallError[];
  /** Each known service's last read Cloud Map revision, by service id (for the status page). */
  readonly revisions: ReadonlyMap<string, number>;
}

interface ServiceState {
  service: Service;
  tags?: Record<string, string>;
  tagsAt: number;
  /** ListTagsForResource is denied: `tags` is {} and the other channels decide. */
  tagsDenied?: boolean;
  /**
   * Attributes are wanted but have never been read, and the last try failed transiently
   * (throttled, timeout…): they may name the endpoints, so the service is not known yet.
   */
  attributesPending?: boolean;
  attributes?: Record<string, string>;
  /** When the attributes were last asked for (undefined: never, or no longer wanted). */
  attributesAt?: number;
  instances?: Instance[];
  revision?: number;
  instancesAt: number;
  /**
   * A health check was added or removed since the instances were last read: every instance's
   * health changes with it, and the revision does not move, so they are read again at once.
   */
  healthCheckChanged?: boolean;
  atLimit?: boolean;
  /** Rebuilt only when something about the service changed, so unchanged services keep their identity. */
  snapshot?: ServiceSnapshot;
}

interface NamespaceState {
  namespaces: Namespace[];
  services: Map<string, ServiceState>;
  lastCompleteAt?: number;
  /** Every Cloud Map namespace of this name has had its service list read at least once. */
  listed: boolean;
}

/**
 * Reads the Cloud Map side of the estate and keeps it between cycles. The kept state does two
 * jobs: it is the last-known-good answer for any part whose call fails (so a failure never
 * removes targets), and it lets a steady cycle cost one DiscoverInstancesRevision per service.
 */
export class CloudMapFetcher {
  private readonly state = new Map<string, NamespaceState>();

  constructor(
    private readonly api: CloudMapApi,
    private readonly options: CloudMapFetcherOptions,
  ) {}

  async refresh(names: readonly string[], abortSignal?: AbortSignal): Promise<FetchResult> {
    for (const name of this.state.keys()) if (!names.includes(name)) this.state.delete(name);
    const cycle: Cycle = { errors: [], missing: [], reread: 0, ambiguous: [], attributeErrors: [], owners: new Set() };
    await Promise.all(names.map((name) => this.refreshNamespace(name, cycle, abortSignal)));
    // The own account may have become known while the namespaces were read (asked in the background).
    const caller = this.options.callerAccount?.known();
    if (caller !== undefined) for (const state of this.state.values()) markShared(state, caller);

    const snapshots: ServiceSnapshot[] = [];
    const servicesAtLimit: string[] = [];
    const unreadableTags: UnreadableTags[] = [];
    const lastCompleteAt = new Map<string, number | undefined>();
    const revisions = new Map<string, number>();
    let servicesWithoutHealthCheck = 0;
    // An ambiguous name that is skipped keeps its last-known-good services: another account sharing
    // a namespace of the same name is outside the operator's control and must not remove targets.
    const skipped = (name: string) => cycle.missing.includes(name);
    for (const name of names) {
      if (skipped(name)) continue;
      const namespace = this.state.get(name);
      lastCompleteAt.set(name, namespace?.lastCompleteAt);
      for (const service of namespace?.services.values() ?? []) {
        if (service.tags === undefined) continue;
        service.snapshot ??= {
          service: service.service,
          tags: service.tags,
          ...(service.attributes === undefined ? {} : { serviceAttributes: service.attributes }),
          instances: service.instances ?? [],
        };
        snapshots.push(service.snapshot);
        if (service.revision !== undefined) revisions.set(service.service.id, service.revision);
        if (service.instances !== undefined && !healthChecked(service.service)) servicesWithoutHealthCheck++;
        if (service.atLimit) servicesAtLimit.push(`${service.service.namespace.name}/${service.service.name}`);
        if (service.tagsDenied) unreadableTags.push({ service: `${service.service.namespace.name}/${service.service.name}`, channel: this.channelOf(service) });
      }
    }
    unreadableTags.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
    return {
      snapshots,
      errors: cycle.errors,
      missingNamespaces: cycle.missing,
      incomplete: names.some((name) => !skipped(name) && !this.known(this.state.get(name))),
      // A skipped ambiguous name is an answer, not a failed call: the hold may expire without it.
      unlisted: names.some((name) => !skipped(name) && !cycle.ambiguous.some((a) => a.name === name && !a.used) && !this.state.get(name)?.listed),
      lastCompleteAt,
      servicesReread: cycle.reread,
      servicesWithoutHealthCheck,
      servicesAtLimit: servicesAtLimit.sort(),
      ambiguousNamespaces: cycle.ambiguous,
      unreadableTags,
      attributeErrors: cycle.attributeErrors,
      revisions,
    };
  }

  /** Where the endpoints of a service whose tags are unreadable come from. */
  private channelOf(state: ServiceState): UnreadableTags["channel"] {
    const { channel } = endpointsFor(state.tags ?? {}, state.attributes);
    if (channel !== "none") return channel;
    return this.options.readUntaggedInstances ? "docker_labels" : "none";
  }

  private async refreshNamespace(name: string, cycle: Cycle, abortSignal?: AbortSignal): Promise<void> {
    const { limit, clock } = this.options;
    const now = () => clock.monotonicMs();
    let namespaces: Namespace[];
    try {
      namespaces = await limit(async () => {
        if (!isNamespaceArn(name)) return this.api.namespacesNamed(name, abortSignal);
        const namespace = await this.api.namespaceByArn(name, abortSignal);
        return namespace ? [namespace] : [];
      });
    } catch (error) {
      cycle.errors.push(error as AwsCallError);
      return; // keep whatever we had for this namespace
    }
    if (namespaces.length === 0) {
      cycle.missing.push(name);
      this.state.delete(name);
      return;
    }
    this.askCallerIfItMatters(name, namespaces, cycle, abortSignal);
    // Since namespaces can be shared (AWS RAM), one name can be another account's too. Reading
    // several would mix estates under one label; the own account's is what the bare name meant
    // before the others were shared. Otherwise the name is skipped, its last-known-good kept.
    if (new Set(namespaces.map((namespace) => namespace.owner)).size > 1) {
      const arns = namespaces.map((namespace) => namespace.arn ?? namespace.id).sort();
      // Only an ambiguous name waits for the own account (a call already under way, bounded).
      const caller = this.options.callerAccount?.known() ?? (await this.options.callerAccount?.get(abortSignal));
      const own = caller === undefined ? [] : namespaces.filter((namespace) => namespace.owner === caller);
      if (own.length === 0) {
        cycle.ambiguous.push({ name, arns });
        return;
      }
      cycle.ambiguous.push({ name, arns, used: own.map((namespace) => namespace.arn ?? namespace.id).sort() });
      namespaces = own;
    }
    const state = this.state.get(name) ?? { namespaces, services: new Map<string, ServiceState>(), listed: false };
    this.state.set(name, state);
    const caller = this.options.callerAccount?.known();
    state.namespaces = caller === undefined ? namespaces : namespaces.map((namespace) => sharedMark(namespace, caller));
    namespaces = state.namespaces;

    const started = now();
    const keep = new Set<string>();
    const listings: boolean[] = [];
    const results = await Promise.all(
      namespaces.map(async (namespace) => {
        let services: Service[];
        try {
          services = await limit(() => this.api.services(namespace, abortSignal));
        } catch (error) {
          cycle.errors.push(error as AwsCallError);
          for (const [id, service] of state.services) if (service.service.namespace.id === namespace.id) keep.add(id);
          listings.push(false);
          return false;
        }
        listings.push(true);
        const outcomes = await Promise.all(
          services.map((service) => {
            keep.add(service.id);
            const known = state.services.get(service.id);
            const serviceState = known ?? { service, tagsAt: 0, instancesAt: 0 };
            if (!sameService(serviceState.service, service)) {
              if (healthChecked(serviceState.service) !== healthChecked(service)) serviceState.healthCheckChanged = true;
              serviceState.service = service;
              serviceState.snapshot = undefined;
            }
            state.services.set(service.id, serviceState);
            return this.refreshService(serviceState, cycle, abortSignal);
          }),
        );
        return outcomes.every(Boolean);
      }),
    );
    for (const id of state.services.keys()) if (!keep.has(id)) state.services.delete(id);
    if (results.every(Boolean)) state.lastCompleteAt = started;
    if (listings.every(Boolean)) state.listed = true;
  }

  /**
   * Starts asking STS for the own account (never waited for) when it can matter: ECS_ASSUME_ROLE
   * is set, the listed namespaces have several owners, or a namespace is listed by ARN (how a
   * shared one is named). A single-account estate never asks: ListNamespaces reports a
   * ResourceOwner for every namespace, and an STS route (VPC endpoint, NAT) may not exist.
   */
  private askCallerIfItMatters(name: string, namespaces: readonly Namespace[], cycle: Cycle, abortSignal?: AbortSignal): void {
    const source = this.options.callerAccount;
    if (source === undefined || source.known() !== undefined) return;
    for (const namespace of namespaces) if (namespace.owner !== undefined) cycle.owners.add(namespace.owner);
    const matters = this.options.askCallerAccount === true || cycle.owners.size > 1 || (isNamespaceArn(name) && cycle.owners.size > 0);
    if (matters) void source.get(abortSignal);
  }

  /**
   * Another account's service: in a namespace another account owns, or created by another account.
   * Asked on a denial only, so the own account is waited for here (one shared, bounded call);
   * unknown, the service counts as one's own.
   */
  private async othersService(service: Service, abortSignal?: AbortSignal): Promise<boolean> {
    const source = this.options.callerAccount;
    const caller = source?.known() ?? (await source?.get(abortSignal));
    if (caller === undefined) return false;
    const owner = service.namespace.owner;
    return (owner !== undefined && owner !== caller) || (service.createdBy !== undefined && service.createdBy !== caller);
  }

  /** Returns true when everything about this service is fresh. */
  private async refreshService(state: ServiceState, cycle: Cycle, abortSignal?: AbortSignal): Promise<boolean> {
    const { limit, clock, tagTtlMs } = this.options;
    const now = () => clock.monotonicMs();
    let fresh = true;
    if (state.tags === undefined || now() - state.tagsAt >= tagTtlMs * spread(state.service.id)) {
      try {
        const at = now();
        const tags = await limit(() => this.api.tags(state.service, abortSignal));
        if (state.tags === undefined || !sameRecord(state.tags, tags)) {
          state.tags = tags;
          state.snapshot = undefined;
        }
        state.tagsAt = at;
        state.tagsDenied = undefined;
      } catch (error) {
        // Whether a consumer may read another account's service's tags is not documented: a denial
        // is an answer (no tags here), so the service attributes and docker labels decide instead.
        // Not for one's own services (an IAM or SCP change dropped the permission), nor once tags
        // were read (known tags are kept): those are failures, last-known-good kept.
        const readBefore = state.tags !== undefined && Object.keys(state.tags).length > 0;
        if (failureKind(error) === "access_denied" && !readBefore && (await this.othersService(state.service, abortSignal))) {
          if (state.tags === undefined) state.snapshot = undefined;
          state.tags = {};
          state.tagsDenied = true;
          state.tagsAt = now();
        } else {
          cycle.errors.push(error as AwsCallError);
          if (state.tags === undefined) return false;
          fresh = false;
        }
      }
    }
    await this.refreshAttributes(state, cycle, abortSignal);
    if (!this.needsInstances(state)) {
      if (state.instances !== undefined) state.snapshot = undefined;
      state.instances = undefined;
      state.revision = undefined;
      return fresh;
    }
    try {
      if (state.instances !== undefined && state.revision !== undefined && !this.healthRereadDue(state)) {
        const revision = await limit(() => this.api.revision(state.service, abortSignal));
        if (revision === state.revision) return fresh;
      }
      const at = now();
      const { instances, revision, atLimit } = await limit(() =>
        this.api.instances(state.service, this.options.healthStatus, abortSignal),
      );
      state.atLimit = atLimit;
      if (state.instances === undefined || !sameInstances(state.instances, instances)) {
        state.instances = instances;
        state.snapshot = undefined;
      }
      state.revision = revision;
      state.instancesAt = at;
      state.healthCheckChanged = undefined;
      cycle.reread++;
      return fresh;
    } catch (error) {
      cycle.errors.push(error as AwsCallError);
      return false;
    }
  }

  /**
   * Reads the service attributes when they can matter, on the tags' schedule (TAG_REFRESH_INTERVAL,
   * same spread). A failure is this service's alone and never fails the cycle: the service goes on
   * with what it had. Only a transient one is retried next cycle; a denied or unsupported call
   * (an older policy, an endpoint without the operation) waits for the next refresh.
   */
  private async refreshAttributes(state: ServiceState, cycle: Cycle, abortSignal?: AbortSignal): Promise<void> {
    const { limit, clock, tagTtlMs } = this.options;
    const mode = this.options.serviceAttributes ?? "off";
    const wanted = mode === "on" || (mode === "auto" && state.tags !== undefined && endpointsFromTags(state.tags).kind === "untagged");
    if (!wanted) {
      if (state.attributes !== undefined) state.snapshot = undefined;
      state.attributes = undefined;
      state.attributesAt = undefined;
      state.attributesPending = undefined;
      return;
    }
    const at = clock.monotonicMs();
    if (state.attributesAt !== undefined && at - state.attributesAt < tagTtlMs * spread(state.service.id)) return;
    try {
      const attributes = await limit(() => this.api.serviceAttributes(state.service, abortSignal));
      if (state.attributes === undefined || !sameRecord(state.attributes, attributes)) {
        state.attributes = attributes;
        state.snapshot = undefined;
      }
      state.attributesAt = at;
      state.attributesPending = undefined;
    } catch (error) {
      cycle.attributeErrors.push(error as AwsCallError);
      const transient = TRANSIENT.has(failureKind(error));
      if (!transient) state.attributesAt = at;
      state.attributesPending = transient && state.attributes === undefined ? true : undefined;
    }
  }

  /** Whether every part of a namespace has been read at least once (fresh or last-known-good). */
  private known(state: NamespaceState | undefined): boolean {
    if (!state?.listed) return false;
    for (const service of state.services.values()) {
      if (service.tags === undefined) return false;
      // A first attribute read that failed transiently: they may name the endpoints (a service
      // configured by attributes only), so publishing now could drop its targets.
      if (service.attributesPending) return false;
      if (this.needsInstances(service) && service.instances === undefined) return false;
    }
    return true;
  }

  private needsInstances(state: ServiceState): boolean {
    const { plan } = endpointsFor(state.tags ?? {}, state.attributes);
    if (plan.kind === "tagged") return true;
    return plan.kind === "untagged" && this.options.readUntaggedInstances;
  }

  /** Health changes do not move the revision, so the health label and filter need a periodic full read. */
  private healthRereadDue(state: ServiceState): boolean {
    if (state.healthCheckChanged) return true;
    // Without a health check Cloud Map reports no health (UNKNOWN or none) that could change, so
    // the revision alone says when the instances changed: re-reading them would only cost calls.
    if (!healthChecked(state.service)) return false;
    return this.options.clock.monotonicMs() - state.instancesAt >= this.options.healthRefreshMs * spread(`${state.service.id}/instances`);
  }
}

interface Cycle {
  errors: AwsCallError[];
  missing: string[];
  reread: number;
  ambiguous: AmbiguousNamespace[];
  attributeErrors: AwsCallError[];
  /** The owners of the namespaces listed so far this cycle (whether the own account matters). */
  owners: Set<string>;
}

/** A namespace another account than cloudmap-sd's owns is shared with it: labels say so. */
function sharedMark(namespace: Namespace, caller: string): Namespace {
  const shared = namespace.owner !== undefined && namespace.owner !== caller;
  return shared === (namespace.shared === true) ? namespace : shared ? { ...namespace, shared: true } : withoutShared(namespace);
}

function withoutShared(namespace: Namespace): Namespace {
  const { shared: _, ...rest } = namespace;
  return rest;
}

/** Marks a namespace's services once the own account is known (it may become known mid-cycle). */
function markShared(state: NamespaceState, caller: string): void {
  state.namespaces = state.namespaces.map((namespace) => sharedMark(namespace, caller));
  for (const service of state.services.values()) {
    const namespace = sharedMark(service.service.namespace, caller);
    if (namespace === service.service.namespace) continue;
    service.service = { ...service.service, namespace };
    service.snapshot = undefined;
  }
}

/** Failures worth retrying at the next cycle rather than at the next refresh. */
const TRANSIENT = new Set(["throttled", "timeout", "network", "server", "deadline"]);

/**
 * A per-service factor in [0.5, 1): tags read together at a cold sync expire in different cycles,
 * so a tag refresh is a trickle of ListTagsForResource calls rather than one per service at once.
 */
function spread(serviceId: string): number {
  let hash = 2166136261;
  for (let i = 0; i < serviceId.length; i++) hash = Math.imul(hash ^ serviceId.charCodeAt(i), 16777619);
  // FNV-1a, then murmur3's finaliser so that ids differing in one character land far apart.
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  hash ^= hash >>> 16;
  return 0.5 + (hash >>> 0) / 2 ** 33;
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

function sameService(a: Service, b: Service): boolean {
  return (
    a.id === b.id &&
    a.arn === b.arn &&
    a.name === b.name &&
    a.namespace.id === b.namespace.id &&
    a.namespace.name === b.namespace.name &&
    a.namespace.type === b.namespace.type &&
    a.namespace.httpName === b.namespace.httpName &&
    a.namespace.arn === b.namespace.arn &&
    a.namespace.owner === b.namespace.owner &&
    a.namespace.shared === b.namespace.shared &&
    a.createdBy === b.createdBy &&
    a.healthChecked === b.healthChecked
  );
}

/** Unknown (a summary that does not say) counts as checked: re-reading is the safe side. */
function healthChecked(service: Service): boolean {
  return service.healthChecked !== false;
}

/** Same instances in the same order (a health re-read that changed nothing keeps the snapshot). */
function sameInstances(a: readonly Instance[], b: readonly Instance[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i] as Instance;
      return x.id === y.id && x.healthStatus === y.healthStatus && sameRecord(x.attributes, y.attributes);
    })
  );
}
