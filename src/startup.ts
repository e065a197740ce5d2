import { type Config, regionFromEnvironment } from "./config.js";
import { ConfigError } from "./errors.js";
import { packageVersion } from "./version.js";

/**
 * No region anywhere: every AWS call would fail, every cycle, while /healthz stays green. It is a
 * configuration error, reported as the one line main() prints before exiting with status 2.
 */
export class MissingRegionError extends ConfigError {
  constructor(sdkReason?: string) {
    super("AWS_REGION", "", "not set");
    // ConfigError's `VAR="value" is invalid` reads wrong for a variable nobody set.
    this.message =
      "AWS_REGION is not set: set it to the region of your Cloud Map namespaces (e.g. eu-west-1)" +
      (sdkReason && sdkReason !== "Region is missing" ? `; the AWS SDK's own lookup said: ${sdkReason}` : "");
  }
}

/**
 * The region the AWS clients use: AWS_REGION, else AWS_DEFAULT_REGION (which the JS SDK would
 * ignore), else what the SDK's own chain finds (`sdkRegion`, e.g. a client's config.region(): the
 * region of AWS_PROFILE in ~/.aws/config). Throws MissingRegionError when there is none.
 */
export async function resolveRegion(env: Readonly<Record<string, string | undefined>>, sdkRegion: () => Promise<string>): Promise<string> {
  const fromEnvironment = regionFromEnvironment(env);
  if (fromEnvironment) return fromEnvironment;
  let region: string;
  try {
    region = await sdkRegion();
  } catch (error) {
    throw new MissingRegionError(error instanceof Error ? error.message : String(error));
  }
  if (!region) throw new MissingRegionError();
  return region;
}

/** What the "cloudmap-sd started" line reports besides the URL: the facts a misconfiguration shows in. */
export interface StartupFacts {
  readonly version: string;
  /** Undefined only when start() was called without resolveRegion (tests): the SDK's chain decides. */
  readonly region: string | undefined;
  /** The AWS_ENDPOINT_URL* variables in effect, when any (an emulator, a VPC endpoint, a proxy). */
  readonly endpoints?: Readonly<Record<string, string>>;
}

export function startupFacts(config: Config): StartupFacts {
  const endpoints = Object.entries(config.awsEndpoints).map(([variable, url]) => [variable, withoutUserInfo(url)] as const);
  return {
    version: packageVersion(),
    region: config.awsRegion,
    ...(endpoints.length > 0 ? { endpoints: Object.fromEntries(endpoints) } : {}),
  };
}

/** A proxy URL may carry user:password; logs never carry credentials. */
function withoutUserInfo(url: string): string {
  const parsed = new URL(url);
  if (parsed.username === "" && parsed.password === "") return url;
  parsed.username = "";
  parsed.password = "";
  return parsed.toString();
}
