// The CDK app's inputs that describe what already exists (VPC, cluster, workspace, namespaces)
// and how to run (images, CPU architecture, shards), checked before anything is built: a
// wrong value fails `cdk synth` with a message naming the prop, not CloudFormation an hour later.

export type CpuArchitecture = "X86_64" | "ARM64";

export interface ExistingVpc {
  /** `vpc-…` */
  readonly vpcId: string;
  /** Private subnets the tasks run in (`subnet-…`); they must reach the AWS APIs (NAT or VPC endpoints). */
  readonly subnetIds: readonly string[];
}

export class EstatePropsError extends Error {
  override readonly name = "EstatePropsError";
  constructor(
    readonly prop: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`${prop}=${JSON.stringify(value)}: ${reason}`);
  }
}

// Cloud Map namespace names are DNS names (private/public DNS) or up to 1,024 printable
// characters (HTTP). A namespace shared by another account (AWS RAM) may be given by its ARN
// instead; a bare namespace id is the usual mistake.
const ARN = /^arn:/;
const NAMESPACE_ARN = /^arn:(aws[a-z-]*):servicediscovery:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):namespace\/(ns-[a-z0-9]+)$/;
const NAMESPACE_ID = /^ns-[a-z0-9]{16}$/;

export interface NamespaceArn {
  readonly arn: string;
  readonly partition: string;
  readonly region: string;
  /** The owning account (the namespace's ResourceOwner). */
  readonly account: string;
}

/** The namespaces prop split the way IAM needs it: names (a condition key) and ARNs (resources). */
export interface Namespaces {
  /** Every entry, in the order given: what the namespaces parameter lists. */
  readonly entries: readonly string[];
  readonly names: readonly string[];
  readonly arns: readonly NamespaceArn[];
}

/** Namespace names and ARNs, as the namespaces parameter and the task policy need them. */
export function checkNamespaces(entries: readonly string[]): Namespaces {
  if (entries.length === 0) throw new EstatePropsError("namespaces", entries, "list at least one namespace, or leave it out to create a new one");
  const names: string[] = [];
  const arns: NamespaceArn[] = [];
  for (const entry of entries) {
    if (ARN.test(entry)) {
      const match = NAMESPACE_ARN.exec(entry);
      if (!match) {
        throw new EstatePropsError(
          "namespaces",
          entry,
          "not a Cloud Map namespace ARN (arn:aws:servicediscovery:REGION:ACCOUNT:namespace/ns-…; aws servicediscovery list-namespaces --query 'Namespaces[].Arn')",
        );
      }
      arns.push({ arn: entry, partition: match[1]!, region: match[2]!, account: match[3]! });
      continue;
    }
    if (NAMESPACE_ID.test(entry)) {
      throw new EstatePropsError(
        "namespaces",
        entry,
        "give the namespace's name or ARN, not its id: the sidecar looks namespaces up by name or ARN (aws servicediscovery get-namespace --id ns-… --query 'Namespace.[Name,Arn]')",
      );
    }
    if (entry.trim() !== entry || entry === "" || /[,\n\r]/.test(entry)) {
      throw new EstatePropsError("namespaces", entry, "a namespace name has no surrounding spaces, commas or newlines (the namespaces parameter separates names with them)");
    }
    names.push(entry);
  }
  if (new Set(entries).size !== entries.length) throw new EstatePropsError("namespaces", entries, "a namespace is listed twice");
  return { entries, names, arns };
}

/** The role ECS_ASSUME_ROLE names in each workload account, unless told otherwise. */
export const DEFAULT_ECS_READER_ROLE_NAME = "cloudmap-sd-ecs-reader";

const ACCOUNT_ID = /^\d{12}$/;

export function checkAccountId(prop: string, value: string): string {
  if (!ACCOUNT_ID.test(value)) throw new EstatePropsError(prop, value, "not an AWS account id (12 digits)");
  return value;
}

/** Workload accounts whose ECS tasks cloudmap-sd describes through a role it assumes there. */
export function checkAccountIds(prop: string, values: readonly string[]): readonly string[] {
  if (values.length === 0) throw new EstatePropsError(prop, values, "list at least one account id, or leave it out");
  values.forEach((value) => checkAccountId(prop, value));
  if (new Set(values).size !== values.length) throw new EstatePropsError(prop, values, "an account is listed twice");
  return values;
}

/** An IAM role name (no path: the CDK app creates the role with this name in each workload account). */
export function checkRoleName(prop: string, value: string): string {
  if (!/^[\w+=,.@-]{1,64}$/.test(value)) throw new EstatePropsError(prop, value, "an IAM role name: 1 to 64 letters, digits and +=,.@_- (no path, no ARN)");
  return value;
}

/** sts:AssumeRole's ExternalId: 2 to 1,224 of letters, digits and +=,.@:/-. Not a secret, but it must match on both sides. */
export function checkExternalId(prop: string, value: string): string {
  if (!/^[\w+=,.@:\/-]{2,1224}$/.test(value)) throw new EstatePropsError(prop, value, "2 to 1224 letters, digits and +=,.@:/-_ (what sts:AssumeRole accepts)");
  return value;
}

export function checkVpc(vpc: ExistingVpc): ExistingVpc {
  if (!/^vpc-[0-9a-f]{8,17}$/.test(vpc.vpcId)) throw new EstatePropsError("vpcId", vpc.vpcId, "not a VPC id (vpc-…)");
  if (vpc.subnetIds.length === 0) throw new EstatePropsError("subnetIds", vpc.subnetIds, "an existing VPC needs the private subnets to run the tasks in");
  for (const subnet of vpc.subnetIds) {
    if (!/^subnet-[0-9a-f]{8,17}$/.test(subnet)) throw new EstatePropsError("subnetIds", subnet, "not a subnet id (subnet-…)");
  }
  return vpc;
}

/** An AMP workspace given as its id (`ws-…`) or ARN; returns the id. */
export function workspaceIdOf(value: string): string {
  const id = /^arn:aws[a-z-]*:aps:[a-z0-9-]+:\d{12}:workspace\/(ws-[0-9a-f-]+)$/.exec(value)?.[1] ?? value;
  if (!/^ws-[0-9a-f-]+$/.test(id)) throw new EstatePropsError("workspaceId", value, "not an AMP workspace id (ws-…) or ARN (arn:aws:aps:REGION:ACCOUNT:workspace/ws-…)");
  return id;
}

export function checkCpuArchitecture(value: string): CpuArchitecture {
  if (value !== "X86_64" && value !== "ARM64") throw new EstatePropsError("cpuArchitecture", value, "X86_64 or ARM64 (Graviton)");
  return value;
}

/** The sharded HA shape runs this many shard services, each with 2 tasks. */
export const MAX_SHARD_SERVICES = 50;

export function checkShards(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_SHARD_SERVICES) {
    throw new EstatePropsError("shards", value, `a whole number from 1 to ${MAX_SHARD_SERVICES} (each shard is an ECS service of 2 tasks)`);
  }
  return value;
}

export interface EcrImage {
  readonly account: string;
  readonly region: string;
  readonly repositoryName: string;
}

/**
 * An image in a private ECR registry (for example an ECR pull-through cache of quay.io), whose
 * repository the execution role must be allowed to pull from; undefined for any other registry.
 */
export function ecrImageOf(uri: string): EcrImage | undefined {
  const match = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._\/-]+)(?::[\w.-]+|@sha256:[0-9a-f]{64})$/.exec(uri);
  if (!match) return undefined;
  return { account: match[1]!, region: match[2]!, repositoryName: match[3]! };
}
