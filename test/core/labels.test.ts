import { describe, expect, it } from "vitest";
import { Label, sanitizeLabelName } from "../../src/core/labels.js";

describe("sanitizeLabelName", () => {
  it.each([
    ["AWS_INSTANCE_IPV4", "AWS_INSTANCE_IPV4"],
    ["already_fine_123", "already_fine_123"],
    ["aws:cloudformation:stack-name", "aws_cloudformation_stack_name"],
    ["com.example.team", "com_example_team"],
    ["app.kubernetes.io/name", "app_kubernetes_io_name"],
    ["with space", "with_space"],
    ["émoji🚀", "_moji__"],
    ["", ""],
  ])("turns %j into %j", (name, expected) => {
    expect(sanitizeLabelName(name)).toBe(expected);
  });

  it("only ever yields Prometheus' label charset once prefixed", () => {
    const names = ["a-b", "1st", "x/y.z:w", "ünïcødé", "tab\tnewline\n", "$(shell)"];

    for (const name of names) expect(Label.tagPrefix + sanitizeLabelName(name)).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
  });
});

describe("Label", () => {
  it("names every label in Prometheus' label charset, __meta_* ones under cloudmap or ecs", () => {
    for (const name of Object.values(Label)) {
      expect(name).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
      if (name.startsWith("__meta_")) expect(name).toMatch(/^__meta_(cloudmap|ecs)_/);
    }
  });
});
