import { type Chunk, chunkText } from "./compact-line.js";
import type { Chunks } from "./file-content.js";
import { Label } from "./labels.js";
import type { ServiceSnapshot } from "./model.js";
import { frameLines, renderCompactLines } from "./render.js";
import { shardHashes } from "./shard.js";
import { type BuildOptions, buildTargetGroups, type Skip, targetKey } from "./target-groups.js";

export interface TargetSet {
  /**
   * Every target's key (see targetKey), in the file's order: for diffs. Per-target objects are not
   * kept: at 10,000 targets they cost ~0.5 MB of heap for a key and a count.
   */
  readonly keys: readonly string[];
  /** Targets per namespace (the namespace-name label, "" when absent), for the targets metric. */
  readonly perNamespace: ReadonlyMap<string, number>;
  readonly skips: readonly Skip[];
  /** The canonical file content: byte-identical to renderTargetGroups(buildTargetGroups(...).groups). */
  readonly content: Chunks;
  /** The rendered lines of content, in its order (the same objects): what a shard is cut from (shard.ts). */
  readonly lines: readonly Chunk[];
  /** Each line's shard key hash, hi and lo halves: hashes[2i], hashes[2i+1] (see shardHashes). */
  readonly hashes: Uint32Array;
}

/** One service's targets, rendered: keys[i] is the key of lines[i]. */
interface BuiltService {
  readonly keys: string[];
  /** Each group's line of canonical JSON, compact (see CompactLine: one buffer per service). */
  readonly lines: Chunk[];
  /** Shard key hashes, two numbers per line (computed once per service, like the lines). */
  readonly hashes: Uint32Array;
  readonly perNamespace: Map<string, number>;
  readonly skips: Skip[];
}

/**
 * Builds and renders target groups like buildTargetGroups + renderTargetGroups, but reuses the
 * work of every service whose snapshot is the same object as last time (the fetcher and the
 * enricher hand back the same object when nothing about a service changed). A steady cycle then
 * costs no building at all, and a cycle after churn rebuilds only the services that changed:
 * with 10,000 targets, re-rendering everything is most of a cycle's CPU. Lines are kept as compact
 * bytes (a tenth of their size, see CompactLine), and the file is only those lines framed (see Chunks): a steady cycle allocates nothing, and the
 * content is the same object as last time, so publishing it compares nothing.
 */
export class TargetSetBuilder {
  private readonly perService = new WeakMap<ServiceSnapshot, BuiltService>();
  private last: { inputs: readonly ServiceSnapshot[]; set: TargetSet } | undefined;

  constructor(private readonly options: BuildOptions = {}) {}

  build(snapshots: readonly ServiceSnapshot[]): TargetSet {
    if (this.last && sameElements(this.last.inputs, snapshots)) return this.last.set;
    const keys: string[] = [];
    const lines: Chunk[] = [];
    const hashes: number[] = [];
    const perNamespace = new Map<string, number>();
    const skips: Skip[] = [];
    for (const snapshot of snapshots) {
      let built = this.perService.get(snapshot);
      if (!built) {
        built = this.buildService(snapshot);
        this.perService.set(snapshot, built);
      }
      for (let i = 0; i < built.keys.length; i++) {
        keys.push(built.keys[i] as string);
        lines.push(built.lines[i] as Chunk);
        hashes.push(built.hashes[2 * i] as number, built.hashes[2 * i + 1] as number);
      }
      for (const [namespace, count] of built.perNamespace) perNamespace.set(namespace, (perNamespace.get(namespace) ?? 0) + count);
      for (const skip of built.skips) skips.push(skip);
    }
    // Sorted as indices into keys and lines: no object per target, not even for a moment.
    const order = Array.from(keys, (_, i) => i);
    order.sort((a, b) => canonicalOrder(keys[a] as string, lines[a] as Chunk, keys[b] as string, lines[b] as Chunk));
    const orderedLines = order.map((i) => lines[i] as Chunk);
    const orderedHashes = new Uint32Array(2 * order.length);
    order.forEach((from, to) => {
      orderedHashes[2 * to] = hashes[2 * from] as number;
      orderedHashes[2 * to + 1] = hashes[2 * from + 1] as number;
    });
    const set: TargetSet = {
      keys: order.map((i) => keys[i] as string),
      perNamespace,
      skips,
      content: frameLines(orderedLines),
      lines: orderedLines,
      hashes: orderedHashes,
    };
    this.last = { inputs: [...snapshots], set };
    return set;
  }

  private buildService(snapshot: ServiceSnapshot): BuiltService {
    const result = buildTargetGroups([snapshot], this.options);
    const perNamespace = new Map<string, number>();
    for (const group of result.groups) {
      const namespace = group.labels[Label.namespaceName] ?? "";
      perNamespace.set(namespace, (perNamespace.get(namespace) ?? 0) + 1);
    }
    return {
      keys: result.groups.map(targetKey),
      lines: renderCompactLines(result.groups),
      hashes: shardHashes(result.groups),
      perNamespace,
      skips: result.skips,
    };
  }
}

/**
 * sortCanonically's order (by target key, then by the rendered line) on byte lines. Lines are
 * compared as the strings they were (UTF-16 code units, as the naive rendering sorts them), not as
 * UTF-8 bytes, which order some characters differently; decoding only for a tie keeps that cheap.
 */
function canonicalOrder(keyA: string, lineA: Chunk, keyB: string, lineB: Chunk): number {
  return compareStrings(keyA, keyB) || compareStrings(chunkText(lineA), chunkText(lineB));
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}
