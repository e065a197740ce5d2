/** Typed errors that carry what failed and for which part of the estate. */

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly variable: string,
    readonly value: string,
    readonly allowed: string,
  ) {
    super(`${variable}=${JSON.stringify(value)} is invalid: ${allowed}`);
  }
}

/** Where in the estate an AWS call was made; used in logs and error messages. */
export interface CallScope {
  readonly namespace?: string;
  readonly service?: string;
  readonly cluster?: string;
  /** Another account's (AssumeRole). */
  readonly account?: string;
  readonly parameter?: string;
  readonly taskDefinition?: string;
}

export class AwsCallError extends Error {
  override readonly name = "AwsCallError";
  constructor(
    readonly operation: string,
    readonly scope: CallScope,
    options: { cause: unknown },
  ) {
    super(`${operation} failed${describeScope(scope)}: ${errorMessage(options.cause)}`, options);
  }
}

/**
 * A 200 answer that lacks a field the API always returns (an empty or truncated body, a proxy
 * that rewrote it). It is a failed call, never an empty answer: "no services" would remove targets.
 */
export class MalformedResponseError extends Error {
  override readonly name = "MalformedResponseError";
  constructor(
    readonly operation: string,
    readonly field: string,
  ) {
    super(`${operation} answered without ${field}`);
  }
}

/** An AWS call (all its attempts and retries) that did not end within AWS_CALL_TIMEOUT. */
export class CallTimeoutError extends Error {
  override readonly name = "CallTimeoutError";
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation} did not answer within ${timeoutMs} ms (AWS_CALL_TIMEOUT)`);
  }
}

/** The reason a cycle's signal is aborted when the cycle overran its bound (not a shutdown). */
export class CycleDeadlineError extends Error {
  override readonly name = "CycleDeadlineError";
  constructor(readonly deadlineMs: number) {
    super(`the discovery cycle overran its ${deadlineMs} ms bound and was aborted`);
  }
}

export class ParameterNotFoundError extends Error {
  override readonly name = "ParameterNotFoundError";
  constructor(
    readonly parameter: string,
    options?: { cause: unknown },
  ) {
    super(`SSM parameter ${JSON.stringify(parameter)} does not exist`, options);
  }
}

export class TargetsWriteError extends Error {
  override readonly name = "TargetsWriteError";
  constructor(
    readonly path: string,
    options: { cause: unknown },
  ) {
    super(`writing ${path} failed: ${errorMessage(options.cause)}`, options);
  }
}

function describeScope(scope: CallScope): string {
  const parts = Object.entries(scope)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value}`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The failed AWS call behind `error`: itself, or its cause (a part's error wrapping the call's). */
export function awsCallOf(error: unknown): AwsCallError | undefined {
  if (error instanceof AwsCallError) return error;
  return error instanceof Error && error.cause instanceof AwsCallError ? error.cause : undefined;
}

/** The SDK's error name (ThrottlingException, NamespaceNotFound…) or the error class name. */
export function errorCode(error: unknown): string {
  const cause = error instanceof AwsCallError ? error.cause : error;
  return cause instanceof Error ? cause.name : "UnknownError";
}

/**
 * What kind of failure an AWS call had: the unit of logging ("logged once with what to do") and
 * the `kind` label of cloudmap_sd_aws_failures_total. Bounded set.
 */
export type FailureKind =
  | "credentials"
  | "access_denied"
  | "throttled"
  | "timeout"
  | "network"
  | "malformed"
  | "server"
  | "not_found"
  | "disk"
  | "deadline"
  | "other";

const CREDENTIAL_CODES = new Set([
  "CredentialsProviderError",
  "ExpiredToken",
  "ExpiredTokenException",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "MissingAuthenticationToken",
  "IncompleteSignature",
  "TokenRefreshRequired",
  "InvalidAccessKeyId",
]);
const ACCESS_CODES = new Set(["AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "AuthorizationError"]);
const THROTTLING_CODES = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "ThrottledException",
  "SlowDown",
  "PriorRequestNotComplete",
  "BandwidthLimitExceeded",
  "ProvisionedThroughputExceededException",
  "LimitExceededException",
]);
const TIMEOUT_CODES = new Set(["CallTimeoutError", "TimeoutError", "RequestTimeout", "RequestTimeoutException"]);
const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNABORTED"]);
const NOT_FOUND_CODES = new Set(["NamespaceNotFound", "ServiceNotFound", "ClusterNotFoundException", "ParameterNotFound", "ParameterNotFoundError"]);

export function failureKind(error: unknown): FailureKind {
  const cause = error instanceof AwsCallError ? error.cause : error;
  if (!(cause instanceof Error)) return "other";
  const name = cause.name;
  const code = (cause as NodeJS.ErrnoException).code;
  if (name === "TargetsWriteError") return "disk";
  // Cut off (or never sent) because the cycle overran its bound: the estate's size, not AWS.
  if (name === "CycleDeadlineError") return "deadline";
  if (CREDENTIAL_CODES.has(name)) return "credentials";
  if (ACCESS_CODES.has(name)) return "access_denied";
  if (THROTTLING_CODES.has(name)) return "throttled";
  if (TIMEOUT_CODES.has(name) || (code !== undefined && code === "ETIMEDOUT")) return "timeout";
  if (name === "MalformedResponseError" || name === "SyntaxError" || /deserializ/i.test(cause.message)) return "malformed";
  if (NOT_FOUND_CODES.has(name)) return "not_found";
  if ((code !== undefined && NETWORK_CODES.has(code)) || NETWORK_CODES.has(name) || /socket hang up/i.test(cause.message)) return "network";
  const status = (cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if ((status !== undefined && status >= 500) || (cause as { $fault?: string }).$fault === "server") return "server";
  return "other";
}

/** What the person running cloudmap-sd should check, per kind of failure. */
export const FAILURE_HINTS: Readonly<Record<FailureKind, string>> = {
  credentials:
    "no valid AWS credentials: check the task role (taskRoleArn) and that the container reaches its credentials endpoint; locally, AWS_PROFILE or AWS_ACCESS_KEY_ID",
  access_denied: "the task role lacks a permission: grant what infra/policy/cloudmap-sd-task-policy.json lists",
  throttled: "the account's API rate is exceeded: lower DISCOVERY_CONCURRENCY or raise CONFIG_RELOAD_FREQUENCY",
  timeout: "AWS did not answer within AWS_CALL_TIMEOUT: check the network path (VPC endpoints, NAT gateway, proxy)",
  network: "cannot reach the AWS endpoint: check the security group, NAT gateway or VPC endpoints, and AWS_ENDPOINT_URL",
  malformed: "AWS answered with an empty or cut-short body (a proxy in the way?); the call is retried next cycle",
  server: "AWS answered with a server error; the call is retried next cycle",
  not_found: "a listed resource does not exist: check the namespaces parameter and the ECS cluster names",
  disk: "cannot write to CONFIG_FILE_DIR: check its free space and permissions (the volume is shared with Prometheus)",
  deadline:
    "the cycle overran its bound before this call ended: raise CONFIG_RELOAD_FREQUENCY or DISCOVERY_CONCURRENCY, or lower AWS_CALL_TIMEOUT",
  other: "unexpected error; the call is retried next cycle",
};
