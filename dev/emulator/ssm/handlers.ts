import type { GetParameterResult, PutParameterResult } from "@aws-sdk/client-ssm";
import { epochSeconds } from "../model/ids.js";
import type { EmulatorState, ParameterRecord } from "../model/state.js";
import { AwsServiceError } from "../protocol/errors.js";
import type { Handler, OperationTable, Wire } from "../protocol/handler.js";

const PARAMETER_TYPES = new Set(["String", "StringList", "SecureString"]);
const NAME_PATTERN = /^[a-zA-Z0-9_.\-/]{1,2048}$/;

/** GetParameter accepts `name`, `/path/name`, their ARN, and a `:version` selector on any of them. */
function resolveName(state: EmulatorState, requested: string): { record: ParameterRecord | undefined; selector: string | undefined } {
  let rest = requested;
  if (rest.startsWith("arn:")) {
    const marker = rest.indexOf(":parameter/");
    rest = marker === -1 ? "" : rest.slice(marker + ":parameter".length);
  }
  // Names cannot contain ':' (NAME_PATTERN), so a colon after the ARN part starts a selector.
  const colon = rest.lastIndexOf(":");
  const name = colon === -1 ? rest : rest.slice(0, colon);
  const selector = colon === -1 ? undefined : rest.slice(colon);
  // An ARN ends in "parameter/x" for both "x" and "/x".
  const record = state.findParameter(name) ?? (requested.startsWith("arn:") ? state.findParameter(name.slice(1)) : undefined);
  return { record, selector };
}

const getParameter: Handler = (input, ctx): Wire<GetParameterResult> => {
  const requested = input.string("Name");
  const withDecryption = input.optionalBoolean("WithDecryption") ?? false;
  const { record, selector } = resolveName(ctx.state, requested);
  if (record === undefined) throw new AwsServiceError("ParameterNotFound", `Parameter ${requested} not found.`);
  let version = record.versions.at(-1);
  if (selector !== undefined) {
    const wanted = Number(selector.slice(1));
    if (!Number.isInteger(wanted)) throw input.invalid("Parameter labels are not supported by the emulator; use :version");
    version = record.versions.find((v) => v.version === wanted);
    if (version === undefined) {
      throw new AwsServiceError("ParameterVersionNotFound", `Version ${wanted} of parameter ${record.name} not found.`);
    }
  }
  if (version === undefined) throw new AwsServiceError("ParameterNotFound", `Parameter ${requested} not found.`);
  // Without WithDecryption a SecureString comes back as ciphertext, never as the plain value.
  const value =
    version.type === "SecureString" && !withDecryption
      ? Buffer.from(`emulator-kms:${version.value}`).toString("base64")
      : version.value;
  return {
    Parameter: {
      Name: record.name,
      Type: version.type,
      Value: value,
      Version: version.version,
      ...(selector === undefined ? {} : { Selector: selector }),
      LastModifiedDate: epochSeconds(version.lastModified),
      ARN: record.arn,
      DataType: version.dataType,
    },
  };
};

const putParameter: Handler = (input, ctx): Wire<PutParameterResult> => {
  const name = input.string("Name");
  const value = input.string("Value");
  const type = input.optionalString("Type");
  const overwrite = input.optionalBoolean("Overwrite") ?? false;
  if (!NAME_PATTERN.test(name)) throw input.invalid(`Parameter name ${name} is not valid`);
  if (type !== undefined && !PARAMETER_TYPES.has(type)) throw input.invalid(`Type ${type} is not valid`);
  if (type === undefined && ctx.state.findParameter(name) === undefined) {
    throw input.invalid("A parameter type is required when you create a parameter.");
  }
  const version = ctx.state.putParameter(name, value, {
    type: type as "String" | "StringList" | "SecureString" | undefined,
    dataType: input.optionalString("DataType"),
    overwrite,
  });
  return { Version: version, Tier: "Standard" };
};

export const ssmOperations: OperationTable = new Map<string, Handler>([
  ["GetParameter", getParameter],
  ["PutParameter", putParameter],
]);
