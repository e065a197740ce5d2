// The settings of cross-account discovery and of the service-attribute channel (docs/accounts.md).
import { describe, expect, it } from "vitest";
import { helpText, loadConfig } from "../src/config.js";
import { configError } from "./helpers/config-error.js";

describe("account settings", () => {
  it("default to reading service attributes when tags name no endpoint, and assuming no role", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ SERVICE_ATTRIBUTES: "auto", ECS_ASSUME_ROLE: undefined, ECS_ASSUME_ROLE_EXTERNAL_ID: undefined });
  });

  it("read a role name or an ARN template, and an external id", () => {
    expect(loadConfig({ ECS_ASSUME_ROLE: "cloudmap-sd-ecs-reader", ECS_ASSUME_ROLE_EXTERNAL_ID: "monitoring-1" })).toMatchObject({
      ECS_ASSUME_ROLE: "cloudmap-sd-ecs-reader",
      ECS_ASSUME_ROLE_EXTERNAL_ID: "monitoring-1",
    });
    expect(loadConfig({ ECS_ASSUME_ROLE: "arn:aws:iam::${ACCOUNT_ID}:role/reader" }).ECS_ASSUME_ROLE).toBe("arn:aws:iam::${ACCOUNT_ID}:role/reader");
  });

  it.each<[Record<string, string>, string, RegExp]>([
    [{ SERVICE_ATTRIBUTES: "yes" }, "SERVICE_ATTRIBUTES", /auto.*on.*off/],
    [{ ECS_ASSUME_ROLE: "arn:aws:iam::123456789012:role/reader" }, "ECS_ASSUME_ROLE", /\$\{ACCOUNT_ID\}/],
    [{ ECS_ASSUME_ROLE: "has space" }, "ECS_ASSUME_ROLE", /role name/],
    [{ ECS_ASSUME_ROLE_EXTERNAL_ID: "x" }, "ECS_ASSUME_ROLE_EXTERNAL_ID", /2 to 1224 characters/],
  ])("reject %j naming %s", (env, variable, message) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(message);
  });

  it("never echo a rejected external id (a secret shared with the workload accounts), only its length", () => {
    const error = configError({ ECS_ASSUME_ROLE_EXTERNAL_ID: "s".repeat(1300) });
    expect(error.value).toBe("(redacted, 1300 characters)");
    expect(error.message).not.toContain("sss");
    expect(error.message).toMatch(/ECS_ASSUME_ROLE_EXTERNAL_ID=.*redacted, 1300 characters.*2 to 1224 characters/);
  });

  it("are listed in --help", () => {
    for (const name of ["SERVICE_ATTRIBUTES", "ECS_ASSUME_ROLE", "ECS_ASSUME_ROLE_EXTERNAL_ID"]) expect(helpText()).toContain(name);
  });
});
