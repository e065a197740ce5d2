import { join } from "node:path";

/**
 * The environment of a measured child: this process's, without any AWS_* setting of the user's, and
 * the emulator's endpoint with fake credentials. The SDK must see nothing of the user's AWS setup
 * (no profile, no config file, no instance metadata), only the emulator.
 */
export function benchChildEnv(endpoint: string, dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("AWS_")) env[name] = value;
  return Object.assign(env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIDBENCHMARK",
    AWS_SECRET_ACCESS_KEY: "benchmark-secret",
    AWS_CONFIG_FILE: join(dir, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-aws-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    // Node 20 is still supported by the SDK version we use; the notice would only clutter the output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  });
}
