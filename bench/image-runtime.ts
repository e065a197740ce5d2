import { readFileSync } from "node:fs";

/**
 * How the container image runs the sidecar, read from the Dockerfile itself so that the bench
 * measures exactly that: the node flags of the final stage's ENTRYPOINT (between "node" and the
 * script) and the environment its ENV lines set. One source of truth: a flag changed in the
 * Dockerfile changes what the bench measures.
 */
export interface ImageRuntime {
  readonly nodeFlags: string[];
  readonly env: Record<string, string>;
}

export function imageRuntime(dockerfile: string): ImageRuntime {
  const text = dockerfile.replace(/\\\r?\n/g, " ");
  const stages = text.split(/^FROM\s/m);
  const last = stages.at(-1) ?? "";
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(last);
  if (!entrypoint?.[1]) throw new Error("the Dockerfile's final stage has no exec-form ENTRYPOINT");
  const argv = JSON.parse(entrypoint[1]) as string[];
  if (argv[0] !== "node") throw new Error(`the ENTRYPOINT does not start with node: ${entrypoint[1]}`);
  const nodeFlags = argv.slice(1).filter((arg, index, all) => arg.startsWith("-") && index < all.findIndex((a) => !a.startsWith("-")));
  const env: Record<string, string> = {};
  for (const line of last.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of (line[1] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) {
      const [, name, value] = pair;
      if (name && value !== undefined) env[name] = value.replace(/^"|"$/g, "");
    }
  }
  return { nodeFlags, env };
}

export function imageRuntimeFrom(path: string): ImageRuntime {
  return imageRuntime(readFileSync(path, "utf8"));
}
