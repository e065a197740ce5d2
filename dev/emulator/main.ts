#!/usr/bin/env node
// CLI: serve a topology on one port for Cloud Map, SSM and ECS clients (AWS_ENDPOINT_URL=<printed url>).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { syntheticTopology } from "./model/synthetic.js";
import { TopologyError } from "./protocol/errors.js";
import { startEmulator } from "./server.js";

const USAGE = `usage: emulator [--topology FILE | --synthetic NSxSVCxINST] [--port N] [--host H]
                [--page-size N] [--latency-ms N] [--seed N]
Prints the endpoint URL as the first line on stdout; stops on SIGINT/SIGTERM.`;

function intOption(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
  return n;
}

class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The sample next to the source, found from both dev/emulator/ and dist/dev/emulator/. */
function defaultTopologyPath(): string | undefined {
  return ["./sample-topology.yaml", "../../../dev/emulator/sample-topology.yaml"]
    .map((p) => fileURLToPath(new URL(p, import.meta.url)))
    .find((p) => existsSync(p));
}

function syntheticOption(value: string) {
  const parts = value.split("x").map(Number);
  const [namespaces, servicesPerNamespace, instancesPerService] = parts;
  if (parts.length !== 3 || !parts.every((n) => Number.isInteger(n) && n >= 0)) {
    throw new UsageError("--synthetic takes NSxSVCxINST, e.g. 5x100x20");
  }
  return syntheticTopology({ namespaces, servicesPerNamespace, instancesPerService });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      topology: { type: "string" },
      synthetic: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      "page-size": { type: "string" },
      "latency-ms": { type: "string" },
      seed: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const topology = values.synthetic !== undefined ? syntheticOption(values.synthetic) : (values.topology ?? defaultTopologyPath());
  const emulator = await startEmulator({
    topology,
    port: intOption(values.port, "port", 0) ?? 0,
    host: values.host ?? "127.0.0.1",
    pageSize: intOption(values["page-size"], "page-size", 1),
    latencyMs: intOption(values["latency-ms"], "latency-ms", 0),
    seed: intOption(values.seed, "seed", 0),
  });
  process.stdout.write(`${emulator.url}\n`);
  process.stderr.write(
    `AWS emulator (Cloud Map, SSM, ECS, STS) serving ${typeof topology === "string" ? topology : "a synthetic topology"}\n` +
      `  export AWS_ENDPOINT_URL=${emulator.url} AWS_REGION=${emulator.state.account.region} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test\n`,
  );
  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  if (error instanceof TopologyError || error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`${(error as Error).message}\n${error instanceof TopologyError ? "" : `${USAGE}\n`}`);
    process.exit(2);
  }
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
