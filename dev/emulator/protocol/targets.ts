/** The three AWS JSON 1.1 services the emulator speaks, keyed by their `X-Amz-Target` prefix. */
export type AwsService = "servicediscovery" | "ssm" | "ecs";

const SERVICE_BY_PREFIX: ReadonlyMap<string, AwsService> = new Map([
  ["Route53AutoNaming_v20170314", "servicediscovery"],
  ["AmazonSSM", "ssm"],
  ["AmazonEC2ContainerServiceV20141113", "ecs"],
]);

export interface Target {
  readonly service: AwsService | undefined;
  readonly operation: string;
}

/** `AmazonSSM.GetParameter` → { service: "ssm", operation: "GetParameter" }. */
export function parseTarget(header: string | undefined): Target | undefined {
  if (header === undefined) return undefined;
  const dot = header.lastIndexOf(".");
  if (dot <= 0 || dot === header.length - 1) return undefined;
  return { service: SERVICE_BY_PREFIX.get(header.slice(0, dot)), operation: header.slice(dot + 1) };
}

/** Real endpoints use `Message` (Cloud Map, SSM) or `message` (ECS); the SDK reads either. */
export function messageKey(service: AwsService | undefined): "Message" | "message" {
  return service === "ecs" ? "message" : "Message";
}
