import { createHash, createHmac } from "node:crypto";
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type AwsClients, createAwsClients, destroyAwsClients } from "../../src/aws/clients.js";
import { KeyCachingSha256 } from "../../src/aws/sha256.js";

async function digestOf(secret: string | Uint8Array | ArrayBuffer | undefined, ...data: string[]): Promise<string> {
  const hash = new KeyCachingSha256(secret);
  for (const item of data) hash.update(Buffer.from(item));
  return Buffer.from(await hash.digest()).toString("hex");
}

const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest("hex");

describe("KeyCachingSha256", () => {
  it("hashes as node:crypto does, a plain hash going on after a digest", async () => {
    const hash = new KeyCachingSha256();
    hash.update(Buffer.from("a"));
    const first = Buffer.from(await hash.digest()).toString("hex");
    hash.update(Buffer.from("b"));

    expect(first).toBe(createHash("sha256").update("a").digest("hex"));
    expect(Buffer.from(await hash.digest()).toString("hex")).toBe(createHash("sha256").update("ab").digest("hex"));
  });

  it("computes HMACs with string, byte-view and ArrayBuffer keys as node:crypto does, the same key again included", async () => {
    const bytes = Buffer.from("xxsigning-key-bytesxx");
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + 2, bytes.length - 4);
    const arrayBuffer = new Uint8Array(Buffer.from("array-buffer-key")).buffer;

    for (let round = 0; round < 2; round++) {
      expect(await digestOf("secret-access-key", "AKID")).toBe(hmac("secret-access-key", "AKID"));
      expect(await digestOf(view, "string to sign")).toBe(hmac(Buffer.from("signing-key-bytes"), "string to sign"));
      expect(await digestOf(arrayBuffer, "x")).toBe(hmac(Buffer.from("array-buffer-key"), "x"));
    }
  });

  it("uses each key for its own HMAC when more secrets pass than it keeps", async () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 100; i++) expect(await digestOf(`secret-${i}`, "data")).toBe(hmac(`secret-${i}`, "data"));
    }
  });

  it("hashes a string as its UTF-8 bytes, as the SDK's hash does", async () => {
    const hash = new KeyCachingSha256("k");
    hash.update("grüße");
    expect(Buffer.from(await hash.digest()).toString("hex")).toBe(hmac("k", "grüße"));
  });

  it("refuses an update after an HMAC's digest, as the SDK's does, and starts over on reset", async () => {
    const hash = new KeyCachingSha256("k");
    hash.update(Buffer.from("a"));
    await hash.digest();

    expect(() => hash.update(Buffer.from("b"))).toThrow(/already finished/);
    hash.reset();
    hash.update(Buffer.from("b"));
    expect(Buffer.from(await hash.digest()).toString("hex")).toBe(hmac("k", "b"));
  });
});

describe("signing with KeyCachingSha256", () => {
  let clients: AwsClients | undefined;
  afterEach(() => {
    if (clients) destroyAwsClients(clients);
    clients = undefined;
    vi.unstubAllEnvs();
  });

  it("signs as SigV4 says, the signing key derived with its own HMACs (worked out here with node:crypto)", async () => {
    // Prepare: a date no other test signs for, so the SDK's module-level signing-key cache is cold
    // and the key is derived through KeyCachingSha256, not taken from a key the SDK's hash derived.
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "standard", endpointOverridden: false, region: "us-east-1" });
    const signer = await clients.serviceDiscovery.config.signer({ name: "sigv4", signingName: "service", signingRegion: "us-east-1" } as never);
    const sha = (text: string) => createHash("sha256").update(text).digest("hex");
    const mac = (key: string | Buffer, text: string) => createHmac("sha256", key).update(text).digest();
    const empty = sha("");
    const canonical = ["GET", "/", "", "host:example.amazonaws.com", `x-amz-content-sha256:${empty}`, "x-amz-date:20150830T123600Z", "", "host;x-amz-content-sha256;x-amz-date", empty].join("\n");
    const toSign = ["AWS4-HMAC-SHA256", "20150830T123600Z", "20150830/us-east-1/service/aws4_request", sha(canonical)].join("\n");
    let key = mac("AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830");
    for (const part of ["us-east-1", "service", "aws4_request"]) key = mac(key, part);

    // Act
    const signed = await signer.sign({ method: "GET", protocol: "https:", hostname: "example.amazonaws.com", path: "/", query: {}, headers: { host: "example.amazonaws.com" } } as never, {
      signingDate: new Date("2015-08-30T12:36:00Z"),
    });

    // Assess
    expect((signed as { headers: Record<string, string> }).headers.authorization).toBe(
      `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${mac(key, toSign).toString("hex")}`,
    );
  });

  it("gives the same SigV4 signature as the SDK's own SHA-256, request after request", async () => {
    // Prepare
    const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sessionToken: "token" };
    vi.stubEnv("AWS_ACCESS_KEY_ID", credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey);
    vi.stubEnv("AWS_SESSION_TOKEN", credentials.sessionToken);
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "standard", endpointOverridden: false, region: "eu-west-1" });
    const reference = new ServiceDiscoveryClient({ region: "eu-west-1", credentials });
    const authScheme = { name: "sigv4", signingName: "servicediscovery", signingRegion: "eu-west-1" } as never;
    for (const client of Object.values(clients)) expect(client.config.sha256).toBe(KeyCachingSha256);
    const ours = await clients.serviceDiscovery.config.signer(authScheme);
    const theirs = await reference.config.signer(authScheme);
    const request = (body: string) => ({
      method: "POST",
      protocol: "https:",
      hostname: "servicediscovery.eu-west-1.amazonaws.com",
      path: "/",
      query: {},
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "Route53AutoNaming_v20170314.DiscoverInstancesRevision", host: "servicediscovery.eu-west-1.amazonaws.com" },
      body,
    });

    try {
      for (const [i, body] of ['{"NamespaceName":"a","ServiceName":"b"}', '{"NamespaceName":"c","ServiceName":"d"}'].entries()) {
        // Act
        const signingDate = new Date(Date.UTC(2026, 11, 6, 12, 0, i));
        const [mine, reference_] = await Promise.all([ours.sign(request(body) as never, { signingDate }), theirs.sign(request(body) as never, { signingDate })]);

        // Assess
        const header = (signed: unknown) => (signed as { headers: Record<string, string> }).headers.authorization;
        expect(header(mine)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261206\/eu-west-1\/servicediscovery\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/);
        expect(header(mine)).toBe(header(reference_));
      }
    } finally {
      reference.destroy();
    }
  });
});
