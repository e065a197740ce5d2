import { readFile } from "node:fs/promises";
import { ConfigError, errorMessage } from "../errors.js";

/**
 * prometheus.yaml with the shard and the replica filled in, so every agent of a sharded HA estate
 * runs the same template and gets its own external labels ({cluster: <shard>, __replica__: <task>}).
 * Only ${CLOUDMAP_SD_*} placeholders are touched: ${1} in relabel rules, or ${VAR} meant for
 * Prometheus' own --enable-feature=expand-external-labels, pass through unchanged.
 */
export interface PlaceholderValues {
  readonly shardIndex: number;
  readonly shardCount: number;
  readonly replica: string;
}

export const PLACEHOLDERS = ["CLOUDMAP_SD_SHARD_INDEX", "CLOUDMAP_SD_SHARD_COUNT", "CLOUDMAP_SD_REPLICA"] as const;

const PLACEHOLDER = /\$\{(CLOUDMAP_SD_[A-Za-z0-9_]*)\}/g;

export class UnknownPlaceholderError extends Error {
  override readonly name = "UnknownPlaceholderError";
  constructor(
    readonly placeholders: readonly string[],
    readonly source: string,
  ) {
    super(`${source} uses unknown placeholder${placeholders.length > 1 ? "s" : ""} ${placeholders.map((p) => `\${${p}}`).join(", ")}; known: ${PLACEHOLDERS.map((p) => `\${${p}}`).join(", ")}`);
  }
}

/** Fills the placeholders; throws UnknownPlaceholderError naming any ${CLOUDMAP_SD_*} it does not know. */
export function fillPlaceholders(text: string, values: PlaceholderValues, source: string): string {
  const byName: Record<string, string> = {
    CLOUDMAP_SD_SHARD_INDEX: String(values.shardIndex),
    CLOUDMAP_SD_SHARD_COUNT: String(values.shardCount),
    CLOUDMAP_SD_REPLICA: values.replica,
  };
  const unknown = [...new Set([...text.matchAll(PLACEHOLDER)].map((match) => match[1] as string))].filter((name) => !(name in byName));
  if (unknown.length > 0) throw new UnknownPlaceholderError(unknown, source);
  return text.replace(PLACEHOLDER, (_match, name: string) => byName[name] as string);
}

/** Does the text refer to the replica (so resolving it, a call at startup, is needed)? */
export function usesReplica(text: string): boolean {
  return text.includes("${CLOUDMAP_SD_REPLICA}");
}

/**
 * Reads and fills PROMETHEUS_CONFIG_TEMPLATE once, at startup: the file ships in the image and
 * the values do not change while the process runs. A missing file or an unknown placeholder is a
 * mistake in the deployment: a ConfigError naming the variable, not a failure retried forever.
 */
export async function renderTemplateFile(path: string, values: (text: string) => Promise<PlaceholderValues>): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError("PROMETHEUS_CONFIG_TEMPLATE", path, `cannot read the file: ${errorMessage(error)}`);
  }
  try {
    return fillPlaceholders(text, await values(text), "the template");
  } catch (error) {
    if (error instanceof UnknownPlaceholderError) throw new ConfigError("PROMETHEUS_CONFIG_TEMPLATE", path, error.message);
    throw error;
  }
}

export interface ConfigSourceOptions {
  /** PROMETHEUS_CONFIG_TEMPLATE. */
  readonly template?: string | undefined;
  /** PROMETHEUS_CONFIG_PARAMETER_NAME and how to read it. */
  readonly parameter?: string | undefined;
  readonly readParameter: (name: string, signal: AbortSignal) => Promise<string>;
  readonly shardIndex: number;
  readonly shardCount: number;
  /** Resolved only when the configuration refers to ${CLOUDMAP_SD_REPLICA}, then once. */
  readonly replica: () => Promise<string>;
}

/**
 * What each cycle publishes as prometheus.yaml, or undefined when neither source is set. The
 * template is read and filled here, at startup; the SSM parameter is read and filled every cycle,
 * and an unknown placeholder in it fails that part of the cycle like a failed read (last file kept).
 */
export async function prometheusConfigReader(options: ConfigSourceOptions): Promise<((signal: AbortSignal) => Promise<string>) | undefined> {
  let replica: Promise<string> | undefined;
  const values = async (text: string): Promise<PlaceholderValues> => ({
    shardIndex: options.shardIndex,
    shardCount: options.shardCount,
    replica: usesReplica(text) ? await (replica ??= options.replica()) : "",
  });
  if (options.template !== undefined) {
    const rendered = await renderTemplateFile(options.template, values);
    return async () => rendered;
  }
  const parameter = options.parameter;
  if (parameter === undefined) return undefined;
  return async (signal) => {
    const text = await options.readParameter(parameter, signal);
    return fillPlaceholders(text, await values(text), `the SSM parameter ${parameter} (PROMETHEUS_CONFIG_PARAMETER_NAME)`);
  };
}
