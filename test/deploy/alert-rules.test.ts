// deploy/prometheus/cloudmap-sd.rules.yaml: promtool accepts the rules and their unit tests
// pass; every alert is proven by those tests both to fire and to stay quiet (a rule replaced
// by one that never fires, or always fires, makes them fail); every alert has a severity, a
// summary, a description and a runbook section that exists; every metric it reads is one the
// sidecar exports, so renaming a metric breaks this test.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { havePromtool, exportedSeriesNames, promtool, requirePromtoolInCi, sidecarMetricNames } from "./promtool.js";
import { repo } from "./render.js";

requirePromtoolInCi("the alert rule checks");

const rulesDir = path.join(repo, "deploy/prometheus");
const rulesFile = path.join(rulesDir, "cloudmap-sd.rules.yaml");
const testFile = path.join(rulesDir, "cloudmap-sd.rules.test.yaml");

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
type RuleFile = { groups: { name: string; rules: AlertRule[] }[] };
type RuleTests = { tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };

const rules = parse(readFileSync(rulesFile, "utf8")) as RuleFile;
const alerts = rules.groups.flatMap((group) => group.rules);
const alertNames = alerts.map((rule) => rule.alert);

/** GitHub's anchor for a Markdown heading. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, "")
    .replace(/ /g, "-");
}
const operationsAnchors = new Set(
  readFileSync(path.join(repo, "docs/operations.md"), "utf8")
    .split("\n")
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => anchorOf(line.replace(/^#+ /, ""))),
);

describe("cloudmap-sd alert rules", () => {
  it("has the alerts the runbook documents, each named once", () => {
    expect(new Set(alertNames).size).toBe(alertNames.length);
    expect(alertNames).toEqual(
      expect.arrayContaining([
        "CloudMapSdDown",
        "CloudMapSdAbsent",
        "CloudMapSdNoRecentCycle",
        "CloudMapSdCyclesFailing",
        "CloudMapSdNoCompleteCycle",
        "CloudMapSdDiscoveryStale",
        "CloudMapSdSkippedEndpoints",
        "CloudMapSdTargetsDropped",
        "CloudMapSdAwsThrottled",
        "CloudMapSdFileWritesFailing",
      ]),
    );
  });

  it.each(alertNames)("%s has a severity, a summary, a description and a runbook section in docs/operations.md", (name) => {
    const rule = alerts.find((r) => r.alert === name)!;
    expect(["critical", "warning", "info"]).toContain(rule.labels?.["severity"]);
    expect(rule.annotations?.["summary"]?.length).toBeGreaterThan(10);
    expect(rule.annotations?.["description"]?.length).toBeGreaterThan(rule.annotations?.["summary"]?.length ?? 0);
    const runbook = rule.annotations?.["runbook_url"] ?? "";
    expect(runbook).toBe(`docs/operations.md#${name.toLowerCase()}`);
    expect(operationsAnchors, `docs/operations.md has no heading for #${name.toLowerCase()}`).toContain(name.toLowerCase());
  });

  it("reads only metrics the sidecar exports (a renamed metric fails here)", async () => {
    const exported = await exportedSeriesNames();
    const used = alerts.flatMap((rule) => sidecarMetricNames(rule.expr));
    expect(used.length).toBeGreaterThan(8);
    for (const name of used) expect(exported, `${name} is not exported by src/metrics.ts`).toContain(name);
  });

  it("has a unit test case in which each alert fires and one in which it must not", () => {
    const cases = (parse(readFileSync(testFile, "utf8")) as RuleTests).tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const name of alertNames) {
      const own = cases.filter((c) => c.alertname === name);
      expect(own.some((c) => c.exp_alerts.length > 0), `${name} never expected to fire`).toBe(true);
      expect(own.some((c) => c.exp_alerts.length === 0), `${name} never expected to stay quiet`).toBe(true);
    }
  });
});

describe.skipIf(!havePromtool)("promtool", () => {
  it("check rules accepts the file", () => {
    const result = promtool(["check", "rules", rulesFile]);
    expect(result.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(result.ok).toBe(true);
  });

  it("test rules passes the unit tests", () => {
    const result = promtool(["test", "rules", testFile]);
    expect(result.output).toContain("SUCCESS");
    expect(result.ok).toBe(true);
  });

  describe("the unit tests catch a broken rule", () => {
    let dir = "";
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), "cloudmap-sd-rules-"));
      copyFileSync(testFile, path.join(dir, path.basename(testFile)));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const withExpr = (name: string, expr: string) => {
      const broken = structuredClone(rules);
      for (const rule of broken.groups.flatMap((group) => group.rules)) if (rule.alert === name) rule.expr = expr;
      writeFileSync(path.join(dir, path.basename(rulesFile)), stringify(broken));
      return promtool(["test", "rules", path.basename(testFile)], dir);
    };

    it.each(alertNames)("%s: never firing, or always firing, fails the tests", (name) => {
      const never = withExpr(name, "vector(1) > 2");
      expect(never.ok, never.output).toBe(false);
      expect(never.output).toContain(name);
      const always = withExpr(name, "vector(1)");
      expect(always.ok, always.output).toBe(false);
      expect(always.output).toContain(name);
    });

    it("and the unchanged rules pass from the same copy (the mutation is what fails)", () => {
      const original = alerts.find((r) => r.alert === "CloudMapSdDown")!.expr;
      expect(withExpr("CloudMapSdDown", original).ok).toBe(true);
    });
  });
});
