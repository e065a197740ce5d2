import { NamespaceNotFound } from "@aws-sdk/client-servicediscovery";
import { describe, expect, it, vi } from "vitest";
import { allPages, awsCall, CallCounter, type CallRecorder } from "../../src/aws/call.js";
import { AwsCallError, errorCode } from "../../src/errors.js";

interface Page {
  items?: string[];
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

  it("treats a page without items as empty and still follows its token", async () => {
    const source = pages({ next: "1" }, { items: ["a"] });

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

describe("awsCall", () => {
  it("returns the result and records a success", async () => {
    const calls = recorder();

    const result = await awsCall(calls, "ListServices", { namespace: "prod.local" }, async () => 42);

    expect(result).toBe(42);
    expect(calls.calls).toEqual([["ListServices", "success"]]);
  });

  it("records the SDK error name and wraps the error with the operation and scope", async () => {
    // Prepare
    const calls = recorder();
    const cause = new NamespaceNotFound({ message: "Namespace not found", $metadata: {} });

    // Act
    const error = await awsCall(calls, "DiscoverInstances", { namespace: "prod.local", service: "web" }, () =>
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

  it("records UnknownError for a thrown non-Error", async () => {
    const calls = recorder();

    await expect(awsCall(calls, "GetParameter", { parameter: "p" }, () => Promise.reject("boom"))).rejects.toThrow(
      "GetParameter failed (parameter=p): boom",
    );
    expect(calls.calls).toEqual([["GetParameter", "UnknownError"]]);
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
