/**
 * A loopback proxy in front of the emulator that denies ListServices for chosen namespaces, as an
 * IAM policy scoped to some namespaces would: the emulator's faults apply to a whole operation, and
 * the e2e tests need one namespace failing while the others are read.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface DenyProxy {
  readonly url: string;
  /** From now on ListServices for this namespace id answers AccessDeniedException. */
  deny(namespaceId: string): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive"]);

export async function startDenyProxy(target: string): Promise<DenyProxy> {
  const denied = new Set<string>();
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const operation = String(request.headers["x-amz-target"] ?? "").split(".").pop();
      const namespaceId = [...denied].find((id) => body.includes(id));
      if (operation === "ListServices" && namespaceId !== undefined) {
        response.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
        response.end(
          JSON.stringify({
            __type: "AccessDeniedException",
            message: `User is not authorized to perform: servicediscovery:ListServices on namespace ${namespaceId} (denied by the test)`,
          }),
        );
        return;
      }
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !HOP_BY_HOP.has(name))) as Record<string, string>;
      const method = request.method ?? "GET";
      const upstream = await fetch(`${target}${request.url ?? "/"}`, { method, headers, ...(method === "GET" || method === "HEAD" ? {} : { body }) });
      const bytes = Buffer.from(await upstream.arrayBuffer());
      response.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/x-amz-json-1.1" });
      response.end(bytes);
    })().catch(() => response.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    deny: (namespaceId) => denied.add(namespaceId),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
