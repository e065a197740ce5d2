import { GetCallerIdentityCommand, type STSClient } from "@aws-sdk/client-sts";
import type { Clock } from "../clock.js";
import { RetrySchedule, type RetryScheduleOptions } from "../core/retry-schedule.js";
import { AwsCallError } from "../errors.js";
import { awsCall, type CallContext, required } from "./call.js";

/**
 * The account cloudmap-sd runs in (sts:GetCallerIdentity, which needs no permission), to tell a
 * namespace shared with it from its own. Asked only when that can matter (ECS_ASSUME_ROLE set,
 * namespaces of several owners, a namespace listed by ARN), kept once known. A failure (no route to STS: no VPC endpoint, no NAT) is not a failure of discovery:
 * namespaces count as its own until it is known, and the call is retried with backoff.
 */
export class CallerAccount {
  private account: string | undefined;
  private pending: Promise<void> | undefined;
  private readonly retries: RetrySchedule;
  /** The last failure, until a call succeeds: what the cycle reports (once). */
  error: AwsCallError | undefined;

  constructor(
    private readonly client: Pick<STSClient, "send">,
    private readonly context: CallContext,
    private readonly clock: Clock,
    backoff?: RetryScheduleOptions,
  ) {
    this.retries = new RetrySchedule(backoff);
  }

  /** The account if known, without asking (what a cycle uses without waiting for STS). */
  known(): string | undefined {
    return this.account;
  }

  /** Undefined while unknown. Concurrent callers share one call. */
  async get(abortSignal?: AbortSignal): Promise<string | undefined> {
    if (this.account !== undefined) return this.account;
    if (!this.retries.due("sts", this.clock.monotonicMs())) return undefined;
    this.pending ??= this.read(abortSignal).finally(() => {
      this.pending = undefined;
    });
    await this.pending;
    return this.account;
  }

  private async read(abortSignal?: AbortSignal): Promise<void> {
    const op = "GetCallerIdentity";
    try {
      this.account = await awsCall(
        this.context,
        op,
        {},
        async () => required(op, "Account", (await this.client.send(new GetCallerIdentityCommand({}))).Account),
        abortSignal,
      );
      this.retries.succeeded("sts");
      this.error = undefined;
    } catch (error) {
      if (abortSignal?.aborted) return; // the cycle's deadline or a stop: not STS's failure
      this.retries.failed("sts", this.clock.monotonicMs());
      this.error = error instanceof AwsCallError ? error : new AwsCallError(op, {}, { cause: error });
    }
  }
}
