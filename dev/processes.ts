import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

/** Helpers shared by the demo, the e2e tests and the benchmark for the processes they start. */

/** The built sidecar entry point, whether this module runs built (dist/dev/) or from source (dev/, in vitest). */
export const SIDECAR_ENTRY = fileURLToPath(
  new URL(import.meta.url.includes("/dist/dev/") ? "../src/main.js" : "../dist/src/main.js", import.meta.url),
);

export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 30_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}

export async function httpStatus(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly name: string;
  /** Everything the process wrote, for diagnostics when a test fails. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
}

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {},
): ManagedProcess {
  const child = spawn(command, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  const chunks: string[] = [];
  let partial = "";
  const collect = (data: Buffer) => {
    const text = data.toString("utf8");
    chunks.push(text);
    if (!options.onLine) return;
    partial += text;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) options.onLine(line);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  return {
    child,
    name,
    output: () => chunks.join(""),
    async stop(graceMs = 3_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}

/** Environment for a sidecar pointed at the project's emulator (fake credentials, loopback only). */
export function sidecarEnv(options: {
  emulatorUrl: string;
  configDir: string;
  listenPort: number;
  reloadSeconds?: number;
  extra?: Record<string, string>;
}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIDEMULATOR",
    AWS_SECRET_ACCESS_KEY: "emulator-secret-not-real",
    AWS_ENDPOINT_URL: options.emulatorUrl,
    AWS_EC2_METADATA_DISABLED: "true",
    CONFIG_FILE_DIR: options.configDir,
    LISTEN_ADDRESS: `127.0.0.1:${options.listenPort}`,
    CONFIG_RELOAD_FREQUENCY: String(options.reloadSeconds ?? 1),
    NODE_NO_WARNINGS: "1",
    ...options.extra,
  };
}

export function startSidecar(env: NodeJS.ProcessEnv, onLine?: (line: string) => void): ManagedProcess {
  return startProcess("cloudmap-sd", process.execPath, [SIDECAR_ENTRY], { env, ...(onLine ? { onLine } : {}) });
}

/** Prometheus 2.x and 3.x both accept these flags. */
export function startPrometheus(options: {
  configFile: string;
  dataDir: string;
  port: number;
  binary?: string;
  extraArgs?: readonly string[];
}): ManagedProcess {
  return startProcess("prometheus", options.binary ?? "prometheus", [
    `--config.file=${options.configFile}`,
    `--storage.tsdb.path=${options.dataDir}`,
    `--web.listen-address=127.0.0.1:${options.port}`,
    "--web.enable-lifecycle",
    ...(options.extraArgs ?? []),
  ]);
}
