import { afterEach, describe, expect, it } from "vitest";
import { resolveReplica, taskIdOf } from "../../src/aws/task-metadata.js";
import { answer, hang, type LoopbackEndpoint, loopbackEndpoint } from "../helpers/loopback.js";

const TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/prod/4d1ec7e0a3d54c6a9a3b2f1e0c9d8b7a";

describe("resolveReplica", () => {
  let endpoint: LoopbackEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
  });
  const hostname = () => "ip-10-0-1-5.eu-west-1.compute.internal";

  it("is the ECS task id from the task metadata endpoint v4", async () => {
    endpoint = await loopbackEndpoint([answer({ Cluster: "prod", TaskARN: TASK_ARN })]);

    const replica = await resolveReplica({ env: { ECS_CONTAINER_METADATA_URI_V4: `${endpoint.url}/v4/abc` }, hostname });

    expect(replica).toEqual({ id: "4d1ec7e0a3d54c6a9a3b2f1e0c9d8b7a", source: "ecs-task-metadata" });
  });

  it("is the hostname outside ECS", async () => {
    expect(await resolveReplica({ env: {}, hostname })).toEqual({ id: hostname(), source: "hostname" });
  });

  it.each([
    ["does not answer in time", [hang], "aborted due to timeout"],
    ["answers an error", [answer({ message: "nope" }, 500)], "HTTP 500"],
    ["answers without a TaskARN", [answer({ Cluster: "prod" })], "TaskARN missing"],
  ])("falls back to the hostname, saying why, when the endpoint %s", async (_what, responders, reason) => {
    endpoint = await loopbackEndpoint(responders);

    const replica = await resolveReplica({ env: { ECS_CONTAINER_METADATA_URI_V4: endpoint.url }, hostname, timeoutMs: 200 });

    expect(replica.id).toBe(hostname());
    expect(replica.source).toBe("hostname");
    expect(replica.fallbackReason).toContain("ECS_CONTAINER_METADATA_URI_V4/task");
    expect(replica.fallbackReason).toContain(reason);
  });
});

describe("taskIdOf", () => {
  it.each([
    [TASK_ARN, "4d1ec7e0a3d54c6a9a3b2f1e0c9d8b7a"],
    ["arn:aws:ecs:us-east-1:123456789012:task/0123456789abcdef", "0123456789abcdef"],
    ["arn:aws-cn:ecs:cn-north-1:123456789012:task/c/id1", "id1"],
  ])("reads %s", (arn, id) => {
    expect(taskIdOf(arn)).toBe(id);
  });

  it.each([undefined, "", "arn:aws:ecs:eu-west-1:123456789012:service/prod/web", 42])("rejects %j", (arn) => {
    expect(() => taskIdOf(arn)).toThrow(/not an ECS task ARN/);
  });
});
