/**
 * Durations in settings: plain seconds as the Go sidecar took them (`30`, `0.5`), or Prometheus'
 * own duration syntax (`30s`, `5m`, `1h30m`, `500ms`, `1d`), so a value copied from a Prometheus
 * config means the same here. Prometheus' rules: units y w d h m s ms, each at most once, in that
 * order, an integer per unit; a year is 365 days and a week 7 days.
 */
const UNIT_MS = { y: 365 * 86_400_000, w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
const PROMETHEUS_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const PLAIN_SECONDS = /^\d+(?:\.\d+)?$/;

/** Seconds for `text`, or undefined when it is neither plain seconds nor a Prometheus duration. */
export function parseDurationSeconds(text: string): number | undefined {
  const value = text.trim();
  if (PLAIN_SECONDS.test(value)) return Number(value);
  const match = PROMETHEUS_DURATION.exec(value);
  // The regex matches "" (every part optional); Prometheus rejects an empty duration too.
  if (!match || value === "") return undefined;
  const units = Object.values(UNIT_MS);
  let ms = 0;
  for (const [index, amount] of match.slice(1).entries()) {
    if (amount !== undefined) ms += Number(amount) * (units[index] as number);
  }
  // Whole milliseconds divided once, so 1h30m is exactly 5400 and 500ms exactly 0.5.
  return ms / 1000;
}

/** `0.001` → `1ms`, `90` → `1m30s`, `86400` → `1d`: bounds in help and error texts read like values. */
export function formatDuration(seconds: number): string {
  let ms = Math.round(seconds * 1000);
  if (ms === 0) return "0s";
  let text = "";
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    if (unit === "y" || unit === "w") continue; // "1w" reads worse than "7d" for our ranges
    const amount = Math.floor(ms / size);
    if (amount > 0) text += `${amount}${unit}`;
    ms -= amount * size;
  }
  return text;
}
