import { describe, expect, it } from "vitest";
import { helpText, loadConfig } from "../src/config.js";
import { configError } from "./helpers/config-error.js";


describe("sharding, label naming and template settings", () => {
  it("default to one shard, the legacy names and no template", () => {
    expect(loadConfig({})).toMatchObject({ SHARD_COUNT: 1, SHARD_INDEX: 0, LABEL_NAMING: "legacy", PROMETHEUS_CONFIG_TEMPLATE: undefined });
  });

  it("read a shard, the ecs naming and a template", () => {
    expect(loadConfig({ SHARD_COUNT: "1000", SHARD_INDEX: "999", LABEL_NAMING: "ecs", PROMETHEUS_CONFIG_TEMPLATE: "/etc/prometheus/ha.yaml" })).toMatchObject({
      SHARD_COUNT: 1000,
      SHARD_INDEX: 999,
      LABEL_NAMING: "ecs",
      PROMETHEUS_CONFIG_TEMPLATE: "/etc/prometheus/ha.yaml",
    });
  });

  it.each([
    [{ SHARD_COUNT: "0" }, "SHARD_COUNT", "between 1 and 1000"],
    [{ SHARD_COUNT: "1001" }, "SHARD_COUNT", "between 1 and 1000"],
    [{ SHARD_COUNT: "2.5" }, "SHARD_COUNT", "integer"],
    [{ SHARD_COUNT: "three" }, "SHARD_COUNT", "integer"],
    [{ SHARD_INDEX: "-1" }, "SHARD_INDEX", "integer"],
    [{ SHARD_COUNT: "3", SHARD_INDEX: "3" }, "SHARD_INDEX", "must be below SHARD_COUNT (3)"],
    [{ SHARD_INDEX: "1" }, "SHARD_INDEX", "must be below SHARD_COUNT (1)"],
    [{ LABEL_NAMING: "prometheus" }, "LABEL_NAMING", "legacy"],
    [{ PROMETHEUS_CONFIG_TEMPLATE: "/t.yaml", PROMETHEUS_CONFIG_PARAMETER_NAME: "p" }, "PROMETHEUS_CONFIG_TEMPLATE", "not both"],
  ])("rejects %j naming %s", (env, variable, reason) => {
    const error = configError(env);

    expect(error.variable).toBe(variable);
    expect(error.message).toContain(reason);
  });

  it("are listed in --help", () => {
    for (const name of ["SHARD_COUNT", "SHARD_INDEX", "LABEL_NAMING", "PROMETHEUS_CONFIG_TEMPLATE"]) expect(helpText()).toContain(name);
  });
});
