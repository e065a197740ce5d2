import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ConfigError } from "../../src/errors.js";
import { fillPlaceholders, PLACEHOLDERS, prometheusConfigReader, UnknownPlaceholderError } from "../../src/output/prometheus-config.js";
import { tempDirs } from "../helpers/fixtures.js";

const values = { shardIndex: 2, shardCount: 3, replica: "4d1ec7e0a3d54c6a9a3b2f1e0c9d8b7a" };
const SHIPPED_TEMPLATE = new URL("../../task-definitions/prometheus/prometheus-ha.template.yaml", import.meta.url);

const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" });
const havePromtool = promtool.status === 0;
if (!havePromtool) {
  if (process.env.CI === "true") throw new Error("promtool is not installed: CI must install it (apt-get install prometheus)");
  console.warn("\n!!! SKIPPING the promtool check of the HA template: promtool is not installed (apt-get install prometheus) !!!\n");
}

describe("fillPlaceholders", () => {
  it("fills the shard and the replica, and leaves every other ${...} alone", () => {
    const text = 'cluster: "shard-${CLOUDMAP_SD_SHARD_INDEX}-of-${CLOUDMAP_SD_SHARD_COUNT}"\nr: ${CLOUDMAP_SD_REPLICA}\nreplacement: ${1}\nregion: ${AWS_REGION} $CLOUDMAP_SD_X';

    expect(fillPlaceholders(text, values, "t")).toBe(
      'cluster: "shard-2-of-3"\nr: 4d1ec7e0a3d54c6a9a3b2f1e0c9d8b7a\nreplacement: ${1}\nregion: ${AWS_REGION} $CLOUDMAP_SD_X',
    );
  });

  it("rejects an unknown ${CLOUDMAP_SD_*} placeholder, naming it and the known ones", () => {
    const fill = () => fillPlaceholders("a: ${CLOUDMAP_SD_SHARD}\nb: ${CLOUDMAP_SD_replica}\nc: ${CLOUDMAP_SD_SHARD}", values, "the SSM parameter p");

    expect(fill).toThrow(UnknownPlaceholderError);
    expect(fill).toThrow("the SSM parameter p uses unknown placeholders ${CLOUDMAP_SD_SHARD}, ${CLOUDMAP_SD_replica}; known: ${CLOUDMAP_SD_SHARD_INDEX}");
  });
});

describe("prometheusConfigReader", () => {
  const dirs = tempDirs();
  afterEach(() => dirs.cleanup());
  const never = async (): Promise<string> => {
    throw new Error("not expected");
  };

  it("is undefined when neither a template nor a parameter is set", async () => {
    expect(await prometheusConfigReader({ readParameter: never, shardIndex: 0, shardCount: 1, replica: never })).toBeUndefined();
  });

  it("fills the template once, at startup, resolving the replica only because it is used", async () => {
    const template = join(await dirs.make(), "t.yaml");
    await writeFile(template, "a: ${CLOUDMAP_SD_SHARD_INDEX}/${CLOUDMAP_SD_SHARD_COUNT} ${CLOUDMAP_SD_REPLICA}\n");
    let lookups = 0;

    const read = await prometheusConfigReader({ template, readParameter: never, shardIndex: 1, shardCount: 4, replica: async () => `task-${++lookups}` });
    await writeFile(template, "changed\n");

    expect(await read?.(AbortSignal.timeout(1_000))).toBe("a: 1/4 task-1\n");
    expect(await read?.(AbortSignal.timeout(1_000))).toBe("a: 1/4 task-1\n");
    expect(lookups).toBe(1);
  });

  it("does not look the replica up for a template that does not use it", async () => {
    const template = join(await dirs.make(), "t.yaml");
    await writeFile(template, "a: ${CLOUDMAP_SD_SHARD_INDEX}\n");

    const read = await prometheusConfigReader({ template, readParameter: never, shardIndex: 0, shardCount: 1, replica: never });

    expect(await read?.(AbortSignal.timeout(1_000))).toBe("a: 0\n");
  });

  it.each([
    ["a missing file", null, "cannot read the file"],
    ["an unknown placeholder", "x: ${CLOUDMAP_SD_SHARDS}\n", "unknown placeholder ${CLOUDMAP_SD_SHARDS}"],
  ])("fails startup with a ConfigError naming PROMETHEUS_CONFIG_TEMPLATE for %s", async (_what, content, reason) => {
    const template = join(await dirs.make(), "t.yaml");
    if (content !== null) await writeFile(template, content);

    const reading = prometheusConfigReader({ template, readParameter: never, shardIndex: 0, shardCount: 1, replica: async () => "r" });

    await expect(reading).rejects.toThrow(ConfigError);
    await expect(reading).rejects.toThrow(/^PROMETHEUS_CONFIG_TEMPLATE=".*t\.yaml" is invalid: /);
    await expect(reading).rejects.toThrow(reason);
  });

  it("fills the SSM parameter at each read; an unknown placeholder fails that read, naming the parameter", async () => {
    let value = "a: ${CLOUDMAP_SD_REPLICA}\n";
    const read = await prometheusConfigReader({ parameter: "prom", readParameter: async () => value, shardIndex: 0, shardCount: 2, replica: async () => "r1" });

    expect(await read?.(AbortSignal.timeout(1_000))).toBe("a: r1\n");
    value = "a: ${CLOUDMAP_SD_NOPE}\n";
    await expect(read?.(AbortSignal.timeout(1_000))).rejects.toThrow("the SSM parameter prom (PROMETHEUS_CONFIG_PARAMETER_NAME) uses unknown placeholder ${CLOUDMAP_SD_NOPE}");
  });
});

describe("task-definitions/prometheus/prometheus-ha.template.yaml", () => {
  const dirs = tempDirs();
  afterEach(() => dirs.cleanup());
  const raw = readFileSync(SHIPPED_TEMPLATE, "utf8");
  // What render.sh (or the CDK app) fills in before the sidecar sees the file.
  const deployed = raw.replaceAll("${AWS_REGION}", "eu-west-1").replaceAll("${WORKSPACE_ID}", "ws-11111111-2222-3333-4444-555555555555");

  it("uses every placeholder and no unknown one", () => {
    for (const name of PLACEHOLDERS.filter((p) => p !== "CLOUDMAP_SD_SHARD_COUNT")) expect(raw).toContain(`\${${name}}`);
    expect(() => fillPlaceholders(raw, values, "the template")).not.toThrow();
  });

  it("gives each shard its own cluster and each task its own __replica__, and scrapes the agent and the sidecar", () => {
    const config = parse(fillPlaceholders(deployed, values, "the template")) as {
      global: { external_labels: Record<string, string> };
      scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }>; file_sd_configs?: Array<{ files: string[] }> }>;
    };

    expect(config.global.external_labels).toEqual({ cluster: "shard-2", __replica__: values.replica });
    const jobs = Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job]));
    expect(jobs.prometheus?.static_configs?.[0]?.targets).toEqual(["localhost:9090"]);
    expect(jobs["cloudmap-sd"]?.static_configs?.[0]?.targets).toEqual(["localhost:9001"]);
    expect(jobs["ecs-services"]?.file_sd_configs?.[0]?.files).toEqual(["/etc/config/ecs-services.json"]);
  });

  it.skipIf(!havePromtool)("passes promtool check config in agent mode once filled, with an ecs-named file_sd file", async () => {
    const dir = await dirs.make();
    const sdFile = join(dir, "ecs-services.json");
    await writeFile(sdFile, readFileSync(new URL("../core/__golden__/ecs-services.ecs-naming.json", import.meta.url)));
    const config = join(dir, "prometheus.yaml");
    await writeFile(config, fillPlaceholders(deployed, values, "the template").replaceAll("/etc/config/ecs-services.json", sdFile));

    const output = execFileSync("promtool", ["check", "config", "--agent", config], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

    expect(output).toContain("SUCCESS");
    expect(output).not.toContain("WARNING");
  });
});
