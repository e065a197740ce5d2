import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { CallRecorder } from "./aws/call.js";

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
    help: "Attempts to publish a file, by file and outcome: written, unchanged, held (kept the existing file until a complete discovery), error.",
    labelNames: ["file", "outcome"] as const,
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: "cloudmap_sd_last_success_timestamp_seconds",
    help: "Unix time of the last cycle that read every part of the estate without error.",
    registers: [this.registry],
  });

  constructor(now: () => number, staleness: () => ReadonlyMap<string, number | undefined>) {
    collectDefaultMetrics({ register: this.registry });
    // Computed at scrape time, so it grows while the loop is stuck or failing.
    new Gauge({
      name: "cloudmap_sd_staleness_seconds",
      help: "Seconds since each listed namespace was last read without error (its targets may be older than that).",
      labelNames: ["namespace"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const current = now();
        for (const [namespace, at] of staleness()) {
          if (at !== undefined) this.set({ namespace }, Math.max(0, (current - at) / 1000));
        }
      },
    });
  }

  record(operation: string, outcome: string): void {
    this.awsRequests.inc({ operation, outcome });
  }
}
