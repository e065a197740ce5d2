import { EventEmitter, once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { formatListenAddress, listen } from "../../src/http/listen.js";

/** A server whose listen() fails with `code`, for errors a test cannot provoke (EACCES as root). */
function failingServer(code: string): Server {
  const fake = new EventEmitter() as EventEmitter & { listen: () => void };
  fake.listen = () => {
    setImmediate(() => fake.emit("error", Object.assign(new Error(`listen ${code}`), { code })));
  };
  return fake as unknown as Server;
}

describe("listen", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });
  const newServer = () => {
    const server = createServer();
    servers.push(server);
    return server;
  };

  it("resolves once the server listens", async () => {
    // Prepare
    const server = newServer();

    // Act
    await listen(server, { host: "127.0.0.1", port: 0 });

    // Assess
    expect(server.listening).toBe(true);
    expect((server.address() as AddressInfo).port).toBeGreaterThan(0);
  });

  it("rejects with ConfigError naming LISTEN_ADDRESS and its value when the port is in use", async () => {
    // Prepare
    const occupant = newServer();
    occupant.listen(0, "127.0.0.1");
    await once(occupant, "listening");
    const { port } = occupant.address() as AddressInfo;

    // Act
    const error = await listen(newServer(), { host: "127.0.0.1", port }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ variable: "LISTEN_ADDRESS", value: `127.0.0.1:${port}` });
    expect((error as Error).message).toMatch(/^LISTEN_ADDRESS="127\.0\.0\.1:\d+" is invalid: cannot listen there: the port is already in use/);
  });

  it("rejects with ConfigError when the host has no such address", async () => {
    // 192.0.2.1 (TEST-NET-1) is never an address of this host.
    await expect(listen(newServer(), { host: "192.0.2.1", port: 0 })).rejects.toMatchObject({
      name: "ConfigError",
      variable: "LISTEN_ADDRESS",
      value: "192.0.2.1:0",
      allowed: expect.stringContaining("no such address"),
    });
  });

  it("rejects with ConfigError on a port it may not bind (EACCES)", async () => {
    await expect(listen(failingServer("EACCES"), { host: "0.0.0.0", port: 80 })).rejects.toMatchObject({
      variable: "LISTEN_ADDRESS",
      value: "0.0.0.0:80",
      allowed: expect.stringContaining("ports below 1024"),
    });
  });

  it("rethrows any other error as it is", async () => {
    await expect(listen(failingServer("EMFILE"), { host: "0.0.0.0", port: 9001 })).rejects.toMatchObject({ code: "EMFILE" });
  });

  it("keeps no listener behind once settled", async () => {
    // Prepare: node:http registers listeners of its own.
    const server = newServer();
    const before = { error: server.listenerCount("error"), listening: server.listenerCount("listening") };

    // Act
    await listen(server, { host: "127.0.0.1", port: 0 });

    // Assess
    expect({ error: server.listenerCount("error"), listening: server.listenerCount("listening") }).toEqual(before);
  });
});

describe("formatListenAddress", () => {
  it.each<[string, number, string]>([
    ["0.0.0.0", 9001, "0.0.0.0:9001"],
    ["::", 9001, "[::]:9001"],
    ["localhost", 80, "localhost:80"],
  ])("writes %s port %d as %j", (host, port, text) => {
    expect(formatListenAddress({ host, port })).toBe(text);
  });
});
