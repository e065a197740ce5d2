import { AwsServiceError } from "./errors.js";

export interface PageLimits {
  /** Tokens are bound to the operation that issued them, as AWS tokens are. */
  readonly operation: string;
  /** What AWS returns when the request has no MaxResults (100 for the Cloud Map lists). */
  readonly awsDefault: number;
  /** The emulator's page-size cap: forces several pages even when the client asks for more. */
  readonly pageSize: number | undefined;
  /** Error code for a token that was not issued by this operation. */
  readonly invalidTokenCode: string;
}

export interface PageRequest {
  readonly maxResults: number | undefined;
  readonly nextToken: string | undefined;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextToken: string | undefined;
}

/**
 * Cuts one page out of `all`. The token is opaque to clients (an offset bound to the operation),
 * so a client that builds or reuses tokens across operations fails the way it would against AWS.
 */
export function paginate<T>(all: readonly T[], request: PageRequest, limits: PageLimits): Page<T> {
  const size = Math.min(request.maxResults ?? limits.awsDefault, limits.pageSize ?? Number.POSITIVE_INFINITY);
  const start = request.nextToken === undefined ? 0 : decodeToken(request.nextToken, limits);
  const end = start + size;
  return {
    items: all.slice(start, end),
    nextToken: end < all.length ? encodeToken(limits.operation, end) : undefined,
  };
}

function encodeToken(operation: string, offset: number): string {
  return Buffer.from(JSON.stringify({ op: operation, offset }), "utf8").toString("base64url");
}

function decodeToken(token: string, limits: PageLimits): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof parsed === "object" && parsed !== null && "op" in parsed && "offset" in parsed) {
      const { op, offset } = parsed;
      if (op === limits.operation && typeof offset === "number" && Number.isInteger(offset) && offset >= 0) {
        return offset;
      }
    }
  } catch {
    // Not base64 JSON: falls through to the same answer as a token from another operation.
  }
  throw new AwsServiceError(limits.invalidTokenCode, "The NextToken is not valid for this request.");
}
