import {
  ClusterNotFoundException,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandOutput,
  DescribeTasksCommand,
  type DescribeTasksCommandOutput,
  ECSClient,
} from "@aws-sdk/client-ecs";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CallRecorder } from "../../src/aws/call.js";
import { EcsApi } from "../../src/aws/ecs.js";
import { AwsCallError, MalformedResponseError } from "../../src/errors.js";
import { callContext, clientConfig, taskArn, taskDefinitionArn } from "../helpers/aws-fixtures.js";

type TasksBody = Partial<DescribeTasksCommandOutput>;
type DefinitionBody = Partial<DescribeTaskDefinitionCommandOutput>;

const task = (id: string) => ({ taskArn: taskArn(id), taskDefinitionArn: taskDefinitionArn("web", 7), lastStatus: "RUNNING" });
const missing = (id: string, reason = "MISSING") => ({ arn: taskArn(id), reason });

describe("EcsApi", () => {
  let mock: AwsClientStub<ECSClient>;
  let outcomes: Array<[string, string]>;
  let api: EcsApi;

  beforeEach(() => {
    mock = mockClient(ECSClient);
    outcomes = [];
    const recorder: CallRecorder = { record: (operation, outcome) => outcomes.push([operation, outcome]) };
    api = new EcsApi(new ECSClient(clientConfig), callContext(recorder));
  });

  afterEach(() => {
    mock.restore();
  });

  /** The error a call was rejected with, checked to be an AwsCallError. */
  async function failure(call: Promise<unknown>): Promise<AwsCallError> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AwsCallError);
    return error as AwsCallError;
  }

  describe("tasks (DescribeTasks)", () => {
    it("splits the answer into described tasks, MISSING ids and ids that failed for another reason", async () => {
      // Prepare
      mock.on(DescribeTasksCommand).resolves({ tasks: [task("t1")], failures: [missing("gone"), missing("t3", "UNAVAILABLE")] });

      // Act
      const answer = await api.tasks("prod", ["t1", "gone", "t3"]);

      // Assess
      expect(answer.clusterFound).toBe(true);
      expect([...answer.tasks.keys()]).toEqual(["t1"]);
      expect(answer.tasks.get("t1")).toEqual({ ...task("t1"), tags: {} });
      expect(answer.missing).toEqual(["gone"]);
      expect(answer.failed).toEqual([{ taskId: "t3", reason: "UNAVAILABLE" }]);
      expect(outcomes).toEqual([["DescribeTasks", "success"]]);
    });

    it("leaves out optional fields that are not strings; fails the call, counted, on a tag value that is not one (it would become a label)", async () => {
      const odd = (value: unknown) => value as string;
      mock.on(DescribeTasksCommand).resolvesOnce({
        tasks: [{ ...task("t1"), launchType: odd(null) as never, availabilityZone: odd(5), group: "service:web", tags: [{ key: "env", value: "prod" }, { key: "none", value: odd(null) }, { key: odd(null), value: "x" }] }],
        failures: [],
      }).resolvesOnce({ tasks: [{ ...task("t1"), tags: [{ key: "team", value: odd(7) }] }], failures: [] });

      const described = (await api.tasks("prod", ["t1"])).tasks.get("t1");
      expect(described).toMatchObject({ group: "service:web", tags: { env: "prod", none: "" } });
      expect(described).not.toHaveProperty("launchType");
      expect(described).not.toHaveProperty("availabilityZone");
      expect(Object.keys(described?.tags ?? {})).toEqual(["env", "none"]);

      const error = await failure(api.tasks("prod", ["t1"]));
      expect(error.cause).toBeInstanceOf(MalformedResponseError);
      expect((error.cause as MalformedResponseError).field).toBe("tasks[].tags[].value.team as a string");
      expect(outcomes.at(-1)).toEqual(["DescribeTasks", "MalformedResponseError"]);
    });

    it("answers ClusterNotFoundException as 'the cluster does not exist', not as a failure", async () => {
      mock.on(DescribeTasksCommand).rejects(new ClusterNotFoundException({ message: "Cluster not found.", $metadata: {} }));

      const answer = await api.tasks("gone", ["t1"]);

      expect(answer).toEqual({ clusterFound: false, tasks: new Map(), missing: [], failed: [] });
      expect(outcomes).toEqual([["DescribeTasks", "ClusterNotFoundException"]]);
    });

    it.each<[string, TasksBody, string]>([
      ["an empty body", {}, "tasks"],
      ["no failures array", { tasks: [task("t1")] }, "failures"],
      ["no tasks array", { failures: [missing("t1")] }, "tasks"],
      ["a task without taskArn", { tasks: [{ lastStatus: "RUNNING" }], failures: [] }, "tasks[].taskArn"],
      ["a failure without arn", { tasks: [], failures: [{ reason: "MISSING" }] }, "failures[].arn"],
      ["a failure without reason", { tasks: [], failures: [{ arn: taskArn("t1") }] }, "failures[].reason"],
      ["an asked id in neither array", { tasks: [], failures: [] }, "tasks or failures entry for task t1"],
    ])("fails the call as malformed on %s", async (_, body, field) => {
      // Prepare
      mock.on(DescribeTasksCommand).resolves(body);

      // Act
      const error = await failure(api.tasks("prod", ["t1"]));

      // Assess
      expect(error.operation).toBe("DescribeTasks");
      expect(error.scope).toEqual({ cluster: "prod" });
      expect(error.cause).toBeInstanceOf(MalformedResponseError);
      expect((error.cause as MalformedResponseError).field).toBe(field);
      expect(outcomes).toEqual([["DescribeTasks", "MalformedResponseError"]]);
    });

    it("refuses more than 100 ids in one call", async () => {
      const ids = Array.from({ length: 101 }, (_, i) => `t${i}`);

      await expect(api.tasks("prod", ids)).rejects.toThrow(RangeError);
      expect(mock.commandCalls(DescribeTasksCommand)).toHaveLength(0);
    });
  });

  describe("taskDefinition (DescribeTaskDefinition)", () => {
    const arn = taskDefinitionArn("connect", 3);
    const definition = {
      taskDefinitionArn: arn,
      family: "connect",
      revision: 3,
      containerDefinitions: [{ name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9404" } }, { name: "envoy" }],
    };

    it("fails the call, counted, on a docker label that is not a string", async () => {
      mock.on(DescribeTaskDefinitionCommand).resolves({
        taskDefinition: { ...definition, containerDefinitions: [{ name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: 9404 as unknown as string, PROMETHEUS_EXPORTER_PATH: "/m" } }] },
      });

      const error = await failure(api.taskDefinition(arn));
      expect((error.cause as MalformedResponseError).field).toBe("containerDefinitions[].dockerLabels.PROMETHEUS_EXPORTER_PORT as a string");
      expect(outcomes.at(-1)).toEqual(["DescribeTaskDefinition", "MalformedResponseError"]);
    });

    it("reads the docker labels of every container; a container without labels has none", async () => {
      mock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: definition });

      const read = await api.taskDefinition(arn);

      expect(read).toEqual({
        arn,
        family: "connect",
        revision: 3,
        containers: [
          { name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9404" } },
          { name: "envoy", dockerLabels: {} },
        ],
      });
    });

    const without = (field: keyof typeof definition): DefinitionBody => {
      const { [field]: _, ...rest } = definition;
      return { taskDefinition: rest };
    };

    it.each<[string, DefinitionBody, string]>([
      ["an empty body", {}, "taskDefinition"],
      ["no taskDefinitionArn", without("taskDefinitionArn"), "taskDefinition.taskDefinitionArn"],
      ["no family", without("family"), "taskDefinition.family"],
      ["no revision", without("revision"), "taskDefinition.revision"],
      ["no containerDefinitions", without("containerDefinitions"), "taskDefinition.containerDefinitions"],
    ])("fails the call as malformed on %s", async (_, body, field) => {
      // Prepare
      mock.on(DescribeTaskDefinitionCommand).resolves(body);

      // Act
      const error = await failure(api.taskDefinition(arn));

      // Assess
      expect(error.operation).toBe("DescribeTaskDefinition");
      expect(error.scope).toEqual({ taskDefinition: arn });
      expect((error.cause as MalformedResponseError).field).toBe(field);
      expect(outcomes).toEqual([["DescribeTaskDefinition", "MalformedResponseError"]]);
    });
  });
});
