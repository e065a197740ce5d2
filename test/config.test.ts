import { describe, expect, it } from "vitest";
import { type Config, helpText, loadConfig, parseListenAddress } from "../src/config.js";
import { ConfigError } from "../src/errors.js";
import { configError } from "./helpers/config-error.js";


describe("loadConfig", () => {
  it("applies every default to an empty environment", () => {
    expect(loadConfig({})).toStrictEqual<Config>({
      DISCOVERY_NAMESPACES_PARAMETER_NAME: "ECS-ServiceDiscovery-Namespaces",
      CONFIG_FILE_DIR: "/etc/config",
      CONFIG_RELOAD_FREQUENCY: 30,
      PROMETHEUS_CONFIG_PARAMETER_NAME: undefined,
      LISTEN_ADDRESS: { host: "0.0.0.0", port: 9001 },
      HEALTH_STATUS: "ALL",
      LOG_LEVEL: "info",
      DISCOVERY_CONCURRENCY: 10,
      TAG_REFRESH_INTERVAL: 300,
      HEALTH_REFRESH_INTERVAL: 60,
      ECS_ENRICHMENT: "auto",
      ECS_DROP_STOPPED_TASKS: false,
      AWS_CALL_TIMEOUT: 10,
      SERVICE_ATTRIBUTES: "auto",
      ECS_ASSUME_ROLE: undefined,
      ECS_ASSUME_ROLE_EXTERNAL_ID: undefined,
      SHARD_COUNT: 1,
      SHARD_INDEX: 0,
      LABEL_NAMING: "legacy",
      PROMETHEUS_CONFIG_TEMPLATE: undefined,
      awsEndpointOverridden: false,
      awsRetryMode: "standard",
      awsRegion: undefined,
      awsEndpoints: {},
    });
  });

  it("reads the settings the Go sidecar's task definitions set", () => {
    // Act
    const config = loadConfig({
      DISCOVERY_NAMESPACES_PARAMETER_NAME: "my-namespaces",
      CONFIG_FILE_DIR: "/output",
      CONFIG_RELOAD_FREQUENCY: "15",
      PROMETHEUS_CONFIG_PARAMETER_NAME: "prometheus-config",
      HEALTH_STATUS: "HEALTHY_OR_ELSE_ALL",
      LOG_LEVEL: "debug",
      ECS_DROP_STOPPED_TASKS: "true",
    });

    // Assess
    expect(config).toMatchObject({
      DISCOVERY_NAMESPACES_PARAMETER_NAME: "my-namespaces",
      CONFIG_FILE_DIR: "/output",
      CONFIG_RELOAD_FREQUENCY: 15,
      PROMETHEUS_CONFIG_PARAMETER_NAME: "prometheus-config",
      HEALTH_STATUS: "HEALTHY_OR_ELSE_ALL",
      LOG_LEVEL: "debug",
      ECS_DROP_STOPPED_TASKS: true,
    });
  });

  it.each([
    ["0.5", 0.5],
    ["2.25", 2.25],
    [" 45 ", 45],
    ["30s", 30],
    ["5m", 300],
    ["1h", 3_600],
    ["1h30m", 5_400],
    ["500ms", 0.5],
    ["1d", 86_400],
    ["1m30s500ms", 90.5],
  ])("accepts CONFIG_RELOAD_FREQUENCY=%j as %d seconds", (value, seconds) => {
    expect(loadConfig({ CONFIG_RELOAD_FREQUENCY: value }).CONFIG_RELOAD_FREQUENCY).toBe(seconds);
  });

  it.each(["CONFIG_RELOAD_FREQUENCY", "TAG_REFRESH_INTERVAL", "HEALTH_REFRESH_INTERVAL", "AWS_CALL_TIMEOUT"] as const)(
    "takes %s as plain seconds or as a Prometheus duration, always kept in seconds",
    (variable) => {
      expect(loadConfig({ [variable]: "90" })[variable]).toBe(90);
      expect(loadConfig({ [variable]: "1m30s" })[variable]).toBe(90);
      expect(loadConfig({ [variable]: "1.5" })[variable]).toBe(1.5);
      expect(loadConfig({ [variable]: "1500ms" })[variable]).toBe(1.5);
    },
  );

  it("treats an empty string as unset (the default applies)", () => {
    const config = loadConfig({ CONFIG_RELOAD_FREQUENCY: "", HEALTH_STATUS: "", LISTEN_ADDRESS: "", PROMETHEUS_CONFIG_PARAMETER_NAME: "" });

    expect(config.CONFIG_RELOAD_FREQUENCY).toBe(30);
    expect(config.HEALTH_STATUS).toBe("ALL");
    expect(config.LISTEN_ADDRESS).toEqual({ host: "0.0.0.0", port: 9001 });
    expect(config.PROMETHEUS_CONFIG_PARAMETER_NAME).toBeUndefined();
  });

  it.each<[string, string, { host: string; port: number }]>([
    ["IPv6 any", "[::]:9001", { host: "::", port: 9001 }],
    ["IPv6 loopback", "[::1]:8080", { host: "::1", port: 8080 }],
    ["IPv4", "127.0.0.1:9001", { host: "127.0.0.1", port: 9001 }],
    ["a host name", "localhost:9001", { host: "localhost", port: 9001 }],
    ["no host (all interfaces)", ":9001", { host: "0.0.0.0", port: 9001 }],
    ["port 0 (ephemeral)", "127.0.0.1:0", { host: "127.0.0.1", port: 0 }],
  ])("parses LISTEN_ADDRESS with %s", (_name, value, expected) => {
    expect(loadConfig({ LISTEN_ADDRESS: value }).LISTEN_ADDRESS).toEqual(expected);
  });

  it.each<[string, string, RegExp]>([
    ["CONFIG_RELOAD_FREQUENCY", "abc", /seconds \(30, 0\.5\) or a duration \(30s, 5m, 1h30m, 500ms\) between 1ms and 1d/],
    ["CONFIG_RELOAD_FREQUENCY", "0", /between 1ms and 1d/],
    ["CONFIG_RELOAD_FREQUENCY", "0s", /between 1ms and 1d/],
    ["CONFIG_RELOAD_FREQUENCY", "-5", /between 1ms and 1d/],
    ["CONFIG_RELOAD_FREQUENCY", "1e3", /or a duration/],
    ["CONFIG_RELOAD_FREQUENCY", "1d1s", /between 1ms and 1d/],
    ["CONFIG_RELOAD_FREQUENCY", "5M", /or a duration/],
    ["CONFIG_RELOAD_FREQUENCY", "1.5m", /or a duration/],
    ["CONFIG_RELOAD_FREQUENCY", "30m1h", /or a duration/],
    ["CONFIG_RELOAD_FREQUENCY", "1h 30m", /or a duration/],
    ["CONFIG_RELOAD_FREQUENCY", "ms", /or a duration/],
    ["CONFIG_RELOAD_FREQUENCY", "30sec", /or a duration/],
    ["TAG_REFRESH_INTERVAL", "1w", /between 0s and 1d/],
    ["HEALTH_REFRESH_INTERVAL", "-1m", /between 0s and 1d/],
    ["HEALTH_STATUS", "SOME", /ALL.*HEALTHY.*UNHEALTHY.*HEALTHY_OR_ELSE_ALL/],
    ["HEALTH_STATUS", "all", /HEALTHY_OR_ELSE_ALL/],
    ["LISTEN_ADDRESS", "nope", /host:port/],
    ["LISTEN_ADDRESS", "1.2.3.4:99999", /host:port/],
    ["LISTEN_ADDRESS", "::9001", /host:port/],
    ["DISCOVERY_CONCURRENCY", "0", /integer between 1 and 200/],
    ["DISCOVERY_CONCURRENCY", "2.5", /integer between 1 and 200/],
    ["LOG_LEVEL", "loud", /fatal.*error.*warn.*info.*debug.*trace.*silent/],
    ["ECS_ENRICHMENT", "maybe", /auto.*on.*off/],
    ["ECS_DROP_STOPPED_TASKS", "yes", /true.*false/],
    ["AWS_CALL_TIMEOUT", "0", /between 100ms and 5m/],
    ["AWS_CALL_TIMEOUT", "50ms", /between 100ms and 5m/],
    ["AWS_CALL_TIMEOUT", "6m", /between 100ms and 5m/],
    ["AWS_REGION", "EU-WEST-1", /region name such as eu-west-1/],
    ["AWS_REGION", "eu-west-1 ", /region name such as eu-west-1/],
    ["AWS_DEFAULT_REGION", "eu_west_1", /region name such as eu-west-1/],
    ["AWS_ENDPOINT_URL", "localhost:4566", /http:\/\/ or https:\/\/ URL/],
    ["AWS_ENDPOINT_URL_SSM", "ssm.local", /http:\/\/ or https:\/\/ URL/],
    ["CONFIG_FILE_DIR", "   ", /must not be empty/],
  ])("rejects %s=%j naming the variable, the value and what is allowed", (variable, value, allowed) => {
    // Act
    const error = configError({ [variable]: value });

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.name).toBe("ConfigError");
    expect(error).toMatchObject({ variable, value });
    expect(error.allowed).toMatch(allowed);
    expect(error.message).toContain(variable);
    expect(error.message).toContain(JSON.stringify(value));
    expect(error.message).toMatch(allowed);
  });

  it("fits the error on one line (main prints it as the only line before exiting)", () => {
    expect(configError({ HEALTH_STATUS: "SOME" }).message).not.toContain("\n");
  });

  describe("awsEndpointOverridden", () => {
    it.each<[string, Record<string, string>, boolean]>([
      ["no endpoint variable", {}, false],
      ["AWS_ENDPOINT_URL", { AWS_ENDPOINT_URL: "http://127.0.0.1:4566" }, true],
      ["AWS_ENDPOINT_URL_SERVICEDISCOVERY", { AWS_ENDPOINT_URL_SERVICEDISCOVERY: "http://127.0.0.1:4566" }, true],
      ["an empty AWS_ENDPOINT_URL", { AWS_ENDPOINT_URL: "" }, false],
      ["only another service's endpoint", { AWS_ENDPOINT_URL_SSM: "http://127.0.0.1:4566" }, false],
      [
        "AWS_ENDPOINT_URL with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true",
        { AWS_ENDPOINT_URL: "http://127.0.0.1:4566", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" },
        false,
      ],
    ])("is %s → %s", (_name, env, expected) => {
      expect(loadConfig(env).awsEndpointOverridden).toBe(expected);
    });
  });

  describe("awsRegion", () => {
    it.each<[string, Record<string, string>, string | undefined]>([
      ["AWS_REGION", { AWS_REGION: "eu-west-1" }, "eu-west-1"],
      ["AWS_DEFAULT_REGION, which the JS SDK ignores", { AWS_DEFAULT_REGION: "eu-west-3" }, "eu-west-3"],
      ["AWS_REGION over AWS_DEFAULT_REGION", { AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "eu-west-3" }, "us-east-1"],
      ["AWS_DEFAULT_REGION when AWS_REGION is empty", { AWS_REGION: "", AWS_DEFAULT_REGION: "eu-west-3" }, "eu-west-3"],
      ["a GovCloud region", { AWS_REGION: "us-gov-west-1" }, "us-gov-west-1"],
      ["neither (the SDK's chain decides)", {}, undefined],
    ])("comes from %s", (_name, env, expected) => {
      expect(loadConfig(env).awsRegion).toBe(expected);
    });
  });

  describe("awsEndpoints", () => {
    it("lists the endpoint variables that are set, for the startup log line", () => {
      const config = loadConfig({
        AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
        AWS_ENDPOINT_URL_ECS: "https://ecs.vpce.example",
        AWS_ENDPOINT_URL_SSM: "",
        AWS_ENDPOINT_URL_S3: "http://elsewhere",
      });

      expect(config.awsEndpoints).toEqual({ AWS_ENDPOINT_URL: "http://127.0.0.1:4566", AWS_ENDPOINT_URL_ECS: "https://ecs.vpce.example" });
    });

    it("is empty, and not validated, when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true", () => {
      expect(loadConfig({ AWS_ENDPOINT_URL: "localhost:4566", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" }).awsEndpoints).toEqual({});
    });
  });

  it("takes the SDK's AWS_RETRY_MODE when set", () => {
    expect(loadConfig({ AWS_RETRY_MODE: "standard" }).awsRetryMode).toBe("standard");
  });
});

describe("parseListenAddress", () => {
  it.each(["", "9001", "host:", "host:abc", "[::1]", "[::1:9001", "a:b:9001", "1.2.3.4:65536", "1.2.3.4:123456"])("rejects %j", (value) => {
    expect(parseListenAddress(value)).toBeUndefined();
  });
});

describe("helpText", () => {
  const text = helpText();

  it.each<[string, string]>([
    ["DISCOVERY_NAMESPACES_PARAMETER_NAME", "ECS-ServiceDiscovery-Namespaces"],
    ["CONFIG_FILE_DIR", "/etc/config"],
    ["CONFIG_RELOAD_FREQUENCY", "30"],
    ["PROMETHEUS_CONFIG_PARAMETER_NAME", "(unset)"],
    ["LISTEN_ADDRESS", "0.0.0.0:9001"],
    ["HEALTH_STATUS", "ALL"],
    ["LOG_LEVEL", "info"],
    ["DISCOVERY_CONCURRENCY", "10"],
    ["TAG_REFRESH_INTERVAL", "300"],
    ["HEALTH_REFRESH_INTERVAL", "60"],
    ["ECS_ENRICHMENT", "auto"],
    ["ECS_DROP_STOPPED_TASKS", "false"],
    ["AWS_CALL_TIMEOUT", "10"],
  ])("lists %s with its default %s", (name, defaultValue) => {
    const line = text.split("\n").find((candidate) => candidate.trimStart().startsWith(`${name} `));

    expect(line, `no line for ${name}`).toBeDefined();
    expect(line?.trim().split(/\s+/)[1]).toBe(defaultValue);
  });

  it("lists every setting loadConfig reads", () => {
    const settings = Object.keys(loadConfig({})).filter((name) => /^[A-Z][A-Z0-9_]+$/.test(name));
    const listed = text
      .split("\n")
      .map((line) => /^\s+([A-Z][A-Z0-9_]+)\s/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);

    expect(settings).toContain("PROMETHEUS_CONFIG_PARAMETER_NAME");
    expect(listed.sort()).toEqual(settings.sort());
  });

  it("points at the SDK's own variables for region, credentials and endpoints", () => {
    expect(text).toMatch(/AWS_REGION/);
    expect(text).toMatch(/AWS_DEFAULT_REGION/);
    expect(text).toMatch(/AWS_ENDPOINT_URL/);
  });

  it("says durations take seconds or Prometheus' duration syntax", () => {
    expect(text).toMatch(/seconds.*30s, 5m, 1h30m, 500ms, 1d/s);
  });

  it.each<[string, string]>([
    ["CONFIG_RELOAD_FREQUENCY", "1ms to 1d"],
    ["TAG_REFRESH_INTERVAL", "0s to 1d"],
    ["HEALTH_REFRESH_INTERVAL", "0s to 1d"],
    ["AWS_CALL_TIMEOUT", "100ms to 5m"],
  ])("gives %s's range as durations (%s), the same bounds its error names", (name, range) => {
    const line = text.split("\n").find((candidate) => candidate.trimStart().startsWith(`${name} `));
    const [from, to] = range.split(" to ");

    expect(line).toContain(range);
    expect(configError({ [name]: "nope" }).allowed).toContain(`between ${from} and ${to}`);
  });

  it("mentions --version", () => {
    expect(text).toContain("--version");
  });
});
