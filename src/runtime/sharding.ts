import type { Logger } from "pino";
import type { FileContent } from "../core/file-content.js";
import { assignShards, countPerShard, imbalance, type Shard, type ShardSpec, selectShard } from "../core/shard.js";
import type { TargetSet } from "../core/target-set.js";
import type { Metrics } from "../metrics.js";
import { ConditionLog } from "./condition-log.js";

/** Cached shards of one built set: a steady cycle (the same set object) cuts nothing. */
interface Cut {
  readonly set: TargetSet;
  /** Assignments by shard count; the configured one always, others as /prometheus-targets asks. */
  readonly assignments: Map<number, Uint16Array>;
  /** Shards by "index/count". */
  readonly shards: Map<string, Shard>;
}

/** Queried shard counts other than SHARD_COUNT kept per set: agents of one estate ask for one or two. */
const MAX_CACHED_COUNTS = 4;

/**
 * This sidecar's shard of each cycle's targets (SHARD_COUNT, SHARD_INDEX), any other shard for
 * /prometheus-targets?shard=I&shards=N, the per-shard metric and the imbalance warning. With one
 * shard the targets pass through untouched: the same objects, so the same bytes as before sharding.
 */
export class Sharding {
  private current: Cut | undefined;
  /** The last set whose shard was published: what other shards are served from, so they match the file. */
  private lastPublished: Cut | undefined;
  private readonly unbalanced: ConditionLog<{ max: number; mean: number }>;
  private readonly otherCounts = new Set<number>();

  constructor(
    readonly spec: ShardSpec,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.unbalanced = new ConditionLog({
      appeared: (_key, { max, mean }) =>
        logger.warn(
          { shardCount: spec.count, maxTargets: max, meanTargets: Math.round(mean), hint: "many targets share a shard key (see docs/sharding.md); check cloudmap_sd_shard_targets" },
          "shards are badly unbalanced: the fullest holds more than 1.5 times the mean",
        ),
      cleared: () => logger.info({ shardCount: spec.count }, "shards are balanced again"),
    });
  }

  /** This sidecar's shard of `set`. */
  cut(set: TargetSet): Shard {
    if (this.spec.count === 1) return { keys: set.keys, content: set.content };
    return this.shardOf(this.cutOf(set), this.spec);
  }

  /** Records that `set`'s shard was published: counts per shard, imbalance, what queries are served from. */
  published(set: TargetSet): void {
    const cut = this.cutOf(set);
    if (this.lastPublished === cut) return;
    this.lastPublished = cut;
    const counts = countPerShard(this.assignment(cut, this.spec.count), this.spec.count);
    this.metrics.shardTargets.reset();
    counts.forEach((count, shard) => this.metrics.shardTargets.set({ shard: String(shard) }, count));
    const uneven = imbalance(counts);
    this.unbalanced.update(new Map(uneven ? [["unbalanced", uneven]] : []));
  }

  /**
   * Any shard, for /prometheus-targets: this sidecar's own is the published file itself (held or
   * not); another is cut from the last published discovery. Undefined before the first publish.
   */
  serve(query: ShardSpec, file: FileContent | undefined): FileContent | undefined {
    if (query.index === this.spec.index && query.count === this.spec.count) return file;
    const cut = this.lastPublished;
    if (!cut) return undefined;
    if (query.count === 1) return cut.set.content;
    if (query.count !== this.spec.count && !this.otherCounts.has(query.count)) {
      this.otherCounts.add(query.count);
      this.logger.info(
        { shards: query.count, shardCount: this.spec.count },
        "serving shards of a shard count other than SHARD_COUNT: cloudmap_sd_shard_targets and the imbalance warning describe SHARD_COUNT",
      );
    }
    return this.shardOf(cut, query).content;
  }

  private cutOf(set: TargetSet): Cut {
    if (this.current?.set !== set) this.current = { set, assignments: new Map(), shards: new Map() };
    return this.current;
  }

  private assignment(cut: Cut, count: number): Uint16Array {
    let shards = cut.assignments.get(count);
    if (!shards) {
      if (cut.assignments.size > MAX_CACHED_COUNTS) cut.assignments.clear();
      shards = assignShards(cut.set, count);
      cut.assignments.set(count, shards);
    }
    return shards;
  }

  private shardOf(cut: Cut, spec: ShardSpec): Shard {
    const key = `${spec.index}/${spec.count}`;
    let shard = cut.shards.get(key);
    if (!shard) {
      if (cut.shards.size > MAX_CACHED_COUNTS * 8) cut.shards.clear();
      shard = selectShard(cut.set, this.assignment(cut, spec.count), spec.index);
      cut.shards.set(key, shard);
    }
    return shard;
  }
}
