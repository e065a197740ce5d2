// A real HTTP endpoint on 127.0.0.1 for the real SDK clients: each request is answered by the
// next responder in a list (the last one repeats), so a test scripts "hang, then answer" or "a
// 200 with an empty body" and watches what the SDK, its retries and awsCall make of it.
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { vi } from "vitest";
import { TEST_CREDENTIALS } from "./aws-fixtures.js";

export type Responder = (response: ServerResponse) => void;

export interface LoopbackRequest {
  /** The x-amz-target header: which operation the SDK sent. */
  readonly target: string;
  readonly userAgent: string | undefined;
  readonly sdkUserAgent: string | undefined;
  /** Resolves when the client side has closed or abandoned the request (its socket closed). */
  readonly closed: Promise<void>;
}

export interface LoopbackEndpoint {
  readonly url: string;
  readonly requests: LoopbackRequest[];
  /** Resolves with the request once `count` requests have arrived. */
  requestArrived(count: number): Promise<LoopbackRequest>;
  close(): Promise<void>;
}

const JSON_1_1 = { "content-type": "application/x-amz-json-1.1" };

/** A 200 (or `status`) with this JSON body. */
export const answer =
  (body: object, status = 200): Responder =>
  (response) => {
    response.writeHead(status, JSON_1_1);
    response.end(JSON.stringify(body));
  };

/** Never answers: the request hangs until the client gives up. */
export const hang: Responder = () => {};

/** A 200 with an empty body, which the SDK parses as `{}`. */
export const emptyBody: Responder = (response) => {
  response.writeHead(200, JSON_1_1);
  response.end();
};

/** A 200 whose body is correctly framed but whose JSON stops half-way. */
export const cutShort =
  (body: object): Responder =>
  (response) => {
    const json = JSON.stringify(body);
    response.writeHead(200, JSON_1_1);
    response.end(json.slice(0, Math.floor(json.length / 2)));
  };

/** Sends the headers and half the body, then goes silent (a stalled transfer). */
export const stallMidBody =
  (body: object): Responder =>
  (response) => {
    const json = JSON.stringify(body);
    response.writeHead(200, { ...JSON_1_1, "content-length": String(Buffer.byteLength(json)) });
    response.write(json.slice(0, Math.floor(json.length / 2)));
  };

/**
 * Starts a response and sends one more header line every 200 ms, never ending the headers: the
 * socket is never idle, so only a bound on the time to the response (requestTimeout) ends it.
 */
export const trickleHeaders: Responder = (response) => {
  const socket = response.socket;
  if (!socket) return;
  socket.write("HTTP/1.1 200 OK\r\n");
  const timer = setInterval(() => socket.write("x-trickle: 1\r\n"), 200);
  socket.once("close", () => clearInterval(timer));
};

export async function loopbackEndpoint(responders: Responder[]): Promise<LoopbackEndpoint> {
  const requests: LoopbackRequest[] = [];
  const waiters: Array<{ count: number; resolve: (request: LoopbackRequest) => void }> = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const entry: LoopbackRequest = {
      target: String(request.headers["x-amz-target"]),
      userAgent: request.headers["user-agent"],
      sdkUserAgent: request.headers["x-amz-user-agent"] as string | undefined,
      closed: new Promise((resolve) => request.socket.once("close", () => resolve())),
    };
    requests.push(entry);
    const respond = responders[Math.min(requests.length - 1, responders.length - 1)] ?? hang;
    request.resume().on("end", () => respond(response));
    for (const waiter of waiters.filter((w) => w.count <= requests.length)) waiter.resolve(entry);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    requestArrived: (count) =>
      new Promise((resolve) => {
        const arrived = requests[count - 1];
        if (arrived) resolve(arrived);
        else waiters.push({ count, resolve });
      }),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Points the SDK's default chain at `url` with the static test credentials, as AWS_ENDPOINT_URL
 * does in production. Undo with vi.unstubAllEnvs() in afterEach.
 */
export function useLoopbackEndpoint(url: string): void {
  vi.stubEnv("AWS_ENDPOINT_URL", url);
  vi.stubEnv("AWS_ACCESS_KEY_ID", TEST_CREDENTIALS.accessKeyId);
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", TEST_CREDENTIALS.secretAccessKey);
  vi.stubEnv("AWS_SESSION_TOKEN", undefined);
  vi.stubEnv("AWS_MAX_ATTEMPTS", "3");
}
