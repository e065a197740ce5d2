import { readFile } from "node:fs/promises";

export interface RssSample {
  readonly atMs: number;
  readonly kib: number;
}

/** VmRSS of a process in KiB from /proc (Linux); undefined when it is gone or /proc is missing. */
export async function readRssKib(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface RssVerdict {
  readonly ok: boolean;
  readonly detail: string;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/**
 * A steady upward trend, judged tolerantly: after the warm-up, the last third's median must exceed
 * the first third's by more than both `ratio` and `minGrowthKib`, and the middle third must lie in
 * between (growth all along, not one step such as a lazily loaded module or a heap resize).
 */
export function judgeRss(
  samples: readonly RssSample[],
  warmupEndMs: number,
  { ratio = 1.5, minGrowthKib = 40 * 1024, minSamples = 9 } = {},
): RssVerdict {
  const settled = samples.filter((s) => s.atMs >= warmupEndMs).map((s) => s.kib);
  if (settled.length < minSamples) return { ok: true, detail: `too few samples after warm-up (${settled.length}) to judge a trend` };
  const third = Math.floor(settled.length / 3);
  const [first, middle, last] = [settled.slice(0, third), settled.slice(third, settled.length - third), settled.slice(-third)].map(median) as [
    number,
    number,
    number,
  ];
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const detail = `medians after warm-up: first third ${mib(first)}, middle ${mib(middle)}, last third ${mib(last)}`;
  const steady = last > first * ratio && last - first > minGrowthKib && middle > first && middle < last;
  return { ok: !steady, detail: steady ? `steady growth: ${detail}` : detail };
}
