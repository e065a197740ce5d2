import type { ECSClient } from "@aws-sdk/client-ecs";
import { AssumeRoleCommand, type STSClient } from "@aws-sdk/client-sts";
import { roleArnFor } from "../core/accounts.js";
import { errorCode, errorMessage, MalformedResponseError } from "../errors.js";
import { awsCall, type CallContext } from "./call.js";
import { type ClientOptions, type CredentialProvider, createAccountEcsClient } from "./clients.js";
import { EcsApi } from "./ecs.js";

/**
 * AssumeRole failed for one account: ECS of that account cannot be read. Its name is the STS
 * error's (AccessDenied, ExpiredToken…), so failureKind() classifies it like that error.
 */
export class AssumeRoleError extends Error {
  constructor(
    readonly account: string,
    readonly roleArn: string,
    options: { cause: unknown },
  ) {
    super(`cannot assume ${roleArn} to read ECS in account ${account}: ${errorMessage(options.cause)}`, options);
    // The STS error's own name, also through the AwsCallError of the AssumeRole call.
    const code = errorCode(options.cause);
    this.name = code === "UnknownError" ? "AssumeRoleError" : code;
  }
}

export interface AssumeRoleSettings {
  readonly roleArn: string;
  readonly account: string;
  readonly externalId?: string | undefined;
  /** Shown in the workload account's CloudTrail as the assumed-role session. */
  readonly sessionName: string;
  readonly durationSeconds: number;
  /** Called once per AssumeRole: the per-account metric. */
  readonly onResult?: (account: string, outcome: string) => void;
  /** Where AssumeRole is counted (cloudmap_sd_aws_calls_total, the cycle's call count) and its bound (AWS_CALL_TIMEOUT). */
  readonly context: CallContext;
}

/** What a client of another account signs with (a CredentialProvider's answer). */
export interface AssumedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly accountId: string;
}

/**
 * A credential provider for a client of another account. The SDK's client memoizes what a
 * provider returns and calls it again when the credentials are about to expire (5 minutes before),
 * so AssumeRole runs once per session lifetime per account, not per call.
 */
export function assumeRoleCredentials(sts: Pick<STSClient, "send">, settings: AssumeRoleSettings): () => Promise<AssumedCredentials> {
  const op = "AssumeRole";
  return async () => {
    try {
      // Through awsCall like every call: bounded, counted, classified. Its error names the
      // operation and account only; the credentials are never in an error or a log.
      const credentials = await awsCall(settings.context, op, { account: settings.account }, async () => {
        const output = await sts.send(
          new AssumeRoleCommand({
            RoleArn: settings.roleArn,
            RoleSessionName: settings.sessionName,
            DurationSeconds: settings.durationSeconds,
            ...(settings.externalId ? { ExternalId: settings.externalId } : {}),
          }),
        );
        const answer = output.Credentials;
        if (!answer?.AccessKeyId || !answer.SecretAccessKey || !answer.SessionToken || !answer.Expiration) {
          throw new MalformedResponseError(op, "Credentials");
        }
        return answer;
      });
      settings.onResult?.(settings.account, "success");
      return {
        accessKeyId: credentials.AccessKeyId as string,
        secretAccessKey: credentials.SecretAccessKey as string,
        sessionToken: credentials.SessionToken as string,
        expiration: credentials.Expiration as Date,
        accountId: settings.account,
      };
    } catch (error) {
      const failure = new AssumeRoleError(settings.account, settings.roleArn, { cause: error });
      settings.onResult?.(settings.account, failure.name);
      throw failure;
    }
  };
}

/** How long an assumed-role session lasts; the SDK renews it 5 minutes before it ends. */
const SESSION_SECONDS = 3600;

/**
 * One ECS client per other account, each with the credentials of ECS_ASSUME_ROLE in that account,
 * made when an account is first needed. A denied AssumeRole fails that account's calls only.
 */
export class AccountEcsClients {
  private readonly apis = new Map<string, EcsApi>();
  private readonly clients: ECSClient[] = [];

  constructor(
    private readonly sts: Pick<STSClient, "send">,
    private readonly options: {
      readonly role: string;
      readonly externalId?: string | undefined;
      readonly clientOptions: ClientOptions;
      readonly context: CallContext;
      readonly onAssumeRole?: (account: string, outcome: string) => void;
    },
  ) {}

  ecsFor(account: string): EcsApi {
    let api = this.apis.get(account);
    if (api === undefined) {
      const credentials: CredentialProvider = assumeRoleCredentials(this.sts, {
        account,
        roleArn: roleArnFor(this.options.role, account),
        externalId: this.options.externalId,
        sessionName: "cloudmap-sd",
        durationSeconds: SESSION_SECONDS,
        context: this.options.context,
        ...(this.options.onAssumeRole ? { onResult: this.options.onAssumeRole } : {}),
      });
      const client = createAccountEcsClient(this.options.clientOptions, credentials);
      this.clients.push(client);
      api = new EcsApi(client, this.options.context);
      this.apis.set(account, api);
    }
    return api;
  }

  destroy(): void {
    for (const client of this.clients) client.destroy();
  }
}
