import { describe, expect, it } from "vitest";
import { renderTargetGroups } from "../../src/core/render.js";
import { buildTargetGroups } from "../../src/core/target-groups.js";
import { TargetSetBuilder } from "../../src/core/target-set.js";
import { ecsTask, instance, namespace, shuffled, snapshot } from "../helpers/fixtures.js";

const dns = namespace();
const http = namespace({ id: "ns-http", name: "connect", type: "HTTP", httpName: "connect" });

function estate() {
  return [
    snapshot({ serviceName: "web", instances: [instance("t1", { AWS_INSTANCE_IPV4: "10.0.0.1" }), instance("t2", { AWS_INSTANCE_IPV4: "10.0.0.2" })] }),
    snapshot({
      serviceName: "orders",
      tags: { METRICS_PORT: "9000", ECS_METRICS_PATH: "/stats", ECS_METRICS_PORT: "9901" },
      instances: [instance("t3", { AWS_INSTANCE_IPV4: "10.0.0.3" })],
      ecsTasks: [ecsTask("t3")],
    }),
    snapshot({ serviceName: "bad", tags: { METRICS_PORT: "abc" } }),
    snapshot({ serviceName: "api", namespace: http, instances: [instance("t4", { AWS_INSTANCE_IPV4: "10.0.0.1" })] }),
  ];
}

describe("TargetSetBuilder", () => {
  it("renders byte-identically to buildTargetGroups + renderTargetGroups, whatever the input order", () => {
    // Prepare
    const snapshots = estate();
    const expected = renderTargetGroups(buildTargetGroups(snapshots).groups);

    // Act
    const set = new TargetSetBuilder().build(shuffled(snapshots, 7));

    // Assess
    expect(set.content).toBe(expected);
    expect(set.targets).toHaveLength(5);
    expect(set.targets.map((t) => t.namespace).sort()).toEqual(["connect", dns.name, dns.name, dns.name, dns.name].sort());
    expect(set.skips.map((s) => s.reason)).toEqual(["invalid_metrics_port"]);
  });

  it("returns the previous result when every snapshot is the same object as last time", () => {
    const builder = new TargetSetBuilder();
    const snapshots = estate();
    const first = builder.build(snapshots);

    expect(builder.build([...snapshots])).toBe(first);
  });

  it("rebuilds a changed service and matches a fresh build", () => {
    // Prepare
    const builder = new TargetSetBuilder();
    const snapshots = estate();
    builder.build(snapshots);
    const changed = [...snapshots];
    changed[0] = snapshot({ serviceName: "web", instances: [instance("t9", { AWS_INSTANCE_IPV4: "10.0.0.9" })] });

    // Act
    const set = builder.build(changed);

    // Assess
    expect(set.content).toBe(renderTargetGroups(buildTargetGroups(changed).groups));
    expect(set.content).toContain("10.0.0.9:80");
    expect(set.content).not.toContain('"taskid":"t1"');
  });

  it("reuses the work of unchanged services: a mutated-in-place snapshot is not rebuilt", () => {
    // Identity is the contract: the fetcher hands out a new object whenever a service changes.
    const builder = new TargetSetBuilder();
    const snapshots = estate();
    const first = builder.build(snapshots);
    const web = snapshots[0] as unknown as { instances: unknown[] };
    web.instances = [];

    const second = builder.build([...snapshots.slice(1), snapshots[0] as (typeof snapshots)[number]]);

    expect(second).not.toBe(first);
    expect(second.content).toBe(first.content);
  });

  it("passes its build options on: with dropStoppedTasks a stopping task is left out, as buildTargetGroups does", () => {
    // Prepare
    const snapshots = [
      snapshot({
        instances: [instance("t1", { AWS_INSTANCE_IPV4: "10.0.0.1" }), instance("t2", { AWS_INSTANCE_IPV4: "10.0.0.2" })],
        ecsTasks: [ecsTask("t1", { lastStatus: "STOPPING" }), ecsTask("t2", { lastStatus: "RUNNING" })],
      }),
    ];

    // Act
    const dropping = new TargetSetBuilder({ dropStoppedTasks: true }).build(snapshots);
    const keeping = new TargetSetBuilder().build(snapshots);

    // Assess
    expect(dropping.content).toBe(renderTargetGroups(buildTargetGroups(snapshots, { dropStoppedTasks: true }).groups));
    expect(dropping.content).not.toContain("10.0.0.1:");
    expect(dropping.targets).toHaveLength(1);
    expect(dropping.skips.map((skip) => skip.reason)).toEqual(["ecs_task_stopped"]);
    expect(keeping.targets).toHaveLength(2);
    expect(keeping.skips).toEqual([]);
  });
});
