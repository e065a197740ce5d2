import { GetParameterCommand, ParameterNotFound, SSMClient, ThrottlingException } from "@aws-sdk/client-ssm";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readParameter } from "../../src/aws/ssm-parameter.js";
import { AwsCallError, ParameterNotFoundError } from "../../src/errors.js";
import { callContext, clientConfig } from "../helpers/aws-fixtures.js";

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

  it("returns an empty string when the parameter has no value", async () => {
    mock.on(GetParameterCommand).resolves({});

    expect(await readParameter(ssm, callContext(), "namespaces")).toBe("");
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
