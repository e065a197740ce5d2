/**
 * Sharding and HA pairs with real parts: Cloud Map (the emulator) → one cloudmap-sd per agent
 * (the built binary, SHARD_COUNT/SHARD_INDEX, LABEL_NAMING=ecs, prometheus.yaml rendered from the
 * shipped HA template) → real Prometheus agents (--enable-feature=agent) scraping real HTTP
 * targets → remote write to a receiver that decodes what AMP would receive. Every wait is on an
 * observed state (files, scrapes, received series), never a fixed sleep.
 */
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { type Emulator, startEmulator } from "../../dev/emulator/index.js";
import { freePort, httpStatus, type ManagedProcess, SIDECAR_ENTRY, sidecarEnv, startProcess, startSidecar, waitFor } from "../../dev/processes.js";
import { findOnPath } from "../../dev/which.js";
import { built } from "../helpers/built.js";
import { type RemoteWriteReceiver, startRemoteWriteReceiver } from "./remote-write-receiver.js";

const prometheusBinary = await findOnPath("prometheus");
if (!prometheusBinary && !process.env.CI) {
  console.warn("\n!!! SKIPPING the sharding end-to-end suite: prometheus is missing (Debian: apt-get install prometheus) !!!\n");
}
const TEMPLATE = new URL("../../task-definitions/prometheus/prometheus-ha.template.yaml", import.meta.url);
const INTERVAL_MS = 1_000;
/** Two scrape intervals, plus what the test's own event loop may add to when it sees a scrape. */
const MAX_GAP_MS = 2 * INTERVAL_MS + 500;
const SERVICES = 5;
const TARGET_PORT = 39_217;
const TASKS = 12;
const NAMESPACES_PARAMETER = "ECS-ServiceDiscovery-Namespaces";

/** A scrape target that notes when it is scraped: what "unscraped" is measured on. */
interface Target {
  readonly port: number;
  readonly address: string;
  readonly scrapes: number[];
  close(): Promise<void>;
}

async function startTarget(host: string): Promise<Target> {
  const scrapes: number[] = [];
  const server: Server = createServer((_request, response) => {
    scrapes.push(performance.now());
    response.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    response.end("# TYPE shard_probe gauge\nshard_probe 1\n");
  });
  server.listen(TARGET_PORT, host);
  await Promise.race([once(server, "listening"), once(server, "error").then(([error]) => Promise.reject(error))]);
  return {
    port: TARGET_PORT,
    address: `${host}:${TARGET_PORT}`,
    scrapes,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/**
 * The estate's targets, each on its own loopback address (127.R.service.task) and one fixed port.
 * The shard key holds the port, not the address: with the same port every run, every run shards
 * the same way, so the movement bound below is checked on a fixed estate, not on a random one.
 * R is random so that two runs at once do not collide; on a collision, another R.
 */
async function startTargets(): Promise<Target[]> {
  for (let attempt = 0; ; attempt++) {
    const r = 1 + Math.floor(Math.random() * 250);
    const started = await Promise.allSettled(Array.from({ length: SERVICES * TASKS }, (_, i) => startTarget(`127.${r}.${Math.floor(i / TASKS)}.${(i % TASKS) + 1}`)));
    const ok = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    if (ok.length === started.length) return ok;
    await Promise.all(ok.map((t) => t.close()));
    if (attempt === 5) throw new Error(`cannot listen on 127.x.y.z:${TARGET_PORT}: ${String(started.find((s) => s.status === "rejected")?.reason)}`);
  }
}

/** The ECS task metadata endpoint v4 of every fake task: /v4/<task id>/task answers that task's ARN. */
async function startTaskMetadata(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const match = /^\/v4\/([a-z0-9-]+)\/task$/.exec(request.url ?? "");
    if (!match) return void response.writeHead(404).end();
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ Cluster: "monitoring", TaskARN: `arn:aws:ecs:us-east-1:123456789012:task/monitoring/${match[1]}` }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** One agent task: its cloudmap-sd and its Prometheus agent, in a directory of their own. */
interface AgentTask {
  readonly name: string;
  readonly replica: string;
  readonly dir: string;
  readonly sidecarPort: number;
  readonly agentPort: number;
  sidecar: ManagedProcess;
  agent?: ManagedProcess;
}

interface ActiveTarget {
  scrapePool: string;
  scrapeUrl: string;
}

describe.skipIf(!prometheusBinary && !process.env.CI)("sharding and HA pairs with real Prometheus agents", () => {
  let root: string;
  let emulator: Emulator;
  let receiver: RemoteWriteReceiver;
  let metadata: Awaited<ReturnType<typeof startTaskMetadata>>;
  const targets: Target[] = [];
  const tasks = new Map<string, AgentTask>();
  const extraAgents: ManagedProcess[] = [];
  const byAddress = () => new Map(targets.map((t) => [t.address, t]));

  const diagnostics = () =>
    [...tasks.values()]
      .map((t) => `--- ${t.name} cloudmap-sd ---\n${t.sidecar.output().slice(-2500)}\n--- ${t.name} agent ---\n${t.agent?.output().slice(-2000) ?? ""}`)
      .join("\n");
  const wait = <T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000) =>
    waitFor(what, check, { timeoutMs, intervalMs: 200 }).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${diagnostics()}`);
    });

  /** The shipped template with only what a shared loopback host needs changed: ports, paths, intervals, the receiver. */
  const templateFor = (task: AgentTask): string => {
    const config = parse(readFileSync(TEMPLATE, "utf8")) as {
      global: Record<string, unknown>;
      scrape_configs: Array<Record<string, unknown> & { job_name: string }>;
      remote_write: unknown[];
    };
    config.global.scrape_interval = `${INTERVAL_MS}ms`;
    config.global.scrape_timeout = `${INTERVAL_MS}ms`;
    for (const job of config.scrape_configs) {
      if (job.job_name === "prometheus") job.static_configs = [{ targets: [`127.0.0.1:${task.agentPort}`] }];
      if (job.job_name === "cloudmap-sd") job.static_configs = [{ targets: [`127.0.0.1:${task.sidecarPort}`] }];
      if (job.job_name === "ecs-services") job.file_sd_configs = [{ files: [join(task.dir, "ecs-services.json")], refresh_interval: "1s" }];
    }
    config.remote_write = [{ url: receiver.url, queue_config: { batch_send_deadline: "500ms", min_backoff: "100ms", max_backoff: "1s" } }];
    return stringify(config);
  };

  const startTaskSidecar = async (task: AgentTask, shard: number, shards: number) => {
    task.sidecar = startSidecar(
      sidecarEnv({
        emulatorUrl: emulator.url,
        configDir: task.dir,
        listenPort: task.sidecarPort,
        reloadSeconds: 1,
        extra: {
          SHARD_COUNT: String(shards),
          SHARD_INDEX: String(shard),
          LABEL_NAMING: "ecs",
          ECS_ENRICHMENT: "off",
          PROMETHEUS_CONFIG_TEMPLATE: join(task.dir, "template.yaml"),
          ECS_CONTAINER_METADATA_URI_V4: `${metadata.url}/v4/${task.replica}`,
          LOG_LEVEL: "info",
        },
      }),
    );
    await wait(`${task.name} cloudmap-sd ready`, async () => ((await httpStatus(`http://127.0.0.1:${task.sidecarPort}/ready`)) === 200 ? true : undefined));
  };

  /** Starts a sidecar (it renders prometheus.yaml), then the agent reading what it rendered. */
  const startTask = async (name: string, shard: number, shards: number): Promise<AgentTask> => {
    const dir = join(root, name);
    await mkdir(dir);
    const task: AgentTask = { name, replica: `task-${name}`, dir, sidecarPort: await freePort(), agentPort: await freePort(), sidecar: undefined as unknown as ManagedProcess };
    tasks.set(name, task);
    await writeFile(join(dir, "template.yaml"), templateFor(task));
    await startTaskSidecar(task, shard, shards);
    task.agent = startAgent(name, join(dir, "prometheus.yaml"), task.agentPort);
    await wait(`${name} agent ready`, async () => ((await httpStatus(`http://127.0.0.1:${task.agentPort}/-/ready`)) === 200 ? true : undefined));
    return task;
  };

  const startAgent = (name: string, configFile: string, port: number) =>
    startProcess(`agent-${name}`, prometheusBinary as string, [
      `--config.file=${configFile}`,
      "--enable-feature=agent",
      `--storage.agent.path=${join(root, `${name}-wal-${port}`)}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);

  /** The addresses in a task's targets file. */
  const fileTargets = async (task: AgentTask): Promise<string[]> => {
    const groups = JSON.parse(await readFile(join(task.dir, "ecs-services.json"), "utf8")) as Array<{ targets: string[] }>;
    return groups.flatMap((g) => g.targets).sort();
  };

  const activeTargets = async (port: number, pool: string): Promise<string[]> => {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/targets?state=active`);
    const body = (await response.json()) as { data: { activeTargets: ActiveTarget[] } };
    return body.data.activeTargets.filter((t) => t.scrapePool === pool).map((t) => new URL(t.scrapeUrl).host).sort();
  };

  /** Received `up` series of the discovered targets since `from`: instance → clusters and replicas that sent it. */
  const received = (from = 0) => {
    const senders = new Map<string, { clusters: Set<string>; replicas: Set<string> }>();
    for (const series of receiver.series.slice(from)) {
      const labels = series.labels;
      if (labels.__name__ !== "up" || labels.job !== "ecs-services" || labels.instance === undefined) continue;
      const entry = senders.get(labels.instance) ?? { clusters: new Set(), replicas: new Set() };
      entry.clusters.add(labels.cluster ?? "");
      entry.replicas.add(labels.__replica__ ?? "");
      senders.set(labels.instance, entry);
    }
    return senders;
  };

  /** The longest time any of `addresses` went unscraped between `from` and `to` (performance.now()). */
  const longestGap = (addresses: readonly string[], from: number, to: number) => {
    let worst = { address: "", gapMs: 0 };
    for (const address of addresses) {
      const times = [from, ...(byAddress().get(address)?.scrapes.filter((t) => t > from && t < to) ?? []), to];
      for (let i = 1; i < times.length; i++) {
        const gapMs = (times[i] as number) - (times[i - 1] as number);
        if (gapMs > worst.gapMs) worst = { address, gapMs: Math.round(gapMs) };
      }
    }
    return worst;
  };

  beforeAll(async () => {
    expect(prometheusBinary, "prometheus on PATH (apt-get install prometheus)").toBeTruthy();
    built("dist/src/main.js");
    expect(existsSync(SIDECAR_ENTRY)).toBe(true);
    root = await mkdtemp(join(tmpdir(), "cloudmap-sd-sharding-"));
    targets.push(...(await startTargets()));
    // One ECS cluster for the whole estate: with the legacy names its `cluster` label would make
    // every shard look like a replica of one cluster to AMP.
    emulator = await startEmulator({
      topology: {
        namespaces: [
          {
            name: "shop.local",
            type: "DNS_PRIVATE",
            services: Array.from({ length: SERVICES }, (_, s) => ({
              name: `svc-${s}`,
              tags: { METRICS_PATH: "/metrics" },
              instances: Array.from({ length: TASKS }, (_, t) => ({
                id: `${s}${t}`.padStart(4, "0").padEnd(32, "a"),
                attributes: {
                  AWS_INSTANCE_IPV4: targets[s * TASKS + t]?.address.split(":")[0] as string,
                  AWS_INSTANCE_PORT: String(TARGET_PORT),
                  ECS_CLUSTER_NAME: "prod",
                  ECS_SERVICE_NAME: `service-${s}`,
                  ECS_TASK_DEFINITION_FAMILY: `family-${s}`,
                },
              })),
            })),
          },
        ],
        parameters: { [NAMESPACES_PARAMETER]: "shop.local" },
      },
    });
    receiver = await startRemoteWriteReceiver();
    metadata = await startTaskMetadata();
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...extraAgents, ...[...tasks.values()].flatMap((t) => (t.agent ? [t.agent] : []))].map((p) => p.stop()));
    await Promise.all([...tasks.values()].map((t) => t.sidecar?.stop()));
    await Promise.all(targets.map((t) => t.close()));
    await receiver?.close();
    await metadata?.close();
    await emulator?.close();
    if (root) await rm(root, { recursive: true, force: true });
  }, 30_000);

  // One flow, in order: each step starts from the state the previous one left.
  let shardsOf3: Map<string, number>;

  it("3 shards, shard 0 as an HA pair: every target is scraped by exactly one shard, the union is the unsharded file", async () => {
    const [s0a, s0b, s1, s2] = [await startTask("s0a", 0, 3), await startTask("s0b", 0, 3), await startTask("s1", 1, 3), await startTask("s2", 2, 3)];
    const all = targets.map((t) => t.address).sort();

    // The files partition the estate, and their union is the one unsharded discovery.
    const files = await Promise.all([s0a, s1, s2].map(fileTargets));
    expect(files.flat().sort()).toEqual(all);
    expect(files.every((f) => f.length > 0)).toBe(true);
    expect(await fileTargets(s0b)).toEqual(files[0]);
    const unsharded = await (await fetch(`http://127.0.0.1:${s1.sidecarPort}/prometheus-targets?shard=0&shards=1`)).text();
    const unshardedGroups = JSON.parse(unsharded) as unknown[];
    const fileGroups = (await Promise.all([s0a, s1, s2].map(async (t) => JSON.parse(await readFile(join(t.dir, "ecs-services.json"), "utf8")) as unknown[]))).flat();
    expect(new Set(fileGroups.map((g) => JSON.stringify(g)))).toEqual(new Set(unshardedGroups.map((g) => JSON.stringify(g))));
    shardsOf3 = new Map(files.flatMap((f, shard) => f.map((address) => [address, shard] as const)));

    // What AMP receives: each target under exactly one cluster, its shard's; shard 0's from both replicas.
    const senders = await wait("every target's samples, shard 0's from both replicas", () => {
      const now = received();
      const complete = all.every((a) => now.has(a)) && files[0]?.every((a) => now.get(a)?.replicas.size === 2);
      return complete ? now : undefined;
    });
    for (const address of all) {
      const { clusters, replicas } = senders.get(address) ?? { clusters: new Set(), replicas: new Set() };
      expect([...clusters], address).toEqual([`shard-${shardsOf3.get(address)}`]);
      const expected = shardsOf3.get(address) === 0 ? ["task-s0a", "task-s0b"] : [`task-s${shardsOf3.get(address)}`];
      expect([...replicas].sort(), address).toEqual(expected);
    }
    // No target label overrides the external `cluster`: the ECS cluster is ecs_cluster.
    const sample = receiver.series.find((s) => s.labels.__name__ === "shard_probe");
    expect(sample?.labels).toMatchObject({ ecs_cluster: "prod", cluster: expect.stringMatching(/^shard-\d$/), cloudmap_namespace: "shop.local" });
    // prometheus.yaml was written once; every later cycle found it unchanged.
    const metrics = await (await fetch(`http://127.0.0.1:${s1.sidecarPort}/metrics`)).text();
    expect(metrics).toContain('cloudmap_sd_file_writes_total{file="prometheus_config",outcome="written"} 1\n');
    expect(metrics).toMatch(/cloudmap_sd_file_writes_total\{file="prometheus_config",outcome="unchanged"\} [1-9]/);
    // Self-monitoring reaches the store too: the agent's remote-write metrics and the sidecar's.
    await wait("self-monitoring series", () =>
      receiver.series.some((s) => s.labels.__name__ === "prometheus_remote_storage_samples_total") &&
      receiver.series.some((s) => s.labels.__name__ === "cloudmap_sd_shard_targets" && s.labels.job === "cloudmap-sd")
        ? true
        : undefined,
    );
  }, 90_000);

  it("resizing to 4 shards moves at most ~30 % of the targets, into the new shard, none unscraped for more than two intervals", async () => {
    const started = performance.now();
    // The new shard first (old shards still scrape what it takes), then the old shards move to 4.
    const marks: Record<string, number> = {};
    const mark = (what: string) => (marks[what] = Math.round(performance.now() - started));
    const s3 = await startTask("s3", 3, 4);
    // Prometheus applies discovered targets at most every 5 s: wait until the new agent really
    // scrapes its targets before the old shards let go of them (docs/sharding.md, "Resizing").
    await wait("the new shard's agent scraping its targets", async () => {
      const expected = await fileTargets(s3);
      return expected.length > 0 && JSON.stringify(await activeTargets(s3.agentPort, "ecs-services")) === JSON.stringify(expected) ? true : undefined;
    });
    mark("s3 scraping");
    for (const [name, shard] of [["s0a", 0], ["s0b", 0], ["s1", 1], ["s2", 2]] as const) {
      const task = tasks.get(name) as AgentTask;
      await task.sidecar.stop();
      mark(`${name} stopped`);
      await startTaskSidecar(task, shard, 4);
      mark(`${name} ready`);
    }
    const [s0a, s0b, s1, s2] = ["s0a", "s0b", "s1", "s2"].map((name) => tasks.get(name) as AgentTask) as [AgentTask, AgentTask, AgentTask, AgentTask];
    // Converged: each agent, both of the HA pair, scrapes exactly its file's targets.
    const files = await wait("every agent scraping only its new shard", async () => {
      const now = await Promise.all([s0a, s1, s2, s3, s0b].map(fileTargets));
      if (now.slice(0, 4).flat().length !== targets.length) return undefined;
      const active = await Promise.all([s0a, s1, s2, s3, s0b].map((t) => activeTargets(t.agentPort, "ecs-services")));
      return active.every((a, i) => JSON.stringify(a) === JSON.stringify(now[i])) ? now.slice(0, 4) : undefined;
    });
    // Two more intervals, seen as scrapes of every target, so the gap check covers the settled state too.
    const settled = performance.now();
    await wait("two more scrapes of every target", () => (targets.every((t) => t.scrapes.filter((at) => at > settled).length >= 2) ? true : undefined));

    const shardsOf4 = new Map(files.flatMap((f, shard) => f.map((address) => [address, shard] as const)));
    const moved = [...shardsOf4].filter(([address, shard]) => shardsOf3.get(address) !== shard);
    expect(moved.length).toBeGreaterThan(0);
    console.info(`resize 3 → 4: ${moved.length} of ${targets.length} targets moved`);
    expect(moved.length / targets.length).toBeLessThanOrEqual(0.3);
    expect(new Set(moved.map(([, shard]) => shard))).toEqual(new Set([3]));
    const gap = longestGap(
      targets.map((t) => t.address),
      started,
      performance.now(),
    );
    const scrapedAt = (byAddress().get(gap.address)?.scrapes ?? []).filter((t) => t > started).map((t) => Math.round(t - started));
    expect(gap.gapMs, `longest gap, of ${gap.address} (shard ${shardsOf3.get(gap.address)} → ${shardsOf4.get(gap.address)}), scraped at ${scrapedAt.join(" ")} ms; ${JSON.stringify(marks)}`).toBeLessThanOrEqual(MAX_GAP_MS);
    shardsOf3 = shardsOf4;
  }, 90_000);

  it("an HA pair loses no target when one replica stops", async () => {
    const [s0a, s0b] = ["s0a", "s0b"].map((name) => tasks.get(name) as AgentTask) as [AgentTask, AgentTask];
    const shard0 = await fileTargets(s0b);
    expect(shard0.length).toBeGreaterThan(0);

    const stopped = performance.now();
    const from = receiver.series.length;
    await s0a.agent?.stop();
    await wait("shard 0's samples from the remaining replica", () => {
      const now = received(from);
      return shard0.every((a) => now.get(a)?.replicas.has("task-s0b")) ? true : undefined;
    });
    const settled = performance.now();
    await wait("two more scrapes of shard 0", () => (shard0.every((a) => (byAddress().get(a)?.scrapes.filter((at) => at > settled).length ?? 0) >= 2) ? true : undefined));

    const gap = longestGap(shard0, stopped, performance.now());
    expect(gap.gapMs, `longest gap, of ${gap.address}`).toBeLessThanOrEqual(MAX_GAP_MS);
    // Same cluster for both replicas; the stopped one may still have flushed what it had queued.
    const after = received(from);
    for (const address of shard0) {
      expect([...(after.get(address)?.clusters ?? [])], address).toEqual(["shard-0"]);
      expect(after.get(address)?.replicas.has("task-s0b"), address).toBe(true);
      expect([...(after.get(address)?.replicas ?? [])].every((r) => r === "task-s0a" || r === "task-s0b")).toBe(true);
    }
  }, 60_000);

  it("shared-discovery mode: an agent on http_sd ?shard=I&shards=N gets the same targets as that shard's file", async () => {
    const s2 = tasks.get("s2") as AgentTask;
    const serving = tasks.get("s3") as AgentTask;
    // Any sidecar serves every shard of its one discovery; here shard 2 of 4 from shard 3's sidecar.
    const url = `http://127.0.0.1:${serving.sidecarPort}/prometheus-targets?shard=2&shards=4`;
    expect(await (await fetch(url)).text()).toBe(await readFile(join(s2.dir, "ecs-services.json"), "utf8"));

    const port = await freePort();
    const configFile = join(root, "shared.yaml");
    await writeFile(
      configFile,
      stringify({
        global: { scrape_interval: "1s", scrape_timeout: "1s" },
        scrape_configs: [{ job_name: "shared", http_sd_configs: [{ url, refresh_interval: "1s" }] }],
      }),
    );
    const agent = startAgent("shared", configFile, port);
    extraAgents.push(agent);
    const expected = await fileTargets(s2);
    await wait("the http_sd agent's targets", async () => (JSON.stringify(await activeTargets(port, "shared").catch(() => [])) === JSON.stringify(expected) ? true : undefined));
    expect((await fetch(`http://127.0.0.1:${serving.sidecarPort}/prometheus-targets?shard=4&shards=4`)).status).toBe(400);
  }, 60_000);
});
