import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ListNamespacesCommand, ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import {
  GetParameterCommand,
  type GetParameterCommandInput,
  ParameterNotFound,
  SSMClient,
  ThrottlingException,
} from "@aws-sdk/client-ssm";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import pLimit from "p-limit";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallCounter } from "../../src/aws/call.js";
import { CloudMapApi } from "../../src/aws/cloudmap.js";
import { CloudMapFetcher } from "../../src/aws/cloudmap-fetcher.js";
import { EcsApi } from "../../src/aws/ecs.js";
import { EcsEnricher } from "../../src/aws/ecs-enricher.js";
import { readParameter } from "../../src/aws/ssm-parameter.js";
import type { TargetGroup } from "../../src/core/model.js";
import { CycleDeadlineError } from "../../src/errors.js";
import { Metrics } from "../../src/metrics.js";
import { PublishedFile } from "../../src/output/published-file.js";
import { Discovery } from "../../src/runtime/discovery-cycle.js";
import { HealthState } from "../../src/runtime/health.js";
import {
  clientConfig,
  ecsAttributes,
  FakeCloudMap,
  FakeEcs,
  type FakeNamespace,
  type FakeService,
  TEST_CREDENTIALS,
  callContext,
} from "../helpers/aws-fixtures.js";
import { memoryLogger, tempDirs } from "../helpers/fixtures.js";

const NAMESPACES_PARAMETER = "ECS-ServiceDiscovery-Namespaces";
const PROMETHEUS_PARAMETER = "prometheus-config";
const START = Date.UTC(2025, 0, 1);

function instance(id: string, ip: string) {
  return { id, attributes: ecsAttributes(ip), healthStatus: "HEALTHY" as const };
}

/** Every target address in a file_sd document, sorted. */
function targetsIn(content: string): string[] {
  return (JSON.parse(content) as TargetGroup[]).flatMap((group) => group.targets).sort();
}

describe("Discovery", () => {
  const dirs = tempDirs("cloudmap-sd-cycle-");
  let cloudMap: FakeCloudMap;
  let ecs: FakeEcs;
  let ssm: AwsClientStub<SSMClient>;
  /** SSM parameters by name; a name without a value does not exist. */
  let parameters: Map<string, string>;
  let ssmFailure: Error | undefined;
  let prod: FakeNamespace;
  let web: FakeService;
  let api: FakeService;

  beforeEach(() => {
    cloudMap = new FakeCloudMap();
    prod = cloudMap.addNamespace("prod.local");
    web = cloudMap.addService(prod, "web", { METRICS_PATH: "/metrics" }, [instance("w1", "10.0.1.1")]);
    api = cloudMap.addService(prod, "api", { METRICS_PORT: "9100" }, [instance("a1", "10.0.2.1")]);
    const staging = cloudMap.addNamespace("staging.local", "HTTP");
    cloudMap.addService(staging, "web", { METRICS_PATH: "/metrics" }, [instance("s1", "10.1.1.1")]);

    ecs = new FakeEcs();
    for (const id of ["w1", "a1", "s1"]) ecs.addTask("prod", id);

    parameters = new Map([[NAMESPACES_PARAMETER, "prod.local"]]);
    ssmFailure = undefined;
    ssm = mockClient(SSMClient);
    ssm.on(GetParameterCommand).callsFake(async (input: GetParameterCommandInput) => {
      if (ssmFailure) throw ssmFailure;
      const value = parameters.get(input.Name ?? "");
      if (value === undefined) throw new ParameterNotFound({ message: "", $metadata: {} });
      return { Parameter: { Name: input.Name, Type: "String", Value: value } };
    });
  });

  afterEach(async () => {
    cloudMap.restore();
    ecs.restore();
    ssm.restore();
    vi.unstubAllEnvs();
    await dirs.cleanup();
  });

  /**
   * The cycle wired as main.ts wires it, over mocked SDK clients: real fetcher, enricher and
   * files in a temp directory, a memory logger and a clock the test moves.
   */
  const MAX_HOLD_MS = 300_000;

  async function sidecar(options: { existingTargets?: string; prometheusConfig?: boolean } = {}) {
    const dir = await dirs.make();
    const targetsPath = join(dir, "ecs-services.json");
    const prometheusPath = join(dir, "prometheus.yaml");
    if (options.existingTargets !== undefined) await writeFile(targetsPath, options.existingTargets);
    /** Both sides of the Clock move together here; `clock.now += ms` steps time. */
    const clock = {
      now: START,
      monotonicMs() {
        return this.now;
      },
      wallMs() {
        return this.now;
      },
    };
    const now = () => clock.now;
    const { logger, lines } = memoryLogger("debug");
    let discovery: Discovery | undefined;
    const metrics = new Metrics(clock, () => discovery?.staleness() ?? new Map());
    const calls = new CallCounter(metrics);
    const limit = pLimit(4);
    const ssmClient = new SSMClient(clientConfig);
    const targetsFile = new PublishedFile(targetsPath);
    await targetsFile.open("[]\n");
    const prometheusConfigFile = options.prometheusConfig ? new PublishedFile(prometheusPath) : undefined;
    await prometheusConfigFile?.open();
    const health = new HealthState(300_000, now);
    discovery = new Discovery({
      readNamespaces: (signal) => readParameter(ssmClient, callContext(calls), NAMESPACES_PARAMETER, signal),
      ...(prometheusConfigFile
        ? {
            prometheusConfigFile,
            readPrometheusConfig: (signal: AbortSignal) => readParameter(ssmClient, callContext(calls), PROMETHEUS_PARAMETER, signal),
          }
        : {}),
      fetcher: new CloudMapFetcher(new CloudMapApi(new ServiceDiscoveryClient(clientConfig), callContext(calls)), {
        healthStatus: "ALL",
        tagTtlMs: 300_000,
        healthRefreshMs: 60_000,
        readUntaggedInstances: true,
        limit,
        clock,
      }),
      enricher: new EcsEnricher(new EcsApi(new ECSClient(clientConfig), callContext(calls)), { mode: "auto", limit, clock }),
      targetsFile,
      calls,
      metrics,
      logger,
      health,
      buildOptions: {},
      clock,
      maxHoldMs: MAX_HOLD_MS,
    });
    const active = discovery;
    return {
      discovery: active,
      metrics,
      health,
      clock,
      lines,
      targetsPath,
      prometheusPath,
      run: () => active.runCycle(new AbortController().signal),
      targets: async () => targetsIn(await readFile(targetsPath, "utf8")),
      /** A metric's value for the sample whose labels include `labels` (undefined: no such sample). */
      async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
        const data = await metrics.registry.getSingleMetric(name)?.get();
        return data?.values.find((value) => Object.entries(labels).every(([key, v]) => value.labels[key] === v))?.value;
      },
      cycleLines: () => lines().filter((line) => line.msg === "discovery cycle finished"),
    };
  }

  describe("the namespaces parameter", () => {
    it.each([
      ["comma-separated", "prod.local,staging.local"],
      ["comma-separated with spaces", " prod.local ,  staging.local "],
      ["one name per line", "prod.local\nstaging.local\n"],
      ["commas and newlines mixed, CRLF", "prod.local,\r\n\r\nstaging.local,"],
    ])("reads %s names", async (_format, value) => {
      // Prepare
      parameters.set(NAMESPACES_PARAMETER, value);
      const subject = await sidecar();

      // Act
      const report = await subject.run();

      // Assess
      expect(report.outcome).toBe("success");
      expect(await subject.targets()).toEqual(["10.0.1.1:8080", "10.0.2.1:9100", "10.1.1.1:8080"]);
      const asked = cloudMap.mock.commandCalls(ListNamespacesCommand).map((call) => call.args[0].input.Filters?.[0]?.Values?.[0]);
      expect(asked.sort()).toEqual(["prod.local", "staging.local"]);
    });

    it("publishes [] with a warning when it lists no namespace", async () => {
      // Prepare
      const subject = await sidecar();
      await subject.run();
      parameters.set(NAMESPACES_PARAMETER, " ,\n ");

      // Act
      const report = await subject.run();

      // Assess
      expect(report.outcome).toBe("success");
      expect(await readFile(subject.targetsPath, "utf8")).toBe("[]\n");
      expect(subject.lines().some((line) => line.level === "warn" && String(line.msg).includes("lists no namespace"))).toBe(true);
      expect(report.removed).toBe(2);
    });

    it.each([
      ["does not exist", () => parameters.delete(NAMESPACES_PARAMETER), "ParameterNotFound"],
      [
        "cannot be read",
        () => {
          ssmFailure = new ThrottlingException({ message: "Rate exceeded", Message: "Rate exceeded", $metadata: {} });
        },
        "ThrottlingException",
      ],
    ])("when it %s: fails the cycle, leaves the file byte-identical, logs and counts", async (_case, breakIt, code) => {
      // Prepare
      const subject = await sidecar();
      await subject.run();
      const before = await readFile(subject.targetsPath);
      cloudMap.register(web, instance("w2", "10.0.1.2"));
      breakIt();

      // Act
      const report = await subject.run();

      // Assess
      expect(report.outcome).toBe("failure");
      expect(await readFile(subject.targetsPath)).toEqual(before);
      const errors = subject.lines().filter((line) => line.level === "error");
      expect(errors).toHaveLength(1);
      expect(String(errors[0]?.msg)).toContain("namespaces parameter");
      expect(String(errors[0]?.err)).toContain(NAMESPACES_PARAMETER);
      expect(await subject.metric("cloudmap_sd_cycles_total", { outcome: "failure" })).toBe(1);
      expect(await subject.metric("cloudmap_sd_aws_requests_total", { operation: "GetParameter", outcome: code })).toBe(1);
      expect(subject.health.ready).toBe(true);
    });
  });

  describe("last-known-good", () => {
    it("keeps a failing service's targets while another service's new instance is published (partial)", async () => {
      // Prepare
      const subject = await sidecar();
      await subject.run();
      cloudMap.register(web, instance("w2", "10.0.1.2"));
      cloudMap.register(api, instance("a2", "10.0.2.2"));
      cloudMap.fail("DiscoverInstances", "web");

      // Act
      const report = await subject.run();

      // Assess
      expect(report.outcome).toBe("partial");
      expect(report.file).toBe("written");
      expect(await subject.targets()).toEqual(["10.0.1.1:8080", "10.0.2.1:9100", "10.0.2.2:9100"]);
      expect(report).toMatchObject({ added: 1, removed: 0, errors: 1 });
      expect(await subject.metric("cloudmap_sd_cycles_total", { outcome: "partial" })).toBe(1);
      expect(
        await subject.metric("cloudmap_sd_aws_requests_total", { operation: "DiscoverInstances", outcome: "RequestLimitExceeded" }),
      ).toBe(1);
      const warning = subject.lines().find((line) => line.level === "warn" && line.operation === "DiscoverInstances");
      expect(String(warning?.examples)).toContain("service=web");
      expect(warning?.hint).toEqual(expect.any(String));
    });

    it("keeps the targets of a namespace whose ListServices fails", async () => {
      const subject = await sidecar();
      await subject.run();
      const before = await readFile(subject.targetsPath);
      cloudMap.removeService(api);
      cloudMap.fail("ListServices");

      const report = await subject.run();

      expect(report.outcome).toBe("partial");
      expect(report.file).toBe("unchanged");
      expect(await readFile(subject.targetsPath)).toEqual(before);
    });

    it("publishes the other namespaces when a listed one does not exist, with a warning", async () => {
      parameters.set(NAMESPACES_PARAMETER, "ghost.local,prod.local");
      const subject = await sidecar();

      const report = await subject.run();

      // Partial, not success: a typo in the parameter must show in the cycle outcome.
      expect(report.outcome).toBe("partial");
      expect(await subject.targets()).toEqual(["10.0.1.1:8080", "10.0.2.1:9100"]);
      expect(subject.lines().find((line) => line.msg === "Cloud Map namespace not found")).toMatchObject({
        level: "warn",
        namespace: "ghost.local",
      });
      expect(subject.health.ready).toBe(true);
    });
  });

  describe("the targets file", () => {
    it("is not rewritten when nothing changed", async () => {
      // Prepare
      const subject = await sidecar();
      const first = await subject.run();
      const before = await stat(subject.targetsPath);

      // Act
      const second = await subject.run();

      // Assess
      const after = await stat(subject.targetsPath);
      expect(first.file).toBe("written");
      expect(second.file).toBe("unchanged");
      expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
      expect(await subject.metric("cloudmap_sd_file_writes_total", { file: "targets", outcome: "unchanged" })).toBe(1);
      expect(await subject.metric("cloudmap_sd_file_writes_total", { file: "targets", outcome: "written" })).toBe(1);
    });

    it("carries ECS enrichment labels", async () => {
      const subject = await sidecar();
      await subject.run();

      const groups = JSON.parse(await readFile(subject.targetsPath, "utf8")) as TargetGroup[];

      expect(groups[0]?.labels.__meta_ecs_launch_type).toBe("FARGATE");
      expect(groups[0]?.labels.__meta_ecs_task_arn).toMatch(/^arn:aws:ecs:.*:task\/prod\//);
    });
  });

  describe("restart keeping an existing file", () => {
    const EXISTING = '[\n{"targets":["10.9.9.9:8080"],"labels":{"__metrics_path__":"/metrics"}}\n]\n';

    it("holds the existing file while the first discovery is incomplete, then replaces it once complete", async () => {
      // Prepare: the api service cannot be read on the first cycle, so the new file would lack its targets.
      const subject = await sidecar({ existingTargets: EXISTING });
      cloudMap.fail("DiscoverInstances", "api");

      // Act
      const held = await subject.run();
      const contentWhileHeld = await readFile(subject.targetsPath, "utf8");
      const readyWhileHeld = subject.health.ready;
      cloudMap.heal();
      const complete = await subject.run();

      // Assess
      expect(held.file).toBe("held");
      expect(held.outcome).toBe("failure");
      expect(contentWhileHeld).toBe(EXISTING);
      expect(readyWhileHeld).toBe(false);
      expect(await subject.metric("cloudmap_sd_file_writes_total", { file: "targets", outcome: "held" })).toBe(1);
      expect(subject.lines().some((line) => line.level === "warn" && String(line.msg).includes("keeping the existing targets file"))).toBe(
        true,
      );
      expect(complete.file).toBe("written");
      expect(complete.outcome).toBe("success");
      expect(await subject.targets()).toEqual(["10.0.1.1:8080", "10.0.2.1:9100"]);
      expect(subject.health.ready).toBe(true);
    });

    it("stops holding after the hold limit when one part keeps failing, so the rest is not frozen", async () => {
      // Prepare: api can never be read (say, a permission missing for it); web gains an instance meanwhile.
      const subject = await sidecar({ existingTargets: EXISTING });
      cloudMap.fail("DiscoverInstances", "api");
      const first = await subject.run();
      subject.clock.now += MAX_HOLD_MS - 1;
      const stillHeld = await subject.run();
      const readyWhileHeld = subject.health.ready;

      // Act
      subject.clock.now += 1;
      const released = await subject.run();

      // Assess
      expect([first.file, stillHeld.file]).toEqual(["held", "held"]);
      expect(readyWhileHeld).toBe(false);
      expect(released.file).toBe("written");
      // What is known is published: the sidecar is ready, though one part still fails.
      expect(subject.health.ready).toBe(true);
      expect(await subject.targets()).toEqual(["10.0.1.1:8080"]);
      expect(subject.lines().some((line) => String(line.msg).includes("after the hold limit"))).toBe(true);
      // Later incomplete cycles that write are ordinary partial cycles, not the end of a hold.
      cloudMap.register(web, instance("w2", "10.0.1.2"));
      expect((await subject.run()).file).toBe("written");
      expect(subject.lines().filter((line) => String(line.msg).includes("after the hold limit"))).toHaveLength(1);
    });

    it.each<["ListNamespaces" | "ListServices"]>([["ListNamespaces"], ["ListServices"]])(
      "keeps holding past the hold limit while %s has never answered: publishing would wipe every target",
      async (operation) => {
        // Prepare: restarted during a Cloud Map outage (SSM still answers).
        const subject = await sidecar({ existingTargets: EXISTING });
        cloudMap.fail(operation);
        await subject.run();

        // Act
        subject.clock.now += 10 * MAX_HOLD_MS;
        const report = await subject.run();

        // Assess
        expect(report.file).toBe("held");
        expect(await readFile(subject.targetsPath, "utf8")).toBe(EXISTING);
        cloudMap.heal();
        expect((await subject.run()).file).toBe("written");
      },
    );

    it("holds it while ECS cannot be read either: docker-label targets depend on it", async () => {
      const subject = await sidecar({ existingTargets: EXISTING });
      ecs.failDescribeTasks = new Error("DescribeTasks exploded");

      const report = await subject.run();

      expect(report.file).toBe("held");
      expect(await readFile(subject.targetsPath, "utf8")).toBe(EXISTING);
      expect(subject.health.ready).toBe(false);
    });

    it("holds it while Cloud Map cannot be reached at all", async () => {
      const subject = await sidecar({ existingTargets: EXISTING });
      cloudMap.fail("ListNamespaces");

      const report = await subject.run();

      expect(report.file).toBe("held");
      expect(await readFile(subject.targetsPath, "utf8")).toBe(EXISTING);
      expect(subject.health.ready).toBe(false);
    });

    it("holds it while the namespaces parameter cannot be read", async () => {
      const subject = await sidecar({ existingTargets: EXISTING });
      parameters.clear();

      await subject.run();

      expect(await readFile(subject.targetsPath, "utf8")).toBe(EXISTING);
      expect(subject.health.ready).toBe(false);
    });

    it("without a file to keep, publishes what it could read but is not ready until discovery is complete", async () => {
      // Prepare
      const subject = await sidecar();
      cloudMap.fail("DiscoverInstances", "api");

      // Act
      const partial = await subject.run();
      const readyAfterPartial = subject.health.ready;
      cloudMap.heal();
      await subject.run();

      // Assess
      expect(partial).toMatchObject({ outcome: "partial", file: "written" });
      expect(readyAfterPartial).toBe(false);
      expect(subject.health.ready).toBe(true);
      expect(await subject.targets()).toEqual(["10.0.1.1:8080", "10.0.2.1:9100"]);
    });

    it("replaces it on a first cycle that is complete", async () => {
      const subject = await sidecar({ existingTargets: EXISTING });

      const report = await subject.run();

      expect(report.file).toBe("written");
      expect(await subject.targets()).toEqual(["10.0.1.1:8080", "10.0.2.1:9100"]);
      expect(subject.health.ready).toBe(true);
    });
  });

  describe("invalid tags", () => {
    it("skip that service with a warning and a counted reason; other services are still published", async () => {
      // Prepare
      cloudMap.addService(prod, "broken", { METRICS_PORT: "70000" }, [instance("b1", "10.0.3.1")]);
      const subject = await sidecar();

      // Act
      const report = await subject.run();
      await subject.run();

      // Assess
      expect(report.outcome).toBe("success");
      expect(await subject.targets()).toEqual(["10.0.1.1:8080", "10.0.2.1:9100"]);
      const skipped = subject.lines().filter((line) => line.msg === "endpoint skipped");
      expect(skipped.map((line) => line.level)).toEqual(["warn", "debug"]);
      expect(skipped[0]).toMatchObject({ reason: "invalid_metrics_port", namespace: "prod.local", service: "broken" });
      expect(await subject.metric("cloudmap_sd_skipped_endpoints", { reason: "invalid_metrics_port" })).toBe(1);
    });
  });

  describe("logging", () => {
    it("writes one info line per cycle with targets, added, removed, duration and API calls", async () => {
      // Prepare
      const subject = await sidecar();
      await subject.run();
      cloudMap.register(api, instance("a2", "10.0.2.2"));

      // Act
      subject.clock.now += 30_000;
      await subject.run();

      // Assess: the steady cycle costs GetParameter, ListNamespaces, ListServices, two revisions, and
      // one DiscoverInstances plus one DescribeTasks for the new task.
      const [first, second] = subject.cycleLines();
      expect(first).toMatchObject({ level: "info", outcome: "success", targets: 2, added: 2, removed: 0 });
      expect(second).toMatchObject({ level: "info", outcome: "success", targets: 3, added: 1, removed: 0, apiCalls: 7 });
      for (const line of [first, second]) expect(line?.durationMs).toEqual(expect.any(Number));
    });

    it("never logs credentials", async () => {
      // Prepare: credentials in the environment as in a real task, and failures that log errors.
      vi.stubEnv("AWS_ACCESS_KEY_ID", TEST_CREDENTIALS.accessKeyId);
      vi.stubEnv("AWS_SECRET_ACCESS_KEY", TEST_CREDENTIALS.secretAccessKey);
      vi.stubEnv("AWS_SESSION_TOKEN", "cmsd-test-session-token-DO-NOT-LOG");
      const subject = await sidecar();
      await subject.run();
      cloudMap.register(web, instance("w2", "10.0.1.2"));
      cloudMap.fail("DiscoverInstances");
      ecs.addTask("prod", "w2");
      ecs.failDescribeTasks = new Error("DescribeTasks exploded");
      await subject.run();
      parameters.clear();
      await subject.run();

      // Assess
      const output = JSON.stringify(subject.lines());
      expect(subject.lines().length).toBeGreaterThan(3);
      expect(output).not.toContain(TEST_CREDENTIALS.secretAccessKey);
      expect(output).not.toContain(TEST_CREDENTIALS.accessKeyId);
      expect(output).not.toContain("cmsd-test-session-token-DO-NOT-LOG");
    });
  });

  describe("the Prometheus configuration parameter", () => {
    it("is written to prometheus.yaml only when it changes", async () => {
      // Prepare
      parameters.set(PROMETHEUS_PARAMETER, "global:\n  scrape_interval: 30s\n");
      const subject = await sidecar({ prometheusConfig: true });

      // Act
      await subject.run();
      const first = await stat(subject.prometheusPath);
      const firstContent = await readFile(subject.prometheusPath, "utf8");
      await subject.run();
      const second = await stat(subject.prometheusPath);
      parameters.set(PROMETHEUS_PARAMETER, "global:\n  scrape_interval: 15s\n");
      await subject.run();

      // Assess
      expect(firstContent).toBe("global:\n  scrape_interval: 30s\n");
      expect([second.ino, second.mtimeMs]).toEqual([first.ino, first.mtimeMs]);
      expect(await readFile(subject.prometheusPath, "utf8")).toBe("global:\n  scrape_interval: 15s\n");
      expect(await subject.metric("cloudmap_sd_file_writes_total", { file: "prometheus_config", outcome: "written" })).toBe(2);
      expect(await subject.metric("cloudmap_sd_file_writes_total", { file: "prometheus_config", outcome: "unchanged" })).toBe(1);
      expect(subject.lines().filter((line) => line.msg === "Prometheus configuration updated")).toHaveLength(2);
    });

    it("keeps the current file when the parameter cannot be read, and still publishes targets", async () => {
      // Prepare
      parameters.set(PROMETHEUS_PARAMETER, "global: {}\n");
      const subject = await sidecar({ prometheusConfig: true });
      await subject.run();
      parameters.delete(PROMETHEUS_PARAMETER);
      cloudMap.register(api, instance("a2", "10.0.2.2"));

      // Act
      await subject.run();

      // Assess
      expect(await readFile(subject.prometheusPath, "utf8")).toBe("global: {}\n");
      expect(await subject.metric("cloudmap_sd_file_writes_total", { file: "prometheus_config", outcome: "error" })).toBe(1);
      expect(await subject.targets()).toContain("10.0.2.2:9100");
    });
  });

  describe("abort", () => {
    it("publishes nothing and counts no cycle outcome when the cycle is aborted", async () => {
      // Prepare
      const subject = await sidecar();
      await subject.run();
      const before = await readFile(subject.targetsPath);
      cloudMap.register(api, instance("a2", "10.0.2.2"));
      const controller = new AbortController();
      controller.abort();

      // Act
      const report = await subject.discovery.runCycle(controller.signal);

      // Assess
      expect(report.outcome).toBe("failure");
      expect(await readFile(subject.targetsPath)).toEqual(before);
      expect(await subject.metric("cloudmap_sd_cycles_total", { outcome: "failure" })).toBeUndefined();
      expect(subject.health.alive()).toBe(true);
    });
  });

  describe("staleness", () => {
    it("reports per namespace when it was last read completely, growing while reads fail", async () => {
      // Prepare
      parameters.set(NAMESPACES_PARAMETER, "prod.local,staging.local");
      const subject = await sidecar();
      await subject.run();
      const firstRead = subject.clock.now;

      // Act: prod's web service changes but cannot be read; staging keeps reading fine.
      subject.clock.now += 30_000;
      cloudMap.register(web, instance("w2", "10.0.1.2"));
      cloudMap.fail("DiscoverInstances", "web");
      await subject.run();
      subject.clock.now += 15_000;

      // Assess
      expect(Object.fromEntries(subject.discovery.staleness())).toEqual({
        "prod.local": firstRead,
        "staging.local": firstRead + 30_000,
      });
      expect(await subject.metric("cloudmap_sd_staleness_seconds", { namespace: "prod.local" })).toBe(45);
      expect(await subject.metric("cloudmap_sd_staleness_seconds", { namespace: "staging.local" })).toBe(15);
      expect(await subject.metric("cloudmap_sd_targets", { namespace: "prod.local" })).toBe(2);
      expect(await subject.metric("cloudmap_sd_targets", { namespace: "staging.local" })).toBe(1);
      expect(await subject.metric("cloudmap_sd_last_success_timestamp_seconds")).toBe(firstRead / 1000);
    });

    it("reports a namespace never read completely as stale since start, so an alert on it fires", async () => {
      // Prepare: staging's services can never be listed.
      parameters.set(NAMESPACES_PARAMETER, "prod.local,staging.local");
      const subject = await sidecar();
      cloudMap.fail("ListServices", "staging.local");

      // Act
      await subject.run();
      subject.clock.now += 60_000;

      // Assess
      expect(subject.discovery.staleness().get("staging.local")).toBeUndefined();
      expect(await subject.metric("cloudmap_sd_staleness_seconds", { namespace: "staging.local" })).toBe(60);
      expect(await subject.metric("cloudmap_sd_staleness_seconds", { namespace: "prod.local" })).toBe(60);
    });
  });

  describe("failures never remove targets (issue 8)", () => {
    it.each<[string, "ListNamespaces" | "ListServices" | "ListTagsForResource" | "DiscoverInstances" | "DiscoverInstancesRevision", number]>([
      ["ListNamespaces answers {}", "ListNamespaces", 0],
      ["ListServices answers {}", "ListServices", 0],
      ["ListTagsForResource answers {} when the tags are re-read", "ListTagsForResource", 600_000],
      ["DiscoverInstances answers {} when the instances are re-read", "DiscoverInstances", 600_000],
      ["DiscoverInstancesRevision answers {}", "DiscoverInstancesRevision", 0],
    ])("%s: a failed call of that part, never 'nothing exists'", async (_name, operation, advanceMs) => {
      // Prepare
      const subject = await sidecar();
      await subject.run();
      const before = await readFile(subject.targetsPath, "utf8");
      cloudMap.answerEmpty(operation);
      subject.clock.now += advanceMs;

      // Act
      const report = await subject.run();

      // Assess
      expect(await readFile(subject.targetsPath, "utf8")).toBe(before);
      expect(report.outcome).toBe("partial");
      expect(await subject.metric("cloudmap_sd_failing_parts", { kind: "malformed" })).toBeGreaterThan(0);
      expect(subject.lines().find((line) => line.level === "warn" && line.kind === "malformed")).toMatchObject({ operation });
    });

    it("a namespaces parameter answered as {} fails the cycle and keeps the file", async () => {
      const subject = await sidecar();
      await subject.run();
      const before = await readFile(subject.targetsPath, "utf8");
      ssm.on(GetParameterCommand).resolves({});

      const report = await subject.run();

      expect(report.outcome).toBe("failure");
      expect(await readFile(subject.targetsPath, "utf8")).toBe(before);
      expect(subject.lines().find((line) => line.level === "error")?.err).toContain("MalformedResponseError");
    });

    it("a cycle aborted at its deadline publishes what it read and keeps the rest", async () => {
      // Prepare: web's instances move but its DiscoverInstances never answers.
      const subject = await sidecar();
      await subject.run();
      cloudMap.register(web, instance("w2", "10.0.1.2"));
      cloudMap.hang("DiscoverInstances", "web");
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new CycleDeadlineError(100)), 100);

      // Act
      const report = await subject.discovery.runCycle(controller.signal, new AbortController().signal);
      clearTimeout(timer);

      // Assess
      expect(report).toMatchObject({ outcome: "partial", overran: true });
      expect(await subject.targets()).toEqual(expect.arrayContaining(["10.0.1.1:8080", "10.0.2.1:9100"]));
      expect(await subject.metric("cloudmap_sd_cycle_overruns_total")).toBe(1);
      cloudMap.heal();
      await subject.run();
      expect(await subject.targets()).toEqual(["10.0.1.1:8080", "10.0.1.2:8080", "10.0.2.1:9100"]);
    });

    it("restores a deleted targets file although the targets did not change", async () => {
      const subject = await sidecar();
      await subject.run();
      const before = await readFile(subject.targetsPath, "utf8");
      await rm(subject.targetsPath);

      const report = await subject.run();

      expect(report.file).toBe("restored");
      expect(await readFile(subject.targetsPath, "utf8")).toBe(before);
      expect(await subject.metric("cloudmap_sd_file_writes_total", { file: "targets", outcome: "restored" })).toBe(1);
    });

    it("restores a deleted targets file while the namespaces parameter cannot be read", async () => {
      const subject = await sidecar();
      await subject.run();
      const before = await readFile(subject.targetsPath, "utf8");
      ssmFailure = new ThrottlingException({ message: "slow down", Message: "slow down", $metadata: {} });
      await writeFile(subject.targetsPath, "garbage");

      const report = await subject.run();

      expect(report).toMatchObject({ outcome: "failure", file: "restored" });
      expect(await readFile(subject.targetsPath, "utf8")).toBe(before);
    });

    it("logs a failure once when it starts and once when it clears, not every cycle", async () => {
      // Prepare
      const subject = await sidecar();
      await subject.run();
      cloudMap.fail("ListServices");

      // Act
      for (let i = 0; i < 3; i++) await subject.run();
      cloudMap.heal();
      await subject.run();

      // Assess
      const warnings = subject.lines().filter((line) => line.level === "warn" && line.operation === "ListServices");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ kind: "throttled", hint: expect.stringContaining("DISCOVERY_CONCURRENCY") });
      expect(subject.lines().filter((line) => line.msg === "AWS calls recovered")).toHaveLength(1);
      expect(await subject.metric("cloudmap_sd_failing_parts", { kind: "throttled" })).toBeUndefined();
    });

    it("does not report other parts as recovered while the namespaces parameter cannot be read", async () => {
      // Prepare
      const subject = await sidecar();
      await subject.run();
      cloudMap.fail("ListServices");
      await subject.run();

      // Act: one cycle stops at the parameter, the next reads Cloud Map again (still failing).
      ssmFailure = new ThrottlingException({ message: "slow down", Message: "slow down", $metadata: {} });
      await subject.run();
      ssmFailure = undefined;
      await subject.run();

      // Assess
      expect(subject.lines().filter((line) => line.level === "warn" && line.operation === "ListServices")).toHaveLength(1);
      expect(subject.lines().filter((line) => line.msg === "AWS calls recovered")).toHaveLength(0);
    });

    it("logs a targets-file write failure once while it lasts, keeps the old file, and says when it clears", async () => {
      // Prepare: the directory disappears (a volume unmounted) while the targets change.
      const subject = await sidecar();
      await subject.run();
      cloudMap.register(web, instance("w2", "10.0.1.2"));
      const dir = dirname(subject.targetsPath);
      await rm(dir, { recursive: true });

      // Act
      const failed = [await subject.run(), await subject.run()];
      await mkdir(dir);
      const recovered = await subject.run();

      // Assess
      expect(failed.map((report) => report.file)).toEqual(["error", "error"]);
      expect(subject.lines().filter((line) => line.msg === "cannot write the targets file; the previous one stays whole, retried every cycle")).toHaveLength(1);
      expect(recovered.file).toBe("written");
      expect(subject.lines().filter((line) => line.msg === "the targets file is writable again")).toHaveLength(1);
      expect(await subject.targets()).toContain("10.0.1.2:8080");
    });

    it("counts missing namespaces in a gauge and warns once while they stay missing", async () => {
      parameters.set(NAMESPACES_PARAMETER, "ghost.local,prod.local");
      const subject = await sidecar();

      await subject.run();
      await subject.run();

      expect(subject.lines().filter((line) => line.msg === "Cloud Map namespace not found")).toHaveLength(1);
      expect(await subject.metric("cloudmap_sd_missing_namespaces")).toBe(1);
    });

    it("is not ready while the Prometheus configuration parameter is missing and no file exists", async () => {
      // Prepare: no PROMETHEUS_PARAMETER value.
      const subject = await sidecar({ prometheusConfig: true });

      // Act
      await subject.run();

      // Assess
      expect(subject.health.ready).toBe(false);
      expect(subject.health.describe().reason).toContain(PROMETHEUS_PARAMETER);
      const warning = subject.lines().find((line) => line.level === "warn" && String(line.hint).includes(PROMETHEUS_PARAMETER));
      expect(warning).toBeDefined();
      parameters.set(PROMETHEUS_PARAMETER, "global: {}\n");
      await subject.run();
      expect(subject.health.ready).toBe(true);
    });
  });
});
