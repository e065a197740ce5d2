import {
  GetParameterCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  ParameterVersionNotFound,
  PutParameterCommand,
  type SSMClient,
  ValidationException,
} from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../../dev/emulator/index.js";
import { rejection, ssmClient } from "./support.js";

let emu: Emulator;
let client: SSMClient;

beforeAll(async () => {
  emu = await startEmulator({
    topology: {
      parameters: {
        "ECS-ServiceDiscovery-Namespaces": { type: "StringList", value: "ecs-services,ecs-connect" },
        "/cloudmap-sd/plain": "shorthand",
        "/cloudmap-sd/secret": { type: "SecureString", value: "hunter2" },
      },
    },
  });
  client = ssmClient(emu);
});

afterAll(async () => {
  client.destroy();
  await emu.close();
});

const get = (Name: string, WithDecryption?: boolean) => client.send(new GetParameterCommand({ Name, WithDecryption }));

describe("GetParameter", () => {
  it("returns the parameter with its type, version, ARN and a Date LastModifiedDate", async () => {
    const { Parameter } = await get("ECS-ServiceDiscovery-Namespaces");
    expect(Parameter).toMatchObject({
      Name: "ECS-ServiceDiscovery-Namespaces",
      Type: "StringList",
      Value: "ecs-services,ecs-connect",
      Version: 1,
      DataType: "text",
      ARN: "arn:aws:ssm:us-east-1:123456789012:parameter/ECS-ServiceDiscovery-Namespaces",
    });
    expect(Parameter?.LastModifiedDate).toBeInstanceOf(Date);
  });

  it("accepts a plain string in the topology as a String parameter, and finds it by ARN", async () => {
    const byArn = await get("arn:aws:ssm:us-east-1:123456789012:parameter/cloudmap-sd/plain");
    expect(byArn.Parameter).toMatchObject({ Name: "/cloudmap-sd/plain", Type: "String", Value: "shorthand" });
  });

  it("returns a SecureString in clear only WithDecryption", async () => {
    expect((await get("/cloudmap-sd/secret", true)).Parameter?.Value).toBe("hunter2");
    expect((await get("/cloudmap-sd/secret")).Parameter?.Value).not.toBe("hunter2");
  });

  it("maps a missing parameter to ParameterNotFound (HTTP 400)", async () => {
    const error = await rejection(get("/does/not/exist"));
    expect(error).toBeInstanceOf(ParameterNotFound);
    expect((error as ParameterNotFound).$metadata.httpStatusCode).toBe(400);
  });
});

describe("PutParameter", () => {
  it("creates version 1, refuses to overwrite without Overwrite, then increments the version", async () => {
    // Prepare
    const Name = "/cloudmap-sd/put";
    // Act
    const created = await client.send(new PutParameterCommand({ Name, Value: "a", Type: "String" }));
    const refused = await rejection(client.send(new PutParameterCommand({ Name, Value: "b", Type: "String" })));
    const overwritten = await client.send(new PutParameterCommand({ Name, Value: "c", Overwrite: true }));
    // Assess
    expect(created).toMatchObject({ Version: 1, Tier: "Standard" });
    expect(refused).toBeInstanceOf(ParameterAlreadyExists);
    expect(overwritten.Version).toBe(2);
    expect((await get(Name)).Parameter).toMatchObject({ Value: "c", Version: 2, Type: "String" });
    expect((await get(`${Name}:1`)).Parameter).toMatchObject({ Value: "a", Version: 1, Selector: ":1" });
    expect(await rejection(get(`${Name}:9`))).toBeInstanceOf(ParameterVersionNotFound);
  });

  it("requires a Type when creating a parameter", async () => {
    const error = await rejection(client.send(new PutParameterCommand({ Name: "/cloudmap-sd/untyped", Value: "x" })));
    expect(error).toBeInstanceOf(ValidationException);
  });

  it("shares state with the programmatic API in both directions", async () => {
    emu.state.putParameter("ECS-ServiceDiscovery-Namespaces", "ecs-services", { type: "StringList" });
    const { Parameter } = await get("ECS-ServiceDiscovery-Namespaces");
    expect(Parameter).toMatchObject({ Value: "ecs-services", Version: 2 });
    await client.send(new PutParameterCommand({ Name: "/cloudmap-sd/from-sdk", Value: "v", Type: "String" }));
    expect(emu.state.findParameter("/cloudmap-sd/from-sdk")?.versions.at(-1)?.value).toBe("v");
  });
});
