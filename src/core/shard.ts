import type { Chunk } from "./compact-line.js";
import { type Chunks } from "./file-content.js";
import { Label } from "./labels.js";
import type { TargetGroup } from "./model.js";
import { frameLines } from "./render.js";

/**
 * Sharding: which of N Prometheus agents scrapes a target.
 *
 * The key is the target's identity in Cloud Map, not its address and not its place in the file:
 * namespace name, service name, instance id (the ECS task id), port and metrics path. It stays the
 * same for a target's whole life, whatever else is discovered, so every sidecar (both replicas of
 * a shard, a shared-discovery sidecar) puts it in the same shard.
 *
 * The assignment is jump consistent hash (Lamping & Veach, 2014, arXiv:1406.2294) of the key's
 * 64-bit FNV-1a hash: going from N to N+1 shards moves a target only into the new shard, about
 * 1/(N+1) of them, and a hashmod would move almost all. 64-bit arithmetic is done on two 32-bit
 * halves: BigInt would allocate per step, and every target is assigned on each change.
 */

export interface ShardSpec {
  /** 0-based, below count. */
  readonly index: number;
  /** 1..MAX_SHARDS. */
  readonly count: number;
}

export const MAX_SHARDS = 1000;

/** A 64-bit value as two unsigned 32-bit halves. */
export interface Hash64 {
  readonly hi: number;
  readonly lo: number;
}

const TWO_32 = 0x1_0000_0000;

/** The parts of the key, in order; a newline cannot occur in any of them (label values from AWS names and ids). */
export function shardKey(group: TargetGroup): string {
  const labels = group.labels;
  const address = group.targets[0] ?? "";
  const port = address.slice(address.lastIndexOf(":") + 1);
  return [
    labels[Label.namespaceName] ?? "",
    labels[Label.serviceName] ?? "",
    labels[Label.instanceId] ?? "",
    port,
    labels[Label.metricsPath] ?? "",
  ].join("\n");
}

/** FNV-1a, 64 bits, over the key's UTF-8 bytes. */
export function fnv1a64(text: string): Hash64 {
  // Keys are ASCII but for rare names: read them char by char, encode only the others.
  if (!/^[\x00-\x7f]*$/.test(text)) return fnv1a64Bytes(Buffer.from(text, "utf8"));
  let hi = OFFSET_HI;
  let lo = OFFSET_LO;
  for (let i = 0; i < text.length; i++) {
    lo = (lo ^ text.charCodeAt(i)) >>> 0;
    const low = lo * PRIME_LO;
    const nextLo = low >>> 0;
    hi = (hi * PRIME_LO + (low - nextLo) / TWO_32 + ((lo << 8) >>> 0)) >>> 0;
    lo = nextLo;
  }
  return { hi, lo };
}

// Offset basis 0xcbf29ce484222325; prime 0x100000001b3 = 2^40 + 0x1b3, so h * prime is
// h * 0x1b3 + (h << 40), mod 2^64. Every intermediate stays below 2^53: doubles are exact, and
// `>>> 0` takes an exact integer mod 2^32.
const OFFSET_HI = 0xcbf29ce4;
const OFFSET_LO = 0x84222325;
const PRIME_LO = 0x1b3;

function fnv1a64Bytes(bytes: Uint8Array): Hash64 {
  let hi = OFFSET_HI;
  let lo = OFFSET_LO;
  for (const byte of bytes) {
    lo = (lo ^ byte) >>> 0;
    const low = lo * PRIME_LO;
    const nextLo = low >>> 0;
    hi = (hi * PRIME_LO + (low - nextLo) / TWO_32 + ((lo << 8) >>> 0)) >>> 0;
    lo = nextLo;
  }
  return { hi, lo };
}

// The jump hash's linear congruential step: key * 2862933555777941757 + 1, mod 2^64.
const MUL_HI = 0x27bb2ee6;
const MUL_LO = 0x87b0b0fd;
const MUL_LO_1 = MUL_LO >>> 16;
const MUL_LO_0 = MUL_LO & 0xffff;

/** Jump consistent hash: the bucket in [0, buckets) of a 64-bit key. */
export function jumpHash(key: Hash64, buckets: number): number {
  return jump(key.hi, key.lo, buckets);
}

function jump(keyHi: number, keyLo: number, buckets: number): number {
  let hi = keyHi;
  let lo = keyLo;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    // (hi·2^32 + lo) · (MUL_HI·2^32 + MUL_LO): lo·MUL_LO in full (through 16-bit halves, each
    // partial product below 2^33), the cross terms mod 2^32.
    const lo1 = lo >>> 16;
    const lo0 = lo & 0xffff;
    const middle = lo1 * MUL_LO_0 + lo0 * MUL_LO_1;
    const low = lo0 * MUL_LO_0 + (middle % 0x1_0000) * 0x1_0000;
    const productLo = low >>> 0;
    const productHi = lo1 * MUL_LO_1 + Math.floor(middle / 0x1_0000) + (low - productLo) / TWO_32;
    hi = (productHi + Math.imul(hi, MUL_LO) + Math.imul(lo, MUL_HI)) >>> 0;
    lo = productLo + 1;
    if (lo === TWO_32) {
      lo = 0;
      hi = (hi + 1) >>> 0;
    }
    // (key >>> 33) + 1, i.e. the top 31 bits.
    j = Math.floor((b + 1) * (2 ** 31 / ((hi >>> 1) + 1)));
  }
  return b;
}

/** The shard of one target group. */
export function shardOf(group: TargetGroup, count: number): number {
  return count <= 1 ? 0 : jumpHash(fnv1a64(shardKey(group)), count);
}

/**
 * Each group's key hash, as hi/lo pairs (2 numbers per group): computed once when a service's
 * groups are built, so a change of the shard count, or a request for another one, hashes nothing.
 */
export function shardHashes(groups: readonly TargetGroup[]): Uint32Array {
  const hashes = new Uint32Array(2 * groups.length);
  groups.forEach((group, i) => {
    const { hi, lo } = fnv1a64(shardKey(group));
    hashes[2 * i] = hi;
    hashes[2 * i + 1] = lo;
  });
  return hashes;
}

/** The targets, rendered, in the file's order, with their key hashes: what a shard is cut from. */
export interface ShardableTargets {
  readonly keys: readonly string[];
  readonly lines: readonly Chunk[];
  /** hashes[2i], hashes[2i+1]: the hi and lo halves of line i's key hash. */
  readonly hashes: Uint32Array;
}

/** Every target's shard for `count` shards, in the file's order. */
export function assignShards(targets: ShardableTargets, count: number): Uint16Array {
  const shards = new Uint16Array(targets.lines.length);
  if (count <= 1) return shards;
  for (let i = 0; i < shards.length; i++) {
    shards[i] = jump(targets.hashes[2 * i] as number, targets.hashes[2 * i + 1] as number, count);
  }
  return shards;
}

/** Targets per shard. */
export function countPerShard(shards: Uint16Array, count: number): number[] {
  const counts = new Array<number>(count).fill(0);
  for (const shard of shards) counts[shard] = (counts[shard] as number) + 1;
  return counts;
}

export interface Shard {
  readonly keys: readonly string[];
  /** The same canonical bytes as the whole file, with only this shard's lines (shared, not copied). */
  readonly content: Chunks;
}

/** One shard's part of the targets, cut from an assignment made by assignShards. */
export function selectShard(targets: ShardableTargets, shards: Uint16Array, index: number): Shard {
  const keys: string[] = [];
  const lines: Chunk[] = [];
  for (let i = 0; i < shards.length; i++) {
    if (shards[i] !== index) continue;
    keys.push(targets.keys[i] as string);
    lines.push(targets.lines[i] as Chunk);
  }
  return { keys, content: frameLines(lines) };
}

/**
 * Badly unbalanced: the fullest shard holds more than 1.5 times the mean. Only judged with at least
 * 100 targets per shard on average: below that, a random spread alone can get there.
 */
export function imbalance(counts: readonly number[]): { max: number; mean: number } | undefined {
  if (counts.length < 2) return undefined;
  const total = counts.reduce((sum, n) => sum + n, 0);
  const mean = total / counts.length;
  const max = Math.max(...counts);
  return mean >= 100 && max > 1.5 * mean ? { max, mean } : undefined;
}

/**
 * Parses ?shard=I&shards=N of /prometheus-targets. Both or neither; returns undefined for neither
 * and a one-line reason for anything else that is not a valid shard.
 */
export function parseShardQuery(params: URLSearchParams): ShardSpec | undefined | { error: string } {
  const shard = params.get("shard");
  const shards = params.get("shards");
  if (shard === null && shards === null) return undefined;
  if (shard === null || shards === null) return { error: "give both shard and shards (e.g. ?shard=0&shards=3), or neither" };
  if (!/^\d{1,4}$/.test(shards) || Number(shards) < 1 || Number(shards) > MAX_SHARDS) {
    return { error: `shards=${JSON.stringify(shards)}: expected an integer from 1 to ${MAX_SHARDS}` };
  }
  if (!/^\d{1,4}$/.test(shard) || Number(shard) >= Number(shards)) {
    return { error: `shard=${JSON.stringify(shard)}: expected an integer from 0 to ${Number(shards) - 1} (shard is 0-based, below shards)` };
  }
  return { index: Number(shard), count: Number(shards) };
}
