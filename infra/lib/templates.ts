// The CDK app deploys the very files a non-CDK user registers by hand: the Fargate task
// definition JSON and the Prometheus configuration in task-definitions/. Placeholders are
// replaced by CloudFormation values instead of render.sh's, so both paths stay identical.
import type { ContainerDefinition, RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, whether this runs as infra/lib/*.ts (tests) or dist/infra/lib/*.js (cdk synth). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "task-definitions", "render.sh"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find task-definitions/ above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export function readTemplate(relative: string): string {
  return readFileSync(path.join(repoRoot(), "task-definitions", relative), "utf8");
}

/** A file under deploy/ (the alerting rules, the dashboard), read at synth time. */
export function readDeployFile(relative: string): string {
  return readFileSync(path.join(repoRoot(), "deploy", relative), "utf8");
}

/** The placeholders render.sh fills, here with CDK tokens (plain strings that CloudFormation resolves). */
export type Placeholders = Record<
  "AWS_REGION" | "ACCOUNT_ID" | "WORKSPACE_ID" | "CLOUDMAP_SD_IMAGE" | "PROMETHEUS_IMAGE" | "SIGV4_PROXY_IMAGE" | "CPU_ARCHITECTURE",
  string
>;

/**
 * The values render.sh uses when a placeholder's variable is unset (render.sh repeats them;
 * a test keeps the two equal). The other placeholders have no default.
 */
export const PLACEHOLDER_DEFAULTS = {
  PROMETHEUS_IMAGE: "quay.io/prometheus/prometheus:v3.5.0",
  SIGV4_PROXY_IMAGE: "public.ecr.aws/aws-observability/aws-sigv4-proxy:1.0",
  CPU_ARCHITECTURE: "X86_64",
} as const satisfies Partial<Placeholders>;

/**
 * ${CLOUDMAP_SD_SHARD_INDEX}, ${CLOUDMAP_SD_SHARD_COUNT} and ${CLOUDMAP_SD_REPLICA} in a
 * Prometheus configuration are filled by the sidecar when it writes the file (each task knows
 * its own shard and task id), so deploy time leaves every ${CLOUDMAP_SD_*} alone.
 */
const RUNTIME_PLACEHOLDER = /^CLOUDMAP_SD_(?!IMAGE$)/;

function substitute<T>(value: T, placeholders: Placeholders): T {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (whole, name: string) => {
      if (RUNTIME_PLACEHOLDER.test(name)) return whole;
      const replacement = (placeholders as Record<string, string>)[name];
      if (replacement === undefined) throw new Error(`unknown placeholder ${whole}`);
      return replacement;
    }) as T;
  }
  if (Array.isArray(value)) return value.map((item: unknown) => substitute(item, placeholders)) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, placeholders)])) as T;
  }
  return value;
}

/** Fills the placeholders of a text template (the Prometheus configuration). */
export function fillText(text: string, placeholders: Placeholders): string {
  return substitute(text, placeholders);
}

export function taskDefinitionTemplate(file: string, placeholders: Placeholders): RegisterTaskDefinitionCommandInput {
  return substitute(JSON.parse(readTemplate(file)) as RegisterTaskDefinitionCommandInput, placeholders);
}

export function containerNamed(task: RegisterTaskDefinitionCommandInput, name: string): ContainerDefinition {
  const found = task.containerDefinitions?.find((container) => container.name === name);
  if (found === undefined) throw new Error(`${task.family} has no container ${name}`);
  return found;
}

export function environmentOf(container: ContainerDefinition, name: string): string {
  const value = container.environment?.find((variable) => variable.name === name)?.value;
  if (value === undefined) throw new Error(`${container.name} does not set ${name}`);
  return value;
}
