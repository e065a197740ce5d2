import type { Faults, FaultSpec } from "../emulator/index.js";

/**
 * The soak's fault phases. Each phase puts one family of faults on every operation the sidecar
 * calls (the "mixed" phase draws a family per operation). Rates are high enough that every cycle
 * meets several faults, low enough that some calls still get through.
 */
export const PHASE_KINDS = [
  "5xx",
  "throttling",
  "reset",
  "spike",
  "hang",
  "access-denied",
  "expired-token",
  "empty",
  "truncated",
  "mixed",
] as const;
export type PhaseKind = (typeof PHASE_KINDS)[number];

/** Every operation the sidecar may call; faults are set on each so "mixed" can differ per operation. */
export const OPERATIONS = [
  "GetParameter",
  "ListNamespaces",
  "ListServices",
  "ListTagsForResource",
  "DiscoverInstances",
  "DiscoverInstancesRevision",
  "ListInstances",
  "GetNamespace",
  "GetService",
  "DescribeTasks",
  "DescribeTaskDefinition",
] as const;

export interface Phase {
  readonly kind: PhaseKind;
  /** Offset from the start of the fault window. */
  readonly startMs: number;
  readonly endMs: number;
}

/** Spikes go beyond the sidecar's AWS_CALL_TIMEOUT (2 s in the soak), so its timeout is what ends them. */
const SPIKE_MS = 3_500;

function simpleSpec(kind: Exclude<PhaseKind, "mixed" | "5xx">): FaultSpec {
  switch (kind) {
    case "throttling":
      return { errorRate: 0.5, error: "ThrottlingException" };
    case "reset":
      return { errorRate: 0.3, kind: "reset" };
    case "spike":
      return { spikeRate: 0.25, spikeMs: SPIKE_MS };
    case "hang":
      return { errorRate: 0.2, kind: "hang" };
    case "access-denied":
      return { errorRate: 0.6, error: "AccessDeniedException", status: 400 };
    case "expired-token":
      return { errorRate: 0.6, error: "ExpiredTokenException", status: 400 };
    case "empty":
      return { errorRate: 0.25, kind: "empty" };
    case "truncated":
      return { errorRate: 0.25, kind: "truncated" };
  }
}

/** The fault one operation gets in a phase; `random` is the soak's seeded generator. */
export function specFor(kind: PhaseKind, random: () => number): FaultSpec {
  if (kind === "5xx") return { errorRate: 0.35, error: random() < 0.5 ? "InternalFailure" : "ServiceUnavailable" };
  if (kind === "mixed") {
    const others = PHASE_KINDS.filter((k) => k !== "mixed");
    return specFor(others[Math.floor(random() * others.length)] as PhaseKind, random);
  }
  return simpleSpec(kind);
}

export function applyPhase(faults: Faults, kind: PhaseKind, random: () => number): void {
  faults.clear();
  for (const operation of OPERATIONS) faults.set(operation, specFor(kind, random));
}

/**
 * Phases filling `windowMs`: the chosen kinds in a seeded order, each lasting between 3 s and 12 s
 * (so a short run still meets every kind, and a long one repeats them in a new order).
 */
export function planPhases(windowMs: number, kinds: readonly PhaseKind[], random: () => number): Phase[] {
  if (kinds.length === 0 || windowMs <= 0) return [];
  const lengthMs = Math.min(12_000, Math.max(3_000, Math.floor(windowMs / kinds.length)));
  const phases: Phase[] = [];
  let order: PhaseKind[] = [];
  for (let start = 0; start < windowMs; start += lengthMs) {
    if (order.length === 0) order = shuffle([...kinds], random);
    phases.push({ kind: order.shift() as PhaseKind, startMs: start, endMs: Math.min(windowMs, start + lengthMs) });
  }
  return phases;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

export function parseKinds(value: string | undefined): PhaseKind[] {
  if (value === undefined || value === "all") return [...PHASE_KINDS];
  const kinds = value.split(",").map((k) => k.trim()).filter((k) => k !== "");
  const unknown = kinds.filter((k) => !(PHASE_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new RangeError(`unknown fault kind(s) ${unknown.join(", ")}; known: ${PHASE_KINDS.join(", ")}`);
  return kinds as PhaseKind[];
}
