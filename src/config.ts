import { z } from "zod";
import { ConfigError } from "./errors.js";

/**
 * Every setting, read from the environment in this one place. Names of the first block are those
 * of the earlier Go sidecar, so its ECS task definitions keep working unchanged.
 */
const SETTINGS = {
  DISCOVERY_NAMESPACES_PARAMETER_NAME: {
    default: "ECS-ServiceDiscovery-Namespaces",
    help: "SSM parameter listing Cloud Map namespace names (comma- or newline-separated)",
    schema: z.string().trim().min(1, "must not be empty"),
  },
  CONFIG_FILE_DIR: {
    default: "/etc/config",
    help: "directory where ecs-services.json (and prometheus.yaml) are written; mount the directory, not the file",
    schema: z.string().trim().min(1, "must not be empty"),
  },
  CONFIG_RELOAD_FREQUENCY: {
    default: "30",
    help: "seconds between discovery cycles (fractions allowed, > 0)",
    schema: seconds({ min: 0.001, max: 86_400 }),
  },
  PROMETHEUS_CONFIG_PARAMETER_NAME: {
    default: undefined,
    help: "if set: SSM parameter whose value is written to CONFIG_FILE_DIR/prometheus.yaml on change",
    schema: z.string().trim().min(1, "must not be empty").optional(),
  },
  LISTEN_ADDRESS: {
    default: "0.0.0.0:9001",
    help: "host:port of the sidecar's HTTP server (/metrics, /healthz, /ready, /prometheus-targets)",
    schema: z.string().transform((value, ctx) => {
      const parsed = parseListenAddress(value);
      if (!parsed) ctx.addIssue({ code: "custom", message: "expected host:port, e.g. 0.0.0.0:9001 or [::]:9001" });
      return parsed ?? { host: "", port: 0 };
    }),
  },
  HEALTH_STATUS: {
    default: "ALL",
    help: "which Cloud Map instances to include: ALL, HEALTHY, UNHEALTHY, HEALTHY_OR_ELSE_ALL",
    schema: z.enum(["ALL", "HEALTHY", "UNHEALTHY", "HEALTHY_OR_ELSE_ALL"]),
  },
  LOG_LEVEL: {
    default: "info",
    help: "pino log level: fatal, error, warn, info, debug, trace, silent",
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
  },
  DISCOVERY_CONCURRENCY: {
    default: "10",
    help: "maximum concurrent per-service AWS calls",
    schema: integer({ min: 1, max: 200 }),
  },
  TAG_REFRESH_INTERVAL: {
    default: "300",
    help: "seconds a service's tags are cached at most (each service re-reads after 50-100% of it; new services at once)",
    schema: seconds({ min: 0, max: 86_400 }),
  },
  HEALTH_REFRESH_INTERVAL: {
    default: "60",
    help: "with HEALTH_STATUS other than ALL: seconds between full instance re-reads (health changes do not move a service's revision)",
    schema: seconds({ min: 0, max: 86_400 }),
  },
  ECS_ENRICHMENT: {
    default: "auto",
    help: "add __meta_ecs_* labels from ecs:DescribeTasks: auto (when instances carry ECS_CLUSTER_NAME), on, off",
    schema: z.enum(["auto", "on", "off"]),
  },
  ECS_DROP_STOPPED_TASKS: {
    default: "false",
    help: "leave out tasks that ECS reports as stopping or stopped when first described (needs ECS enrichment)",
    schema: z.enum(["true", "false"]).transform((value) => value === "true"),
  },
  AWS_CALL_TIMEOUT: {
    default: "10",
    help: "seconds one AWS request may take before it is abandoned (the SDK then retries)",
    schema: seconds({ min: 0.1, max: 300 }),
  },
} as const;

type Settings = typeof SETTINGS;
export type Config = { readonly [K in keyof Settings]: z.output<Settings[K]["schema"]> } & {
  /** A custom endpoint (an emulator, a VPC endpoint) is set through the SDK's own variables. */
  readonly awsEndpointOverridden: boolean;
  readonly awsRetryMode: string;
};

/** Validates the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const config: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(SETTINGS)) {
    const raw = env[name] === "" ? undefined : env[name];
    const value = raw ?? setting.default;
    const result = (setting.schema as z.ZodType).safeParse(value);
    if (!result.success) {
      throw new ConfigError(name, String(raw), result.error.issues.map((issue) => issue.message).join("; "));
    }
    config[name] = result.data;
  }
  config.awsEndpointOverridden =
    env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS !== "true" &&
    Boolean(env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_SERVICEDISCOVERY);
  config.awsRetryMode = env.AWS_RETRY_MODE || "adaptive";
  return config as Config;
}

export function helpText(): string {
  const lines = [
    "cloudmap-sd: Prometheus service discovery for Amazon ECS through AWS Cloud Map.",
    "",
    "Usage: cloudmap-sd [--help]        (all settings come from the environment)",
    "",
    "Settings (environment variable, default, meaning):",
  ];
  for (const [name, setting] of Object.entries(SETTINGS)) {
    lines.push(`  ${name.padEnd(36)} ${String(setting.default ?? "(unset)").padEnd(32)} ${setting.help}`);
  }
  lines.push(
    "",
    "AWS region, credentials and endpoints come from the AWS SDK's own chain: AWS_REGION, the ECS task role,",
    "AWS_ENDPOINT_URL and its per-service variants (AWS_ENDPOINT_URL_SERVICEDISCOVERY, _SSM, _ECS),",
    "AWS_MAX_ATTEMPTS, AWS_RETRY_MODE (default here: adaptive).",
  );
  return lines.join("\n");
}

function seconds({ min, max }: { min: number; max: number }) {
  return z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, `expected a number of seconds between ${min} and ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected a number of seconds between ${min} and ${max}`);
}

function integer({ min, max }: { min: number; max: number }) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, `expected an integer between ${min} and ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected an integer between ${min} and ${max}`);
}

export function parseListenAddress(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  const host = match[1] ?? match[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
}
