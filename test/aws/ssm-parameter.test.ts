import { GetParameterCommand, ParameterNotFound, SSMClient, ThrottlingException } from "@aws-sdk/client-ssm";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AwsClients, createAwsClients, destroyAwsClients } from "../../src/aws/clients.js";
import { readParameter } from "../../src/aws/ssm-parameter.js";
import { AwsCallError, failureKind, MalformedResponseError, ParameterNotFoundError } from "../../src/errors.js";
import { callContext, clientConfig, REGION } from "../helpers/aws-fixtures.js";
import { answer, cutShort, emptyBody, type LoopbackEndpoint, loopbackEndpoint, type Responder, useLoopbackEndpoint } from "../helpers/loopback.js";

describe("readParameter", () => {
  let mock: AwsClientStub<SSMClient>;
  let ssm: SSMClient;

  beforeEach(() => {
    mock = mockClient(SSMClient);
    ssm = new SSMClient(clientConfig);
  });

  afterEach(() => {
    mock.restore();
  });

  it.each([
    ["String", "prod.local, staging.local"],
    ["StringList", "prod.local,staging.local"],
    ["SecureString", "prod.local"],
  ] as const)("returns the value of a %s parameter", async (type, value) => {
    mock.on(GetParameterCommand, { Name: "namespaces" }).resolves({ Parameter: { Name: "namespaces", Type: type, Value: value } });

    expect(await readParameter(ssm, callContext(), "namespaces")).toBe(value);
  });

  it("asks for the decrypted value", async () => {
    mock.on(GetParameterCommand).resolves({ Parameter: { Value: "x" } });

    await readParameter(ssm, callContext(), "namespaces");

    expect(mock.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({ Name: "namespaces", WithDecryption: true });
  });

  it.each([
    ["an empty answer", {}],
    ["a parameter without a value", { Parameter: { Name: "namespaces", Type: "String" as const } }],
  ])("fails on %s rather than reading it as no namespaces (SSM never stores an empty value)", async (_, output) => {
    // Prepare
    const recorded: string[] = [];
    mock.on(GetParameterCommand).resolves(output);

    // Act
    const error = await readParameter(ssm, callContext({ record: (op, outcome) => recorded.push(`${op}:${outcome}`) }), "namespaces").catch(
      (e: unknown) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(AwsCallError);
    expect((error as AwsCallError).scope).toEqual({ parameter: "namespaces" });
    expect((error as AwsCallError).cause).toBeInstanceOf(MalformedResponseError);
    expect(failureKind(error)).toBe("malformed");
    expect(recorded).toEqual(["GetParameter:MalformedResponseError"]);
  });

  it("turns ParameterNotFound into ParameterNotFoundError naming the parameter", async () => {
    mock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: "", $metadata: {} }));

    const error = await readParameter(ssm, callContext(), "namespaces").catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ParameterNotFoundError);
    expect((error as ParameterNotFoundError).parameter).toBe("namespaces");
    expect((error as Error).message).toBe('SSM parameter "namespaces" does not exist');
  });

  it("turns other errors into AwsCallError and records the error name", async () => {
    // Prepare
    const recorded: string[] = [];
    mock.on(GetParameterCommand).rejects(new ThrottlingException({ message: "Rate exceeded", Message: "Rate exceeded", $metadata: {} }));

    // Act
    const error = await readParameter(ssm, callContext({ record: (op, outcome) => recorded.push(`${op}:${outcome}`) }), "namespaces").catch(
      (e: unknown) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(AwsCallError);
    expect((error as AwsCallError).operation).toBe("GetParameter");
    expect((error as AwsCallError).scope).toEqual({ parameter: "namespaces" });
    expect((error as AwsCallError).cause).toBeInstanceOf(ThrottlingException);
    expect(recorded).toEqual(["GetParameter:ThrottlingException"]);
  });
});

describe("readParameter against a real endpoint (real SDK client)", () => {
  let clients: AwsClients | undefined;
  let endpoint: LoopbackEndpoint | undefined;

  afterEach(async () => {
    if (clients) destroyAwsClients(clients);
    clients = undefined;
    vi.unstubAllEnvs();
    await endpoint?.close();
    endpoint = undefined;
  });

  async function read(responder: Responder): Promise<unknown> {
    endpoint = await loopbackEndpoint([responder]);
    useLoopbackEndpoint(endpoint.url);
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "standard", endpointOverridden: true, region: REGION });
    return readParameter(clients.ssm, callContext(), "namespaces").catch((e: unknown) => e);
  }

  const whole = { Parameter: { Name: "namespaces", Type: "String", Value: "prod.local", Version: 1 } };

  it.each([
    ["an empty body", emptyBody, "MalformedResponseError"],
    ["a JSON body cut short", cutShort(whole), "SyntaxError"],
  ])("fails on a 200 with %s, as a malformed answer", async (_, responder, causeName) => {
    const error = await read(responder);

    expect(error).toBeInstanceOf(AwsCallError);
    expect(endpoint?.requests[0]?.target).toBe("AmazonSSM.GetParameter");
    expect(((error as AwsCallError).cause as Error).name).toBe(causeName);
    expect(failureKind(error)).toBe("malformed");
  });

  it("reads the value when the body is whole", async () => {
    expect(await read(answer(whole))).toBe("prod.local");
  });
});
