#!/usr/bin/env node
import { once } from "node:events";
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pLimit from "p-limit";
import { CallCounter } from "./aws/call.js";
import { createAwsClients, destroyAwsClients } from "./aws/clients.js";
import { CloudMapApi } from "./aws/cloudmap.js";
import { CloudMapFetcher } from "./aws/cloudmap-fetcher.js";
import { EcsApi } from "./aws/ecs.js";
import { EcsEnricher } from "./aws/ecs-enricher.js";
import { readParameter } from "./aws/ssm-parameter.js";
import { type Config, helpText, loadConfig } from "./config.js";
import { ConfigError, errorMessage, TargetsWriteError } from "./errors.js";
import type { Logger } from "pino";
import { createHttpServer } from "./http/server.js";
import { createLogger } from "./logger.js";
import { Metrics } from "./metrics.js";
import { PublishedFile } from "./output/published-file.js";
import { Discovery } from "./runtime/discovery-cycle.js";
import { HealthState } from "./runtime/health.js";
import { runRefreshLoop } from "./runtime/refresh-loop.js";

export const TARGETS_FILE_NAME = "ecs-services.json";
export const PROMETHEUS_CONFIG_FILE_NAME = "prometheus.yaml";
const SHUTDOWN_GRACE_MS = 1_500;

export interface RunningSidecar {
  readonly url: string;
  readonly discovery: Discovery;
  stop(): Promise<void>;
}

export interface Sidecar {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: HealthState;
  readonly discovery: Discovery;
  readonly targetsFile: PublishedFile;
  /** Releases the AWS clients' sockets. */
  destroy(): void;
}

/**
 * The composition root: config → logger, metrics, AWS clients → one Discovery, ready to run
 * cycles. start() adds the loop and the HTTP server; the benchmark drives cycles itself.
 */
export async function createSidecar(config: Config, options: { logger?: Logger; now?: () => number } = {}): Promise<Sidecar> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const now = options.now ?? Date.now;
  const intervalMs = config.CONFIG_RELOAD_FREQUENCY * 1000;
  const health = new HealthState(Math.max(300_000, 10 * intervalMs), now);
  let discovery: Discovery | undefined;
  const metrics = new Metrics(now, () => discovery?.staleness() ?? new Map());
  const calls = new CallCounter(metrics);
  const callContext = { recorder: calls, timeoutMs: config.AWS_CALL_TIMEOUT * 1000 };
  const clients = createAwsClients({
    callTimeoutMs: config.AWS_CALL_TIMEOUT * 1000,
    retryMode: config.awsRetryMode,
    endpointOverridden: config.awsEndpointOverridden,
    onAttempt: (operation, outcome) => metrics.awsAttempts.inc({ operation, outcome }),
  });
  const limit = pLimit(config.DISCOVERY_CONCURRENCY);

  const targetsFile = new PublishedFile(join(config.CONFIG_FILE_DIR, TARGETS_FILE_NAME));
  const opened = await targetsFile.open("[]\n");
  logger.info(
    { path: targetsFile.path, state: opened },
    opened === "existing" ? "keeping the existing targets file until the first complete discovery" : "targets file created empty",
  );
  const promParameter = config.PROMETHEUS_CONFIG_PARAMETER_NAME;
  const prometheusConfigFile = promParameter ? new PublishedFile(join(config.CONFIG_FILE_DIR, PROMETHEUS_CONFIG_FILE_NAME)) : undefined;
  await prometheusConfigFile?.open();

  discovery = new Discovery({
    readNamespaces: (signal) => readParameter(clients.ssm, callContext, config.DISCOVERY_NAMESPACES_PARAMETER_NAME, signal),
    ...(promParameter ? { readPrometheusConfig: (signal: AbortSignal) => readParameter(clients.ssm, callContext, promParameter, signal) } : {}),
    ...(prometheusConfigFile ? { prometheusConfigFile } : {}),
    fetcher: new CloudMapFetcher(new CloudMapApi(clients.serviceDiscovery, callContext), {
      healthStatus: config.HEALTH_STATUS,
      tagTtlMs: config.TAG_REFRESH_INTERVAL * 1000,
      healthRefreshMs: config.HEALTH_REFRESH_INTERVAL * 1000,
      readUntaggedInstances: config.ECS_ENRICHMENT !== "off",
      limit,
      now,
    }),
    enricher: new EcsEnricher(new EcsApi(clients.ecs, callContext), config.ECS_ENRICHMENT, limit),
    targetsFile,
    calls,
    metrics,
    logger,
    health,
    buildOptions: { dropStoppedTasks: config.ECS_DROP_STOPPED_TASKS },
    now,
    maxHoldMs: Math.max(300_000, 10 * intervalMs),
  });
  return { logger, metrics, health, discovery, targetsFile, destroy: () => destroyAwsClients(clients) };
}

/** createSidecar plus the refresh loop and the HTTP server; stop() shuts both down. */
export async function start(config: Config): Promise<RunningSidecar> {
  const { logger, metrics, health, discovery, targetsFile, destroy } = await createSidecar(config);
  const intervalMs = config.CONFIG_RELOAD_FREQUENCY * 1000;
  const server = createHttpServer({ registry: metrics.registry, health, targets: () => targetsFile.content, logger });
  server.listen(config.LISTEN_ADDRESS.port, config.LISTEN_ADDRESS.host);
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.LISTEN_ADDRESS.port;
  const host = config.LISTEN_ADDRESS.host.includes(":") ? `[${config.LISTEN_ADDRESS.host}]` : config.LISTEN_ADDRESS.host;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  logger.info({ url, namespacesParameter: config.DISCOVERY_NAMESPACES_PARAMETER_NAME, intervalSeconds: config.CONFIG_RELOAD_FREQUENCY }, "cloudmap-sd started");

  const controller = new AbortController();
  const loop = runRefreshLoop({
    intervalMs,
    signal: controller.signal,
    run: async (signal) => {
      await discovery.runCycle(signal);
    },
    onError: (error) => logger.error({ err: errorMessage(error) }, "discovery cycle crashed; retrying next interval"),
  }).finally(() => health.loopStopped());

  return {
    url,
    discovery,
    async stop() {
      controller.abort();
      server.closeAllConnections();
      await Promise.all([
        Promise.race([loop, new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref())]),
        new Promise((resolve) => server.close(resolve)),
      ]);
      destroy();
      logger.info("cloudmap-sd stopped");
      logger.flush();
    },
  };
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cloudmap-sd: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  let sidecar: RunningSidecar;
  try {
    sidecar = await start(config);
  } catch (error) {
    if (error instanceof TargetsWriteError) {
      process.stderr.write(`cloudmap-sd: CONFIG_FILE_DIR=${JSON.stringify(config.CONFIG_FILE_DIR)} must be an existing, writable directory: ${errorMessage(error.cause)}\n`);
      process.exit(2);
    }
    throw error;
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`cloudmap-sd: ${signal} received, stopping\n`);
    sidecar.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`cloudmap-sd: ${errorMessage(error)}\n`);
    process.exit(1);
  });
}
