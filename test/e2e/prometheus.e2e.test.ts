/**
 * The seed architecture with real parts: Cloud Map (the project's emulator) → cloudmap-sd (the
 * built binary) → file and http_sd → a real Prometheus scraping real sample apps → remote write
 * to a receiver that decodes what AMP would receive.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { churnInstance, DEMO_CLUSTER, demoTopology, startDemoApps } from "../../dev/demo-topology.js";
import { type Emulator, startEmulator } from "../../dev/emulator/index.js";
import {
  freePort,
  httpStatus,
  type ManagedProcess,
  SIDECAR_ENTRY,
  sidecarEnv,
  startPrometheus,
  startSidecar,
  waitFor,
} from "../../dev/processes.js";
import { type SampleApp, startSampleApp } from "../../dev/sample-app.js";
import { findOnPath } from "../../dev/which.js";
import { type RemoteWriteReceiver, startRemoteWriteReceiver } from "./remote-write-receiver.js";

const prometheusBinary = await findOnPath("prometheus");
const promtoolBinary = await findOnPath("promtool");
const missing = [
  ...(prometheusBinary ? [] : ["prometheus"]),
  ...(promtoolBinary ? [] : ["promtool"]),
  ...(existsSync(SIDECAR_ENTRY) ? [] : [`${SIDECAR_ENTRY} (run npm run build)`]),
];
if (missing.length > 0 && !process.env.CI) {
  console.warn(`\n!!! SKIPPING the end-to-end suite: missing ${missing.join(", ")} (Debian: apt-get install prometheus) !!!\n`);
}

interface ActiveTarget {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  lastError: string;
}

// In CI a missing piece is a failure, never a skip.
describe.skipIf(missing.length > 0 && !process.env.CI)("end to end with a real Prometheus", () => {
  let dir: string;
  let emulator: Emulator;
  let receiver: RemoteWriteReceiver;
  let sidecar: ManagedProcess;
  let prometheus: ManagedProcess;
  let prometheusUrl: string;
  let configFile: string;
  let targetsFile: string;
  const apps: SampleApp[] = [];
  const app = async (name: string, metricsPaths?: string[]) => {
    const started = await startSampleApp({ name, ...(metricsPaths ? { metricsPaths } : {}) });
    apps.push(started);
    return started;
  };

  const activeTargets = async (): Promise<ActiveTarget[]> => {
    const response = await fetch(`${prometheusUrl}/api/v1/targets?state=active`);
    const body = (await response.json()) as { data: { activeTargets: ActiveTarget[] } };
    return body.data.activeTargets;
  };
  /** Waits until Prometheus' targets of `pool` satisfy `ok` (one cycle + Prometheus' refresh, with margin). */
  const targetsOf = (pool: string, ok: (targets: ActiveTarget[]) => boolean, what: string) =>
    waitFor(
      what,
      async () => {
        const targets = (await activeTargets()).filter((t) => t.scrapePool === pool);
        return ok(targets) ? targets : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- cloudmap-sd ---\n${sidecar.output().slice(-4000)}\n--- prometheus ---\n${prometheus.output().slice(-3000)}`);
    });

  beforeAll(async () => {
    expect(missing, "pieces the e2e suite needs").toEqual([]);
    dir = await mkdtemp(join(tmpdir(), "cloudmap-sd-e2e-"));
    const configDir = join(dir, "config");
    await mkdir(configDir);
    targetsFile = join(configDir, "ecs-services.json");
    const demo = await startDemoApps();
    apps.push(...demo.apps);
    emulator = await startEmulator({
      pageSize: 1, // every list call needs several pages
      topology: demoTopology(demo.ports),
    });
    receiver = await startRemoteWriteReceiver();

    const sidecarPort = await freePort();
    sidecar = startSidecar(
      sidecarEnv({
        emulatorUrl: emulator.url,
        configDir,
        listenPort: sidecarPort,
        reloadSeconds: 1,
        extra: { TAG_REFRESH_INTERVAL: "0", LOG_LEVEL: "debug" },
      }),
    );
    await waitFor("cloudmap-sd /ready", async () => ((await httpStatus(`http://127.0.0.1:${sidecarPort}/ready`)) === 200 ? true : undefined), {
      timeoutMs: 20_000,
    });

    const promPort = await freePort();
    prometheusUrl = `http://127.0.0.1:${promPort}`;
    configFile = join(dir, "prometheus.yml");
    await writeFile(
      configFile,
      `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: file-sd
    file_sd_configs:
      - files: ["${join(configDir, "*.json")}"]
        refresh_interval: 1s
    relabel_configs:
      - source_labels: [__meta_cloudmap_attribute_AVAILABILITY_ZONE]
        target_label: az
      - source_labels: [__meta_cloudmap_endpoint]
        target_label: endpoint
  - job_name: http-sd
    http_sd_configs:
      - url: http://127.0.0.1:${sidecarPort}/prometheus-targets
        refresh_interval: 1s
    relabel_configs:
      - source_labels: [__meta_cloudmap_namespace_type]
        regex: DNS_PRIVATE
        action: keep
remote_write:
  - url: ${receiver.url}
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
`,
    );
    prometheus = startPrometheus({ binary: prometheusBinary as string, configFile, dataDir: join(dir, "data"), port: promPort });
    await waitFor("Prometheus ready", async () => ((await httpStatus(`${prometheusUrl}/-/ready`)) === 200 ? true : undefined), {
      timeoutMs: 30_000,
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${prometheus.output()}`);
    });
  }, 90_000);

  afterAll(async () => {
    // Stopped by PID, newest first; each waits for its exit.
    await prometheus?.stop();
    await sidecar?.stop();
    await Promise.all(apps.map((a) => a.close()));
    await receiver?.close();
    await emulator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("promtool accepts the generated Prometheus configuration", async () => {
    const { stdout } = await promisify(execFile)(promtoolBinary as string, ["check", "config", configFile]);
    expect(stdout).toContain("SUCCESS");
  });

  it("discovers every expected target through file_sd, up and with the right labels", async () => {
    const targets = await targetsOf(
      "file-sd",
      (ts) => ts.length === 5 && ts.every((t) => t.health === "up"),
      "5 file_sd targets up",
    );
    const byUrl = Object.fromEntries(targets.map((t) => [t.scrapeUrl, t]));
    const webapp = targets.filter((t) => t.labels.service === "WebAppService");
    expect(webapp).toHaveLength(2);
    for (const target of webapp) {
      expect(target.labels).toMatchObject({
        cluster: DEMO_CLUSTER,
        service: "WebAppService",
        taskdefinition: "WebAppTask",
        namespace: "ecs-services",
        endpoint: "app",
        job: "file-sd",
      });
      expect(target.labels.taskid).toMatch(/^a1b2c3web/);
      expect(target.labels.az).toMatch(/^us-east-1[abc]$/); // relabeled from __meta_cloudmap_attribute_AVAILABILITY_ZONE
      expect(target.scrapeUrl).toMatch(/\/metrics$/);
    }
    // __metrics_path__ honoured: the infrastructure endpoint is scraped on its own path.
    const ecsEndpoint = targets.find((t) => t.labels.endpoint === "ecs");
    expect(ecsEndpoint?.scrapeUrl).toMatch(/\/ecs-metrics$/);
    expect(ecsEndpoint?.labels.service).toBe("OrdersService");
    // The Service Connect service is scraped through its task definition's docker labels.
    const payments = targets.find((t) => t.labels.endpoint === "docker_label");
    expect(payments?.labels).toMatchObject({ namespace: "ecs-connect", service: "PaymentsService" });
    expect(payments?.discoveredLabels.__meta_ecs_container_name).toBe("payments");
    // The untagged internal-db is not a target.
    expect(targets.some((t) => t.labels.service === "InternalDbService")).toBe(false);
    expect(Object.keys(byUrl)).toHaveLength(5);
  });

  it("serves the same targets over http_sd, where relabeling on __meta_cloudmap_* keeps only DNS_PRIVATE namespaces", async () => {
    const targets = await targetsOf("http-sd", (ts) => ts.length === 4 && ts.every((t) => t.health === "up"), "4 http_sd targets up");
    expect(new Set(targets.map((t) => t.labels.namespace))).toEqual(new Set(["ecs-services"]));
    expect(targets.every((t) => t.discoveredLabels.__meta_ecs_task_arn?.includes(`task/${DEMO_CLUSTER}/`))).toBe(true);
  });

  it("remote-writes samples from the sample apps carrying the discovery labels", async () => {
    const series = await waitFor(
      "remote-written sample_app_up series from 5 targets",
      () => {
        const found = receiver.series.filter((s) => s.labels.__name__ === "sample_app_up" && s.labels.job === "file-sd");
        return new Set(found.map((s) => s.labels.instance)).size >= 5 ? found : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(receiver.rejected).toBe(0);
    const webapp = series.find((s) => s.labels.service === "WebAppService");
    expect(webapp?.labels).toMatchObject({ cluster: DEMO_CLUSTER, taskdefinition: "WebAppTask", namespace: "ecs-services", app: expect.stringMatching(/^webapp-/) });
    expect(webapp?.samples).toBeGreaterThan(0);
  });

  it("follows topology changes: deregister, register, a new service, a service losing its tags", async () => {
    const state = emulator.state;
    const before = await targetsOf("file-sd", (ts) => ts.length === 5, "5 targets");
    const webapp = before.filter((t) => t.labels.service === "WebAppService");
    const leaving = webapp[0]?.labels.taskid as string;

    // Deregister one webapp task.
    state.deregisterInstance("ecs-services", "webapp-svc", leaving);
    await targetsOf("file-sd", (ts) => ts.length === 4 && !ts.some((t) => t.labels.taskid === leaving), "the deregistered task to disappear");

    // Register a new one.
    const extra = await app("webapp-extra");
    const spec = churnInstance(extra.port, 1);
    state.putTask({ ...spec.task, lastStatus: "RUNNING", desiredStatus: "RUNNING", healthStatus: "UNKNOWN" });
    state.registerInstance("ecs-services", "webapp-svc", { id: spec.id, attributes: spec.attributes });
    await targetsOf("file-sd", (ts) => ts.some((t) => t.labels.taskid === spec.id && t.health === "up"), "the registered task to be up");

    // A new tagged service.
    const reports = await app("reports");
    state.createService("ecs-services", {
      name: "reports-svc",
      tags: { METRICS_PATH: "/metrics", METRICS_PORT: String(reports.port) },
      instances: [{ id: "feedbeef".padEnd(32, "0"), attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", ECS_SERVICE_NAME: "ReportsService" } }],
    });
    await targetsOf("file-sd", (ts) => ts.some((t) => t.labels.service === "ReportsService" && t.health === "up"), "the new service's target");

    // A service losing its tags stops being scraped.
    state.setServiceTags("ecs-services", "orders-svc", {});
    const after = await targetsOf("file-sd", (ts) => !ts.some((t) => t.labels.service === "OrdersService"), "orders-svc targets to go");
    expect(after.map((t) => t.labels.service).sort()).toEqual(["PaymentsService", "ReportsService", "WebAppService", "WebAppService"]);
  });

  it("keeps every target while Cloud Map fails, then follows again", async () => {
    const before = await targetsOf("file-sd", (ts) => ts.length === 4, "4 targets");
    const fileBefore = await readFile(targetsFile, "utf8");
    emulator.faults.set("ListServices", { errorRate: 1, error: "ThrottlingException" });
    emulator.faults.set("DiscoverInstances", { errorRate: 1, error: "ServiceUnavailable" });
    // Meanwhile a task leaves: cloudmap-sd cannot see it, so it keeps the last-known-good target.
    const leaving = before.find((t) => t.labels.service === "WebAppService")?.labels.taskid as string;
    emulator.state.deregisterInstance("ecs-services", "webapp-svc", leaving);
    const failedBefore = emulator.calls.get("ListServices");
    await waitFor("three failing cycles", () => (emulator.calls.get("ListServices") >= failedBefore + 3 ? true : undefined), {
      timeoutMs: 30_000,
    });
    expect(await readFile(targetsFile, "utf8")).toBe(fileBefore);
    const during = (await activeTargets()).filter((t) => t.scrapePool === "file-sd");
    expect(during.map((t) => t.scrapeUrl).sort()).toEqual(before.map((t) => t.scrapeUrl).sort());

    emulator.faults.clear();
    await targetsOf("file-sd", (ts) => ts.length === 3 && !ts.some((t) => t.labels.taskid === leaving), "the change made during the outage");
  });
});
