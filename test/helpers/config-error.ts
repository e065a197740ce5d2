import { loadConfig } from "../../src/config.js";
import { ConfigError } from "../../src/errors.js";

/** The ConfigError loadConfig throws for this environment; fails the test if it throws none. */
export function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`);
}
