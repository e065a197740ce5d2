#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pLimit from "p-limit";
import { CallCounter } from "./aws/call.js";
import { AccountEcsClients } from "./aws/accounts.js";
import { type ClientOptions, createAwsClients, destroyAwsClients } from "./aws/clients.js";
import { CallerAccount } from "./aws/sts.js";
import { CloudMapApi } from "./aws/cloudmap.js";
import { CloudMapFetcher } from "./aws/cloudmap-fetcher.js";
import { EcsApi } from "./aws/ecs.js";
import { EcsEnricher } from "./aws/ecs-enricher.js";
import { readParameter } from "./aws/ssm-parameter.js";
import { type Clock, systemClock } from "./clock.js";
import { type Config, helpText, loadConfig } from "./config.js";
import { ConfigError, errorMessage, TargetsWriteError } from "./errors.js";
import type { Logger } from "pino";
import { listen } from "./http/listen.js";
import { createHttpServer } from "./http/server.js";
import { createLogger } from "./logger.js";
import { Metrics, registerBuildInfo } from "./metrics.js";
import { PublishedFile } from "./output/published-file.js";
import { Discovery } from "./runtime/discovery-cycle.js";
import { Sharding } from "./runtime/sharding.js";
import { prometheusConfigReader } from "./output/prometheus-config.js";
import { resolveReplica } from "./aws/task-metadata.js";
import type { FileSystem } from "./output/atomic-write.js";
import { StatusRecorder } from "./status/recorder.js";
import { runCli } from "./cli/run.js";
import { HealthState } from "./runtime/health.js";
import { runRefreshLoop } from "./runtime/refresh-loop.js";
import { sdkDefaultRegion } from "./aws/region.js";
import { resolveRegion, startupFacts } from "./startup.js";
import { packageVersion } from "./version.js";

export const TARGETS_FILE_NAME = "ecs-services.json";
export const PROMETHEUS_CONFIG_FILE_NAME = "prometheus.yaml";
const SHUTDOWN_GRACE_MS = 1_500;

export interface RunningSidecar {
  readonly url: string;
  readonly discovery: Discovery;
  /** main() logs the shutdown signal through it: every line after startup is JSON. */
  readonly logger: Logger;
  stop(): Promise<void>;
}

export interface Sidecar {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: HealthState;
  readonly discovery: Discovery;
  readonly targetsFile: PublishedFile;
  /** What GET / and /api/v1/status show, recorded by every cycle. */
  readonly status: StatusRecorder;
  /** The bound on one cycle (see cycleBounds). */
  readonly cycleTimeoutMs: number;
  /** Releases the AWS clients' sockets. */
  destroy(): void;
}

/**
 * The composition root: config → logger, metrics, AWS clients → one Discovery, ready to run
 * cycles. start() adds the loop and the HTTP server; the benchmark drives cycles itself.
 */
export async function createSidecar(config: Config, options: { logger?: Logger; clock?: Clock; fs?: FileSystem } = {}): Promise<Sidecar> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const clock = options.clock ?? systemClock;
  const intervalMs = config.CONFIG_RELOAD_FREQUENCY * 1000;
  const { cycleTimeoutMs, stuckAfterMs } = cycleBounds(config);
  const health = new HealthState(stuckAfterMs, () => clock.monotonicMs());
  let discovery: Discovery | undefined;
  const metrics = new Metrics(clock, () => discovery?.staleness() ?? new Map());
  const version = packageVersion();
  registerBuildInfo(metrics.registry, version);
  const calls = new CallCounter(metrics);
  const callContext = { recorder: calls, timeoutMs: config.AWS_CALL_TIMEOUT * 1000 };
  const clientOptions: ClientOptions = {
    callTimeoutMs: config.AWS_CALL_TIMEOUT * 1000,
    retryMode: config.awsRetryMode,
    endpointOverridden: config.awsEndpointOverridden,
    ...(config.awsRegion ? { region: config.awsRegion } : {}),
    onAttempt: (operation, outcome) => metrics.awsAttempts.inc({ operation, outcome }),
    application: `cloudmap-sd/${version}`,
  };
  const clients = createAwsClients(clientOptions);
  const limit = pLimit(config.DISCOVERY_CONCURRENCY);
  // Several accounts (docs/accounts.md): cloudmap-sd's own account tells shared namespaces apart;
  // with ECS_ASSUME_ROLE, another account's tasks are described with a role assumed there.
  const callerAccount = new CallerAccount(clients.sts, callContext, clock);
  const accountEcs = config.ECS_ASSUME_ROLE
    ? new AccountEcsClients(clients.sts, {
        role: config.ECS_ASSUME_ROLE,
        externalId: config.ECS_ASSUME_ROLE_EXTERNAL_ID,
        clientOptions,
        context: callContext,
        onAssumeRole: (account, outcome) => metrics.assumeRole.inc({ account, outcome }),
      })
    : undefined;

  // Someone else may delete or replace what we wrote (the volume is shared): each publish checks
  // the disk and rewrites it, held or not.
  const onRestore = ({ path, reason, held }: { path: string; reason: string; held: boolean }) =>
    logger.warn({ path, reason, held }, "a published file was deleted or changed by someone else: rewrote it");
  // `fs`: the CLI's dry runs (explain, once --print) pass one that keeps nothing, so they write no file.
  const fileOptions = { onRestore, ...(options.fs ? { fs: options.fs } : {}) };
  const targetsFile = new PublishedFile(join(config.CONFIG_FILE_DIR, TARGETS_FILE_NAME), fileOptions);
  const opened = await targetsFile.open("[]\n");
  logger.info(
    { path: targetsFile.path, state: opened, staleTempFilesRemoved: targetsFile.staleTempFilesRemoved },
    opened === "existing" ? "keeping the existing targets file until the first complete discovery" : "targets file created empty",
  );
  const readPrometheusConfig = await prometheusConfigReader({
    template: config.PROMETHEUS_CONFIG_TEMPLATE,
    parameter: config.PROMETHEUS_CONFIG_PARAMETER_NAME,
    readParameter: (name, signal) => readParameter(clients.ssm, callContext, name, signal),
    shardIndex: config.SHARD_INDEX,
    shardCount: config.SHARD_COUNT,
    replica: async () => {
      const replica = await resolveReplica({ env: process.env });
      logger.info({ replica: replica.id, source: replica.source, ...(replica.fallbackReason ? { fallbackReason: replica.fallbackReason } : {}) }, "replica id (CLOUDMAP_SD_REPLICA) resolved");
      return replica.id;
    },
  });
  const prometheusConfigFile = readPrometheusConfig ? new PublishedFile(join(config.CONFIG_FILE_DIR, PROMETHEUS_CONFIG_FILE_NAME), fileOptions) : undefined;
  await prometheusConfigFile?.open();

  const status = new StatusRecorder(
    {
      version,
      parameterName: config.DISCOVERY_NAMESPACES_PARAMETER_NAME,
      intervalSeconds: config.CONFIG_RELOAD_FREQUENCY,
      ecsEnrichment: config.ECS_ENRICHMENT,
    },
    clock,
    () => health.describe(),
  );
  discovery = new Discovery({
    readNamespaces: (signal) => readParameter(clients.ssm, callContext, config.DISCOVERY_NAMESPACES_PARAMETER_NAME, signal),
    ...(readPrometheusConfig ? { readPrometheusConfig } : {}),
    ...(prometheusConfigFile ? { prometheusConfigFile } : {}),
    fetcher: new CloudMapFetcher(new CloudMapApi(clients.serviceDiscovery, callContext), {
      healthStatus: config.HEALTH_STATUS,
      tagTtlMs: config.TAG_REFRESH_INTERVAL * 1000,
      healthRefreshMs: config.HEALTH_REFRESH_INTERVAL * 1000,
      readUntaggedInstances: config.ECS_ENRICHMENT !== "off",
      serviceAttributes: config.SERVICE_ATTRIBUTES,
      callerAccount,
      askCallerAccount: config.ECS_ASSUME_ROLE !== undefined,
      limit,
      clock,
    }),
    enricher: new EcsEnricher(new EcsApi(clients.ecs, callContext), {
      mode: config.ECS_ENRICHMENT,
      limit,
      clock,
      ...(accountEcs ? { accounts: { ecsFor: (account: string) => accountEcs.ecsFor(account), callerAccount: (signal?: AbortSignal) => callerAccount.get(signal) } } : {}),
    }),
    callerAccount,
    targetsFile,
    calls,
    metrics,
    logger,
    health,
    buildOptions: { dropStoppedTasks: config.ECS_DROP_STOPPED_TASKS, labelNaming: config.LABEL_NAMING },
    sharding: new Sharding({ index: config.SHARD_INDEX, count: config.SHARD_COUNT }, metrics, logger),
    clock,
    maxHoldMs: Math.max(300_000, 10 * intervalMs),
    observer: status,
  });
  return { logger, metrics, health, discovery, targetsFile, status, cycleTimeoutMs, destroy: () => {
      destroyAwsClients(clients);
      accountEcs?.destroy();
    } };
}

/**
 * How long one cycle may run before it is aborted (two intervals, and at least three AWS call
 * timeouts so a tiny interval still lets a throttled call retry), and how long /healthz waits
 * for a cycle to finish before it reports the loop stuck (the cycle bound, one interval and a margin).
 */
export function cycleBounds(config: Pick<Config, "CONFIG_RELOAD_FREQUENCY" | "AWS_CALL_TIMEOUT">): { cycleTimeoutMs: number; stuckAfterMs: number } {
  const intervalMs = config.CONFIG_RELOAD_FREQUENCY * 1000;
  const cycleTimeoutMs = Math.max(2 * intervalMs, 3 * config.AWS_CALL_TIMEOUT * 1000);
  // Plus one interval (the wait before the next cycle) and a margin for what an overrunning cycle
  // still does after its deadline (enrichment cut short, building and writing the file).
  return { cycleTimeoutMs, stuckAfterMs: cycleTimeoutMs + intervalMs + Math.max(intervalMs, config.AWS_CALL_TIMEOUT * 1000) };
}

/** createSidecar plus the refresh loop and the HTTP server; stop() shuts both down. */
export async function start(config: Config): Promise<RunningSidecar> {
  const { logger, metrics, health, discovery, targetsFile, status, cycleTimeoutMs, destroy } = await createSidecar(config);
  const intervalMs = config.CONFIG_RELOAD_FREQUENCY * 1000;
  const server = createHttpServer({ registry: metrics.registry, health, targets: () => targetsFile.content, targetsOfShard: (shard) => discovery.targetsOfShard(shard), logger, status: () => status.status() });
  await listen(server, config.LISTEN_ADDRESS);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.LISTEN_ADDRESS.port;
  const host = config.LISTEN_ADDRESS.host.includes(":") ? `[${config.LISTEN_ADDRESS.host}]` : config.LISTEN_ADDRESS.host;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  logger.info({ url, ...startupFacts(config), namespacesParameter: config.DISCOVERY_NAMESPACES_PARAMETER_NAME, intervalSeconds: config.CONFIG_RELOAD_FREQUENCY }, "cloudmap-sd started");

  const controller = new AbortController();
  health.loopStarted();
  const loop = runRefreshLoop({
    intervalMs,
    cycleTimeoutMs,
    now: () => systemClock.monotonicMs(),
    signal: controller.signal,
    run: async (signal, stopSignal) => {
      await discovery.runCycle(signal, stopSignal);
    },
    onError: (error) => logger.error({ err: errorMessage(error) }, "discovery cycle crashed; retrying next interval"),
  }).finally(() => health.loopStopped());

  return {
    url,
    discovery,
    logger,
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
  // Subcommands (explain, once --print) run one discovery and exit with their own status.
  if (argv[0] !== undefined && !argv[0].startsWith("-")) {
    process.exitCode = await runCli(argv, { env: process.env, stdout: process.stdout, stderr: process.stderr });
    return;
  }
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  if (argv.includes("--version")) {
    process.stdout.write(`cloudmap-sd ${packageVersion()}\n`);
    return;
  }
  // A user's mistake (a bad setting, no region, an unwritable CONFIG_FILE_DIR, a LISTEN_ADDRESS
  // in use) ends startup with status 2 and one plain line naming the variable, even once the
  // logger exists: it is the only line to read in a crash-looping container's log.
  let config: Config | undefined;
  let sidecar: RunningSidecar;
  try {
    config = loadConfig(process.env);
    config = { ...config, awsRegion: await resolveRegion(process.env, sdkDefaultRegion) };
    sidecar = await start(config);
  } catch (error) {
    if (error instanceof TargetsWriteError && config) {
      exitWithConfigError(`CONFIG_FILE_DIR=${JSON.stringify(config.CONFIG_FILE_DIR)} must be an existing, writable directory: ${errorMessage(error.cause)}`);
    }
    if (error instanceof ConfigError) exitWithConfigError(error.message);
    throw error;
  }
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    sidecar.logger.info({ signal }, "signal received, stopping");
    sidecar.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        sidecar.logger.error({ err: errorMessage(error) }, "stopping failed");
        sidecar.logger.flush();
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

function exitWithConfigError(line: string): never {
  process.stderr.write(`cloudmap-sd: ${line}\n`);
  process.exit(2);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`cloudmap-sd: ${errorMessage(error)}\n`);
    process.exit(1);
  });
}
