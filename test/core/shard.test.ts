import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../dev/emulator/control/faults.js";
import { textOf } from "../../src/core/file-content.js";
import type { TargetGroup } from "../../src/core/model.js";
import { renderCompactLines, renderTargetGroups } from "../../src/core/render.js";
import {
  assignShards,
  countPerShard,
  fnv1a64,
  imbalance,
  jumpHash,
  parseShardQuery,
  type ShardableTargets,
  selectShard,
  shardHashes,
  shardKey,
  shardOf,
} from "../../src/core/shard.js";

const MASK64 = (1n << 64n) - 1n;

/** The textbook algorithms on BigInt, to check the 32-bit-halves versions against. */
function referenceFnv1a64(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, "utf8")) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & MASK64;
  return hash;
}

function referenceJumpHash(key: bigint, buckets: number): number {
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & MASK64;
    j = Math.floor((b + 1) * (Number(1n << 31n) / Number((key >> 33n) + 1n)));
  }
  return b;
}

const asBigInt = ({ hi, lo }: { hi: number; lo: number }) => (BigInt(hi) << 32n) | BigInt(lo);


function group(namespace: string, service: string, instance: string, address: string, path = "/metrics", extra: Record<string, string> = {}): TargetGroup {
  return {
    targets: [address],
    labels: {
      __metrics_path__: path,
      __meta_cloudmap_namespace_name: namespace,
      __meta_cloudmap_service_name: service,
      __meta_cloudmap_instance_id: instance,
      ...extra,
    },
  };
}

/** An estate of `count` targets: services of 1 to 20 tasks, some with a second endpoint. */
function estate(count: number, seed = 1): TargetGroup[] {
  const next = mulberry32(seed);
  const groups: TargetGroup[] = [];
  let service = 0;
  while (groups.length < count) {
    service++;
    const tasks = 1 + Math.floor(next() * 20);
    for (let t = 0; t < tasks && groups.length < count; t++) {
      const id = Math.floor(next() * 2 ** 52).toString(16).padStart(32, "0");
      const address = `10.${service % 256}.${t}.${Math.floor(next() * 250)}`;
      groups.push(group(`ns-${service % 7}.local`, `svc-${service}`, id, `${address}:8080`));
      if (next() < 0.3 && groups.length < count) groups.push(group(`ns-${service % 7}.local`, `svc-${service}`, id, `${address}:9100`, "/ecs-metrics"));
    }
  }
  return groups;
}

/** The groups as the builder keeps them: compact lines, one template and buffer per run of one service's groups. */
function shardable(groups: readonly TargetGroup[]): ShardableTargets {
  const services: TargetGroup[][] = [];
  for (const group of groups) {
    const last = services.at(-1);
    const name = group.labels.__meta_cloudmap_service_name;
    if (last !== undefined && last[0]?.labels.__meta_cloudmap_service_name === name) last.push(group);
    else services.push([group]);
  }
  return { keys: groups.map(shardKey), lines: services.flatMap(renderCompactLines), hashes: shardHashes(groups) };
}

describe("fnv1a64", () => {
  it("gives the published FNV-1a 64 test vectors", () => {
    expect(asBigInt(fnv1a64(""))).toBe(0xcbf29ce484222325n);
    expect(asBigInt(fnv1a64("a"))).toBe(0xaf63dc4c8601ec8cn);
    expect(asBigInt(fnv1a64("foobar"))).toBe(0x85944171f73967e8n);
  });

  it("equals the BigInt reference on many keys, non-ASCII ones too", () => {
    const next = mulberry32(7);
    for (let i = 0; i < 2000; i++) {
      const key = `ns-${i}\nsvc-${Math.floor(next() * 1e9)}\n${next().toString(36)}\n${i % 65536}\n/métriques/${"é".repeat(i % 5)}`;
      expect(asBigInt(fnv1a64(key))).toBe(referenceFnv1a64(key));
    }
  });
});

describe("jumpHash", () => {
  it("equals the BigInt reference for every bucket count up to 1000", () => {
    const next = mulberry32(11);
    for (let i = 0; i < 3000; i++) {
      const key = { hi: Math.floor(next() * 2 ** 32), lo: Math.floor(next() * 2 ** 32) };
      const buckets = 1 + (i % 1000);
      expect(jumpHash(key, buckets)).toBe(referenceJumpHash(asBigInt(key), buckets));
    }
  });

  it("handles the extreme keys (carry out of the low half, all ones)", () => {
    for (const key of [
      { hi: 0, lo: 0 },
      { hi: 0, lo: 0xffffffff },
      { hi: 0xffffffff, lo: 0xffffffff },
      { hi: 0x80000000, lo: 1 },
    ]) {
      for (const buckets of [1, 2, 3, 17, 1000]) expect(jumpHash(key, buckets)).toBe(referenceJumpHash(asBigInt(key), buckets));
    }
  });
});

describe("shardKey", () => {
  it("is the target's identity in Cloud Map, not its address nor its other labels", () => {
    const base = group("prod.local", "web", "task-1", "10.0.0.1:8080");

    // A task keeps its shard whatever else changes about it (health, tags, enrichment).
    expect(shardKey(group("prod.local", "web", "task-1", "10.0.0.1:8080", "/metrics", { __meta_cloudmap_instance_health_status: "UNHEALTHY" }))).toBe(shardKey(base));
    // Another task on a reused address is another target.
    expect(shardKey(group("prod.local", "web", "task-2", "10.0.0.1:8080"))).not.toBe(shardKey(base));
    // Each endpoint of a task is a target of its own.
    expect(shardKey(group("prod.local", "web", "task-1", "10.0.0.1:9100"))).not.toBe(shardKey(base));
    expect(shardKey(group("prod.local", "web", "task-1", "10.0.0.1:8080", "/other"))).not.toBe(shardKey(base));
    expect(shardKey(group("prod.local", "api", "task-1", "10.0.0.1:8080"))).not.toBe(shardKey(base));
    expect(shardKey(group("test.local", "web", "task-1", "10.0.0.1:8080"))).not.toBe(shardKey(base));
    expect(shardKey(base)).toBe("prod.local\nweb\ntask-1\n8080\n/metrics");
  });

  it("takes the port of an IPv6 address", () => {
    expect(shardKey(group("n", "s", "i", "[2001:db8::1]:9090"))).toBe("n\ns\ni\n9090\n/metrics");
  });
});

describe("sharding an estate", () => {
  const groups = estate(3000);
  const targets = shardable(groups);

  it.each([1, 2, 3, 5, 16, 1000])("puts every target in exactly one of %i shards, the union being the whole file", (count) => {
    const shards = assignShards(targets, count);
    const parts = Array.from({ length: count }, (_, index) => selectShard(targets, shards, index));

    const keys = parts.flatMap((part) => part.keys);
    expect(keys).toHaveLength(groups.length);
    expect(new Set(keys).size).toBe(groups.length);
    expect([...shards].every((shard) => shard < count)).toBe(true);
    // Each part is the whole file's bytes with only its lines, in the same order.
    for (const [index, part] of parts.entries()) {
      expect(textOf(part.content)).toBe(renderTargetGroups(groups.filter((_, i) => shards[i] === index)));
    }
  });

  it("with one shard is byte-identical to the unsharded file", () => {
    expect(textOf(selectShard(targets, assignShards(targets, 1), 0).content)).toBe(renderTargetGroups(groups));
  });

  it("assigns a target by its key alone: the same shard in another estate, in another order", () => {
    const other = shardable([...estate(500, 99), ...groups.slice(0, 100)].reverse());
    const shards = assignShards(other, 7);
    const before = new Map(groups.map((g) => [shardKey(g), shardOf(g, 7)]));

    other.keys.forEach((key, i) => {
      if (before.has(key)) expect(shards[i]).toBe(before.get(key));
    });
    expect(groups.slice(0, 100).every((g) => before.get(shardKey(g)) === shardOf(g, 7))).toBe(true);
  });

  it.each(Array.from({ length: 16 }, (_, i) => i + 1))("going from %i to one more shard moves about 1/(N+1) of the targets, all into the new shard", (count) => {
    const before = assignShards(targets, count);
    const after = assignShards(targets, count + 1);

    let moved = 0;
    for (let i = 0; i < before.length; i++) {
      if (before[i] === after[i]) continue;
      moved++;
      expect(after[i]).toBe(count);
    }
    const expected = groups.length / (count + 1);
    // Binomial spread: 5 standard deviations around the expectation.
    const spread = 5 * Math.sqrt(expected);
    expect(moved).toBeGreaterThan(expected - spread);
    expect(moved).toBeLessThan(expected + spread);
  });

  it("spreads targets evenly", () => {
    const counts = countPerShard(assignShards(shardable(estate(12_000, 3)), 8), 8);

    expect(Math.max(...counts) / (12_000 / 8)).toBeLessThan(1.1);
    expect(imbalance(counts)).toBeUndefined();
  });
});

describe("imbalance", () => {
  it.each([
    [[100, 100, 100], undefined],
    [[400, 100, 100], { max: 400, mean: 200 }],
    // Too few targets per shard to tell a skew from chance.
    [[40, 10, 10], undefined],
    [[1000], undefined],
  ])("judges %j", (counts, expected) => {
    expect(imbalance(counts)).toEqual(expected);
  });
});

describe("parseShardQuery", () => {
  const parse = (query: string) => parseShardQuery(new URLSearchParams(query));

  it("reads shard and shards", () => {
    expect(parse("shard=2&shards=3")).toEqual({ index: 2, count: 3 });
    expect(parse("shards=1000&shard=999")).toEqual({ index: 999, count: 1000 });
    expect(parse("")).toBeUndefined();
    expect(parse("other=1")).toBeUndefined();
  });

  it.each([
    ["shard=1", "give both shard and shards"],
    ["shards=3", "give both shard and shards"],
    ["shard=3&shards=3", "shard=\"3\": expected an integer from 0 to 2"],
    ["shard=-1&shards=3", "shard=\"-1\""],
    ["shard=1.5&shards=3", "shard=\"1.5\""],
    ["shard=a&shards=3", "shard=\"a\""],
    ["shard=0&shards=0", "shards=\"0\": expected an integer from 1 to 1000"],
    ["shard=0&shards=1001", "shards=\"1001\""],
    ["shard=0&shards=", "shards=\"\""],
    ["shard=0&shards=3x", "shards=\"3x\""],
  ])("rejects %j with a one-line reason", (query, reason) => {
    const result = parse(query);
    expect(result).toHaveProperty("error");
    const error = (result as { error: string }).error;
    expect(error).toContain(reason);
    expect(error).not.toContain("\n");
  });
});
