import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PLAIN_LABELS, UpstreamEcsLabel } from "../../src/core/labels.js";
import type { ServiceSnapshot } from "../../src/core/model.js";
import { renderTargetGroups } from "../../src/core/render.js";
import { buildTargetGroups } from "../../src/core/target-groups.js";
import { ecsTask, instance, namespace, snapshot, taskDefinition } from "../helpers/fixtures.js";

/**
 * Names Prometheus or AMP give a meaning of their own, or that exporters commonly use. (`job` is
 * set on purpose, by the PROMETHEUS_EXPORTER_JOB_NAME docker label.)
 */
const TAKEN = ["cluster", "__replica__", "namespace", "service", "instance", "pod", "container", "region"];

/** Written out here, not built from a shared estate, so that changing another test cannot move the golden file. */
function estate(): ServiceSnapshot[] {
  const taskId = "4d1ec7e0a3d54c6a9a3b2f1e0c9d8b7a";
  return [
    snapshot({
      serviceName: "web",
      serviceId: "srv-web0000000000001",
      tags: { METRICS_PATH: "/metrics", ECS_METRICS_PATH: "/ecs-metrics", ECS_METRICS_PORT: "9779" },
      instances: [instance(taskId, { AWS_INSTANCE_IPV4: "10.0.1.5" })],
      ecsTasks: [ecsTask(taskId)],
    }),
    snapshot({
      serviceName: "custom",
      serviceId: "srv-custom0000000001",
      namespace: namespace({ id: "ns-http000000000001", name: "apps", type: "HTTP" }),
      // Registered by hand, not by ECS: none of the ECS facts.
      instances: [instance("i-custom", { AWS_INSTANCE_IPV4: "10.0.9.9", ECS_CLUSTER_NAME: undefined, ECS_SERVICE_NAME: undefined, ECS_TASK_DEFINITION_FAMILY: undefined })],
    }),
    snapshot({
      serviceName: "payments",
      serviceId: "srv-payments00000001",
      tags: {},
      instances: [instance("0a0b0c0d0e0f00000000000000000001", { ECS_SERVICE_NAME: "payments", ECS_TASK_DEFINITION_FAMILY: "payments" })],
      ecsTasks: [ecsTask("0a0b0c0d0e0f00000000000000000001", { taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/payments:3" })],
      ecsTaskDefinitions: [taskDefinition("payments", 3, [{ name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9090", PROMETHEUS_EXPORTER_JOB_NAME: "payments" } }])],
    }),
  ];
}

describe("LABEL_NAMING", () => {
  it("legacy is the default: the same bytes as without the option", () => {
    const byDefault = renderTargetGroups(buildTargetGroups(estate()).groups);

    expect(renderTargetGroups(buildTargetGroups(estate(), { labelNaming: "legacy" }).groups)).toBe(byDefault);
    expect(byDefault).toContain('"cluster":"prod"');
    expect(byDefault).not.toContain("__meta_ecs_cluster\"");
  });

  it("ecs renames every plain label, keeps every __meta_* label, and adds upstream's __meta_ecs_* names", () => {
    const legacy = buildTargetGroups(estate()).groups;
    const ecs = buildTargetGroups(estate(), { labelNaming: "ecs" }).groups;

    expect(ecs.map((g) => g.targets)).toEqual(legacy.map((g) => g.targets));
    const web = ecs.find((g) => g.labels.__meta_cloudmap_service_name === "web")?.labels ?? {};
    expect(web).toMatchObject({
      ecs_cluster: "prod",
      ecs_service: "web",
      ecs_task_definition_family: "web",
      cloudmap_namespace: "prod.local",
      ecs_task_id: "4d1ec7e0a3d54c6a9a3b2f1e0c9d8b7a",
      __meta_ecs_cluster: "prod",
      __meta_ecs_service: "web",
      __meta_ecs_ip_address: "10.0.1.5",
    });
    for (const [i, group] of ecs.entries()) {
      const names = Object.keys(group.labels);
      for (const taken of TAKEN) expect(names).not.toContain(taken);
      // Every __meta_* label of the legacy naming is still there, with the same value.
      for (const [name, value] of Object.entries(legacy[i]?.labels ?? {})) {
        if (name.startsWith("__")) expect(group.labels[name]).toBe(value);
      }
    }
  });

  it("ecs gives no ECS fact to an instance ECS did not register", () => {
    const custom = buildTargetGroups(estate(), { labelNaming: "ecs" }).groups.find((g) => g.labels.__meta_cloudmap_service_name === "custom")?.labels ?? {};

    expect(Object.keys(custom).filter((name) => name.includes("ecs"))).toEqual(["ecs_task_id"]);
    expect(custom.cloudmap_namespace).toBe("apps");
  });

  it("ecs names collide with no external, target or common exporter label", () => {
    for (const name of Object.values(PLAIN_LABELS.ecs)) {
      expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(TAKEN).not.toContain(name);
    }
    for (const name of Object.values(UpstreamEcsLabel)) expect(name).toMatch(/^__meta_ecs_[a-z_]+$/);
  });

  // When the output changes on purpose: UPDATE_GOLDEN=1 npx vitest run test/core/labels-naming.test.ts, and review the diff.
  it("renders the ecs naming to exactly __golden__/ecs-services.ecs-naming.json", () => {
    const goldenUrl = new URL("./__golden__/ecs-services.ecs-naming.json", import.meta.url);
    const rendered = renderTargetGroups(buildTargetGroups(estate(), { labelNaming: "ecs" }).groups);

    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(goldenUrl, rendered);
    expect(existsSync(goldenUrl), "golden file missing: run with UPDATE_GOLDEN=1 and review it").toBe(true);
    expect(rendered).toBe(readFileSync(goldenUrl, "utf8"));
  });
});
