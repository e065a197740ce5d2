import { getEventListeners } from "node:events";
import { NamespaceNotFound } from "@aws-sdk/client-servicediscovery";
import { afterEach, describe, expect, it, vi } from "vitest";
import { allPages, awsCall, CallCounter, type CallRecorder, required } from "../../src/aws/call.js";
import { AwsCallError, CallTimeoutError, CycleDeadlineError, errorCode, failureKind, MalformedResponseError } from "../../src/errors.js";
import { callContext } from "../helpers/aws-fixtures.js";

interface Page {
  items: string[];
  next?: string;
}

/** A paginated endpoint over fixed pages; records the token of every request. */
function pages(...list: Page[]) {
  const tokens: Array<string | undefined> = [];
  const fetchPage = async (token: string | undefined): Promise<Page> => {
    tokens.push(token);
    const index = token === undefined ? 0 : Number(token);
    const page = list[index];
    if (!page) throw new Error(`no page ${token}`);
    return page;
  };
  return { fetchPage, tokens };
}

const read = (source: ReturnType<typeof pages>) =>
  allPages(
    source.fetchPage,
    (page) => page.items,
    (page) => page.next,
  );

function recorder(): CallRecorder & { calls: Array<[string, string]> } {
  const calls: Array<[string, string]> = [];
  return { calls, record: (operation, outcome) => calls.push([operation, outcome]) };
}

/** A send that never settles (a hung request); counts how often it was sent. */
function hangingSend() {
  const seen = { sends: 0 };
  const send = () => {
    seen.sends++;
    return new Promise<never>(() => {});
  };
  return { send, seen };
}

/** Tracks whether a promise has settled yet, without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state = { settled: false, value: undefined as unknown };
  const done = promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, value: error }),
  );
  return { state, done };
}

describe("allPages", () => {
  it("reads every page, passing each page's token to the next request", async () => {
    // Prepare
    const source = pages({ items: ["a", "b"], next: "1" }, { items: ["c"], next: "2" }, { items: ["d"] });

    // Act
    const items = await read(source);

    // Assess
    expect(items).toEqual(["a", "b", "c", "d"]);
    expect(source.tokens).toEqual([undefined, "1", "2"]);
  });

  it("stops on an empty token as on a missing one", async () => {
    const source = pages({ items: ["a"], next: "1" }, { items: ["b"], next: "" });

    expect(await read(source)).toEqual(["a", "b"]);
    expect(source.tokens).toEqual([undefined, "1"]);
  });

  it("follows the token of an empty page", async () => {
    const source = pages({ items: [], next: "1" }, { items: ["a"] });

    expect(await read(source)).toEqual(["a"]);
  });

  it("throws instead of looping forever when an endpoint repeats a token", async () => {
    const source = pages({ items: ["a"], next: "1" }, { items: ["b"], next: "1" });

    await expect(read(source)).rejects.toThrow(/pagination token repeated: 1/);
    expect(source.tokens).toEqual([undefined, "1"]);
  });

  it("propagates a failing page", async () => {
    const source = pages({ items: ["a"], next: "7" });

    await expect(read(source)).rejects.toThrow("no page 7");
  });
});

describe("required", () => {
  it.each([
    ["", ""],
    [0, 0],
    [false, false],
    [[], []],
  ])("returns a present value as it is (%j)", (value, expected) => {
    expect(required("ListServices", "Services", value)).toEqual(expected);
  });

  it.each([undefined, null])("throws MalformedResponseError naming the operation and field for %s", (value) => {
    const error = (() => {
      try {
        return required("DiscoverInstances", "InstancesRevision", value);
      } catch (e) {
        return e;
      }
    })();

    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as MalformedResponseError).message).toBe("DiscoverInstances answered without InstancesRevision");
    expect(failureKind(error)).toBe("malformed");
  });
});

describe("awsCall", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("returns the result and records a success", async () => {
    const calls = recorder();

    const result = await awsCall(callContext(calls), "ListServices", { namespace: "prod.local" }, async () => 42);

    expect(result).toBe(42);
    expect(calls.calls).toEqual([["ListServices", "success"]]);
  });

  it("records the SDK error name and wraps the error with the operation and scope", async () => {
    // Prepare
    const calls = recorder();
    const cause = new NamespaceNotFound({ message: "Namespace not found", $metadata: {} });

    // Act
    const error = await awsCall(callContext(calls), "DiscoverInstances", { namespace: "prod.local", service: "web" }, () =>
      Promise.reject(cause),
    ).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsCallError);
    const wrapped = error as AwsCallError;
    expect(wrapped.operation).toBe("DiscoverInstances");
    expect(wrapped.scope).toEqual({ namespace: "prod.local", service: "web" });
    expect(wrapped.cause).toBe(cause);
    expect(wrapped.message).toBe(
      "DiscoverInstances failed (namespace=prod.local, service=web): NamespaceNotFound: Namespace not found",
    );
    expect(errorCode(wrapped)).toBe("NamespaceNotFound");
    expect(calls.calls).toEqual([["DiscoverInstances", "NamespaceNotFound"]]);
  });

  it("records a malformed answer found inside the call as an error, not a success", async () => {
    const calls = recorder();

    const error = await awsCall(callContext(calls), "ListServices", { namespace: "prod.local" }, async () =>
      required("ListServices", "Services", undefined),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AwsCallError);
    expect(failureKind(error)).toBe("malformed");
    expect(calls.calls).toEqual([["ListServices", "MalformedResponseError"]]);
  });

  it("records UnknownError for a thrown non-Error", async () => {
    const calls = recorder();

    await expect(awsCall(callContext(calls), "GetParameter", { parameter: "p" }, () => Promise.reject("boom"))).rejects.toThrow(
      "GetParameter failed (parameter=p): boom",
    );
    expect(calls.calls).toEqual([["GetParameter", "UnknownError"]]);
  });

  it("ends a call that does not answer within timeoutMs with CallTimeoutError", async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const calls = recorder();
    const { send, seen } = hangingSend();
    const call = track(awsCall(callContext(calls, 1_000), "ListNamespaces", { namespace: "prod.local" }, send));

    // Act
    await vi.advanceTimersByTimeAsync(999);
    const settledBefore = call.state.settled;
    await vi.advanceTimersByTimeAsync(1);
    await call.done;

    // Assess
    expect(settledBefore).toBe(false);
    const error = call.state.value as AwsCallError;
    expect(error).toBeInstanceOf(AwsCallError);
    expect(error.cause).toBeInstanceOf(CallTimeoutError);
    expect(error.message).toBe(
      "ListNamespaces failed (namespace=prod.local): CallTimeoutError: ListNamespaces did not answer within 1000 ms (AWS_CALL_TIMEOUT)",
    );
    expect(failureKind(error)).toBe("timeout");
    expect(seen.sends).toBe(1);
    expect(calls.calls).toEqual([["ListNamespaces", "CallTimeoutError"]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("reports the timeout once, whatever the abandoned send does afterwards", async () => {
    // Prepare: the send gets no signal (see awsCall), so it fails on its own time, after the call ended.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const calls = recorder();
    let failLate: (error: Error) => void = () => {};
    const send = () => new Promise<never>((_, reject) => (failLate = reject));
    const unhandled = vi.fn();
    process.on("unhandledRejection", unhandled);

    // Act
    const call = track(awsCall(callContext(calls, 500), "GetParameter", { parameter: "p" }, send));
    await vi.advanceTimersByTimeAsync(500);
    await call.done;
    failLate(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
    await new Promise((resolve) => setImmediate(resolve));
    process.off("unhandledRejection", unhandled);

    // Assess
    expect((call.state.value as AwsCallError).cause).toBeInstanceOf(CallTimeoutError);
    expect(calls.calls).toEqual([["GetParameter", "CallTimeoutError"]]);
    expect(unhandled).not.toHaveBeenCalled();
  });

  it("ends the call at once when the parent signal aborts, with the parent's reason as cause", async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const calls = recorder();
    const parent = new AbortController();
    const reason = new CycleDeadlineError(60_000);
    const { send, seen } = hangingSend();
    const call = track(awsCall(callContext(calls, 10_000), "ListServices", { namespace: "prod.local" }, send, parent.signal));

    // Act: no time passes at all.
    parent.abort(reason);
    await call.done;

    // Assess
    const error = call.state.value as AwsCallError;
    expect(error).toBeInstanceOf(AwsCallError);
    expect(error.cause).toBe(reason);
    expect(seen.sends).toBe(1);
    expect(calls.calls).toEqual([["ListServices", "CycleDeadlineError"]]);
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(0);
  });

  it("fails at once on a parent signal already aborted, without sending the request", async () => {
    const parent = new AbortController();
    const reason = new Error("shutting down");
    parent.abort(reason);
    const calls = recorder();
    const { send, seen } = hangingSend();

    const error = await awsCall(callContext(calls), "ListServices", {}, send, parent.signal).catch((e: unknown) => e);

    expect((error as AwsCallError).cause).toBe(reason);
    expect(seen.sends).toBe(0);
    expect(calls.calls).toEqual([["ListServices", "Error"]]);
  });

  it.each([
    ["a success", () => Promise.resolve("ok")],
    ["a failure", () => Promise.reject(new Error("no"))],
  ])("leaves no timer and no listener on the parent signal after %s", async (_, send) => {
    // Prepare
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const parent = new AbortController();

    // Act
    await awsCall(callContext(), "ListServices", {}, send, parent.signal).catch(() => undefined);

    // Assess
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(0);
  });
});

describe("CallCounter", () => {
  it("forwards every call and counts the calls since the last take", () => {
    // Prepare
    const next = { record: vi.fn() };
    const counter = new CallCounter(next);

    // Act
    counter.record("ListNamespaces", "success");
    counter.record("ListServices", "ThrottlingException");
    const first = counter.take();
    counter.record("DiscoverInstancesRevision", "success");
    const second = counter.take();
    const third = counter.take();

    // Assess
    expect([first, second, third]).toEqual([2, 1, 0]);
    expect(next.record.mock.calls).toEqual([
      ["ListNamespaces", "success"],
      ["ListServices", "ThrottlingException"],
      ["DiscoverInstancesRevision", "success"],
    ]);
  });
});
