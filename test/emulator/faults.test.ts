import { ListNamespacesCommand, ServiceDiscoveryServiceException } from "@aws-sdk/client-servicediscovery";
import { GetParameterCommand, InternalServerError, ThrottlingException } from "@aws-sdk/client-ssm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Faults } from "../../dev/emulator/control/faults.js";
import { type Emulator, startEmulator } from "../../dev/emulator/index.js";
import { cloudMapClient, rejection, smallTopology, ssmClient } from "./support.js";

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ topology: { ...smallTopology(), parameters: { p: "v" } }, seed: 42 });
});

afterEach(() => {
  emu.faults.clear();
  emu.calls.reset();
});

afterAll(async () => {
  await emu.close();
});

const getParameter = (client = ssmClient(emu)) => client.send(new GetParameterCommand({ Name: "p" }));

/** true = the call succeeded, false = it failed with the injected error. */
async function outcomes(n: number, call: () => Promise<unknown>): Promise<boolean[]> {
  const results: boolean[] = [];
  for (let i = 0; i < n; i++) results.push(await call().then(() => true, () => false));
  return results;
}

describe("fault injection", () => {
  it("fails exactly errorCount calls with ThrottlingException, then answers normally", async () => {
    // Prepare
    emu.faults.set("GetParameter", { errorCount: 2 });
    // Act
    const first = await rejection(getParameter());
    const rest = await outcomes(3, () => getParameter());
    // Assess
    expect(first).toBeInstanceOf(ThrottlingException);
    expect((first as ThrottlingException).$metadata.httpStatusCode).toBe(400);
    expect(rest).toEqual([false, true, true]);
    expect(emu.calls.get("GetParameter")).toBe(4);
  });

  it("is absorbed by the SDK's own retries when errorCount < maxAttempts", async () => {
    emu.faults.set("GetParameter", { errorCount: 2 });
    const { Parameter } = await getParameter(ssmClient(emu, 3));
    expect(Parameter?.Value).toBe("v");
    expect(emu.calls.get("GetParameter")).toBe(3);
  });

  it("maps server faults to 500/503 errors the SDK classifies as server faults", async () => {
    emu.faults.set("GetParameter", { errorCount: 1, error: "InternalServerError" });
    emu.faults.set("ListNamespaces", { errorCount: 1, error: "ServiceUnavailable" });
    const ssmError = await rejection(getParameter());
    const cmError = await rejection(cloudMapClient(emu).send(new ListNamespacesCommand({})));
    expect(ssmError).toBeInstanceOf(InternalServerError);
    expect((ssmError as InternalServerError).$metadata.httpStatusCode).toBe(500);
    // Cloud Map has no modelled ServiceUnavailable class: the SDK gives its base exception, named by the code.
    expect(cmError).toBeInstanceOf(ServiceDiscoveryServiceException);
    expect(cmError.name).toBe("ServiceUnavailable");
    expect((cmError as ServiceDiscoveryServiceException).$metadata.httpStatusCode).toBe(503);
    expect((cmError as ServiceDiscoveryServiceException).$fault).toBe("server");
  });

  it("applies setAll to every operation unless a per-operation fault replaces it", async () => {
    emu.faults.setAll({ errorCount: 1, error: "ThrottlingException" });
    emu.faults.set("ListNamespaces", { errorCount: 0 });
    expect(await outcomes(2, () => cloudMapClient(emu).send(new ListNamespacesCommand({})))).toEqual([true, true]);
    expect(await outcomes(2, () => getParameter())).toEqual([false, true]);
  });

  it("delays answers by at least latencyMs", async () => {
    emu.faults.set("GetParameter", { latencyMs: 60 });
    const started = performance.now();
    await getParameter();
    expect(performance.now() - started).toBeGreaterThanOrEqual(59);
  });

  it("repeats the same errorRate failure sequence for the same seed", async () => {
    const rate = { errorRate: 0.5 } as const;
    emu.faults.reseed(7);
    emu.faults.set("GetParameter", rate);
    const first = await outcomes(16, () => getParameter());
    emu.faults.reseed(7);
    emu.faults.set("GetParameter", rate);
    const second = await outcomes(16, () => getParameter());
    expect(second).toEqual(first);
    expect(first).toContain(true);
    expect(first).toContain(false);
  });

  it("clears faults", async () => {
    emu.faults.set("GetParameter", { errorRate: 1 });
    emu.faults.clear("GetParameter");
    expect(await outcomes(2, () => getParameter())).toEqual([true, true]);
  });
});

describe("Faults (unit)", () => {
  it("never fails at errorRate 0 and always at errorRate 1", () => {
    const faults = new Faults(1);
    faults.set("Op", { errorRate: 0 });
    expect(Array.from({ length: 50 }, () => faults.decide("Op").error)).toEqual(Array(50).fill(undefined));
    faults.set("Op", { errorRate: 1, error: "RequestLimitExceeded" });
    expect(faults.decide("Op").error?.code).toBe("RequestLimitExceeded");
  });

  it("rejects an impossible fault", () => {
    const faults = new Faults();
    expect(() => faults.set("Op", { errorRate: 2 })).toThrow(RangeError);
    expect(() => faults.set("Op", { errorCount: -1 })).toThrow(RangeError);
  });
});

describe("call counters", () => {
  it("counts per operation, totals, snapshots sorted by name and resets", async () => {
    const cm = cloudMapClient(emu);
    await cm.send(new ListNamespacesCommand({}));
    await cm.send(new ListNamespacesCommand({}));
    await getParameter();
    expect(emu.calls.get("ListNamespaces")).toBe(2);
    expect(emu.calls.get("ListServices")).toBe(0);
    expect(emu.calls.total()).toBe(3);
    expect(Object.keys(emu.calls.snapshot())).toEqual(["GetParameter", "ListNamespaces"]);
    emu.calls.reset();
    expect(emu.calls.total()).toBe(0);
  });
});

describe("protocol edges", () => {
  const post = (headers: Record<string, string>, body = "{}") =>
    fetch(emu.url, { method: "POST", headers: { "content-type": "application/x-amz-json-1.1", ...headers }, body });
  const signed = { authorization: "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/ssm/aws4_request" };

  it("refuses a request without an Authorization header", async () => {
    const response = await post({ "x-amz-target": "AmazonSSM.GetParameter" }, '{"Name":"p"}');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: "MissingAuthenticationTokenException" });
  });

  it("answers an unknown operation or service prefix with UnknownOperationException", async () => {
    for (const target of ["AmazonSSM.DeleteEverything", "AmazonS3.GetObject", "nodot"]) {
      const response = await post({ ...signed, "x-amz-target": target });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ __type: "UnknownOperationException" });
    }
  });

  it("answers a body that is not JSON with SerializationException", async () => {
    const response = await post({ ...signed, "x-amz-target": "AmazonSSM.GetParameter" }, "{nope");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: "SerializationException" });
  });

  it("answers a mistyped field with the service's validation error", async () => {
    const response = await post({ ...signed, "x-amz-target": "AmazonEC2ContainerServiceV20141113.DescribeTasks" }, '{"tasks":"x"}');
    expect(await response.json()).toMatchObject({ __type: "InvalidParameterException", message: expect.any(String) });
  });
});
