/**
 * Decides where to scrape a service. Three channels, the first that names a METRICS_PATH or
 * METRICS_PORT decides alone (keys are never mixed across channels):
 *   1. its Cloud Map tags: what existing estates use, so adding attributes later changes nothing;
 *   2. its Cloud Map service attributes (GetServiceAttributes): for services that cannot be tagged
 *      (ECS Service Connect creates those) or whose tags another account cannot read (shared);
 *   3. docker labels on the task definition: they describe a container, not the service, and cost
 *      two ECS calls, so they are the last resort.
 */

export const Tag = {
  metricsPath: "METRICS_PATH",
  metricsPort: "METRICS_PORT",
  ecsMetricsPath: "ECS_METRICS_PATH",
  ecsMetricsPort: "ECS_METRICS_PORT",
  metricsScheme: "METRICS_SCHEME",
  ecsMetricsScheme: "ECS_METRICS_SCHEME",
} as const;

export const DockerLabel = {
  port: "PROMETHEUS_EXPORTER_PORT",
  path: "PROMETHEUS_EXPORTER_PATH",
  scheme: "PROMETHEUS_EXPORTER_SCHEME",
  jobName: "PROMETHEUS_EXPORTER_JOB_NAME",
} as const;

export const DEFAULT_METRICS_PATH = "/metrics";

/** Why an endpoint (or a whole service) is not scraped; a metric label, so a closed set. */
export type SkipReason =
  | "invalid_metrics_port"
  | "invalid_metrics_path"
  | "invalid_ecs_metrics_port"
  | "invalid_ecs_metrics_path"
  | "invalid_metrics_scheme"
  | "invalid_ecs_metrics_scheme"
  | "no_host_port"
  | "invalid_docker_label"
  | "invalid_instance_port"
  | "missing_address"
  | "ecs_task_stopped";

export type EndpointKind = "app" | "ecs" | "docker_label";

export interface ScrapeEndpoint {
  readonly kind: EndpointKind;
  readonly path: string;
  /** Undefined: use the instance's AWS_INSTANCE_PORT attribute, then 80. */
  readonly port?: number;
  readonly scheme?: "http" | "https";
  readonly job?: string;
  readonly container?: string;
}

export type EndpointPlan =
  | { readonly kind: "tagged"; readonly endpoints: readonly ScrapeEndpoint[] }
  | { readonly kind: "untagged" }
  | { readonly kind: "invalid"; readonly reason: SkipReason; readonly detail: string };

/** A TCP port written as a plain decimal 1..65535; anything else (`abc`, `70000`, `08x`) is invalid. */
export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d{1,5}$/.test(trimmed)) return undefined;
  const port = Number(trimmed);
  return port >= 1 && port <= 65535 ? port : undefined;
}

const PATH_RULE = 'must be an absolute path ("/...") without whitespace, "?" or "#"';

/** An absolute URL path without whitespace, query or fragment: what __metrics_path__ accepts. */
export function isValidMetricsPath(value: string): boolean {
  return /^\/[^\s?#]*$/.test(value);
}

/** Which channel decided a service's endpoints (see the top of this file). */
export type ConfigChannel = "tags" | "service_attributes" | "none";

/**
 * The endpoints of a service from its tags, else from its service attributes (same keys). "none":
 * neither names an endpoint, so docker labels may (the plan is then "untagged").
 */
export function endpointsFor(
  tags: Readonly<Record<string, string>>,
  serviceAttributes: Readonly<Record<string, string>> = {},
): { plan: EndpointPlan; channel: ConfigChannel } {
  const fromTags = endpointsFromTags(tags);
  if (fromTags.kind !== "untagged") return { plan: fromTags, channel: "tags" };
  const fromAttributes = endpointsFromTags(serviceAttributes);
  if (fromAttributes.kind !== "untagged") return { plan: fromAttributes, channel: "service_attributes" };
  return { plan: fromTags, channel: "none" };
}

/** Reads one key/value channel (tags or service attributes: the keys are the same). */
export function endpointsFromTags(tags: Readonly<Record<string, string>>): EndpointPlan {
  const path = tags[Tag.metricsPath];
  const port = tags[Tag.metricsPort];
  if (path === undefined && port === undefined) return { kind: "untagged" };

  const app = endpoint("app", path, port, tags[Tag.metricsScheme], APP_REASONS, false);
  if ("reason" in app) return app;

  const ecsPath = tags[Tag.ecsMetricsPath];
  const ecsPort = tags[Tag.ecsMetricsPort];
  if (ecsPath === undefined && ecsPort === undefined) return { kind: "tagged", endpoints: [app] };

  // An infrastructure sidecar (e.g. ecs_exporter) has no port of its own in Cloud Map, so it must be tagged.
  const ecs = endpoint("ecs", ecsPath, ecsPort, tags[Tag.ecsMetricsScheme], ECS_REASONS, true);
  if ("reason" in ecs) return ecs;
  return { kind: "tagged", endpoints: [app, ecs] };
}

interface Reasons {
  readonly path: SkipReason;
  readonly port: SkipReason;
  readonly scheme: SkipReason;
}
const APP_REASONS: Reasons = { path: "invalid_metrics_path", port: "invalid_metrics_port", scheme: "invalid_metrics_scheme" };
const ECS_REASONS: Reasons = { path: "invalid_ecs_metrics_path", port: "invalid_ecs_metrics_port", scheme: "invalid_ecs_metrics_scheme" };

function endpoint(
  kind: EndpointKind,
  path: string | undefined,
  port: string | undefined,
  scheme: string | undefined,
  reasons: Reasons,
  portRequired: boolean,
): ScrapeEndpoint | { kind: "invalid"; reason: SkipReason; detail: string } {
  const resolvedPath = path === undefined ? DEFAULT_METRICS_PATH : path.trim();
  if (!isValidMetricsPath(resolvedPath)) {
    return { kind: "invalid", reason: reasons.path, detail: `path ${JSON.stringify(path)} ${PATH_RULE}` };
  }
  const resolvedScheme = scheme?.trim().toLowerCase();
  if (resolvedScheme !== undefined && resolvedScheme !== "http" && resolvedScheme !== "https") {
    return { kind: "invalid", reason: reasons.scheme, detail: `scheme ${JSON.stringify(scheme)} is not http or https` };
  }
  const withScheme = resolvedScheme === undefined ? {} : { scheme: resolvedScheme as "http" | "https" };
  if (port === undefined) {
    if (portRequired) return { kind: "invalid", reason: reasons.port, detail: "port tag is missing" };
    return { kind, path: resolvedPath, ...withScheme };
  }
  const parsed = parsePort(port);
  if (parsed === undefined) {
    return { kind: "invalid", reason: reasons.port, detail: `port ${JSON.stringify(port)} is not an integer in 1..65535` };
  }
  return { kind, path: resolvedPath, port: parsed, ...withScheme };
}

/**
 * The CloudWatch agent's convention: a container with PROMETHEUS_EXPORTER_PORT is scraped on that
 * port. Several labelled containers in one task give several endpoints.
 */
export function endpointsFromDockerLabels(
  containers: ReadonlyArray<{ readonly name: string; readonly dockerLabels: Readonly<Record<string, string>> }>,
): { endpoints: ScrapeEndpoint[]; invalid: Array<{ container: string; detail: string }> } {
  const endpoints: ScrapeEndpoint[] = [];
  const invalid: Array<{ container: string; detail: string }> = [];
  for (const container of containers) {
    const labels = container.dockerLabels;
    const rawPort = labels[DockerLabel.port];
    if (rawPort === undefined) continue;
    const port = parsePort(rawPort);
    const path = labels[DockerLabel.path]?.trim() || DEFAULT_METRICS_PATH;
    const scheme = labels[DockerLabel.scheme]?.trim().toLowerCase();
    const job = labels[DockerLabel.jobName]?.trim();
    if (port === undefined) {
      invalid.push({ container: container.name, detail: `${DockerLabel.port} ${JSON.stringify(rawPort)} is not a port` });
    } else if (!isValidMetricsPath(path)) {
      invalid.push({ container: container.name, detail: `${DockerLabel.path} ${JSON.stringify(path)} ${PATH_RULE}` });
    } else if (scheme !== undefined && scheme !== "http" && scheme !== "https") {
      invalid.push({ container: container.name, detail: `${DockerLabel.scheme} ${JSON.stringify(scheme)} is not http or https` });
    } else {
      endpoints.push({
        kind: "docker_label",
        path,
        port,
        container: container.name,
        ...(scheme ? { scheme } : {}),
        ...(job ? { job } : {}),
      });
    }
  }
  return { endpoints, invalid };
}
