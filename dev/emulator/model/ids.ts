import { createHash } from "node:crypto";

/**
 * Ids derived from names, so the same topology always yields the same `ns-…`/`srv-…` ids and
 * ARNs: golden files and logs stay stable across runs.
 */
export function stableId(prefix: string, seed: string, hexLength = 16): string {
  return prefix + createHash("sha256").update(seed).digest("hex").slice(0, hexLength);
}

export interface Account {
  readonly region: string;
  readonly accountId: string;
}

export const arn = {
  namespace: (a: Account, id: string) => `arn:aws:servicediscovery:${a.region}:${a.accountId}:namespace/${id}`,
  service: (a: Account, id: string) => `arn:aws:servicediscovery:${a.region}:${a.accountId}:service/${id}`,
  // SSM puts a slash between "parameter" and the name only when the name does not start with one.
  parameter: (a: Account, name: string) =>
    `arn:aws:ssm:${a.region}:${a.accountId}:parameter${name.startsWith("/") ? "" : "/"}${name}`,
  cluster: (a: Account, name: string) => `arn:aws:ecs:${a.region}:${a.accountId}:cluster/${name}`,
  task: (a: Account, cluster: string, taskId: string) => `arn:aws:ecs:${a.region}:${a.accountId}:task/${cluster}/${taskId}`,
  taskDefinition: (a: Account, family: string, revision: number) =>
    `arn:aws:ecs:${a.region}:${a.accountId}:task-definition/${family}:${revision}`,
  container: (a: Account, cluster: string, taskId: string, name: string) =>
    `arn:aws:ecs:${a.region}:${a.accountId}:container/${cluster}/${taskId}/${stableId("", `${taskId}/${name}`, 32)}`,
} as const;

/** The last path segment of an ARN (`…:cluster/demo` → `demo`), or the input when it is not an ARN. */
export function nameFromArn(value: string): string {
  if (!value.startsWith("arn:")) return value;
  const slash = value.lastIndexOf("/");
  return slash === -1 ? value : value.slice(slash + 1);
}

/** AWS JSON 1.1 timestamps are epoch seconds with millisecond precision. */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}
