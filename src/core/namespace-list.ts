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
