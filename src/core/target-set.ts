import type { ServiceSnapshot } from "./model.js";
import { renderGroupLine, renderLines } from "./render.js";
import { type BuildOptions, buildTargetGroups, type Skip, sortCanonically, targetKey } from "./target-groups.js";
import { Label } from "./labels.js";

/** One target group as the rest of the program needs it after building: rendered, keyed, counted. */
export interface RenderedTarget {
  /** Identity of the scrape endpoint (see targetKey), for diffs. */
  readonly key: string;
  readonly line: string;
  readonly namespace: string;
}

export interface TargetSet {
  readonly targets: readonly RenderedTarget[];
  readonly skips: readonly Skip[];
  /** The canonical file content: byte-identical to renderTargetGroups(buildTargetGroups(...).groups). */
  readonly content: string;
}

/**
 * Builds and renders target groups like buildTargetGroups + renderTargetGroups, but reuses the
 * work of every service whose snapshot is the same object as last time (the fetcher and the
 * enricher hand back the same object when nothing about a service changed). A steady cycle then
 * costs no building at all, and a cycle after churn rebuilds only the services that changed:
 * with 10,000 targets, re-rendering everything is most of a cycle's CPU.
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
        built = {
          targets: result.groups.map((group) => ({
            key: targetKey(group),
            line: renderGroupLine(group),
            namespace: group.labels[Label.namespaceName] ?? "",
          })),
          skips: result.skips,
        };
        this.perService.set(snapshot, built);
      }
      targets.push(...built.targets);
      skips.push(...built.skips);
    }
    const sorted = sortCanonically(targets, (t) => t.key, (t) => t.line);
    const set: TargetSet = { targets: sorted, skips, content: renderLines(sorted.map((t) => t.line)) };
    this.last = { inputs: [...snapshots], set };
    return set;
  }
}

function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}
