import { AwsServiceError } from "./errors.js";

/**
 * Reads fields of a JSON request body. A missing or mistyped field is answered with the service's
 * own validation error (`InvalidInput` for Cloud Map, `ValidationException` for SSM,
 * `InvalidParameterException` for ECS), which is what a real endpoint does before any lookup.
 */
export class InputReader {
  constructor(
    private readonly body: Record<string, unknown>,
    private readonly errorCode: string,
  ) {}

  /** The service's validation error, for checks a handler makes itself (`throw input.invalid(…)`). */
  invalid(message: string): AwsServiceError {
    return new AwsServiceError(this.errorCode, message);
  }

  private fail(message: string): never {
    throw this.invalid(message);
  }

  string(key: string): string {
    const value = this.optionalString(key);
    if (value === undefined || value === "") this.fail(`${key} is required`);
    return value;
  }

  optionalString(key: string): string | undefined {
    const value = this.body[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") this.fail(`${key} must be a string`);
    return value;
  }

  optionalInt(key: string, min: number, max: number): number | undefined {
    const value = this.body[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.fail(`${key} must be an integer between ${min} and ${max}`);
    }
    return value;
  }

  optionalBoolean(key: string): boolean | undefined {
    const value = this.body[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") this.fail(`${key} must be a boolean`);
    return value;
  }

  optionalStringArray(key: string): string[] | undefined {
    const value = this.body[key];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === "string")) {
      this.fail(`${key} must be a list of strings`);
    }
    return value;
  }

  optionalStringMap(key: string): Record<string, string> | undefined {
    const value = this.body[key];
    if (value === undefined || value === null) return undefined;
    if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === "string")) {
      this.fail(`${key} must be a map of strings`);
    }
    return value as Record<string, string>;
  }

  optionalObjectArray(key: string): Record<string, unknown>[] | undefined {
    const value = this.body[key];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || !value.every(isPlainObject)) this.fail(`${key} must be a list of objects`);
    return value;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
