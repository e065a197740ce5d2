import { GetParameterCommand, ParameterNotFound, type SSMClient } from "@aws-sdk/client-ssm";
import { ParameterNotFoundError } from "../errors.js";
import { awsCall, type CallContext, required } from "./call.js";

/**
 * Reads one SSM parameter's value (String, StringList or SecureString). SSM never stores an
 * empty value, so an answer without one is malformed (an empty or cut-short body), never "".
 */
export async function readParameter(
  ssm: SSMClient,
  context: CallContext,
  name: string,
  abortSignal?: AbortSignal,
): Promise<string> {
  try {
    return await awsCall(
      context,
      "GetParameter",
      { parameter: name },
      async () => {
        const output = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
        return required("GetParameter", "Parameter.Value", output.Parameter?.Value);
      },
      abortSignal,
    );
  } catch (error) {
    if (error instanceof Error && error.cause instanceof ParameterNotFound) {
      throw new ParameterNotFoundError(name, { cause: error });
    }
    throw error;
  }
}
