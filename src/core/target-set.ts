import type { Chunks } from "./file-content.js";
import { Label } from "./labels.js";
import type { ServiceSnapshot } from "./model.js";
import { encodeLines, frameLines, renderGroupLine } from "./render.js";
import { type BuildOptions, buildTargetGroups, type Skip, targetKey } from "./target-groups.js";

/** One target group as the rest of the program needs it after building: rendered, keyed, counted. */
export interface RenderedTarget {
  /** Identity of the scrape endpoint (see targetKey), for diffs. */
  readonly key: string;
  /** The group's line of canonical JSON, UTF-8 (a view into its service's one buffer). */
  readonly line: Uint8Array;
  readonly namespace: string;
}

export interface TargetSet {
  readonly targets: readonly RenderedTarget[];
  readonly skips: readonly Skip[];
  /** The canonical file content: byte-identical to renderTargetGroups(buildTargetGroups(...).groups). */
  readonly content: Chunks;
}

/**
 * Builds and renders target groups like buildTargetGroups + renderTargetGroups, but reuses the
 * work of every service whose snapshot is the same object as last time (the fetcher and the
 * enricher hand back the same object when nothing about a service changed). A steady cycle then
 * costs no building at all, and a cycle after churn rebuilds only the services that changed:
 * with 10,000 targets, re-rendering everything is most of a cycle's CPU. Lines are kept as bytes,
 * and the file is only those lines framed (see Chunks): a steady cycle allocates nothing, and the
 * content is the same object as last time, so publishing it compares nothing.
 */
export class TargetSetBuilder {
  private readonly perService = new WeakMap<ServiceSnapshot, { targets: RenderedTarget[]; skips: Skip[] }>();
  private last: { inputs: readonly ServiceSnapshot[]; set: TargetSet } | undefined;

  constructor(private readonly options: BuildOptions = {}) {}

  build(snapshots: readonly ServiceSnapshot[]): TargetSet {
    if (this.last && sameElements(this.last.inputs, snapshots)) return this.last.set;
    const targets: RenderedTarget[] = [];
    const skips: Skip[] = [];
    for (const snapshot of snapshots) {
      let built = this.perService.get(snapshot);
      if (!built) {
        const result = buildTargetGroups([snapshot], this.options);
        const lines = encodeLines(result.groups.map(renderGroupLine));
        built = {
          targets: result.groups.map((group, i) => ({
            key: targetKey(group),
            line: lines[i] as Uint8Array,
            namespace: group.labels[Label.namespaceName] ?? "",
          })),
          skips: result.skips,
        };
        this.perService.set(snapshot, built);
      }
      for (const target of built.targets) targets.push(target);
      for (const skip of built.skips) skips.push(skip);
    }
    targets.sort(canonicalOrder);
    const set: TargetSet = { targets, skips, content: frameLines(targets.map((t) => t.line)) };
    this.last = { inputs: [...snapshots], set };
    return set;
  }
}

/**
 * sortCanonically's order (by target key, then by the rendered line) on byte lines. Lines are
 * compared as the strings they were (UTF-16 code units, as the naive rendering sorts them), not as
 * UTF-8 bytes, which order some characters differently; decoding only for a tie keeps that cheap.
 */
function canonicalOrder(a: RenderedTarget, b: RenderedTarget): number {
  return compareStrings(a.key, b.key) || compareStrings(decode(a.line), decode(b.line));
}

function decode(line: Uint8Array): string {
  return Buffer.from(line.buffer, line.byteOffset, line.length).toString("utf8");
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}
