/** ECS_ASSUME_ROLE: which role cloudmap-sd assumes in another account to read its ECS tasks. */

/** The placeholder of ECS_ASSUME_ROLE that names the account a role is assumed in. */
export const ACCOUNT_PLACEHOLDER = "${ACCOUNT_ID}";

/**
 * The role to assume in `account`: ECS_ASSUME_ROLE is a role name (`cloudmap-sd-ecs-reader`, or
 * with a path `monitoring/cloudmap-sd-ecs-reader`), or an ARN template with ${ACCOUNT_ID}
 * (for another partition: `arn:aws-cn:iam::${ACCOUNT_ID}:role/…`).
 */
export function roleArnFor(role: string, account: string): string {
  if (role.startsWith("arn:")) return role.replaceAll(ACCOUNT_PLACEHOLDER, account);
  return `arn:aws:iam::${account}:role/${role}`;
}

/** A role name, a path/name, or an IAM role ARN whose account is ${ACCOUNT_ID}; anything else is a mistake. */
export function isRoleSetting(value: string): boolean {
  if (value.startsWith("arn:")) return /^arn:[a-z0-9-]+:iam::\$\{ACCOUNT_ID\}:role\/[\w+=,.@/-]+$/.test(value);
  return /^[\w+=,.@/-]{1,512}$/.test(value) && !value.startsWith("/") && !value.endsWith("/");
}
