import { AwsServiceError } from "../protocol/errors.js";

/**
 * What a failing call does instead of answering normally:
 * - `error`: an AWS error answer (`error`, `status`), the default;
 * - `hang`: no answer at all, the socket held open until the client gives up or the emulator closes;
 * - `reset`: the connection is reset without an answer (ECONNRESET on the client);
 * - `empty`: 200 with an empty body (the SDK then returns an output with every field absent);
 * - `truncated`: 200 with the real JSON body cut short at a seeded point (never valid JSON).
 */
export type FaultKind = "error" | "hang" | "reset" | "empty" | "truncated";

export const FAULT_KINDS: readonly FaultKind[] = ["error", "hang", "reset", "empty", "truncated"];

export interface FaultSpec {
  /** Delay every matching call by this long before answering (errors included). */
  readonly latencyMs?: number | undefined;
  /** Fail exactly this many of the next matching calls, then answer normally. Deterministic. */
  readonly errorCount?: number | undefined;
  /** After errorCount is used up, fail each call with this probability (seeded, so repeatable). */
  readonly errorRate?: number | undefined;
  /** How a failing call fails; defaults to "error". */
  readonly kind?: FaultKind | undefined;
  /** The AWS error code to answer with (kind "error"); defaults to ThrottlingException. */
  readonly error?: string | undefined;
  readonly message?: string | undefined;
  /** Override the HTTP status (by default taken from the code: 400, 500 or 503). */
  readonly status?: number | undefined;
  /** Probability of a latency spike on a call (seeded), failing or not. */
  readonly spikeRate?: number | undefined;
  /** Extra delay of a spike; pick it beyond the client's timeout to exercise that timeout. */
  readonly spikeMs?: number | undefined;
}

export interface FaultDecision {
  /** Delay before answering: latencyMs, plus spikeMs when a spike was drawn. */
  readonly latencyMs: number;
  /** Set when the call fails with kind "error" (the field predates `kind`; callers read it). */
  readonly error: AwsServiceError | undefined;
  /** Set when the call fails; undefined means answer normally (after the delay). */
  readonly kind: FaultKind | undefined;
  /** For "truncated": the fraction of the body to send, in [0, 1); drawn from the seeded generator. */
  readonly keepFraction: number;
}

/** Faults actually injected, by label: an error code, "hang", "reset", "empty", "truncated" or "spike". */
export type InjectedCounts = Readonly<Record<string, number>>;

interface ActiveFault {
  readonly spec: FaultSpec;
  remaining: number;
}

const WILDCARD = "*";
const NO_FAULT: FaultDecision = { latencyMs: 0, error: undefined, kind: undefined, keepFraction: 1 };

/**
 * Injected faults per operation. A per-operation fault replaces the `setAll` fault for that
 * operation (they are not merged). Randomness comes from a seeded generator, so a test that
 * sets an errorRate sees the same sequence of failures on every run.
 */
export class Faults {
  private readonly active = new Map<string, ActiveFault>();
  private readonly injected = new Map<string, number>();
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

  /** How many faults were injected so far, by label, sorted by label. */
  injectedCounts(): InjectedCounts {
    return Object.fromEntries([...this.injected].sort(([a], [b]) => a.localeCompare(b)));
  }

  resetInjectedCounts(): void {
    this.injected.clear();
  }

  /**
   * Called once per request; consumes errorCount and draws from the generator only when needed,
   * in a fixed order (failure, spike, truncation point), so a seed gives one sequence.
   */
  decide(operation: string): FaultDecision {
    const fault = this.active.get(operation) ?? this.active.get(WILDCARD);
    if (fault === undefined) return NO_FAULT;
    const { spec } = fault;
    let failing = false;
    if (fault.remaining > 0) {
      fault.remaining -= 1;
      failing = true;
    } else if (spec.errorRate !== undefined && spec.errorRate > 0) {
      failing = this.random() < spec.errorRate;
    }
    const spike = spec.spikeRate !== undefined && spec.spikeRate > 0 && this.random() < spec.spikeRate;
    if (spike) this.count("spike");
    const latencyMs = (spec.latencyMs ?? 0) + (spike ? (spec.spikeMs ?? 0) : 0);
    if (!failing) return { ...NO_FAULT, latencyMs };

    const kind = spec.kind ?? "error";
    const keepFraction = kind === "truncated" ? this.random() : 1;
    if (kind !== "error") {
      this.count(kind);
      return { latencyMs, error: undefined, kind, keepFraction };
    }
    const code = spec.error ?? "ThrottlingException";
    this.count(code);
    const error = new AwsServiceError(code, spec.message ?? `Injected fault for ${operation}: ${code}`, spec.status);
    return { latencyMs, error, kind, keepFraction };
  }

  private count(label: string): void {
    this.injected.set(label, (this.injected.get(label) ?? 0) + 1);
  }
}

function validate(spec: FaultSpec): void {
  const bad = (what: string) => {
    throw new RangeError(`invalid fault: ${what}`);
  };
  const isRate = (rate: number | undefined) => rate === undefined || (rate >= 0 && rate <= 1);
  if (spec.latencyMs !== undefined && !(spec.latencyMs >= 0)) bad("latencyMs must be >= 0");
  if (spec.errorCount !== undefined && !(Number.isInteger(spec.errorCount) && spec.errorCount >= 0)) {
    bad("errorCount must be a non-negative integer");
  }
  if (!isRate(spec.errorRate)) bad("errorRate must be in [0, 1]");
  if (!isRate(spec.spikeRate)) bad("spikeRate must be in [0, 1]");
  if (spec.spikeMs !== undefined && !(spec.spikeMs >= 0)) bad("spikeMs must be >= 0");
  if (spec.kind !== undefined && !FAULT_KINDS.includes(spec.kind)) bad(`kind must be one of ${FAULT_KINDS.join(", ")}`);
  if (spec.status !== undefined && !(Number.isInteger(spec.status) && spec.status >= 100 && spec.status <= 599)) {
    bad("status must be an HTTP status (100-599)");
  }
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
