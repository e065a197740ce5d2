import type { Logger } from "pino";
import { awsCallOf, errorMessage, FAILURE_HINTS, type FailureKind, failureKind, ParameterNotFoundError } from "../errors.js";
import type { Metrics } from "../metrics.js";
import { ConditionLog } from "./condition-log.js";

interface FailureGroup {
  readonly kind: FailureKind;
  readonly operation: string;
  readonly errors: Error[];
}

const EXAMPLES = 3;

/**
 * Turns a cycle's failed AWS calls into what a person can act on: one warning per kind of failure
 * and operation when it starts (with what to check), one info line when it clears, and gauges of
 * the parts failing right now by kind (cloudmap_sd_failing_parts) for alerts.
 */
export class FailureReport {
  private readonly log: ConditionLog<FailureGroup>;

  constructor(
    logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.log = new ConditionLog<FailureGroup>({
      appeared: (_key, group) =>
        logger.warn(
          {
            kind: group.kind,
            operation: group.operation,
            parts: group.errors.length,
            examples: group.errors.slice(0, EXAMPLES).map((error) => errorMessage(error)),
            hint: hintFor(group.errors.find((error) => error instanceof ParameterNotFoundError) ?? (group.errors[0] as Error)),
          },
          "AWS calls failing; the parts they read keep their last-known-good targets",
        ),
      persists: (_key, group) =>
        logger.debug({ kind: group.kind, operation: group.operation, parts: group.errors.length }, "AWS calls still failing"),
      cleared: (_key, group) => logger.info({ kind: group.kind, operation: group.operation }, "AWS calls recovered"),
    });
  }

  /**
   * Counts failures without touching what is currently reported: for a cycle that stopped early
   * (the namespaces parameter could not be read) and so knows nothing of the other parts.
   */
  countOnly(errors: readonly Error[]): void {
    for (const error of errors) this.count(error);
  }

  /**
   * This cycle's failures: counted, grouped, and logged when a group appears or clears.
   * `stillFailing`: failures of parts not called this cycle because they back off; they keep their
   * group open (and the failing_parts gauge up) but are not counted again.
   */
  update(errors: readonly Error[], stillFailing: readonly Error[] = []): void {
    const groups = new Map<string, FailureGroup>();
    const byKind = new Map<FailureKind, number>();
    for (const [error, counted] of [...errors.map((e) => [e, true] as const), ...stillFailing.map((e) => [e, false] as const)]) {
      const { kind, operation } = counted ? this.count(error) : classify(error);
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      const key = `${kind} ${operation}`;
      const group = groups.get(key) ?? { kind, operation, errors: [] };
      group.errors.push(error);
      groups.set(key, group);
    }
    this.metrics.failingParts.reset();
    for (const [kind, count] of byKind) this.metrics.failingParts.set({ kind }, count);
    this.log.update(groups);
  }

  private count(error: Error): { kind: FailureKind; operation: string } {
    const classified = classify(error);
    this.metrics.awsFailures.inc(classified);
    return classified;
  }
}

function classify(error: Error): { kind: FailureKind; operation: string } {
  const call = awsCallOf(error);
  // This key order is the label order in /metrics (operation, kind), as the metric declares them.
  return { operation: call?.operation ?? "unknown", kind: failureKind(error) };
}

/** What to check for a failure: the kind's hint, or for a missing SSM parameter, which one. */
export function hintFor(error: Error): string {
  if (error instanceof ParameterNotFoundError) {
    return `create the SSM parameter ${JSON.stringify(error.parameter)} in this region, or point DISCOVERY_NAMESPACES_PARAMETER_NAME / PROMETHEUS_CONFIG_PARAMETER_NAME at one that exists`;
  }
  return FAILURE_HINTS[failureKind(error)];
}
