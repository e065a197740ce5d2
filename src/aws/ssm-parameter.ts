import { GetParameterCommand, ParameterNotFound, type SSMClient } from "@aws-sdk/client-ssm";
import { ParameterNotFoundError } from "../errors.js";
import { awsCall, type CallRecorder } from "./call.js";

/** Reads one SSM parameter's value (String, StringList or SecureString). */
export async function readParameter(
  ssm: SSMClient,
  recorder: CallRecorder,
  name: string,
  abortSignal?: AbortSignal,
): Promise<string> {
  try {
    const output = await awsCall(recorder, "GetParameter", { parameter: name }, () =>
      ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }), { abortSignal }),
    );
    return output.Parameter?.Value ?? "";
  } catch (error) {
    if (error instanceof Error && error.cause instanceof ParameterNotFound) {
      throw new ParameterNotFoundError(name, { cause: error });
    }
    throw error;
  }
}
