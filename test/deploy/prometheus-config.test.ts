// The Prometheus configurations in task-definitions/prometheus/ are what the ECS task
// runs (through the SSM parameter the sidecar copies into CONFIG_FILE_DIR). promtool
// validates them, in agent mode (how the task runs Prometheus) and in server mode (so a
// user may drop --agent), together with a file_sd file shaped like the sidecar's output.
// CI installs promtool (.ci/run); there a missing promtool fails the test, locally it skips.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { removeRendered, renderAll, sampleValues } from "./render.js";

const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" });
const havePromtool = promtool.status === 0;
if (!havePromtool) {
  if (process.env["CI"] === "true") throw new Error("promtool is not installed: CI must install it (apt-get install prometheus)");
  console.warn("SKIPPING promtool checks: promtool is not installed (apt-get install prometheus)");
}

const rendered = renderAll();
afterAll(() => removeRendered(rendered));
const configs = ["prometheus.yaml", "prometheus-sigv4-proxy.yaml", "prometheus-ha.template.yaml"];
const read = (name: string) => readFileSync(path.join(rendered, "prometheus", name), "utf8");

// What the sidecar puts in place of its runtime placeholders when it writes prometheus.yaml.
const runtimeValues: Record<string, string> = {
  CLOUDMAP_SD_SHARD_INDEX: "2",
  CLOUDMAP_SD_SHARD_COUNT: "3",
  CLOUDMAP_SD_REPLICA: "0123456789abcdef0123456789abcdef",
};
const fillRuntime = (text: string) => text.replace(/\$\{(CLOUDMAP_SD_[A-Z_]+)\}/g, (whole, name: string) => runtimeValues[name] ?? whole);

type Config = {
  global: { external_labels?: Record<string, string> };
  scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[];
  remote_write: { url: string }[];
};

// One target group as cloudmap-sd writes it, with every label family it emits.
const sampleTargets = [
  {
    targets: ["10.0.1.23:8080"],
    labels: {
      __metrics_path__: "/metrics",
      cluster: "prometheus-cluster",
      service: "webapp",
      taskdefinition: "webapp",
      namespace: "ecs-services",
      taskid: "0123456789abcdef0123456789abcdef",
      __meta_cloudmap_namespace_name: "ecs-services",
      __meta_cloudmap_service_name: "webapp-svc",
      __meta_cloudmap_instance_id: "0123456789abcdef0123456789abcdef",
      __meta_cloudmap_attribute_AWS_INSTANCE_IPV4: "10.0.1.23",
      __meta_cloudmap_attribute_ECS_CLUSTER_NAME: "prometheus-cluster",
      __meta_cloudmap_tag_METRICS_PATH: "/metrics",
      __meta_cloudmap_tag_METRICS_PORT: "8080",
      __meta_cloudmap_endpoint: "app",
      __meta_ecs_launch_type: "FARGATE",
      __meta_ecs_availability_zone: "eu-west-1a",
    },
  },
];

describe.each(configs)("%s", (name) => {
  it.skipIf(!havePromtool)("passes promtool check config in agent and server mode, with a sidecar-shaped file_sd file", () => {
    // Point file_sd at a real file so promtool also validates its content and label names.
    const sdFile = path.join(rendered, "ecs-services.json");
    writeFileSync(sdFile, JSON.stringify(sampleTargets));
    // As shipped (a template) and as the sidecar writes it (runtime placeholders filled).
    for (const [variant, text] of [["template", read(name)], ["filled", fillRuntime(read(name))]] as const) {
      const local = path.join(rendered, `local-${variant}-${name}`);
      writeFileSync(local, text.replaceAll("/etc/config/ecs-services.json", sdFile));
      for (const mode of [["--agent"], []]) {
        const output = execFileSync("promtool", ["check", "config", ...mode, local], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        expect(output).toContain("SUCCESS");
        expect(output).not.toContain("WARNING");
      }
    }
  });

  it("scrapes the agent itself and the sidecar, so AMP sees prometheus_remote_storage_* and cloudmap_sd_*", () => {
    const config = parse(read(name)) as Config;
    const job = (jobName: string) => config.scrape_configs.find((j) => j.job_name === jobName)?.static_configs?.flatMap((s) => s.targets);
    expect(job("prometheus")).toEqual(["localhost:9090"]);
    expect(job("cloudmap-sd")).toEqual(["localhost:9001"]);
  });

  it("fits the SSM Standard tier (4 KB) once rendered", () => {
    expect(Buffer.byteLength(read(name))).toBeLessThan(4096);
  });

  it("scrapes the sidecar's file_sd output and remote-writes once to the workspace", () => {
    const config = parse(read(name)) as { scrape_configs: unknown[]; remote_write: { url: string }[] };
    expect(config.remote_write.map((rw) => rw.url).join()).toContain(`/workspaces/${sampleValues.WORKSPACE_ID}/api/v1/remote_write`);
  });
});

it("keeps the scrape configuration identical in both single-agent variants: only remote_write differs", () => {
  const [native, proxy] = configs.map((name) => parse(read(name)) as Config);
  expect({ ...proxy, remote_write: undefined }).toEqual({ ...native, remote_write: undefined });
});

it("labels each HA replica for AMP's deduplication: the same cluster per shard, the task id as __replica__", () => {
  const template = parse(read("prometheus-ha.template.yaml")) as Config;
  expect(template.global.external_labels).toEqual({ cluster: "shard-${CLOUDMAP_SD_SHARD_INDEX}", __replica__: "${CLOUDMAP_SD_REPLICA}" });
  const filled = parse(fillRuntime(read("prometheus-ha.template.yaml"))) as Config;
  expect(filled.global.external_labels).toEqual({ cluster: "shard-2", __replica__: runtimeValues["CLOUDMAP_SD_REPLICA"] });
  // Only the sidecar's own placeholders are left for run time; render.sh filled the rest.
  expect(read("prometheus-ha.template.yaml").match(/\$\{[A-Z_]+\}/g)?.every((p) => /^\$\{CLOUDMAP_SD_(SHARD_INDEX|SHARD_COUNT|REPLICA)\}$/.test(p))).toBe(true);
});
