// Shared by the deployment tests that run promtool (alert rules, dashboard queries): where
// promtool is, and which metric names the sidecar really exports.
// CI installs promtool (.ci/run): there a missing promtool fails the test file; locally the
// promtool checks are skipped, loudly.
import { spawnSync } from "node:child_process";
import { ManualClock } from "../../src/clock.js";
import { Metrics, registerBuildInfo } from "../../src/metrics.js";

export const havePromtool = spawnSync("promtool", ["--version"], { encoding: "utf8" }).status === 0;

export function requirePromtoolInCi(what: string): void {
  if (havePromtool) return;
  if (process.env["CI"] === "true") throw new Error("promtool is not installed: CI must install it (apt-get install prometheus)");
  console.warn(`SKIPPING ${what}: promtool is not installed (apt-get install prometheus)`);
}

export interface PromtoolResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Runs promtool with the given arguments; never throws on a non-zero exit (the caller asserts). */
export function promtool(args: readonly string[], cwd?: string): PromtoolResult {
  const result = spawnSync("promtool", args, { encoding: "utf8", cwd, timeout: 60_000 });
  if (result.error) throw result.error;
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/**
 * Every series name the sidecar's registry exposes: its own metrics, the build info and
 * prom-client's default process_* / nodejs_* metrics, with a histogram's _bucket, _sum and
 * _count series. Built from the same code the sidecar runs, so a renamed metric shows here.
 */
export async function exportedSeriesNames(): Promise<Set<string>> {
  const metrics = new Metrics(new ManualClock(), () => new Map([["ecs-services", undefined]]));
  registerBuildInfo(metrics.registry, "0.0.0-test");
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    // prom-client types `type` as an enum; at run time it is the string.
    if (String(metric.type) === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(metric.name + suffix);
  }
  return names;
}

/**
 * The metric names a PromQL expression reads that belong to the sidecar's process: cloudmap_sd_*,
 * process_* and nodejs_*. A lexical scan, enough for the expressions we ship (no metric name
 * appears inside a string there, and label names never start with these prefixes).
 */
export function sidecarMetricNames(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:cloudmap_sd|process|nodejs)_[a-zA-Z0-9_:]+\b/g) ?? [])];
}
