import { SSMClient } from "@aws-sdk/client-ssm";

/**
 * The region the SDK's default chain finds without AWS_REGION: the profile's `region` in the
 * shared config file (AWS_PROFILE, AWS_CONFIG_FILE). Rejects ("Region is missing") when there is
 * none. A throwaway client, because that chain is only reachable through a client's config.
 */
export async function sdkDefaultRegion(): Promise<string> {
  const probe = new SSMClient({});
  try {
    return await probe.config.region();
  } finally {
    probe.destroy();
  }
}
