import type { Server } from "node:http";
import { ConfigError } from "../errors.js";

/** Why the sidecar cannot listen where LISTEN_ADDRESS says: each is the user's to fix, not ours to retry. */
const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: "the port is already in use (another process, or another container of the task on the same port)",
  EACCES: "permission denied (ports below 1024 need root; the image runs as a non-root user)",
  EADDRNOTAVAIL: "this host has no such address (use 0.0.0.0 for all interfaces, or one of the host's own addresses)",
  ENOTFOUND: "the host name does not resolve",
  EAI_AGAIN: "the host name does not resolve",
};

/**
 * server.listen() as a promise. An address the process cannot listen on rejects with ConfigError
 * naming LISTEN_ADDRESS, so main() exits 2 with one line instead of a stack trace; any other error
 * is rethrown as it is.
 */
export function listen(server: Server, address: { readonly host: string; readonly port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      const reason = error.code === undefined ? undefined : REASONS[error.code];
      reject(reason ? new ConfigError("LISTEN_ADDRESS", formatListenAddress(address), `cannot listen there: ${reason}`) : error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(address.port, address.host);
  });
}

/** Back to the host:port form LISTEN_ADDRESS is written in (IPv6 in brackets). */
export function formatListenAddress(address: { readonly host: string; readonly port: number }): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
