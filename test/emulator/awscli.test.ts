import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../../dev/emulator/index.js";
import { smallTopology } from "./support.js";

const run = promisify(execFile);

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const AWS = findOnPath("aws");
if (AWS === undefined) {
  console.warn("\n*** awscli smoke test SKIPPED: no `aws` on PATH (Debian: apt-get install awscli) ***\n");
}

let emu: Emulator;

beforeAll(async () => {
  // Page size 1: the CLI must follow NextToken to print every namespace.
  emu = await startEmulator({ topology: { ...smallTopology(), parameters: { "/smoke/p": "from-emulator" } }, pageSize: 1 });
});

afterAll(async () => {
  await emu.close();
});

async function aws(...args: string[]): Promise<unknown> {
  const { stdout } = await run(AWS ?? "aws", ["--endpoint-url", emu.url, "--output", "json", ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      AWS_PAGER: "",
    },
  });
  return JSON.parse(stdout);
}

// .ci/run installs awscli; in CI its absence is a failure, not a skip.
describe.skipIf(AWS === undefined && !process.env.CI)("awscli against the emulator", () => {
  it("lists namespaces across pages and reads a parameter", async () => {
    const namespaces = (await aws("servicediscovery", "list-namespaces")) as { Namespaces: { Name: string }[] };
    const parameter = (await aws("ssm", "get-parameter", "--name", "/smoke/p")) as { Parameter: { Value: string } };
    expect(namespaces.Namespaces.map((ns) => ns.Name)).toEqual(["alpha", "beta", "gamma", "alphabet"]);
    expect(parameter.Parameter.Value).toBe("from-emulator");
    expect(emu.calls.get("ListNamespaces")).toBe(4);
  });
});
