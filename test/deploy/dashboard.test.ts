// deploy/grafana/cloudmap-sd.dashboard.json: every PromQL expression parses (promtool checks
// them written as recording rules, so no PromQL parser dependency is needed), every metric it
// reads is one the sidecar exports (a renamed metric fails here), and the data source is a
// variable so the same file imports into Amazon Managed Grafana over AMP or any Prometheus.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { exportedSeriesNames, havePromtool, promtool, requirePromtoolInCi, sidecarMetricNames } from "./promtool.js";
import { repo } from "./render.js";

requirePromtoolInCi("the dashboard query checks");

interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboardFile = path.join(repo, "deploy/grafana/cloudmap-sd.dashboard.json");
const dashboard = JSON.parse(readFileSync(dashboardFile, "utf8")) as Dashboard;
const panels = dashboard.panels.filter((panel) => panel.type !== "row");
const queries = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));

// Grafana's variables, replaced by what Grafana would send, so promtool sees plain PromQL.
const grafanaValues: Record<string, string> = { __rate_interval: "2m", __interval: "1m", job: "cloudmap-sd" };
function asPromql(expr: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => {
    const value = grafanaValues[name];
    if (value === undefined) throw new Error(`unknown Grafana variable ${whole} in ${expr}`);
    return value;
  });
}
const variableQuery = (variable: Variable) => (typeof variable.query === "string" ? variable.query : variable.query.query);

describe("Grafana dashboard", () => {
  it("takes its data source from a Prometheus data source variable, in every panel and query", () => {
    const variable = dashboard.templating.list.find((v) => v.name === "datasource");
    expect(variable).toMatchObject({ type: "datasource", query: "prometheus" });
    const uses = [
      ...panels.map((panel) => panel.datasource),
      ...queries.map(({ target }) => target.datasource),
      ...dashboard.templating.list.filter((v) => v.type === "query").map((v) => v.datasource),
    ];
    for (const datasource of uses) expect(datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
  });

  it("has unique panel ids, every panel on the 24-column grid, and a query in every panel", () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
  });

  it("shows what the issue asks for: cycle duration, calls by operation and outcome, targets, staleness, skips, failures, RSS and CPU", () => {
    const all = queries.map(({ target }) => target.expr).join("\n");
    for (const needle of [
      "cloudmap_sd_cycle_duration_seconds_bucket",
      "sum by (operation, outcome) (rate(cloudmap_sd_aws_requests_total",
      "sum by (namespace) (cloudmap_sd_targets",
      "cloudmap_sd_staleness_seconds",
      "sum by (reason) (cloudmap_sd_skipped_endpoints",
      "sum by (kind) (rate(cloudmap_sd_aws_failures_total",
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
    ]) {
      expect(all).toContain(needle);
    }
  });

  it("reads only metrics the sidecar exports, in panels and in variable queries (a renamed metric fails here)", async () => {
    const exported = await exportedSeriesNames();
    const used = [
      ...queries.flatMap(({ target }) => sidecarMetricNames(target.expr)),
      ...dashboard.templating.list.filter((v) => v.type === "query").flatMap((v) => sidecarMetricNames(variableQuery(v))),
    ];
    expect(new Set(used).size).toBeGreaterThan(15);
    for (const name of used) expect(exported, `${name} is not exported by src/metrics.ts`).toContain(name);
  });

  it("uses no Grafana variable the test does not know", () => {
    for (const { target } of queries) expect(() => asPromql(target.expr)).not.toThrow();
  });

  it.skipIf(!havePromtool)("has only expressions that parse: promtool checks them written as recording rules", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cloudmap-sd-dashboard-"));
    try {
      const rules = queries.map(({ panel, target }) => ({ record: `dashboard:panel_${panel.id}_${target.refId}`, expr: asPromql(target.expr) }));
      const file = path.join(dir, "dashboard-queries.rules.yaml");
      writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }));
      const result = promtool(["check", "rules", file]);
      expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(result.ok).toBe(true);

      // The same check rejects a broken expression, so a parse error cannot pass unnoticed.
      writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules: [{ record: "dashboard:broken", expr: "sum by (namespace (cloudmap_sd_targets)" }] }] }));
      expect(promtool(["check", "rules", file]).ok).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
