import { describe, expect, it } from "vitest";
import {
  endpointsFor,
  endpointsFromDockerLabels,
  endpointsFromTags,
  isValidMetricsPath,
  parsePort,
  type EndpointPlan,
} from "../../src/core/endpoints.js";
import type { EcsTaskDefinition } from "../../src/core/model.js";

describe("parsePort", () => {
  it.each([
    ["1", 1],
    ["80", 80],
    ["9100", 9100],
    ["65535", 65535],
    [" 3000 ", 3000],
    ["08080", 8080],
  ])("reads %j as port %d", (value, expected) => {
    expect(parsePort(value)).toBe(expected);
  });

  it.each(["", " ", "abc", "0", "-1", "65536", "70000", "80.5", "1e3", "0x50", "08x", "+80", "123456", "80 81"])(
    "rejects %j",
    (value) => {
      expect(parsePort(value)).toBeUndefined();
    },
  );

  it("treats an absent value as absent", () => {
    expect(parsePort(undefined)).toBeUndefined();
  });
});

describe("isValidMetricsPath", () => {
  it.each(["/", "/metrics", "/actuator/prometheus", "/a-b_c.d~e/%20"])("accepts %j", (path) => {
    expect(isValidMetricsPath(path)).toBe(true);
  });

  it.each(["", "metrics", "/a b", "/x?y", "/x#y", "http://host/metrics", "/tab\there"])("rejects %j", (path) => {
    expect(isValidMetricsPath(path)).toBe(false);
  });
});

describe("endpointsFromTags", () => {
  it("returns untagged for a service without METRICS_* tags", () => {
    expect(endpointsFromTags({})).toEqual({ kind: "untagged" });
    expect(endpointsFromTags({ team: "payments", Name: "web" })).toEqual({ kind: "untagged" });
  });

  it("does not scrape a service that only carries the ECS endpoint tags", () => {
    // The ECS endpoint is a second target next to the application's, never the only one.
    expect(endpointsFromTags({ ECS_METRICS_PATH: "/metrics", ECS_METRICS_PORT: "9779" })).toEqual({ kind: "untagged" });
  });

  it.each<[string, Record<string, string>, EndpointPlan]>([
    [
      "METRICS_PATH only: port comes from the instance",
      { METRICS_PATH: "/actuator/prometheus" },
      { kind: "tagged", endpoints: [{ kind: "app", path: "/actuator/prometheus" }] },
    ],
    [
      "METRICS_PORT only: path defaults to /metrics",
      { METRICS_PORT: "9100" },
      { kind: "tagged", endpoints: [{ kind: "app", path: "/metrics", port: 9100 }] },
    ],
    [
      "both",
      { METRICS_PATH: "/stats", METRICS_PORT: "3000" },
      { kind: "tagged", endpoints: [{ kind: "app", path: "/stats", port: 3000 }] },
    ],
    [
      "ECS_METRICS_PATH + ECS_METRICS_PORT add a second endpoint",
      { METRICS_PATH: "/metrics", ECS_METRICS_PATH: "/ecs-metrics", ECS_METRICS_PORT: "9779" },
      {
        kind: "tagged",
        endpoints: [
          { kind: "app", path: "/metrics" },
          { kind: "ecs", path: "/ecs-metrics", port: 9779 },
        ],
      },
    ],
    [
      "ECS_METRICS_PORT alone: the ECS path defaults to /metrics",
      { METRICS_PORT: "8080", ECS_METRICS_PORT: "9779" },
      {
        kind: "tagged",
        endpoints: [
          { kind: "app", path: "/metrics", port: 8080 },
          { kind: "ecs", path: "/metrics", port: 9779 },
        ],
      },
    ],
    [
      "whitespace around values is trimmed",
      { METRICS_PATH: "  /metrics \n", METRICS_PORT: " 9100\t", ECS_METRICS_PATH: " /ecs ", ECS_METRICS_PORT: " 9779 " },
      {
        kind: "tagged",
        endpoints: [
          { kind: "app", path: "/metrics", port: 9100 },
          { kind: "ecs", path: "/ecs", port: 9779 },
        ],
      },
    ],
  ])("%s", (_name, tags, expected) => {
    // Act
    const plan = endpointsFromTags(tags);

    // Assess
    expect(plan).toEqual(expected);
  });

  it("leaves the port undefined (not 80) when only the path is tagged, so the instance port can apply", () => {
    const plan = endpointsFromTags({ METRICS_PATH: "/metrics" });

    expect(plan.kind).toBe("tagged");
    expect(plan.kind === "tagged" ? plan.endpoints[0] : undefined).not.toHaveProperty("port");
  });

  it("requires ECS_METRICS_PORT when ECS_METRICS_PATH is set", () => {
    const plan = endpointsFromTags({ METRICS_PATH: "/metrics", ECS_METRICS_PATH: "/ecs-metrics" });

    expect(plan).toEqual({ kind: "invalid", reason: "invalid_ecs_metrics_port", detail: expect.stringContaining("missing") });
  });

  it.each(["abc", "70000", "0", "-1", "80.5", "", "  "])("rejects METRICS_PORT=%j and names the value", (port) => {
    const plan = endpointsFromTags({ METRICS_PORT: port });

    expect(plan).toEqual({ kind: "invalid", reason: "invalid_metrics_port", detail: expect.stringContaining(JSON.stringify(port)) });
  });

  it.each(["metrics", "/a b", "/x?y", ""])("rejects METRICS_PATH=%j and names the value", (path) => {
    const plan = endpointsFromTags({ METRICS_PATH: path, METRICS_PORT: "9100" });

    expect(plan).toEqual({ kind: "invalid", reason: "invalid_metrics_path", detail: expect.stringContaining(JSON.stringify(path)) });
  });

  it.each(["metrics", "/a b", "/x?y"])("explains in the warning what a path %j lacks", (path) => {
    const plan = endpointsFromTags({ METRICS_PATH: path });

    expect(plan).toMatchObject({ detail: expect.stringMatching(/absolute path .*whitespace.*"\?".*"#"/) });
  });

  it.each(["abc", "70000", "0", "-1", "80.5", ""])("rejects ECS_METRICS_PORT=%j", (port) => {
    const plan = endpointsFromTags({ METRICS_PATH: "/metrics", ECS_METRICS_PATH: "/ecs", ECS_METRICS_PORT: port });

    expect(plan).toMatchObject({ kind: "invalid", reason: "invalid_ecs_metrics_port" });
  });

  it.each(["metrics", "/a b", "/x?y"])("rejects ECS_METRICS_PATH=%j", (path) => {
    const plan = endpointsFromTags({ METRICS_PATH: "/metrics", ECS_METRICS_PATH: path, ECS_METRICS_PORT: "9779" });

    expect(plan).toMatchObject({ kind: "invalid", reason: "invalid_ecs_metrics_path" });
  });

  it("rejects the whole service when the application endpoint is invalid, even if the ECS endpoint is fine", () => {
    const plan = endpointsFromTags({ METRICS_PORT: "abc", ECS_METRICS_PATH: "/ecs", ECS_METRICS_PORT: "9779" });

    expect(plan).toMatchObject({ kind: "invalid", reason: "invalid_metrics_port" });
  });
});

describe("endpointsFromDockerLabels", () => {
  it("gives one endpoint per labelled container and ignores unlabelled ones", () => {
    // Prepare
    const containers: EcsTaskDefinition["containers"] = [
      { name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080", PROMETHEUS_EXPORTER_PATH: "/actuator/prometheus" } },
      { name: "envoy", dockerLabels: { "com.example.team": "platform" } },
      { name: "log-router", dockerLabels: {} },
      {
        name: "exporter",
        dockerLabels: {
          PROMETHEUS_EXPORTER_PORT: "9100",
          PROMETHEUS_EXPORTER_SCHEME: " HTTPS ",
          PROMETHEUS_EXPORTER_JOB_NAME: " node ",
        },
      },
    ];

    // Act
    const result = endpointsFromDockerLabels(containers);

    // Assess
    expect(result).toEqual({
      endpoints: [
        { kind: "docker_label", container: "app", path: "/actuator/prometheus", port: 8080 },
        { kind: "docker_label", container: "exporter", path: "/metrics", port: 9100, scheme: "https", job: "node" },
      ],
      invalid: [],
    });
  });

  it("defaults the path to /metrics and leaves scheme and job out when not labelled", () => {
    const { endpoints } = endpointsFromDockerLabels([
      { name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "3000", PROMETHEUS_EXPORTER_PATH: "  " } },
    ]);

    expect(endpoints).toEqual([{ kind: "docker_label", container: "app", path: "/metrics", port: 3000 }]);
    expect(endpoints[0]).not.toHaveProperty("scheme");
    expect(endpoints[0]).not.toHaveProperty("job");
  });

  it("returns nothing for a task definition without labelled containers", () => {
    expect(endpointsFromDockerLabels([])).toEqual({ endpoints: [], invalid: [] });
    expect(endpointsFromDockerLabels([{ name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PATH: "/metrics" } }])).toEqual({
      endpoints: [],
      invalid: [],
    });
  });

  it.each([
    ["port", { PROMETHEUS_EXPORTER_PORT: "abc" }, "PROMETHEUS_EXPORTER_PORT"],
    ["port", { PROMETHEUS_EXPORTER_PORT: "70000" }, "PROMETHEUS_EXPORTER_PORT"],
    ["port", { PROMETHEUS_EXPORTER_PORT: "" }, "PROMETHEUS_EXPORTER_PORT"],
    ["path", { PROMETHEUS_EXPORTER_PORT: "9100", PROMETHEUS_EXPORTER_PATH: "metrics" }, "PROMETHEUS_EXPORTER_PATH"],
    ["path", { PROMETHEUS_EXPORTER_PORT: "9100", PROMETHEUS_EXPORTER_PATH: "/x?y" }, "PROMETHEUS_EXPORTER_PATH"],
    ["scheme", { PROMETHEUS_EXPORTER_PORT: "9100", PROMETHEUS_EXPORTER_SCHEME: "ftp" }, "PROMETHEUS_EXPORTER_SCHEME"],
  ])("reports an invalid %s (%j) for its container and keeps the valid ones", (_what, labels, labelName) => {
    // Prepare
    const containers = [
      { name: "broken", dockerLabels: labels },
      { name: "fine", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" } },
    ];

    // Act
    const result = endpointsFromDockerLabels(containers);

    // Assess
    expect(result.invalid).toEqual([{ container: "broken", detail: expect.stringContaining(labelName) }]);
    expect(result.endpoints).toEqual([{ kind: "docker_label", container: "fine", path: "/metrics", port: 8080 }]);
  });
});

describe("endpointsFor: tags, then service attributes, then docker labels", () => {
  const attributes = { METRICS_PATH: "/attr", METRICS_PORT: "9200" };

  it("uses the tags when they name an endpoint, whatever the attributes say", () => {
    const { plan, channel } = endpointsFor({ METRICS_PORT: "9100" }, attributes);
    expect(channel).toBe("tags");
    expect(plan).toEqual({ kind: "tagged", endpoints: [{ kind: "app", path: "/metrics", port: 9100 }] });
  });

  it("uses the service attributes when the tags name none (a Service Connect service, unreadable tags)", () => {
    const { plan, channel } = endpointsFor({ team: "web" }, attributes);
    expect(channel).toBe("service_attributes");
    expect(plan).toEqual({ kind: "tagged", endpoints: [{ kind: "app", path: "/attr", port: 9200 }] });
  });

  it("leaves the service to docker labels when neither names an endpoint", () => {
    expect(endpointsFor({}, { owner: "x" })).toEqual({ plan: { kind: "untagged" }, channel: "none" });
    expect(endpointsFor({})).toEqual({ plan: { kind: "untagged" }, channel: "none" });
  });

  it("never mixes keys across channels: a tagged path with an attribute port keeps the tags' endpoint", () => {
    const { plan } = endpointsFor({ METRICS_PATH: "/t" }, { METRICS_PORT: "9200" });
    expect(plan).toEqual({ kind: "tagged", endpoints: [{ kind: "app", path: "/t" }] });
  });

  it("reports an invalid attribute like an invalid tag", () => {
    expect(endpointsFor({}, { METRICS_PORT: "http" }).plan).toMatchObject({ kind: "invalid", reason: "invalid_metrics_port" });
  });
});

describe("METRICS_SCHEME and ECS_METRICS_SCHEME", () => {
  it("sets the scheme of each endpoint, case-insensitively", () => {
    const plan = endpointsFromTags({ METRICS_PORT: "443", METRICS_SCHEME: " HTTPS ", ECS_METRICS_PORT: "9901", ECS_METRICS_SCHEME: "http" });
    expect(plan).toEqual({
      kind: "tagged",
      endpoints: [
        { kind: "app", path: "/metrics", port: 443, scheme: "https" },
        { kind: "ecs", path: "/metrics", port: 9901, scheme: "http" },
      ],
    });
  });

  it.each<[Record<string, string>, string]>([
    [{ METRICS_PORT: "80", METRICS_SCHEME: "ftp" }, "invalid_metrics_scheme"],
    [{ METRICS_PORT: "80", ECS_METRICS_PORT: "9901", ECS_METRICS_SCHEME: "tcp" }, "invalid_ecs_metrics_scheme"],
  ])("rejects %j as %s with a clear detail", (tags, reason) => {
    expect(endpointsFromTags(tags)).toMatchObject({ kind: "invalid", reason, detail: expect.stringMatching(/is not http or https/) });
  });
});
