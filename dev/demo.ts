#!/usr/bin/env node
/**
 * `npm run demo`: the whole chain on loopback with no AWS account. The project's AWS emulator
 * serves a sample Cloud Map topology whose instances are real sample apps; cloudmap-sd discovers
 * them and writes the file; Prometheus (when installed) scrapes them. Ctrl-C stops everything.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { churnInstance, DEMO_CLUSTER, demoTopology, ECS_READER_ROLE, startDemoApps } from "./demo-topology.js";
import { startEmulator } from "./emulator/index.js";
import {
  freePort,
  httpStatus,
  type ManagedProcess,
  sidecarEnv,
  startPrometheus,
  startSidecar,
  waitFor,
} from "./processes.js";
import { type SampleApp, startSampleApp } from "./sample-app.js";
import { findOnPath } from "./which.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string" },
    "churn-seconds": { type: "string", default: "15" },
    "no-prometheus": { type: "boolean", default: false },
  },
});
const say = (line: string) => process.stdout.write(`${line}\n`);

const dir = await mkdtemp(join(tmpdir(), "cloudmap-sd-demo-"));
const apps: SampleApp[] = [];
const processes: ManagedProcess[] = [];
let churnTimer: NodeJS.Timeout | undefined;
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say("\nstopping the demo…");
    clearInterval(churnTimer);
    for (const proc of processes.reverse()) await proc.stop();
    await Promise.all(apps.map((a) => a.close()));
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
    say("stopped: every process the demo started has exited.");
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

let emulator: Awaited<ReturnType<typeof startEmulator>> | undefined;
try {
  const demo = await startDemoApps();
  apps.push(...demo.apps);
  emulator = await startEmulator({ topology: demoTopology(demo.ports, { sharedNamespace: true }) });

  const sidecarPort = await freePort();
  const configDir = join(dir, "config");
  await mkdir(configDir);
  const sidecar = startSidecar(
    // The workload account's tasks are described with the role the demo's topology lets it assume.
    sidecarEnv({ emulatorUrl: emulator.url, configDir, listenPort: sidecarPort, reloadSeconds: 2, extra: { ECS_ASSUME_ROLE: ECS_READER_ROLE } }),
    (line) => reportSidecarLine(line),
  );
  processes.push(sidecar);
  const sidecarUrl = `http://127.0.0.1:${sidecarPort}`;
  await waitFor("cloudmap-sd /ready", async () => ((await httpStatus(`${sidecarUrl}/ready`)) === 200 ? true : undefined), {
    timeoutMs: 20_000,
  }).catch((error: unknown) => {
    process.stderr.write(sidecar.output());
    throw error;
  });
  const targetsFile = join(configDir, "ecs-services.json");

  let prometheusUrl: string | undefined;
  let prometheusTargetsPage: string | undefined;
  const prometheusBinary = values["no-prometheus"] ? undefined : await findOnPath("prometheus");
  if (prometheusBinary) {
    const port = await freePort();
    const configFile = join(dir, "prometheus.yml");
    await writeFile(configFile, prometheusConfig(targetsFile));
    const prometheus = startPrometheus({ binary: prometheusBinary, configFile, dataDir: join(dir, "prometheus-data"), port });
    processes.push(prometheus);
    prometheusUrl = `http://127.0.0.1:${port}`;
    await waitFor("Prometheus /-/ready", async () => ((await httpStatus(`${prometheusUrl}/-/ready`)) === 200 ? true : undefined), {
      timeoutMs: 30_000,
    }).catch((error: unknown) => {
      process.stderr.write(prometheus.output());
      throw error;
    });
    prometheusTargetsPage = await targetsPageOf(prometheusUrl);
  }

  const targets = JSON.parse(await readFile(targetsFile, "utf8")) as Array<{ targets: string[]; labels: Record<string, string> }>;
  say("");
  say("cloudmap-sd demo is running (Ctrl-C stops everything)");
  say(`  targets file        ${targetsFile}  (${targets.length} targets)`);
  for (const group of targets) {
    say(`    ${group.targets[0]?.padEnd(17)} ${group.labels.namespace}/${group.labels.__meta_cloudmap_service_name} ${group.labels.__metrics_path__} (${group.labels.__meta_cloudmap_endpoint})`);
  }
  say(`  status page         ${sidecarUrl}/   (JSON: ${sidecarUrl}/api/v1/status)`);
  say(`  sidecar metrics     ${sidecarUrl}/metrics`);
  say(`  sidecar health      ${sidecarUrl}/healthz  ${sidecarUrl}/ready`);
  say(`  http_sd targets     ${sidecarUrl}/prometheus-targets`);
  say(`  AWS emulator        AWS_ENDPOINT_URL=${emulator.url} (try: aws servicediscovery list-services --endpoint-url ${emulator.url})`);
  say(
    `  explain             AWS_ENDPOINT_URL=${emulator.url} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo node dist/src/main.js explain`,
  );
  say(
    prometheusUrl
      ? `  Prometheus targets  ${prometheusTargetsPage ?? `${prometheusUrl}/`}   (API: ${prometheusUrl}/api/v1/targets)`
      : values["no-prometheus"]
        ? "  Prometheus          skipped (--no-prometheus)"
        : "  Prometheus          not on PATH: install it (Debian: apt-get install prometheus) to see the targets scraped",
  );
  say("");

  const churnMs = Number(values["churn-seconds"]) * 1000;
  let churned: { id: string; app: SampleApp } | undefined;
  let n = 0;
  churnTimer = setInterval(() => {
    void (async () => {
      if (!emulator || stopping) return;
      if (churned) {
        emulator.state.deregisterInstance("ecs-services", "webapp-svc", churned.id);
        emulator.state.removeTask(DEMO_CLUSTER, churned.id);
        say(`[demo] deregistered task ${churned.id} from webapp-svc`);
        await churned.app.close();
        churned = undefined;
      } else {
        const extra = await startSampleApp({ name: `webapp-extra-${++n}` });
        const spec = churnInstance(extra.port, n);
        emulator.state.putTask({ ...spec.task, lastStatus: "RUNNING", desiredStatus: "RUNNING", healthStatus: "UNKNOWN" });
        emulator.state.registerInstance("ecs-services", "webapp-svc", { id: spec.id, attributes: spec.attributes });
        churned = { id: spec.id, app: extra };
        say(`[demo] registered task ${spec.id} in webapp-svc at 127.0.0.1:${extra.port}`);
      }
    })();
  }, churnMs);

  if (values.duration) setTimeout(() => void stopAll(0), Number(values.duration) * 1000);
} catch (error) {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await stopAll(1);
}

function reportSidecarLine(line: string): void {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  if (entry.msg === "discovery cycle finished" && (entry.added || entry.removed || entry.outcome !== "success")) {
    say(`[cloudmap-sd] cycle ${entry.outcome}: ${entry.targets} targets (+${entry.added} -${entry.removed}) in ${entry.durationMs} ms, ${entry.apiCalls} AWS calls`);
  } else if (entry.level === "warn" || entry.level === "error") {
    say(`[cloudmap-sd] ${entry.level}: ${entry.msg}${entry.detail ? ` (${entry.service}: ${entry.detail})` : ""}`);
  }
}

/**
 * The targets page of the Prometheus that was started: /targets on Prometheus 3 (and 2.x's React
 * UI), /classic/targets on builds with the classic UI only (Debian's 2.42, where /targets is 404).
 */
async function targetsPageOf(prometheusUrl: string): Promise<string | undefined> {
  for (const path of ["/targets", "/classic/targets"]) {
    if ((await httpStatus(`${prometheusUrl}${path}`)) === 200) return `${prometheusUrl}${path}`;
  }
  return undefined;
}

function prometheusConfig(targetsFile: string): string {
  return `global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: ecs-services
    file_sd_configs:
      - files: ["${targetsFile}"]
        refresh_interval: 5s
    relabel_configs:
      - source_labels: [__meta_ecs_launch_type]
        target_label: launch_type
      - source_labels: [__meta_cloudmap_endpoint]
        target_label: endpoint
`;
}
