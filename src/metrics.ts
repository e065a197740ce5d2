import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { CallRecorder } from "./aws/call.js";
import type { Clock } from "./clock.js";

/**
 * cloudmap-sd's own metrics, on a registry of its own (never prom-client's global one). Label
 * values are bounded: operations, outcomes, reasons and namespaces; never instances.
 */
export class Metrics implements CallRecorder {
  readonly registry = new Registry();
  readonly cycleDuration = new Histogram({
    name: "cloudmap_sd_cycle_duration_seconds",
    help: "Duration of discovery cycles.",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly cycles = new Counter({
    name: "cloudmap_sd_cycles_total",
    help: "Discovery cycles by outcome: success, partial (some parts kept their last-known-good targets), failure (nothing published).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly awsRequests = new Counter({
    name: "cloudmap_sd_aws_requests_total",
    help: "AWS API calls by operation and outcome (success or the error name), after the SDK's retries.",
    labelNames: ["operation", "outcome"] as const,
    registers: [this.registry],
  });
  readonly awsAttempts = new Counter({
    name: "cloudmap_sd_aws_request_attempts_total",
    help: "AWS HTTP requests by operation and outcome, every retry counted: what consumes the account's API quota.",
    labelNames: ["operation", "outcome"] as const,
    registers: [this.registry],
  });
  readonly targets = new Gauge({
    name: "cloudmap_sd_targets",
    help: "Scrape targets published, by Cloud Map namespace.",
    labelNames: ["namespace"] as const,
    registers: [this.registry],
  });
  readonly skippedEndpoints = new Gauge({
    name: "cloudmap_sd_skipped_endpoints",
    help: "Endpoints (or whole services, for invalid tags) left out in the last cycle, by reason.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly fileWrites = new Counter({
    name: "cloudmap_sd_file_writes_total",
    help: "Attempts to publish a file, by file and outcome: written, unchanged, restored (put back after being deleted or overwritten), held (kept the existing file until a complete discovery), error.",
    labelNames: ["file", "outcome"] as const,
    registers: [this.registry],
  });
  readonly awsFailures = new Counter({
    name: "cloudmap_sd_aws_failures_total",
    help: "Failed AWS calls by operation and kind of failure (credentials, access_denied, throttled, timeout, network, malformed, server, not_found, deadline, other), after the SDK's retries.",
    labelNames: ["operation", "kind"] as const,
    registers: [this.registry],
  });
  readonly failingParts = new Gauge({
    name: "cloudmap_sd_failing_parts",
    help: "Parts of the estate (a namespace's service list, a service's tags or instances, an ECS cluster's tasks…) whose call failed in the last cycle, by kind of failure. They keep their last-known-good targets.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly missingNamespaces = new Gauge({
    name: "cloudmap_sd_missing_namespaces",
    help: "Namespaces listed in the namespaces parameter that Cloud Map does not know (a typo, a deleted namespace).",
    registers: [this.registry],
  });
  readonly ambiguousNamespaces = new Gauge({
    name: "cloudmap_sd_ambiguous_namespaces",
    help: "Names in the namespaces parameter that namespaces of several accounts carry (shared through AWS RAM): the own account's is read, a name only other accounts carry is skipped; list their ARNs instead.",
    registers: [this.registry],
  });
  readonly unreadableTags = new Gauge({
    name: "cloudmap_sd_services_tags_unreadable",
    help: "Services whose tags this account may not read (ListTagsForResource denied, typically shared ones), by the channel their endpoints come from instead: service_attributes, docker_labels, none.",
    labelNames: ["channel"] as const,
    registers: [this.registry],
  });
  readonly serviceAttributeFailures = new Gauge({
    name: "cloudmap_sd_service_attributes_failures",
    help: "GetServiceAttributes calls that failed in the last cycle, by kind: those services go on with their tags or docker labels.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly assumeRole = new Counter({
    name: "cloudmap_sd_assume_role_total",
    help: "sts:AssumeRole of ECS_ASSUME_ROLE by account and outcome (success or the error name): a failing account's tasks keep their last-known-good ECS data.",
    labelNames: ["account", "outcome"] as const,
    registers: [this.registry],
  });
  readonly servicesAtInstanceLimit = new Gauge({
    name: "cloudmap_sd_services_at_instance_limit",
    help: "Services whose DiscoverInstances answer held its maximum of 1,000 instances: instances beyond that are not discovered.",
    registers: [this.registry],
  });
  readonly ecsMissingClusters = new Gauge({
    name: "cloudmap_sd_ecs_missing_clusters",
    help: "ECS clusters named by Cloud Map instances (ECS_CLUSTER_NAME) that ECS says do not exist; their tasks are not enriched.",
    registers: [this.registry],
  });
  readonly ecsUnknownTasks = new Gauge({
    name: "cloudmap_sd_ecs_unknown_tasks",
    help: "Cloud Map instances whose ECS task ECS reports MISSING (stopped long ago, or not a task); re-checked periodically.",
    registers: [this.registry],
  });
  readonly ecsBackingOff = new Gauge({
    name: "cloudmap_sd_ecs_backing_off",
    help: "ECS calls skipped in the last cycle because they are backing off after failures.",
    registers: [this.registry],
  });
  readonly cycleOverruns = new Counter({
    name: "cloudmap_sd_cycle_overruns_total",
    help: "Discovery cycles aborted because they overran their bound (2 intervals, at least 3 AWS call timeouts); what they had read was published.",
    registers: [this.registry],
  });
  readonly shardTargets = new Gauge({
    name: "cloudmap_sd_shard_targets",
    help: "Targets per shard of SHARD_COUNT shards, from the last published discovery (every shard, not only this sidecar's: the spread shows the balance).",
    labelNames: ["shard"] as const,
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: "cloudmap_sd_last_success_timestamp_seconds",
    help: "Unix time of the last cycle that read every part of the estate without error.",
    registers: [this.registry],
  });

  readonly statusRecordFailures = new Counter({
    name: "cloudmap_sd_status_record_failures_total",
    help: "Cycles the status page (GET /, /api/v1/status) could not record; discovery is not affected, the page shows older data.",
    registers: [this.registry],
  });

  private lastCycleEndMs: number | undefined;

  /** `clock`: staleness and the time since the last cycle are measured on its monotonic side. */
  constructor(clock: Clock, staleness: () => ReadonlyMap<string, number | undefined>) {
    const now = () => clock.monotonicMs();
    // A part never read since start is as stale as the process is old: an alert on staleness
    // must fire for a part that has failed since start too, not see no series at all.
    const startedAt = now();
    const lastCycleEnd = () => this.lastCycleEndMs ?? startedAt;
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "cloudmap_sd_seconds_since_last_cycle",
      help: "Seconds since a discovery cycle last finished (computed at scrape time: it grows while the loop is stuck).",
      registers: [this.registry],
      collect() {
        this.set(Math.max(0, (now() - lastCycleEnd()) / 1000));
      },
    });
    // Computed at scrape time, so it grows while the loop is stuck or failing.
    new Gauge({
      name: "cloudmap_sd_staleness_seconds",
      help: "Seconds since each listed namespace was last read without error (its targets may be older than that); since start for one never read completely.",
      labelNames: ["namespace"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const current = now();
        for (const [namespace, at] of staleness()) {
          this.set({ namespace }, Math.max(0, (current - (at ?? startedAt)) / 1000));
        }
      },
    });
  }

  cycleEnded(monotonicMs: number): void {
    this.lastCycleEndMs = monotonicMs;
  }

  record(operation: string, outcome: string): void {
    this.awsRequests.inc({ operation, outcome });
  }
}

/**
 * cloudmap_sd_build_info{version, node} = 1, the Prometheus convention for "which build is this":
 * join it onto any series, or alert when a fleet runs mixed versions.
 */
export function registerBuildInfo(registry: Registry, version: string, nodeVersion: string = process.version): void {
  new Gauge({
    name: "cloudmap_sd_build_info",
    help: "Always 1; the labels say which cloudmap-sd version runs on which Node.js version.",
    labelNames: ["version", "node"] as const,
    registers: [registry],
  }).set({ version, node: nodeVersion }, 1);
}
