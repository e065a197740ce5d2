/**
 * The shape of GET /api/v1/status (documented in docs/status.md). It is a public contract: add
 * fields freely, but renaming or removing one, or changing its meaning, bumps STATUS_VERSION.
 * Times are ISO 8601 UTC strings; an absent optional field means "not known", never "empty".
 */

export const STATUS_VERSION = 1;

export interface Status {
  readonly version: typeof STATUS_VERSION;
  /** When this document was made (the sidecar's wall clock). */
  readonly generatedAt: string;
  readonly sidecar: SidecarStatus;
  readonly namespacesParameter: ParameterStatus;
  readonly file: FileStatus;
  readonly summary: Summary;
  readonly namespaces: readonly NamespaceStatus[];
  /** Sorted by namespace, then service name. */
  readonly services: readonly ServiceStatus[];
  /** The last error per operation and scope, the ones failing now first, then the most recent. */
  readonly errors: readonly ErrorStatus[];
  /** The last cycles, newest first. */
  readonly cycles: readonly CycleStatus[];
}

export interface SidecarStatus {
  readonly version: string;
  readonly startedAt: string;
  readonly intervalSeconds: number;
  /** ECS_ENRICHMENT: docker labels and __meta_ecs_* labels need it (not `off`). */
  readonly ecsEnrichment: string;
  readonly ready?: boolean;
  /** Why /ready or /healthz is not 200, when it is not. */
  readonly healthReason?: string;
}

export interface ParameterStatus {
  /** DISCOVERY_NAMESPACES_PARAMETER_NAME. */
  readonly name: string;
  /** Its raw value as last read. */
  readonly value?: string;
  /** The namespace names parsed from it. */
  readonly namespaces: readonly string[];
  /** When it was last read without error. */
  readonly readAt?: string;
  /** The error of the last read, when the last read failed (the names above are then the last known). */
  readonly error?: string;
}

export interface FileStatus {
  /** What the last cycle's publish did: written, unchanged, restored, held, error, none. */
  readonly outcome: string;
  /** Targets in what was built last (published unless the outcome is held or error). */
  readonly targets: number;
}

export interface Summary {
  readonly cycles: number;
  readonly lastCycleOutcome?: CycleOutcome;
  readonly namespaces: number;
  readonly namespacesInError: number;
  readonly services: number;
  readonly servicesScraped: number;
  readonly servicesNotScraped: number;
  readonly servicesInError: number;
  readonly targets: number;
  readonly skippedEndpoints: number;
}

export type NamespaceState = "ok" | "error" | "not_found" | "never_read";

export interface NamespaceStatus {
  readonly name: string;
  readonly state: NamespaceState;
  /** Cloud Map ids and types of the namespaces of this name (known once one of its services was read). */
  readonly ids: readonly string[];
  readonly types: readonly string[];
  /** The owning account of a shared namespace, when known. */
  readonly owner?: string;
  /** When every part of it was last read without error. */
  readonly lastCompleteReadAt?: string;
  /** Seconds since then (since start when never): what cloudmap_sd_staleness_seconds says. */
  readonly stalenessSeconds?: number;
  readonly services: number;
  readonly targets: number;
  /** The latest error about the namespace itself (ListNamespaces, ListServices). */
  readonly error?: string;
}

/**
 * scraped: every endpoint has targets · partly_skipped: targets, and some endpoints skipped ·
 * skipped: an invalid setting leaves it out · not_configured: nothing says where to scrape it ·
 * no_instances: configured, but no instance is registered · waiting_for_ecs: configured through
 * docker labels, whose ECS data is not read yet (or failing).
 */
export type ServiceState = "scraped" | "partly_skipped" | "skipped" | "not_configured" | "no_instances" | "waiting_for_ecs";

/** Where the scrape configuration comes from. */
export type ScrapeSource = "tags" | "docker_labels" | "service_attributes" | "none";

export interface ServiceStatus {
  readonly namespace: string;
  readonly name: string;
  readonly id: string;
  readonly scraped: boolean;
  readonly state: ServiceState;
  readonly source: ScrapeSource;
  /** One sentence: what is scraped, or why not. */
  readonly why: string;
  /** The endpoints skipped, with the reason (a cloudmap_sd_skipped_endpoints label) and the offending value. */
  readonly skips: readonly SkipStatus[];
  /** Skips beyond those listed (a service with many bad instances lists a few). */
  readonly moreSkips?: number;
  /**
   * Instances registered. Absent when they are not read: a service skipped for an invalid setting,
   * or an untagged one with ECS_ENRICHMENT=off (nothing would be scraped from them).
   */
  readonly instances?: number;
  readonly targets: number;
  /** Cloud Map's InstancesRevision of the last instance read, when known. */
  readonly revision?: number;
  /** When its tags and instances were last read (or confirmed unchanged) without error. */
  readonly lastReadAt?: string;
  /** Set while its reads fail: its targets are the last-known-good ones, served since then. */
  readonly lastKnownGoodSince?: string;
  /** The latest error reading it (or its namespace). */
  readonly error?: string;
  /** Present for services whose instances are ECS tasks and enrichment is on. */
  readonly ecs?: EcsStatus;
}

export interface SkipStatus {
  readonly reason: string;
  readonly detail: string;
}

export interface EcsStatus {
  /** Instances that are ECS tasks (they carry ECS_CLUSTER_NAME). */
  readonly tasks: number;
  /** Of those, the ones ECS has described (they get __meta_ecs_* labels). */
  readonly enriched: number;
  /** The latest ECS error about its clusters or task definitions. */
  readonly error?: string;
}

export interface ErrorStatus {
  readonly operation: string;
  /** "namespace=x, service=y", "cluster=c", … ("" for none). */
  readonly scope: string;
  /** failureKind(): credentials, access_denied, throttled, timeout, network, … */
  readonly kind: string;
  readonly message: string;
  /** What to check. */
  readonly hint: string;
  readonly firstAt: string;
  readonly lastAt: string;
  /** It failed in the last cycle. */
  readonly current: boolean;
  /** Cycles it failed in since it first appeared. */
  readonly cycles: number;
}

export type CycleOutcome = "success" | "partial" | "failure";

export interface CycleStatus {
  readonly startedAt: string;
  readonly outcome: CycleOutcome;
  readonly durationMs: number;
  readonly apiCalls: number;
  readonly targets: number;
  readonly added: number;
  readonly removed: number;
  readonly errors: number;
  readonly file: string;
  readonly overran?: boolean;
}
