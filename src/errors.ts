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
  readonly parameter?: string;
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

/** The SDK's error name (ThrottlingException, NamespaceNotFound…) or the error class name. */
export function errorCode(error: unknown): string {
  const cause = error instanceof AwsCallError ? error.cause : error;
  return cause instanceof Error ? cause.name : "UnknownError";
}
