import { randomUUID } from "node:crypto";
import type { EmulatorState } from "../model/state.js";
import { AwsServiceError } from "../protocol/errors.js";

// STS speaks the AWS Query protocol, not JSON 1.1: a form-encoded body with Action=…, an XML answer.
const XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";
const DEFAULT_DURATION_SECONDS = 3600;

export interface QueryAnswer {
  readonly status: number;
  readonly body: string;
}

/** A request without X-Amz-Target whose form body names an Action: what the SDK's STS client sends. */
export function queryAction(contentType: string | undefined, body: string): URLSearchParams | undefined {
  if (!contentType?.startsWith("application/x-www-form-urlencoded")) return undefined;
  const params = new URLSearchParams(body);
  return params.has("Action") ? params : undefined;
}

/** Runs one STS operation for `caller` (the account of the signing key); errors become XML too. */
export function handleSts(params: URLSearchParams, state: EmulatorState, caller: string): QueryAnswer {
  const action = params.get("Action") ?? "";
  try {
    if (action === "GetCallerIdentity") return ok(action, element("Arn", `arn:aws:iam::${caller}:user/emulator`) + element("UserId", `AIDA${caller}`) + element("Account", caller));
    if (action === "AssumeRole") return assumeRole(params, state, caller);
    throw new AwsServiceError("InvalidAction", `Could not find operation ${action} for version 2011-06-15`);
  } catch (error) {
    if (!(error instanceof AwsServiceError)) throw error;
    return stsError(error);
  }
}

/** An STS error answer (also what an injected fault looks like on STS). */
export function stsError(error: AwsServiceError): QueryAnswer {
  const type = error.status >= 500 ? "Receiver" : "Sender";
  const body = `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type>${element("Code", error.code)}${element("Message", error.message)}</Error>${element("RequestId", randomUUID())}</ErrorResponse>`;
  return { status: error.status, body };
}

function assumeRole(params: URLSearchParams, state: EmulatorState, caller: string): QueryAnswer {
  const roleArn = params.get("RoleArn");
  const sessionName = params.get("RoleSessionName");
  if (!roleArn || !sessionName) throw new AwsServiceError("ValidationError", "RoleArn and RoleSessionName are required");
  const duration = Number(params.get("DurationSeconds") ?? DEFAULT_DURATION_SECONDS);
  if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
    throw new AwsServiceError("ValidationError", "DurationSeconds must be between 900 and 43200");
  }
  const credentials = state.assumeRole(caller, roleArn, sessionName, params.get("ExternalId") ?? undefined, duration);
  return ok(
    "AssumeRole",
    `<AssumedRoleUser>${element("AssumedRoleId", credentials.assumedRoleId)}${element("Arn", credentials.assumedRoleArn)}</AssumedRoleUser>` +
      `<Credentials>${element("AccessKeyId", credentials.accessKeyId)}${element("SecretAccessKey", credentials.secretAccessKey)}` +
      `${element("SessionToken", credentials.sessionToken)}${element("Expiration", credentials.expiration.toISOString())}</Credentials>`,
  );
}

function ok(action: string, result: string): QueryAnswer {
  const body = `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result><ResponseMetadata>${element("RequestId", randomUUID())}</ResponseMetadata></${action}Response>`;
  return { status: 200, body };
}

function element(name: string, value: string): string {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c] as string);
}
