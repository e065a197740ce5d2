import { describe, expect, it } from "vitest";
import { type Config, helpText, loadConfig, parseListenAddress } from "../src/config.js";
import { ConfigError } from "../src/errors.js";

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`);
}

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
      awsEndpointOverridden: false,
      awsRetryMode: "adaptive",
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
  ])("accepts CONFIG_RELOAD_FREQUENCY=%j as %d seconds", (value, seconds) => {
    expect(loadConfig({ CONFIG_RELOAD_FREQUENCY: value }).CONFIG_RELOAD_FREQUENCY).toBe(seconds);
  });

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
    ["CONFIG_RELOAD_FREQUENCY", "abc", /number of seconds between 0\.001 and 86400/],
    ["CONFIG_RELOAD_FREQUENCY", "0", /number of seconds between 0\.001 and 86400/],
    ["CONFIG_RELOAD_FREQUENCY", "-5", /number of seconds between 0\.001 and 86400/],
    ["CONFIG_RELOAD_FREQUENCY", "1e3", /number of seconds/],
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
    ["AWS_CALL_TIMEOUT", "0", /number of seconds between 0\.1 and 300/],
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
    expect(text).toMatch(/AWS_ENDPOINT_URL/);
  });
});
