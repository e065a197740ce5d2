import { describe, expect, it } from "vitest";
import { instanceHost } from "../../src/core/address.js";
import { buildTargetGroups } from "../../src/core/target-groups.js";
import { instance, snapshot } from "../helpers/fixtures.js";

describe("instanceHost", () => {
  it.each<[string, Record<string, string>, string | undefined]>([
    ["IPv4 only", { AWS_INSTANCE_IPV4: "10.0.1.5" }, "10.0.1.5"],
    ["IPv4 preferred over IPv6 (dual stack)", { AWS_INSTANCE_IPV4: "10.0.1.5", AWS_INSTANCE_IPV6: "2001:db8::5" }, "10.0.1.5"],
    ["IPv6 only, bracketed", { AWS_INSTANCE_IPV6: "2001:db8::5" }, "[2001:db8::5]"],
    ["IPv6 already bracketed", { AWS_INSTANCE_IPV6: "[2001:db8::5]" }, "[2001:db8::5]"],
    ["an empty IPv4 falls back to IPv6", { AWS_INSTANCE_IPV4: "", AWS_INSTANCE_IPV6: "2001:db8::5" }, "[2001:db8::5]"],
    ["neither", {}, undefined],
    ["both empty", { AWS_INSTANCE_IPV4: " ", AWS_INSTANCE_IPV6: "" }, undefined],
  ])("%s", (_name, attributes, expected) => {
    expect(instanceHost(attributes)).toBe(expected);
  });
});

describe("IPv6-only instances in target groups", () => {
  it("scrapes an IPv6-only instance at [address]:port, which Prometheus can split", () => {
    // Prepare
    const instances = [
      instance("v6", { AWS_INSTANCE_IPV4: undefined, AWS_INSTANCE_IPV6: "2001:db8::7" }),
      instance("v4", { AWS_INSTANCE_IPV4: "10.0.1.6" }),
    ];

    // Act
    const { groups, skips } = buildTargetGroups([snapshot({ instances })]);

    // Assess
    expect(groups.flatMap((group) => group.targets).sort()).toEqual(["10.0.1.6:8080", "[2001:db8::7]:8080"]);
    expect(skips).toEqual([]);
  });

  it("skips an instance with no address at all as missing_address", () => {
    const instances = [instance("none", { AWS_INSTANCE_IPV4: undefined })];

    const { groups, skips } = buildTargetGroups([snapshot({ instances })]);

    expect(groups).toEqual([]);
    expect(skips).toEqual([
      { reason: "missing_address", namespace: "prod.local", service: "web", detail: expect.stringContaining("AWS_INSTANCE_IPV6") },
    ]);
  });
});
