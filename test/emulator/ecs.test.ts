import {
  ClientException,
  ClusterNotFoundException,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  InvalidParameterException,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../../dev/emulator/index.js";
import { ecsClient, rejection } from "./support.js";

let emu: Emulator;
let client: ECSClient;

const TASK_A = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
const TASK_B = "1b2c3d4e5f60718293a4b5c6d7e8f90a";
const TASK_EC2 = "2c3d4e5f60718293a4b5c6d7e8f90a1b";

beforeAll(async () => {
  emu = await startEmulator({
    topology: {
      ecs: {
        clusters: ["empty"],
        taskDefinitions: [
          { family: "WebAppTask", revision: 2, containerDefinitions: [{ name: "web", dockerLabels: { OLD: "1" } }] },
          {
            family: "WebAppTask",
            revision: 3,
            containerDefinitions: [
              { name: "web", portMappings: [{ containerPort: 3000 }], dockerLabels: { PROMETHEUS_EXPORTER_PORT: 3000 } },
            ],
            tags: { team: "web" },
          },
          {
            family: "LegacyTask",
            revision: 1,
            networkMode: "bridge",
            containerDefinitions: [{ name: "legacy", portMappings: [{ containerPort: 80, hostPort: 32768 }] }],
          },
        ],
        tasks: [
          { cluster: "demo", taskId: TASK_A, taskDefinition: "WebAppTask:3", privateIpv4Address: "10.0.1.17", group: "service:Web", tags: { env: "demo" } },
          { cluster: "demo", taskId: TASK_B, taskDefinition: "WebAppTask:3", privateIpv4Address: "10.0.2.41", availabilityZone: "us-east-1b" },
          {
            cluster: "demo",
            taskId: TASK_EC2,
            taskDefinition: "LegacyTask:1",
            launchType: "EC2",
            containerInstanceArn: "arn:aws:ecs:us-east-1:123456789012:container-instance/demo/abc",
          },
        ],
      },
    },
  });
  client = ecsClient(emu);
});

afterAll(async () => {
  client.destroy();
  await emu.close();
});

const describeTasks = (tasks: string[], include?: "TAGS"[], cluster = "demo") =>
  client.send(new DescribeTasksCommand({ cluster, tasks, include }));

describe("DescribeTasks", () => {
  it("describes awsvpc tasks with their ENI address, group and tags when asked for TAGS", async () => {
    const { tasks = [], failures = [] } = await describeTasks([TASK_A], ["TAGS"]);
    expect(failures).toEqual([]);
    const [task] = tasks;
    expect(task).toMatchObject({
      taskArn: `arn:aws:ecs:us-east-1:123456789012:task/demo/${TASK_A}`,
      clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
      taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/WebAppTask:3",
      group: "service:Web",
      launchType: "FARGATE",
      lastStatus: "RUNNING",
      availabilityZone: "us-east-1a",
      tags: [{ key: "env", value: "demo" }],
    });
    expect(task?.startedAt).toBeInstanceOf(Date);
    const details = task?.attachments?.[0]?.details ?? [];
    expect(details).toContainEqual({ name: "privateIPv4Address", value: "10.0.1.17" });
    expect(task?.containers?.[0]?.networkInterfaces?.[0]?.privateIpv4Address).toBe("10.0.1.17");
  });

  it("leaves tags out unless include TAGS is given", async () => {
    const { tasks = [] } = await describeTasks([TASK_A]);
    expect(tasks[0]).not.toHaveProperty("tags");
  });

  it("accepts task ARNs and a cluster ARN, and gives host port bindings for bridge tasks", async () => {
    const arn = `arn:aws:ecs:us-east-1:123456789012:task/demo/${TASK_EC2}`;
    const { tasks = [] } = await describeTasks([arn], undefined, "arn:aws:ecs:us-east-1:123456789012:cluster/demo");
    expect(tasks[0]).toMatchObject({ taskArn: arn, launchType: "EC2", containerInstanceArn: expect.stringContaining("container-instance") });
    expect(tasks[0]?.containers?.[0]?.networkBindings).toEqual([
      { bindIP: "0.0.0.0", containerPort: 80, hostPort: 32768, protocol: "tcp" },
    ]);
  });

  it("reports unknown task ids as MISSING failures next to the found tasks", async () => {
    const { tasks = [], failures = [] } = await describeTasks([TASK_A, "ffffffffffffffffffffffffffffffff", TASK_B]);
    expect(tasks.map((t) => t.taskArn?.split("/").at(-1))).toEqual([TASK_A, TASK_B]);
    expect(failures).toEqual([
      { arn: "arn:aws:ecs:us-east-1:123456789012:task/demo/ffffffffffffffffffffffffffffffff", reason: "MISSING" },
    ]);
  });

  it("accepts 100 ids and rejects 101 with InvalidParameterException", async () => {
    const ids = Array.from({ length: 101 }, (_, i) => i.toString(16).padStart(32, "0"));
    const hundred = await describeTasks(ids.slice(0, 100));
    expect(hundred.failures).toHaveLength(100);
    expect(await rejection(describeTasks(ids))).toBeInstanceOf(InvalidParameterException);
    expect(await rejection(describeTasks([]))).toBeInstanceOf(InvalidParameterException);
  });

  it("maps an unknown cluster to ClusterNotFoundException; a known cluster without tasks just fails each id", async () => {
    expect(await rejection(describeTasks([TASK_A], undefined, "nope"))).toBeInstanceOf(ClusterNotFoundException);
    expect((await describeTasks([TASK_A], undefined, "empty")).failures?.[0]?.reason).toBe("MISSING");
  });
});

describe("DescribeTaskDefinition", () => {
  it("returns container definitions with dockerLabels, and tags when asked", async () => {
    const { taskDefinition, tags } = await client.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: "WebAppTask:3", include: ["TAGS"] }),
    );
    expect(taskDefinition).toMatchObject({ family: "WebAppTask", revision: 3, status: "ACTIVE", networkMode: "awsvpc" });
    expect(taskDefinition?.containerDefinitions?.[0]).toMatchObject({
      name: "web",
      dockerLabels: { PROMETHEUS_EXPORTER_PORT: "3000" },
      portMappings: [{ containerPort: 3000, hostPort: 3000, protocol: "tcp" }],
    });
    expect(tags).toEqual([{ key: "team", value: "web" }]);
  });

  it("resolves a bare family to its latest revision and accepts an ARN", async () => {
    const latest = await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: "WebAppTask" }));
    const byArn = await client.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/WebAppTask:2" }),
    );
    expect(latest.taskDefinition?.revision).toBe(3);
    expect(byArn.taskDefinition?.containerDefinitions?.[0]?.dockerLabels).toEqual({ OLD: "1" });
    expect(latest).not.toHaveProperty("tags");
  });

  it("maps an unknown task definition to ClientException", async () => {
    const error = await rejection(client.send(new DescribeTaskDefinitionCommand({ taskDefinition: "Nope:1" })));
    expect(error).toBeInstanceOf(ClientException);
  });
});
