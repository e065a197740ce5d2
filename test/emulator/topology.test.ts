import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DiscoverInstancesCommand, paginateListServices } from "@aws-sdk/client-servicediscovery";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  TopologyError,
  loadTopologyFile,
  parseTopology,
  parseTopologyText,
  startEmulator,
  syntheticTopology,
} from "../../dev/emulator/index.js";
import { cloudMapClient } from "./support.js";

const SAMPLE = fileURLToPath(new URL("../../dev/emulator/sample-topology.yaml", import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "emulator-topology-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function issuesOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TopologyError);
    return (error as TopologyError).issues;
  }
  throw new Error("expected a TopologyError");
}

describe("topology files", () => {
  it("loads the sample YAML: three namespaces (one shared by a workload account), tasks consistent with the instances", async () => {
    const topology = await loadTopologyFile(SAMPLE);
    expect(topology.namespaces.map((ns) => [ns.name, ns.type, ns.owner ?? topology.accountId])).toEqual([
      ["ecs-services", "DNS_PRIVATE", "123456789012"],
      ["ecs-connect", "HTTP", "123456789012"],
      ["workload-services", "HTTP", "210987654321"],
    ]);
    expect(topology.namespaces[2]?.sharedWith).toEqual([topology.accountId]);
    const instanceIds = topology.namespaces.flatMap((ns) => ns.services.flatMap((s) => s.instances.map((i) => i.id)));
    expect(topology.ecs.tasks.map((t) => t.taskId).sort()).toEqual([...instanceIds].sort());
    // YAML merge keys (<<) keep shared attributes in one place.
    expect(topology.namespaces[0]?.services[0]?.instances[1]?.attributes).toMatchObject({
      ECS_SERVICE_NAME: "WebAppService",
      AWS_INSTANCE_IPV4: "10.0.2.41",
    });
  });

  it("loads JSON and turns YAML/JSON numbers and booleans into AWS strings", async () => {
    const path = join(dir, "t.json");
    await writeFile(path, JSON.stringify({ namespaces: [{ name: "n", services: [{ name: "s", tags: { METRICS_PORT: 9100, ON: true } }] }] }));
    const topology = await loadTopologyFile(path);
    expect(topology.namespaces[0]?.services[0]?.tags).toEqual({ METRICS_PORT: "9100", ON: "true" });
    expect(topology.region).toBe("us-east-1");
  });

  it("names every problem with its path", () => {
    const issues = issuesOf(() =>
      parseTopology({
        accountId: 123456789012,
        namespaces: [{ name: "n", type: "CLOUD", services: [{ name: "s", instances: [{ attributes: {} }], instance: [] }] }],
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^accountId: /),
        expect.stringMatching(/^namespaces\[0\]\.type: /),
        expect.stringMatching(/^namespaces\[0\]\.services\[0\]\.instances\[0\]\.id: /),
        expect.stringMatching(/^namespaces\[0\]\.services\[0\]: Unrecognized key: "instance"/),
      ]),
    );
  });

  it("rejects duplicates and tasks that name a missing task definition", () => {
    const issues = issuesOf(() =>
      parseTopology({
        namespaces: [{ name: "n", services: [{ name: "s" }, { name: "s" }] }, { name: "n" }],
        ecs: { tasks: [{ cluster: "c", taskId: "t", taskDefinition: "Missing:1" }] },
      }),
    );
    expect(issues).toEqual([
      'namespaces[0].services[1].name: duplicate service name in namespace "n" "s"',
      'namespaces[1].name: duplicate namespace name "n"',
      'namespaces[1].httpName: duplicate namespace httpName "n"',
      'ecs.tasks[0].taskDefinition: task definition "Missing:1" is not in ecs.taskDefinitions',
    ]);
  });

  it("reports a YAML syntax error with the file name", async () => {
    const path = join(dir, "broken.yaml");
    await writeFile(path, "namespaces:\n  - name: [unclosed\n");
    const error = await loadTopologyFile(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TopologyError);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain("not valid YAML");
  });

  it("makes startEmulator fail with the same error instead of serving a half-read estate", async () => {
    const path = join(dir, "bad.yaml");
    await writeFile(path, "namespaces:\n  - name: n\n    typo: 1\n");
    await expect(startEmulator({ topology: path })).rejects.toThrow(/namespaces\[0\]: Unrecognized key: "typo"/);
  });

  it("parses JSON text given directly", () => {
    expect(() => parseTopologyText("{", "json")).toThrow(/not valid JSON/);
    expect(parseTopologyText('{"region":"eu-west-1"}', "json").region).toBe("eu-west-1");
  });
});

describe("syntheticTopology", () => {
  it("builds 10,000 unique instances over 500 services in 5 namespaces, with a task for each", () => {
    const topology = syntheticTopology({ namespaces: 5, servicesPerNamespace: 100, instancesPerService: 20 });
    const services = topology.namespaces.flatMap((ns) => ns.services);
    const ids = new Set(services.flatMap((s) => s.instances.map((i) => i.id)));
    expect(services).toHaveLength(500);
    expect(ids.size).toBe(10_000);
    expect(topology.ecs.tasks).toHaveLength(10_000);
    expect(topology.ecs.taskDefinitions).toHaveLength(500);
    // A structural copy is not trusted, so this really runs the schema over the generated estate.
    expect(() => parseTopology(structuredClone(topology))).not.toThrow();
  });

  it("is deterministic", () => {
    expect(syntheticTopology({ namespaces: 2, servicesPerNamespace: 3, instancesPerService: 2 })).toEqual(
      syntheticTopology({ namespaces: 2, servicesPerNamespace: 3, instancesPerService: 2 }),
    );
  });

  it("serves the 10,000-instance estate: every service listed, each discoverable", async () => {
    // Prepare
    const emu = await startEmulator({ topology: syntheticTopology({ unhealthyEvery: 10 }) });
    const client = cloudMapClient(emu);
    try {
      // Act
      const services = [];
      for await (const page of paginateListServices({ client }, {})) services.push(...(page.Services ?? []));
      const discovered = await client.send(
        new DiscoverInstancesCommand({ NamespaceName: "synthetic-4", ServiceName: "svc-4-99", HealthStatus: "ALL", MaxResults: 1000 }),
      );
      // Assess
      expect(services).toHaveLength(500);
      expect(emu.calls.get("ListServices")).toBe(5);
      expect(services.reduce((sum, s) => sum + (s.InstanceCount ?? 0), 0)).toBe(10_000);
      expect(discovered.Instances).toHaveLength(20);
      expect(discovered.Instances?.filter((i) => i.HealthStatus === "UNHEALTHY")).toHaveLength(2);
    } finally {
      client.destroy();
      await emu.close();
    }
  });
});
