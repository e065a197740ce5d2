import { AwsCallError, type CallScope, CallTimeoutError, errorCode, MalformedResponseError } from "../errors.js";

/** Counts logical AWS calls by operation and outcome; implemented by the metrics module. */
export interface CallRecorder {
  record(operation: string, outcome: string): void;
}

export const noopRecorder: CallRecorder = { record: () => {} };

/** What every AWS call needs besides its input: where to count it, and how long it may take. */
export interface CallContext {
  readonly recorder: CallRecorder;
  /** AWS_CALL_TIMEOUT: the bound on one call, all its attempts and retries included. */
  readonly timeoutMs: number;
}

/**
 * Runs one AWS call, counts it, and turns a failure into an AwsCallError that names the
 * operation and the part of the estate it was for. The call ends within `timeoutMs` whatever
 * happens below it (a hung attempt, the retry strategy's backoff sleep), and at once when `parent`
 * (the cycle's signal: shutdown or cycle deadline) aborts.
 *
 * The send gets no abort signal: a per-call options object on the SDK's send() defeats its
 * middleware cache, the largest share of a call's CPU (see createAwsClients). So the call is
 * abandoned rather than cancelled: what the SDK still has in flight ends by itself, each attempt
 * within the request handler's timeouts and all of them within maxAttempts of those, and stop
 * destroys the clients' sockets. The concurrency slot a caller took for the call is free as soon
 * as this returns.
 */
export async function awsCall<T>(
  context: CallContext,
  operation: string,
  scope: CallScope,
  send: () => Promise<T>,
  parent?: AbortSignal,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onParentAbort: (() => void) | undefined;
  // Rejects with what ended the call early; the race below settles on whichever comes first.
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CallTimeoutError(operation, context.timeoutMs)), context.timeoutMs);
    onParentAbort = () => reject(parent?.reason);
    if (parent?.aborted) onParentAbort();
    else parent?.addEventListener("abort", onParentAbort, { once: true });
  });
  try {
    // A call the cycle has already given up on is not sent at all.
    const result = await Promise.race(parent?.aborted ? [stopped] : [send(), stopped]);
    context.recorder.record(operation, "success");
    return result;
  } catch (cause) {
    context.recorder.record(operation, errorCode(cause));
    throw new AwsCallError(operation, scope, { cause });
  } finally {
    clearTimeout(timer);
    if (onParentAbort) parent?.removeEventListener("abort", onParentAbort);
  }
}

/**
 * A field the API always returns. Its absence means the body was empty or cut short (a 200 with
 * `{}` parses without error), which must fail the call rather than read as "nothing exists".
 */
export function required<T>(operation: string, field: string, value: T | null | undefined): T {
  if (value === undefined || value === null) throw new MalformedResponseError(operation, field);
  return value;
}

/**
 * A map the API types as strings to strings (instance or service attributes). A JSON answer can
 * still carry null or a number there (a proxy, a fault): that fails the call like a missing field,
 * keeping the last-known-good, rather than reaching the file as a label that is not a string.
 */
export function stringRecord(operation: string, field: string, value: Record<string, unknown> | null | undefined): Record<string, string> {
  const record = value ?? {};
  for (const [key, item] of Object.entries(record)) {
    if (typeof item !== "string") throw new MalformedResponseError(operation, `${field}.${key} as a string`);
  }
  return record as Record<string, string>;
}

/**
 * Reads every page of a NextToken-paginated call. Guards against a token that repeats, which
 * would otherwise loop forever against a misbehaving endpoint.
 */
export async function allPages<Page, Item>(
  fetchPage: (nextToken: string | undefined) => Promise<Page>,
  items: (page: Page) => readonly Item[],
  nextTokenOf: (page: Page) => string | undefined,
): Promise<Item[]> {
  const all: Item[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    all.push(...items(page));
    token = nextTokenOf(page) || undefined;
    if (token !== undefined) {
      if (seen.has(token)) throw new Error(`pagination token repeated: ${token}`);
      seen.add(token);
    }
  } while (token !== undefined);
  return all;
}

/** Forwards to another recorder and counts the calls of the current cycle (for its log line). */
export class CallCounter implements CallRecorder {
  private count = 0;

  constructor(private readonly next: CallRecorder) {}

  record(operation: string, outcome: string): void {
    this.count++;
    this.next.record(operation, outcome);
  }

  /** Returns the calls counted since the last take and starts counting again. */
  take(): number {
    const count = this.count;
    this.count = 0;
    return count;
  }
}
