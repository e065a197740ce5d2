import { AwsCallError, type CallScope, errorCode } from "../errors.js";

/** Counts logical AWS calls by operation and outcome; implemented by the metrics module. */
export interface CallRecorder {
  record(operation: string, outcome: string): void;
}

export const noopRecorder: CallRecorder = { record: () => {} };

/**
 * Runs one AWS call, counts it, and turns a failure into an AwsCallError that names the
 * operation and the part of the estate it was for.
 */
export async function awsCall<T>(
  recorder: CallRecorder,
  operation: string,
  scope: CallScope,
  send: () => Promise<T>,
): Promise<T> {
  try {
    const result = await send();
    recorder.record(operation, "success");
    return result;
  } catch (error) {
    recorder.record(operation, errorCode(error));
    throw new AwsCallError(operation, scope, { cause: error });
  }
}

/**
 * Reads every page of a NextToken-paginated call. Guards against a token that repeats, which
 * would otherwise loop forever against a misbehaving endpoint.
 */
export async function allPages<Page, Item>(
  fetchPage: (nextToken: string | undefined) => Promise<Page>,
  items: (page: Page) => readonly Item[] | undefined,
  nextTokenOf: (page: Page) => string | undefined,
): Promise<Item[]> {
  const all: Item[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    all.push(...(items(page) ?? []));
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
