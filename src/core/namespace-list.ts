/**
 * The SSM parameter lists Cloud Map namespace names separated by commas and/or newlines
 * (a StringList parameter is comma-separated; people also paste one name per line).
 * Returns unique names in first-seen order.
 */
export function parseNamespaceList(value: string): string[] {
  const names = value
    .split(/[,\n\r]+/)
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  return [...new Set(names)];
}

/**
 * An entry of the namespaces parameter that is a namespace ARN rather than a name
 * (arn:aws:servicediscovery:eu-west-1:111122223333:namespace/ns-…): how a namespace shared by
 * another account is named when its name alone is ambiguous.
 */
export function isNamespaceArn(entry: string): boolean {
  return /^arn:[a-z0-9-]+:servicediscovery:[a-z0-9-]+:\d{12}:namespace\/\S+$/.test(entry);
}
