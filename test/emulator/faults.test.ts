import { ListNamespacesCommand, ServiceDiscoveryServiceException } from "@aws-sdk/client-servicediscovery";
import { AccessDeniedException, GetParameterCommand, InternalServerError, ThrottlingException } from "@aws-sdk/client-ssm";
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
/** A call bounded the way the sidecar bounds its calls, so a hung answer ends the test quickly. */
const boundedGetParameter = (timeoutMs = 300) =>
  ssmClient(emu).send(new GetParameterCommand({ Name: "p" }), { abortSignal: AbortSignal.timeout(timeoutMs) });
const listNamespaces = () => cloudMapClient(emu).send(new ListNamespacesCommand({}));

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

  it("answers a delayed call with the state at its arrival, not at the end of its latency", async () => {
    // Prepare: the answer is worked out when the request arrives (its latency includes processing).
    emu.state.putParameter("p", "before");
    emu.faults.set("GetParameter", { latencyMs: 150 });
    // Act: change the parameter while the call waits out its latency.
    const answer = getParameter();
    await waitUntil(() => emu.calls.get("GetParameter") === 1);
    emu.state.putParameter("p", "after");
    try {
      const { Parameter } = await answer;
      // Assess
      expect(Parameter?.Value).toBe("before");
      emu.faults.clear("GetParameter");
      expect((await getParameter()).Parameter?.Value).toBe("after");
    } finally {
      emu.state.putParameter("p", "v"); // the other tests read "v"
    }
  });

  it("holds many delayed calls at once without a listener warning", async () => {
    // Prepare: every call waiting out its latency listens for the emulator's close.
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    emu.faults.set("GetParameter", { latencyMs: 50 });
    try {
      // Act
      const client = ssmClient(emu);
      const answers = await Promise.all(Array.from({ length: 20 }, () => getParameter(client)));
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      // Assess
      expect(answers.map((answer) => answer.Parameter?.Value)).toEqual(Array(20).fill("v"));
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
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


describe("fault kinds (what the SDK client sees)", () => {
  it("hang: the call never answers; the client's own bound ends it", async () => {
    // Prepare
    emu.faults.set("GetParameter", { errorCount: 1, kind: "hang" });
    // Act
    const error = await rejection(boundedGetParameter(300));
    // Assess
    expect(error.name).toBe("AbortError");
    expect((await getParameter()).Parameter?.Value).toBe("v");
    expect(emu.faults.injectedCounts()).toMatchObject({ hang: 1 });
  });

  it("hang: close() ends a held call instead of waiting for it", async () => {
    // Prepare
    const own = await startEmulator({ topology: { parameters: { p: "v" } } });
    own.faults.setAll({ errorRate: 1, kind: "hang" });
    const pending = rejection(ssmClient(own).send(new GetParameterCommand({ Name: "p" })));
    await waitUntil(() => own.calls.get("GetParameter") === 1);
    // Act
    await own.close();
    // Assess
    expect((await pending as NodeJS.ErrnoException).code).toBe("ECONNRESET");
  });

  it("a delayed or held call the client gives up on ends there: nothing waits on for it", async () => {
    // Prepare: two calls the client abandons, one delayed for a minute and one held.
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const before = timers();
    emu.faults.set("GetParameter", { latencyMs: 60_000 });
    emu.faults.set("ListNamespaces", { errorCount: 1, kind: "hang" });
    // Act
    const delayed = await rejection(boundedGetParameter(200));
    const held = await rejection(cloudMapClient(emu).send(new ListNamespacesCommand({}), { abortSignal: AbortSignal.timeout(200) }));
    // Assess: the emulator's wait for each is gone with the client's connection.
    expect([delayed.name, held.name]).toEqual(["AbortError", "AbortError"]);
    await waitUntil(() => timers() <= before);
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it("reset: the connection is reset without an answer (ECONNRESET)", async () => {
    emu.faults.set("ListNamespaces", { errorCount: 1, kind: "reset" });
    const error = await rejection(listNamespaces());
    expect((error as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    expect((await listNamespaces()).Namespaces).toBeDefined();
  });

  it("empty: a 200 with an empty body, which the SDK turns into an output with every field absent", async () => {
    emu.faults.set("ListNamespaces", { errorCount: 1, kind: "empty" });
    emu.faults.set("GetParameter", { errorCount: 1, kind: "empty" });
    const namespaces = await listNamespaces();
    const parameter = await getParameter();
    expect(namespaces.$metadata.httpStatusCode).toBe(200);
    expect(namespaces.Namespaces).toBeUndefined();
    expect(parameter.Parameter).toBeUndefined();
  });

  it("truncated: a 200 with the real body cut short, which the SDK cannot deserialize", async () => {
    emu.faults.set("ListNamespaces", { errorCount: 3, kind: "truncated" });
    const errors = [await rejection(listNamespaces()), await rejection(listNamespaces()), await rejection(listNamespaces())];
    for (const error of errors) {
      expect(error.name).toBe("SyntaxError");
      expect((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(200);
    }
    expect((await listNamespaces()).Namespaces?.length).toBeGreaterThan(0);
  });

  it("latency spike: a seeded share of calls is delayed beyond the client's bound", async () => {
    emu.faults.set("GetParameter", { spikeRate: 1, spikeMs: 5_000 });
    const error = await rejection(boundedGetParameter(200));
    emu.faults.set("GetParameter", { spikeRate: 0, spikeMs: 5_000 });
    const answered = await boundedGetParameter(2_000);
    expect(error.name).toBe("AbortError");
    expect(answered.Parameter?.Value).toBe("v");
    expect(emu.faults.injectedCounts()).toMatchObject({ spike: 1 });
  });

  it("ExpiredTokenException (400) and AccessDeniedException (403) reach the SDK under their own names", async () => {
    emu.faults.set("GetParameter", { errorCount: 1, error: "ExpiredTokenException" });
    emu.faults.set("ListNamespaces", { errorCount: 1, error: "AccessDeniedException", status: 403 });
    const expired = await rejection(getParameter(ssmClient(emu, 3)));
    const denied = await rejection(listNamespaces());
    emu.faults.set("GetParameter", { errorCount: 1, error: "AccessDeniedException", status: 403 });
    const ssmDenied = await rejection(getParameter());
    expect(expired.name).toBe("ExpiredTokenException");
    expect(expired).toMatchObject({ $fault: "client", $metadata: { httpStatusCode: 400, attempts: 1 } });
    expect(denied.name).toBe("AccessDeniedException");
    expect(denied).toMatchObject({ $metadata: { httpStatusCode: 403 } });
    expect(ssmDenied).toBeInstanceOf(AccessDeniedException);
  });

  it("counts injected faults by kind, errors by their code", async () => {
    emu.faults.resetInjectedCounts();
    emu.faults.set("GetParameter", { errorCount: 2, error: "InternalFailure" });
    emu.faults.set("ListNamespaces", { errorCount: 1, kind: "empty" });
    await outcomes(3, () => getParameter());
    await listNamespaces();
    expect(emu.faults.injectedCounts()).toEqual({ InternalFailure: 2, empty: 1 });
  });
});

describe("control API over HTTP", () => {
  const control = (method: string, path: string, body?: unknown) =>
    fetch(`${emu.url}/_emulator/${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  it("sets a fault for one operation, reports what was injected, and clears it", async () => {
    // Prepare
    emu.faults.resetInjectedCounts();
    // Act
    const set = await control("POST", "faults", { operation: "GetParameter", spec: { errorCount: 1, kind: "reset" } });
    const failed = await rejection(getParameter());
    const report = await (await control("GET", "faults")).json();
    await control("POST", "faults", { spec: { errorRate: 1, error: "ExpiredTokenException" } });
    const cleared = await control("DELETE", "faults");
    // Assess
    expect(set.status).toBe(200);
    expect((failed as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    expect(report).toMatchObject({ injected: { reset: 1 }, calls: { GetParameter: 1 } });
    expect(cleared.status).toBe(200);
    expect((await getParameter()).Parameter?.Value).toBe("v");
  });

  it("refuses a malformed fault with 400 and names the problem", async () => {
    const response = await control("POST", "faults", { spec: { errorRate: 2, kind: "explode" } });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: string };
    expect(error).toContain("errorRate");
    expect(error).toContain("kind");
    expect((await control("POST", "faults", "not an object")).status).toBe(400);
    expect((await control("GET", "nothing-here")).status).toBe(404);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

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
    expect(() => faults.set("Op", { spikeRate: -0.1 })).toThrow(RangeError);
    expect(() => faults.set("Op", { spikeMs: -1 })).toThrow(RangeError);
    expect(() => faults.set("Op", { kind: "explode" as "hang" })).toThrow(RangeError);
    expect(() => faults.set("Op", { status: 42 })).toThrow(RangeError);
  });

  it("draws failures, spikes and truncation points from the seed: same seed, same sequence", () => {
    const sequence = (seed: number) => {
      const faults = new Faults(seed);
      faults.set("Op", { errorRate: 0.5, kind: "truncated", spikeRate: 0.3, spikeMs: 1_000 });
      return Array.from({ length: 40 }, () => faults.decide("Op")).map((d) => [d.kind, d.latencyMs, d.keepFraction]);
    };
    const first = sequence(9);
    expect(sequence(9)).toEqual(first);
    expect(sequence(10)).not.toEqual(first);
    expect(new Set(first.map(([kind]) => kind))).toEqual(new Set(["truncated", undefined]));
    expect(new Set(first.map(([, latency]) => latency))).toEqual(new Set([0, 1_000]));
    for (const [kind, , keep] of first) if (kind === "truncated") expect(keep).toBeGreaterThanOrEqual(0);
  });

  it("keeps the failure sequence of a spec without spikes unchanged (no extra draws)", () => {
    const plain = new Faults(3);
    const withKind = new Faults(3);
    plain.set("Op", { errorRate: 0.5 });
    withKind.set("Op", { errorRate: 0.5, kind: "reset" });
    const failing = (faults: Faults) => Array.from({ length: 30 }, () => faults.decide("Op").kind !== undefined);
    expect(failing(withKind)).toEqual(failing(plain));
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
