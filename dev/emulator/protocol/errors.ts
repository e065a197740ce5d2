/**
 * An error the emulator sends back the way AWS does: a JSON body with `__type` and a message, and
 * an HTTP status. The SDK maps `__type` to its exception class (`NamespaceNotFound`,
 * `ParameterNotFound`, …) and uses the status to decide whether the fault is retryable.
 */
export class AwsServiceError extends Error {
  override readonly name = "AwsServiceError";
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status: number = defaultStatus(code)) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// Every modelled client error of these three services is a 400; only the server-side family differs.
const SERVER_ERROR_STATUS: ReadonlyMap<string, number> = new Map([
  ["InternalServerError", 500],
  ["InternalServerException", 500],
  ["InternalFailure", 500],
  ["ServerException", 500],
  ["ServiceUnavailable", 503],
  ["ServiceUnavailableException", 503],
]);

export function defaultStatus(code: string): number {
  return SERVER_ERROR_STATUS.get(code) ?? 400;
}

/** A topology (file or object) that cannot be used; `issues` lists every problem with its path. */
export class TopologyError extends Error {
  override readonly name = "TopologyError";
  readonly issues: readonly string[];

  constructor(source: string, issues: readonly string[], options?: { cause?: unknown }) {
    super(`invalid topology ${source}:\n  - ${issues.join("\n  - ")}`, options);
    this.issues = issues;
  }
}
