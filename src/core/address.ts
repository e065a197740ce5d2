/** Attributes Cloud Map reserves for an instance's addresses (ECS sets one of them per task). */
export const AddressAttribute = {
  ipv4: "AWS_INSTANCE_IPV4",
  ipv6: "AWS_INSTANCE_IPV6",
} as const;

/**
 * The host part of a target's `__address__`: the IPv4 address, or for an IPv6-only instance its
 * IPv6 address in brackets (Prometheus splits host and port on the last colon, so a bare IPv6
 * address would not parse). Undefined when the instance has neither.
 */
export function instanceHost(attributes: Readonly<Record<string, string>>): string | undefined {
  const ipv4 = attributes[AddressAttribute.ipv4]?.trim();
  if (ipv4) return ipv4;
  const ipv6 = attributes[AddressAttribute.ipv6]?.trim();
  if (ipv6) return ipv6.startsWith("[") ? ipv6 : `[${ipv6}]`;
  return undefined;
}
