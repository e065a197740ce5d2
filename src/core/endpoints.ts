/**
 * Decides where to scrape a service, from its Cloud Map tags or, for services that cannot carry
 * tags (ECS Service Connect creates those), from docker labels on the task definition.
 * Tags win: a service with any METRICS_* tag never looks at docker labels.
 */

export const Tag = {
  metricsPath: "METRICS_PATH",
  metricsPort: "METRICS_PORT",
  ecsMetricsPath: "ECS_METRICS_PATH",
  ecsMetricsPort: "ECS_METRICS_PORT",
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

export function endpointsFromTags(tags: Readonly<Record<string, string>>): EndpointPlan {
  const path = tags[Tag.metricsPath];
  const port = tags[Tag.metricsPort];
  if (path === undefined && port === undefined) return { kind: "untagged" };

  const app = endpoint("app", path, port, { path: "invalid_metrics_path", port: "invalid_metrics_port" }, false);
  if ("reason" in app) return app;

  const ecsPath = tags[Tag.ecsMetricsPath];
  const ecsPort = tags[Tag.ecsMetricsPort];
  if (ecsPath === undefined && ecsPort === undefined) return { kind: "tagged", endpoints: [app] };

  // An infrastructure sidecar (e.g. ecs_exporter) has no port of its own in Cloud Map, so it must be tagged.
  const ecs = endpoint("ecs", ecsPath, ecsPort, { path: "invalid_ecs_metrics_path", port: "invalid_ecs_metrics_port" }, true);
  if ("reason" in ecs) return ecs;
  return { kind: "tagged", endpoints: [app, ecs] };
}

function endpoint(
  kind: EndpointKind,
  path: string | undefined,
  port: string | undefined,
  reasons: { path: SkipReason; port: SkipReason },
  portRequired: boolean,
): ScrapeEndpoint | { kind: "invalid"; reason: SkipReason; detail: string } {
  const resolvedPath = path === undefined ? DEFAULT_METRICS_PATH : path.trim();
  if (!isValidMetricsPath(resolvedPath)) {
    return { kind: "invalid", reason: reasons.path, detail: `path ${JSON.stringify(path)} ${PATH_RULE}` };
  }
  if (port === undefined) {
    if (portRequired) return { kind: "invalid", reason: reasons.port, detail: "port tag is missing" };
    return { kind, path: resolvedPath };
  }
  const parsed = parsePort(port);
  if (parsed === undefined) {
    return { kind: "invalid", reason: reasons.port, detail: `port ${JSON.stringify(port)} is not an integer in 1..65535` };
  }
  return { kind, path: resolvedPath, port: parsed };
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
