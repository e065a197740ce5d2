import { AwsServiceError } from "../protocol/errors.js";

export interface FaultSpec {
  /** Delay every matching call by this long before answering (errors included). */
  readonly latencyMs?: number | undefined;
  /** Fail exactly this many of the next matching calls, then answer normally. Deterministic. */
  readonly errorCount?: number | undefined;
  /** After errorCount is used up, fail each call with this probability (seeded, so repeatable). */
  readonly errorRate?: number | undefined;
  /** The AWS error code to answer with; defaults to ThrottlingException. */
  readonly error?: string | undefined;
  readonly message?: string | undefined;
  /** Override the HTTP status (by default taken from the code: 400, 500 or 503). */
  readonly status?: number | undefined;
}

export interface FaultDecision {
  readonly latencyMs: number;
  readonly error: AwsServiceError | undefined;
}

interface ActiveFault {
  readonly spec: FaultSpec;
  remaining: number;
}

const WILDCARD = "*";

/**
 * Injected faults per operation. A per-operation fault replaces the `setAll` fault for that
 * operation (they are not merged). Randomness comes from a seeded generator, so a test that
 * sets an errorRate sees the same sequence of failures on every run.
 */
export class Faults {
  private readonly active = new Map<string, ActiveFault>();
  private random: () => number;

  constructor(seed = 1) {
    this.random = mulberry32(seed);
  }

  set(operation: string, spec: FaultSpec): void {
    validate(spec);
    this.active.set(operation, { spec, remaining: spec.errorCount ?? 0 });
  }

  setAll(spec: FaultSpec): void {
    this.set(WILDCARD, spec);
  }

  /** Clears one operation's fault, or every fault (including setAll) when called without one. */
  clear(operation?: string): void {
    if (operation === undefined) this.active.clear();
    else this.active.delete(operation);
  }

  reseed(seed: number): void {
    this.random = mulberry32(seed);
  }

  /** Called once per request; consumes errorCount and draws from the generator only when needed. */
  decide(operation: string): FaultDecision {
    const fault = this.active.get(operation) ?? this.active.get(WILDCARD);
    if (fault === undefined) return { latencyMs: 0, error: undefined };
    const { spec } = fault;
    let failing = false;
    if (fault.remaining > 0) {
      fault.remaining -= 1;
      failing = true;
    } else if (spec.errorRate !== undefined && spec.errorRate > 0) {
      failing = this.random() < spec.errorRate;
    }
    const code = spec.error ?? "ThrottlingException";
    return {
      latencyMs: spec.latencyMs ?? 0,
      error: failing
        ? new AwsServiceError(code, spec.message ?? `Injected fault for ${operation}: ${code}`, spec.status)
        : undefined,
    };
  }
}

function validate(spec: FaultSpec): void {
  const bad = (what: string) => {
    throw new RangeError(`invalid fault: ${what}`);
  };
  if (spec.latencyMs !== undefined && !(spec.latencyMs >= 0)) bad("latencyMs must be >= 0");
  if (spec.errorCount !== undefined && !(Number.isInteger(spec.errorCount) && spec.errorCount >= 0)) {
    bad("errorCount must be a non-negative integer");
  }
  if (spec.errorRate !== undefined && !(spec.errorRate >= 0 && spec.errorRate <= 1)) bad("errorRate must be in [0, 1]");
}

/** Small, fast, seedable PRNG (mulberry32); statistical quality is ample for fault injection. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
