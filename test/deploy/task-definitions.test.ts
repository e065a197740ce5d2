// The task definitions under task-definitions/ are registered as they are
// (`aws ecs register-task-definition --cli-input-json file://...`), so they are checked
// against the SDK's RegisterTaskDefinition input type at compile time, against ECS's
// rules that the type cannot express at run time, and against each other and the
// Prometheus configuration (the sidecar writes where Prometheus reads).
import type { ContainerDefinition, RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import nodeExporterEc2 from "../../task-definitions/node-exporter-ec2.json" with { type: "json" };
import prometheusEc2Sigv4 from "../../task-definitions/prometheus-ec2-sigv4.json" with { type: "json" };
import prometheusFargateSigv4Proxy from "../../task-definitions/prometheus-fargate-sigv4-proxy.json" with { type: "json" };
import prometheusFargateSigv4 from "../../task-definitions/prometheus-fargate-sigv4.json" with { type: "json" };
import webappFargate from "../../task-definitions/webapp-fargate.json" with { type: "json" };
import { PLACEHOLDER_DEFAULTS } from "../../infra/lib/templates.js";
import { parseDockerfile } from "./dockerfile-parser.js";
import { removeRendered, renderAll, repo, sampleValues, taskDefinitionsDir } from "./render.js";

// --- compile time -----------------------------------------------------------------
// JSON imports widen string literals to `string`, so compare against the SDK type with
// its enums widened too; and since excess-property checks do not apply to imported
// values, map every key the SDK type does not know to `never`: a misspelt field fails
// `tsc`, as does a number where ECS expects a string (task-level cpu/memory).
type Widen<T> = T extends string
  ? string
  : T extends number | boolean
    ? T
    : T extends readonly (infer E)[]
      ? Widen<E>[]
      : T extends object
        ? { [K in keyof T]?: Widen<NonNullable<T[K]>> }
        : T;
type Exact<T, Shape> = T extends readonly (infer E)[]
  ? Shape extends readonly (infer S)[]
    ? Exact<E, S>[]
    : never
  : T extends object
    ? Shape extends object
      ? { [K in keyof T]: K extends keyof Shape ? Exact<T[K], NonNullable<Shape[K]>> : never }
      : never
    : T;
type TaskDefinitionShape = Widen<RegisterTaskDefinitionCommandInput>;
function registerable<T>(input: Exact<T, TaskDefinitionShape> & TaskDefinitionShape): T {
  return input as T;
}
const typed = {
  "prometheus-fargate-sigv4.json": registerable<typeof prometheusFargateSigv4>(prometheusFargateSigv4),
  "prometheus-fargate-sigv4-proxy.json": registerable<typeof prometheusFargateSigv4Proxy>(prometheusFargateSigv4Proxy),
  "prometheus-ec2-sigv4.json": registerable<typeof prometheusEc2Sigv4>(prometheusEc2Sigv4),
  "webapp-fargate.json": registerable<typeof webappFargate>(webappFargate),
  "node-exporter-ec2.json": registerable<typeof nodeExporterEc2>(nodeExporterEc2),
};

// --- run time ---------------------------------------------------------------------
const rendered = renderAll();
afterAll(() => removeRendered(rendered));
const files = readdirSync(taskDefinitionsDir).filter((name) => name.endsWith(".json"));
const load = (name: string) => JSON.parse(readFileSync(path.join(rendered, name), "utf8")) as RegisterTaskDefinitionCommandInput;
const prometheusTasks = files.filter((name) => name.startsWith("prometheus-"));

// Fargate's valid task-level CPU units → memory (MiB) values.
const range = (from: number, to: number) => Array.from({ length: (to - from) / 1024 + 1 }, (_, i) => from + i * 1024);
const fargateMemory: Record<string, number[]> = {
  "256": [512, 1024, 2048],
  "512": range(1024, 4096),
  "1024": range(2048, 8192),
  "2048": range(4096, 16384),
  "4096": range(8192, 30720),
};

function container(task: RegisterTaskDefinitionCommandInput, name: string): ContainerDefinition {
  const found = task.containerDefinitions?.find((c) => c.name === name);
  if (found === undefined) throw new Error(`${task.family}: no container ${name}`);
  return found;
}

function env(c: ContainerDefinition, name: string): string | undefined {
  return c.environment?.find((e) => e.name === name)?.value;
}

function flag(c: ContainerDefinition, name: string): string | undefined {
  return c.command?.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

describe("task definitions", () => {
  it("covers every JSON file in task-definitions/ with the compile-time check", () => {
    expect(Object.keys(typed).sort()).toEqual([...files].sort());
  });

  it("render.sh fills every placeholder and refuses to run with one missing", () => {
    for (const name of files) {
      const text = readFileSync(path.join(rendered, name), "utf8");
      expect(text).not.toMatch(/\$\{/);
      expect(text).toContain(sampleValues.AWS_REGION);
    }
    const { WORKSPACE_ID: _missing, ...partial } = sampleValues;
    expect(() => renderAll(partial)).toThrow(/WORKSPACE_ID is not set/);
  });

  it("render.sh defaults the optional images and the CPU architecture to the CDK app's defaults", () => {
    for (const name of prometheusTasks) {
      const task = load(name);
      expect(container(task, "prometheus").image).toBe(PLACEHOLDER_DEFAULTS.PROMETHEUS_IMAGE);
      expect(task.runtimePlatform).toEqual({ cpuArchitecture: PLACEHOLDER_DEFAULTS.CPU_ARCHITECTURE, operatingSystemFamily: "LINUX" });
      const proxy = task.containerDefinitions?.find((c) => c.name === "aws-sigv4-proxy");
      if (proxy) expect(proxy.image).toBe(PLACEHOLDER_DEFAULTS.SIGV4_PROXY_IMAGE);
    }
  });

  it("render.sh takes the image URIs (an ECR pull-through cache) and ARM64 as parameters, and rejects an unknown architecture", () => {
    const cache = `${sampleValues.ACCOUNT_ID}.dkr.ecr.${sampleValues.AWS_REGION}.amazonaws.com`;
    const values = {
      ...sampleValues,
      PROMETHEUS_IMAGE: `${cache}/quay/prometheus/prometheus:v3.5.0`,
      SIGV4_PROXY_IMAGE: `${cache}/ecr-public/aws-observability/aws-sigv4-proxy:1.0`,
      CPU_ARCHITECTURE: "ARM64",
    };
    const dir = renderAll(values);
    try {
      const proxyTask = JSON.parse(readFileSync(path.join(dir, "prometheus-fargate-sigv4-proxy.json"), "utf8")) as RegisterTaskDefinitionCommandInput;
      expect(container(proxyTask, "prometheus").image).toBe(values.PROMETHEUS_IMAGE);
      expect(container(proxyTask, "aws-sigv4-proxy").image).toBe(values.SIGV4_PROXY_IMAGE);
      expect(proxyTask.runtimePlatform?.cpuArchitecture).toBe("ARM64");
    } finally {
      removeRendered(dir);
    }
    expect(() => renderAll({ ...sampleValues, CPU_ARCHITECTURE: "arm64" })).toThrow(/CPU_ARCHITECTURE must be X86_64 or ARM64/);
  });

  describe.each(files)("%s", (name) => {
    const task = load(name);
    const containers = task.containerDefinitions ?? [];
    const names = containers.map((c) => c.name);

    it("has the fields RegisterTaskDefinition requires and ECS enforces", () => {
      expect(task.family).toMatch(/^[A-Za-z0-9_-]{1,255}$/);
      expect(containers.length).toBeGreaterThan(0);
      expect(new Set(names).size).toBe(names.length);
      for (const c of containers) {
        expect(c.name).toMatch(/^[A-Za-z0-9_-]{1,255}$/);
        expect(c.image).toBeTruthy();
        expect(c.memory ?? c.memoryReservation ?? Number(task.memory)).toBeGreaterThan(0);
        expect(c.logConfiguration?.logDriver).toBe("awslogs");
        expect(c.logConfiguration?.options).toMatchObject({
          "awslogs-group": "/ecs/prometheus",
          "awslogs-region": sampleValues.AWS_REGION,
          "awslogs-stream-prefix": c.name === "aws-sigv4-proxy" ? "iamproxy" : c.name,
        });
        for (const mount of c.mountPoints ?? []) {
          expect(task.volumes?.map((v) => v.name)).toContain(mount.sourceVolume);
        }
        for (const dependency of c.dependsOn ?? []) {
          expect(names).toContain(dependency.containerName);
          if (dependency.condition === "HEALTHY") {
            expect(container(task, dependency.containerName!).healthCheck).toBeDefined();
          }
        }
        if (c.healthCheck !== undefined) {
          expect(c.healthCheck.command?.[0]).toMatch(/^CMD(-SHELL)?$/);
          expect(c.healthCheck.interval).toBeGreaterThanOrEqual(5);
          expect(c.healthCheck.startPeriod).toBeLessThanOrEqual(300);
        }
      }
      expect(containers.some((c) => c.essential !== false)).toBe(true);
      expect(task.executionRoleArn).toBe(`arn:aws:iam::${sampleValues.ACCOUNT_ID}:role/cloudmap-sd-execution-role`);
    });

    it("fits its containers into the task's CPU and memory", () => {
      if (task.cpu === undefined) return;
      const sum = (pick: (c: ContainerDefinition) => number | undefined) => containers.reduce((total, c) => total + (pick(c) ?? 0), 0);
      expect(sum((c) => c.cpu)).toBeLessThanOrEqual(Number(task.cpu));
      expect(sum((c) => c.memory ?? c.memoryReservation)).toBeLessThanOrEqual(Number(task.memory));
      if (task.requiresCompatibilities?.includes("FARGATE")) {
        expect(task.networkMode).toBe("awsvpc");
        expect(fargateMemory[task.cpu], `Fargate memory for ${task.cpu} CPU`).toContain(Number(task.memory));
      }
    });
  });
});

describe("Prometheus task wiring", () => {
  const dockerfile = parseDockerfile(readFileSync(path.join(repo, "Dockerfile"), "utf8"));
  const exposed = dockerfile.stages.at(-1)?.instructions.find((i) => i.keyword === "EXPOSE")?.args;
  const policy = readFileSync(path.join(repo, "infra/policy/cloudmap-sd-task-policy.json"), "utf8");

  describe.each(prometheusTasks)("%s", (name) => {
    const task = load(name);
    const sidecar = container(task, "cloudmap-sd");
    const prometheus = container(task, "prometheus");
    const configDir = env(sidecar, "CONFIG_FILE_DIR")!;
    const usesProxy = task.containerDefinitions?.some((c) => c.name === "aws-sigv4-proxy") ?? false;
    const configFile = usesProxy ? "prometheus-sigv4-proxy.yaml" : "prometheus.yaml";
    const config = parse(readFileSync(path.join(rendered, "prometheus", configFile), "utf8")) as {
      scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; file_sd_configs?: { files: string[] }[] }[];
      remote_write: { url: string; sigv4?: { region: string } }[];
    };

    it("runs the sidecar with a read-only root filesystem, writing only to a mounted directory", () => {
      expect(sidecar.readonlyRootFilesystem).toBe(true);
      const writable = sidecar.mountPoints?.filter((m) => m.readOnly !== true) ?? [];
      expect(writable.map((m) => m.containerPath)).toEqual([configDir]);
    });

    it("has Prometheus read the same volume the sidecar writes, without write access", () => {
      const sidecarMount = sidecar.mountPoints?.find((m) => m.containerPath === configDir);
      const prometheusMount = prometheus.mountPoints?.find((m) => m.sourceVolume === sidecarMount?.sourceVolume);
      expect(prometheusMount?.readOnly).toBe(true);
      // Same path in both containers, so the paths inside prometheus.yaml mean the same file.
      expect(prometheusMount?.containerPath).toBe(configDir);
      expect(flag(prometheus, "--config.file")).toBe(`${configDir}/prometheus.yaml`);
      expect(env(sidecar, "PROMETHEUS_CONFIG_PARAMETER_NAME")).toBeTruthy();
      const fileSd = config.scrape_configs.flatMap((job) => job.file_sd_configs ?? []).flatMap((sd) => sd.files);
      expect(fileSd).toEqual([`${configDir}/ecs-services.json`]);
    });

    it("starts Prometheus after the sidecar has written its configuration", () => {
      expect(prometheus.dependsOn).toContainEqual({ containerName: "cloudmap-sd", condition: "HEALTHY" });
      const probe = sidecar.healthCheck?.command?.join(" ") ?? "";
      expect(probe).toContain("/healthz");
      expect(probe).toContain(`${configDir}/prometheus.yaml`);
    });

    it("agrees on the sidecar's port: LISTEN_ADDRESS, port mapping, health check, EXPOSE and the scrape job", () => {
      const port = env(sidecar, "LISTEN_ADDRESS")?.split(":").at(-1);
      expect(port).toBe(exposed);
      expect(sidecar.portMappings?.map((p) => String(p.containerPort))).toEqual([port]);
      expect(sidecar.healthCheck?.command?.join(" ")).toContain(`127.0.0.1:${port}/healthz`);
      const self = config.scrape_configs.find((job) => job.job_name === "cloudmap-sd");
      expect(self?.static_configs?.[0]?.targets).toEqual([`localhost:${port}`]);
      const listen = flag(prometheus, "--web.listen-address")?.split(":").at(-1);
      expect(prometheus.portMappings?.map((p) => String(p.containerPort))).toEqual([listen]);
      // Self-monitoring: the agent scrapes its own /metrics (prometheus_remote_storage_*).
      const agent = config.scrape_configs.find((job) => job.job_name === "prometheus");
      expect(agent?.static_configs?.[0]?.targets).toEqual([`localhost:${listen}`]);
      expect(prometheus.healthCheck?.command?.join(" ")).toContain(`:${listen}/-/healthy`);
    });

    it("reads the SSM parameters the IAM policy grants", () => {
      for (const variable of ["DISCOVERY_NAMESPACES_PARAMETER_NAME", "PROMETHEUS_CONFIG_PARAMETER_NAME"]) {
        expect(policy).toContain(`:parameter/${env(sidecar, variable)}"`);
      }
    });

    it("remote-writes to the rendered workspace, signed natively or through the proxy", () => {
      const [remote] = config.remote_write;
      expect(config.remote_write).toHaveLength(1);
      expect(remote?.url).toContain(`/workspaces/${sampleValues.WORKSPACE_ID}/api/v1/remote_write`);
      if (usesProxy) {
        const proxy = container(task, "aws-sigv4-proxy");
        expect(remote?.url).toMatch(new RegExp(`^http://localhost:${proxy.portMappings?.[0]?.containerPort}/`));
        expect(remote?.sigv4).toBeUndefined();
        expect(proxy.command).toEqual(["--name", "aps", "--region", sampleValues.AWS_REGION, "--host", `aps-workspaces.${sampleValues.AWS_REGION}.amazonaws.com`]);
        expect(prometheus.dependsOn).toContainEqual({ containerName: "aws-sigv4-proxy", condition: "START" });
      } else {
        expect(remote?.url).toBe(`https://aps-workspaces.${sampleValues.AWS_REGION}.amazonaws.com/workspaces/${sampleValues.WORKSPACE_ID}/api/v1/remote_write`);
        expect(remote?.sigv4?.region).toBe(sampleValues.AWS_REGION);
      }
    });

    it("runs Prometheus 3.x as an agent", () => {
      expect(prometheus.image).toMatch(/prometheus:v3\.\d+\.\d+$/);
      expect(prometheus.command?.[0]).toBe("--agent");
    });
  });

  it("gives every Prometheus variant the same sidecar container", () => {
    const sidecars = prometheusTasks.map((name) => container(load(name), "cloudmap-sd"));
    for (const other of sidecars.slice(1)) expect(other).toEqual(sidecars[0]);
  });

  it("keeps render.sh executable", () => {
    expect(() => execFileSync("test", ["-x", path.join(taskDefinitionsDir, "render.sh")])).not.toThrow();
  });
});
