// zod's functional build: the classic one (chained methods) costs 10-13 MB of RSS measured alone
// (Node 20 / Node 24; 9 MB at the sidecar's start on Node 24) for these few string settings; this
// one ~0.5 MB (issue 9, BENCHMARKS.md).
import * as z from "zod/mini";
import { formatDuration, parseDurationSeconds } from "./duration.js";
import { MAX_SHARDS } from "./core/shard.js";
import { ConfigError } from "./errors.js";
import { isRoleSetting } from "./core/accounts.js";

// Bounds of the duration settings, in seconds; help and error texts are written from them.
const CYCLE_INTERVAL = { min: 0.001, max: 86_400 };
const REFRESH_INTERVAL = { min: 0, max: 86_400 };
const CALL_TIMEOUT = { min: 0.1, max: 300 };

/**
 * Every setting, read from the environment in this one place. Names of the first block are those
 * of the earlier Go sidecar, so its ECS task definitions keep working unchanged.
 */
const SETTINGS = {
  DISCOVERY_NAMESPACES_PARAMETER_NAME: {
    default: "ECS-ServiceDiscovery-Namespaces",
    help: "SSM parameter listing Cloud Map namespace names or ARNs (comma- or newline-separated)",
    schema: nonEmpty(),
  },
  CONFIG_FILE_DIR: {
    default: "/etc/config",
    help: "directory where ecs-services.json (and prometheus.yaml) are written; mount the directory, not the file",
    schema: nonEmpty(),
  },
  CONFIG_RELOAD_FREQUENCY: {
    default: "30",
    help: `duration between discovery cycles, ${range(CYCLE_INTERVAL)} (30 or 30s, 2m, 500ms)`,
    schema: duration(CYCLE_INTERVAL),
  },
  PROMETHEUS_CONFIG_PARAMETER_NAME: {
    default: undefined,
    help: "if set: SSM parameter whose value is written to CONFIG_FILE_DIR/prometheus.yaml on change",
    schema: z.optional(nonEmpty()),
  },
  LISTEN_ADDRESS: {
    default: "0.0.0.0:9001",
    help: "host:port of the sidecar's HTTP server (/metrics, /healthz, /ready, /prometheus-targets)",
    schema: z.pipe(
      z.string(),
      z.transform((value: string, ctx) => {
        const parsed = parseListenAddress(value);
        if (!parsed) return invalid(ctx, value, "expected host:port, e.g. 0.0.0.0:9001 or [::]:9001");
        return parsed;
      }),
    ),
  },
  HEALTH_STATUS: {
    default: "ALL",
    help: "which Cloud Map instances to include: ALL, HEALTHY, UNHEALTHY, HEALTHY_OR_ELSE_ALL",
    schema: oneOf(["ALL", "HEALTHY", "UNHEALTHY", "HEALTHY_OR_ELSE_ALL"]),
  },
  LOG_LEVEL: {
    default: "info",
    help: "pino log level: fatal, error, warn, info, debug, trace, silent",
    schema: oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
  },
  DISCOVERY_CONCURRENCY: {
    default: "10",
    help: "maximum concurrent per-service AWS calls",
    schema: integer({ min: 1, max: 200 }),
  },
  TAG_REFRESH_INTERVAL: {
    default: "300",
    help: `duration a service's tags are cached at most, ${range(REFRESH_INTERVAL)} (each service re-reads after 50-100% of it; new services at once)`,
    schema: duration(REFRESH_INTERVAL),
  },
  HEALTH_REFRESH_INTERVAL: {
    default: "60",
    help: `duration after which a service's instances are re-read even when its revision has not moved (health changes do not move it), ${range(REFRESH_INTERVAL)}; not for services without a health check, whose health never changes`,
    schema: duration(REFRESH_INTERVAL),
  },
  ECS_ENRICHMENT: {
    default: "auto",
    help: "add __meta_ecs_* labels from ecs:DescribeTasks: auto (when instances carry ECS_CLUSTER_NAME), on, off",
    schema: oneOf(["auto", "on", "off"]),
  },
  ECS_DROP_STOPPED_TASKS: {
    default: "false",
    help: "leave out tasks that ECS reports as stopping or stopped when first described (needs ECS enrichment)",
    schema: z.pipe(oneOf(["true", "false"]), z.transform((value: "true" | "false") => value === "true")),
  },
  SERVICE_ATTRIBUTES: {
    default: "auto",
    help: "read Cloud Map service attributes (METRICS_* keys like the tags): auto (only for services whose tags name no endpoint), on, off",
    schema: oneOf(["auto", "on", "off"]),
  },
  ECS_ASSUME_ROLE: {
    default: undefined,
    help: "if set: role assumed in each other account to describe its ECS tasks: a role name, or an ARN with ${ACCOUNT_ID}; see docs/accounts.md",
    schema: z.optional(
      z.string().check(z.trim(), z.refine(isRoleSetting, "expected a role name (cloudmap-sd-ecs-reader) or arn:aws:iam::${ACCOUNT_ID}:role/<name>")),
    ),
  },
  ECS_ASSUME_ROLE_EXTERNAL_ID: {
    default: undefined,
    help: "if set: the external id passed to sts:AssumeRole with ECS_ASSUME_ROLE",
    schema: z.optional(z.string().check(z.trim(), z.minLength(2, "must be 2 to 1224 characters"), z.maxLength(1224, "must be 2 to 1224 characters"))),
  },
  AWS_CALL_TIMEOUT: {
    default: "10",
    help: `duration one AWS call may take, the SDK's retries included, before it fails, ${range(CALL_TIMEOUT)}`,
    schema: duration(CALL_TIMEOUT),
  },
  SHARD_COUNT: {
    default: "1",
    help: `number of shards (Prometheus agents) the targets are split across, 1 to ${MAX_SHARDS}; see docs/sharding.md`,
    schema: integer({ min: 1, max: MAX_SHARDS }),
  },
  SHARD_INDEX: {
    default: "0",
    help: "this sidecar's shard, 0-based, below SHARD_COUNT: the targets file holds only its targets",
    schema: integer({ min: 0, max: MAX_SHARDS - 1 }),
  },
  LABEL_NAMING: {
    default: "legacy",
    help: "plain label names: legacy (cluster, service, taskdefinition, namespace, taskid) or ecs (ecs_cluster, ecs_service, ..., collide with nothing: use it with HA pairs)",
    schema: oneOf(["legacy", "ecs"]),
  },
  PROMETHEUS_CONFIG_TEMPLATE: {
    default: undefined,
    help: "if set: a file whose content, ${CLOUDMAP_SD_SHARD_INDEX}, ${CLOUDMAP_SD_SHARD_COUNT} and ${CLOUDMAP_SD_REPLICA} filled in, is written to CONFIG_FILE_DIR/prometheus.yaml",
    schema: z.optional(nonEmpty()),
  },
} as const;

type Settings = typeof SETTINGS;
export type Config = { readonly [K in keyof Settings]: z.output<Settings[K]["schema"]> } & {
  /** A custom endpoint (an emulator, a VPC endpoint) is set through the SDK's own variables. */
  readonly awsEndpointOverridden: boolean;
  readonly awsRetryMode: string;
  /**
   * AWS_REGION, else AWS_DEFAULT_REGION (which the JS SDK ignores, unlike the AWS CLI and the other
   * SDKs). Undefined: the SDK's own chain (a profile's region) decides; resolveRegion() in
   * startup.ts fails startup when that finds none either.
   */
  readonly awsRegion: string | undefined;
  /** The AWS_ENDPOINT_URL* variables that are set (and not ignored), for the startup log line. */
  readonly awsEndpoints: Readonly<Record<string, string>>;
};

type Env = Readonly<Record<string, string | undefined>>;

/** The SDK's endpoint variables for the services cloudmap-sd calls. */
export const ENDPOINT_VARIABLES = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SERVICEDISCOVERY", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL_STS"] as const;

/** Settings whose value is a secret: a rejected one is not echoed in the error (it ends up in logs). */
const SECRET_SETTINGS: ReadonlySet<string> = new Set(["ECS_ASSUME_ROLE_EXTERNAL_ID"]);

/** Validates the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env): Config {
  const config: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(SETTINGS)) {
    const raw = env[name] === "" ? undefined : env[name];
    const value = raw ?? setting.default;
    const result = (setting.schema as z.ZodMiniType).safeParse(value);
    if (!result.success) {
      const shown = SECRET_SETTINGS.has(name) ? `(redacted, ${String(raw).length} characters)` : String(raw);
      throw new ConfigError(name, shown, result.error.issues.map((issue) => issue.message).join("; "));
    }
    config[name] = result.data;
  }
  const endpoints = endpointsFromEnvironment(env);
  config.awsEndpoints = endpoints;
  config.awsEndpointOverridden = Boolean(endpoints.AWS_ENDPOINT_URL || endpoints.AWS_ENDPOINT_URL_SERVICEDISCOVERY);
  // Not "adaptive": after a burst of throttling its client-side rate limiter can fall to 0.5
  // requests/s, calls then wait in it past AWS_CALL_TIMEOUT, no answer ever comes back to raise the
  // rate again, and discovery stays stuck until a restart (found by `npm run soak`, RELIABILITY.md).
  // Standard mode retries with backoff and a retry quota; every first attempt is still sent.
  config.awsRetryMode = env.AWS_RETRY_MODE || "standard";
  config.awsRegion = regionFromEnvironment(env);
  checkShardSettings(config as Config, env);
  return config as Config;
}

function checkShardSettings(config: Config, env: Env): void {
  if (config.SHARD_INDEX >= config.SHARD_COUNT) {
    throw new ConfigError("SHARD_INDEX", String(env.SHARD_INDEX), `must be below SHARD_COUNT (${config.SHARD_COUNT}): shards are numbered from 0`);
  }
  if (config.PROMETHEUS_CONFIG_TEMPLATE !== undefined && config.PROMETHEUS_CONFIG_PARAMETER_NAME !== undefined) {
    throw new ConfigError("PROMETHEUS_CONFIG_TEMPLATE", config.PROMETHEUS_CONFIG_TEMPLATE, "set either it or PROMETHEUS_CONFIG_PARAMETER_NAME, not both");
  }
}

// A region ends up in a host name and in every request's signature: lower-case letters, digits
// and dashes (eu-west-1, us-gov-west-1, cn-north-1). "eu-west-1 " or "EU-WEST-1" would otherwise
// fail every call, forever, with an error that does not name the variable.
const REGION = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** AWS_REGION, else AWS_DEFAULT_REGION; undefined when neither is set. Throws ConfigError when malformed. */
export function regionFromEnvironment(env: Env): string | undefined {
  for (const variable of ["AWS_REGION", "AWS_DEFAULT_REGION"]) {
    const value = env[variable];
    if (value === undefined || value === "") continue;
    if (!REGION.test(value)) throw new ConfigError(variable, value, "expected an AWS region name such as eu-west-1");
    return value;
  }
  return undefined;
}

function endpointsFromEnvironment(env: Env): Record<string, string> {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === "true") return {};
  const endpoints: Record<string, string> = {};
  for (const variable of ENDPOINT_VARIABLES) {
    const value = env[variable];
    if (value === undefined || value === "") continue;
    // "localhost:4566" (no scheme) would make every call fail, each cycle, without naming the variable.
    if (!/^https?:$/.test(urlProtocol(value))) throw new ConfigError(variable, value, "expected an http:// or https:// URL, e.g. http://localhost:4566");
    endpoints[variable] = value;
  }
  return endpoints;
}

function urlProtocol(value: string): string {
  try {
    return new URL(value).protocol;
  } catch {
    return "";
  }
}

export function helpText(): string {
  const lines = [
    "cloudmap-sd: Prometheus service discovery for Amazon ECS through AWS Cloud Map.",
    "",
    "Usage: cloudmap-sd [--help | --version]        (all settings come from the environment)",
    "       cloudmap-sd explain [namespace[/service]]  one discovery: what is scraped, and why not (exit 0: all read, 1: not)",
    "       cloudmap-sd once --print                 one discovery: print the file_sd JSON instead of writing it",
    "",
    "Settings (environment variable, default, meaning):",
  ];
  for (const [name, setting] of Object.entries(SETTINGS)) {
    lines.push(`  ${name.padEnd(36)} ${String(setting.default ?? "(unset)").padEnd(32)} ${setting.help}`);
  }
  lines.push(
    "",
    "Durations (CONFIG_RELOAD_FREQUENCY, TAG_REFRESH_INTERVAL, HEALTH_REFRESH_INTERVAL, AWS_CALL_TIMEOUT) are seconds",
    "(30, 0.5) or Prometheus durations: 30s, 5m, 1h30m, 500ms, 1d (units y w d h m s ms, largest first).",
    "",
    "AWS region, credentials and endpoints come from the AWS SDK's own chain: AWS_REGION (else AWS_DEFAULT_REGION,",
    "else the AWS_PROFILE's region; startup fails when there is none), the ECS task role, AWS_ENDPOINT_URL and its",
    "per-service variants (AWS_ENDPOINT_URL_SERVICEDISCOVERY, _SSM, _ECS, _STS), AWS_MAX_ATTEMPTS, AWS_RETRY_MODE",
    "(default here: standard; adaptive's client-side rate limiter can stall discovery after throttling).",
  );
  return lines.join("\n");
}

function range({ min, max }: { min: number; max: number }): string {
  return `${formatDuration(min)} to ${formatDuration(max)}`;
}

/** Plain seconds or a Prometheus duration (src/duration.ts), kept as a number of seconds. */
function duration({ min, max }: { min: number; max: number }) {
  const expected = `expected seconds (30, 0.5) or a duration (30s, 5m, 1h30m, 500ms) between ${formatDuration(min)} and ${formatDuration(max)}`;
  return z.pipe(
    z.string(),
    z.transform((value: string, ctx) => {
      const seconds = parseDurationSeconds(value);
      if (seconds === undefined || seconds < min || seconds > max) return invalid(ctx, value, expected);
      return seconds;
    }),
  );
}

function integer({ min, max }: { min: number; max: number }) {
  return z.pipe(
    z.string(),
    z.transform((value: string, ctx) => {
      const trimmed = value.trim();
      const n = Number(trimmed);
      if (!/^\d+$/.test(trimmed) || n < min || n > max) return invalid(ctx, value, `expected an integer between ${min} and ${max}`);
      return n;
    }),
  );
}

/** zod/mini loads no locale (its own message is "Invalid input"), so the allowed values are named here. */
function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, `expected one of ${values.join(", ")}`);
}

function nonEmpty() {
  return z.string().check(z.trim(), z.minLength(1, "must not be empty"));
}

/** Reports a transform's input as invalid; the value returned is never used. */
function invalid(ctx: { issues: unknown[] }, input: string, message: string): never {
  ctx.issues.push({ code: "custom", message, input });
  return z.NEVER;
}

export function parseListenAddress(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  const host = match[1] ?? match[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
}
