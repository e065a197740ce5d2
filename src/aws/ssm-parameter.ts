import { GetParameterCommand, ParameterNotFound, type SSMClient } from "@aws-sdk/client-ssm";
import { ParameterNotFoundError } from "../errors.js";
import { awsCall, type CallContext, required } from "./call.js";

/** Reads one SSM parameter's value (String, StringList or SecureString). */
export async function readParameter(
  ssm: SSMClient,
  context: CallContext,
  name: string,
  abortSignal?: AbortSignal,
): Promise<string> {
  try {
    const output = await awsCall(
      context,
      "GetParameter",
      { parameter: name },
      (signal) => ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }), { abortSignal: signal }),
      abortSignal,
    );
    return required("GetParameter", "Parameter.Value", output.Parameter?.Value);
  } catch (error) {
    if (error instanceof Error && error.cause instanceof ParameterNotFound) {
      throw new ParameterNotFoundError(name, { cause: error });
    }
    throw error;
  }
}
