import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { ConfigError } from "../src/errors.js";
import { MissingRegionError, resolveRegion, startupFacts } from "../src/startup.js";
import { packageVersion } from "../src/version.js";

const noSdkRegion = () => Promise.reject(new Error("Region is missing"));

describe("resolveRegion", () => {
  it("takes AWS_REGION without asking the SDK", async () => {
    // Prepare
    let asked = false;
    const sdkRegion = async () => {
      asked = true;
      return "us-east-1";
    };

    // Act
    const region = await resolveRegion({ AWS_REGION: "eu-west-1" }, sdkRegion);

    // Assess
    expect(region).toBe("eu-west-1");
    expect(asked).toBe(false);
  });

  it("takes AWS_DEFAULT_REGION when AWS_REGION is unset (the JS SDK alone would not)", async () => {
    expect(await resolveRegion({ AWS_DEFAULT_REGION: "eu-west-3" }, noSdkRegion)).toBe("eu-west-3");
  });

  it("takes the SDK's own answer otherwise (a profile's region in ~/.aws/config)", async () => {
    expect(await resolveRegion({ AWS_PROFILE: "prod" }, async () => "ap-southeast-2")).toBe("ap-southeast-2");
  });

  it("fails with one line naming AWS_REGION when no region can be found", async () => {
    // Act
    const error = await resolveRegion({}, noSdkRegion).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(MissingRegionError);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ variable: "AWS_REGION" });
    expect((error as Error).message).toBe("AWS_REGION is not set: set it to the region of your Cloud Map namespaces (e.g. eu-west-1)");
  });

  it("fails the same way when the SDK answers an empty region", async () => {
    await expect(resolveRegion({ AWS_REGION: "" }, async () => "")).rejects.toBeInstanceOf(MissingRegionError);
  });

  it("adds what the SDK said when it is more than 'missing' (a malformed region in the profile)", async () => {
    // Act
    const error = (await resolveRegion({}, () => Promise.reject(new Error('Region not accepted: region="eu west" is not a valid hostname component.'))).catch(
      (caught: unknown) => caught,
    )) as Error;

    // Assess
    expect(error).toBeInstanceOf(MissingRegionError);
    expect(error.message).toMatch(/^AWS_REGION is not set: .*; the AWS SDK's own lookup said: Region not accepted/);
    expect(error.message).not.toContain("\n");
  });

  it("rejects a malformed AWS_DEFAULT_REGION naming that variable", async () => {
    await expect(resolveRegion({ AWS_DEFAULT_REGION: "Ireland" }, noSdkRegion)).rejects.toMatchObject({ variable: "AWS_DEFAULT_REGION", value: "Ireland" });
  });
});

describe("startupFacts", () => {
  it("reports the version, the region and the custom endpoints in effect", () => {
    // Prepare
    const config = loadConfig({
      AWS_REGION: "eu-west-1",
      AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: "https://servicediscovery.vpce.example",
    });

    // Act
    const facts = startupFacts(config);

    // Assess
    expect(facts).toStrictEqual({
      version: packageVersion(),
      region: "eu-west-1",
      endpoints: { AWS_ENDPOINT_URL: "http://127.0.0.1:4566", AWS_ENDPOINT_URL_SERVICEDISCOVERY: "https://servicediscovery.vpce.example" },
    });
  });

  it("reports the resolved region, and no endpoints field when AWS's own endpoints are used", () => {
    const config = { ...loadConfig({}), awsRegion: "ap-southeast-2" };

    expect(startupFacts(config)).toStrictEqual({ version: packageVersion(), region: "ap-southeast-2" });
  });

  it("never logs a proxy's credentials", () => {
    const facts = startupFacts(loadConfig({ AWS_ENDPOINT_URL_ECS: "http://user:s3cret@proxy.internal:8080/" }));

    expect(facts.endpoints).toEqual({ AWS_ENDPOINT_URL_ECS: "http://proxy.internal:8080/" });
    expect(JSON.stringify(facts)).not.toContain("s3cret");
  });
});
