import { describe, expect, it } from "vitest";
import { diffTargets } from "../../src/core/diff.js";
import type { TargetGroup } from "../../src/core/model.js";

function group(target: string, path = "/metrics", serviceId = "srv-web"): TargetGroup {
  return {
    targets: [target],
    labels: { __metrics_path__: path, __meta_cloudmap_service_id: serviceId, __meta_cloudmap_endpoint: "app" },
  };
}

describe("diffTargets", () => {
  const a = group("10.0.1.5:8080");
  const b = group("10.0.1.6:8080");
  const c = group("10.0.1.7:8080");

  it.each<[string, TargetGroup[], TargetGroup[], { added: number; removed: number }]>([
    ["nothing before or after", [], [], { added: 0, removed: 0 }],
    ["first discovery", [], [a, b], { added: 2, removed: 0 }],
    ["everything gone", [a, b], [], { added: 0, removed: 2 }],
    ["unchanged", [a, b], [a, b], { added: 0, removed: 0 }],
    ["unchanged in another order", [a, b], [b, a], { added: 0, removed: 0 }],
    ["one replaced", [a, b], [a, c], { added: 1, removed: 1 }],
    ["one added, none removed", [a], [a, c], { added: 1, removed: 0 }],
  ])("%s", (_name, previous, next, expected) => {
    expect(diffTargets(previous, next)).toEqual(expected);
  });

  it("counts a label-only change (same endpoint) as neither added nor removed", () => {
    const before = group("10.0.1.5:8080");
    const after: TargetGroup = { ...before, labels: { ...before.labels, __meta_cloudmap_instance_health_status: "UNHEALTHY" } };

    expect(diffTargets([before], [after])).toEqual({ added: 0, removed: 0 });
  });

  it.each([
    ["another metrics path", group("10.0.1.5:8080", "/ecs-metrics")],
    ["another service", group("10.0.1.5:8080", "/metrics", "srv-api")],
    ["another port", group("10.0.1.5:9779")],
  ])("tells an endpoint on %s apart", (_name, other) => {
    expect(diffTargets([a], [other])).toEqual({ added: 1, removed: 1 });
  });
});
