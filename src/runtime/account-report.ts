import type { Logger } from "pino";
import type { AmbiguousNamespace, FetchResult, UnreadableTags } from "../aws/cloudmap-fetcher.js";
import type { EnrichResult } from "../aws/ecs-enricher.js";
import { type AwsCallError, errorMessage, failureKind } from "../errors.js";
import type { Metrics } from "../metrics.js";
import { ConditionLog } from "./condition-log.js";

/**
 * What a cycle found about accounts and configuration channels (docs/accounts.md), each logged
 * once when it appears and once when it clears, and counted: a name several accounts carry, a
 * service whose tags this account may not read (and where its endpoints come from instead),
 * GetServiceAttributes failing, cloudmap-sd's own account unknown, an account whose role cannot
 * be assumed. None of these fails a cycle by itself.
 */
export class AccountReport {
  private readonly ambiguous: ConditionLog<AmbiguousNamespace>;
  private readonly unreadableTags: ConditionLog<UnreadableTags>;
  private readonly attributeFailures: ConditionLog<{ count: number; example: AwsCallError }>;
  private readonly identity: ConditionLog<Error>;
  private readonly failingAccounts: ConditionLog<string>;

  constructor(
    logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.ambiguous = new ConditionLog({
      appeared: (name, { arns, used }) =>
        used
          ? logger.warn(
              { namespace: name, arns, used, hint: "another account shares a namespace of this name: reading this account's own; list ARNs in the namespaces parameter to choose" },
              "ambiguous namespace name: reading the own account's",
            )
          : logger.warn(
              { namespace: name, arns, hint: "namespaces of several other accounts carry this name: list the ARN of the one meant in the namespaces parameter" },
              "ambiguous namespace name: skipped, last-known-good targets kept",
            ),
      cleared: (name) => logger.info({ namespace: name }, "namespace name no longer ambiguous, or no longer listed"),
    });
    this.unreadableTags = new ConditionLog({
      appeared: (service, { channel }) =>
        logger.warn(
          {
            service,
            channel,
            hint:
              channel === "none"
                ? "set METRICS_PATH/METRICS_PORT as Cloud Map service attributes (aws servicediscovery update-service-attributes), or allow servicediscovery:ListTagsForResource"
                : "none needed: its endpoints come from this channel",
          },
          "the tags of this service cannot be read (AccessDenied): using another channel",
        ),
      cleared: (service) => logger.info({ service }, "the tags of this service are readable again, or it is gone"),
    });
    this.attributeFailures = new ConditionLog({
      appeared: (kind, { count, example }) =>
        logger.warn(
          {
            kind,
            services: count,
            err: errorMessage(example),
            hint: "allow servicediscovery:GetServiceAttributes (infra/policy), or set SERVICE_ATTRIBUTES=off; those services go on with their tags or docker labels",
          },
          "cannot read Cloud Map service attributes",
        ),
      cleared: (kind) => logger.info({ kind }, "Cloud Map service attributes are readable again"),
    });
    this.identity = new ConditionLog({
      appeared: (_key, error) =>
        logger.warn(
          {
            err: errorMessage(error),
            hint: "sts:GetCallerIdentity needs no permission, only a route to STS (a VPC endpoint for sts, or a NAT gateway); until then shared namespaces are read as this account's own",
          },
          "cannot tell which account cloudmap-sd runs in",
        ),
      cleared: () => logger.info("cloudmap-sd's account is known"),
    });
    this.failingAccounts = new ConditionLog({
      appeared: (account) =>
        logger.warn(
          { account, hint: "check the trust policy of ECS_ASSUME_ROLE in that account and sts:AssumeRole on the task role (docs/accounts.md); its tasks keep their last-known-good ECS data" },
          "cannot assume the ECS role in this account",
        ),
      cleared: (account) => logger.info({ account }, "the ECS role of this account can be assumed again"),
    });
  }

  update(fetched: FetchResult, enriched: EnrichResult, identityError: Error | undefined): void {
    this.ambiguous.update(new Map(fetched.ambiguousNamespaces.map((entry) => [entry.name, entry])));
    this.metrics.ambiguousNamespaces.set(fetched.ambiguousNamespaces.length);

    this.unreadableTags.update(new Map(fetched.unreadableTags.map((entry) => [entry.service, entry])));
    this.metrics.unreadableTags.reset();
    for (const { channel } of fetched.unreadableTags) this.metrics.unreadableTags.inc({ channel });

    const byKind = new Map<string, { count: number; example: AwsCallError }>();
    for (const error of fetched.attributeErrors) {
      const kind = failureKind(error);
      const known = byKind.get(kind);
      byKind.set(kind, { count: (known?.count ?? 0) + 1, example: known?.example ?? error });
    }
    this.attributeFailures.update(byKind);
    this.metrics.serviceAttributeFailures.reset();
    for (const [kind, { count }] of byKind) this.metrics.serviceAttributeFailures.set({ kind }, count);

    this.identity.update(new Map(identityError ? [["identity", identityError]] : []));
    this.failingAccounts.update(new Map(enriched.failingAccounts.map((account) => [account, account])));
  }
}
