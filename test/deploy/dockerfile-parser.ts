// A deliberately small Dockerfile reader: enough to replay this repository's Dockerfile
// without a Docker engine (instructions, stages, exec-form arguments). It rejects what it
// does not understand instead of guessing, so an unusual change to the Dockerfile fails
// the test rather than being skipped.

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly name: string;
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

export function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical: Instruction[] = [];
  let buffer = "";
  let startLine = 0;
  text.split("\n").forEach((raw, index) => {
    const trimmed = raw.trim();
    if (buffer === "" && (trimmed === "" || trimmed.startsWith("#"))) return;
    if (buffer !== "" && trimmed.startsWith("#")) return;
    if (buffer === "") startLine = index + 1;
    if (trimmed.endsWith("\\")) {
      buffer += trimmed.slice(0, -1) + " ";
      return;
    }
    buffer += trimmed;
    const match = /^(\S+)\s*(.*)$/s.exec(buffer);
    if (match?.[1] !== undefined) {
      logical.push({ keyword: match[1].toUpperCase(), args: (match[2] ?? "").trim(), line: startLine });
    }
    buffer = "";
  });

  const args = new Map<string, string>();
  const stages: { name: string; base: string; instructions: Instruction[] }[] = [];
  for (const instruction of logical) {
    if (instruction.keyword === "ARG" && stages.length === 0) {
      const [key, value = ""] = instruction.args.split("=", 2);
      if (key !== undefined) args.set(key, value);
      continue;
    }
    if (instruction.keyword === "FROM") {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (match?.[1] === undefined) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.args}`);
      const base = match[1].replace(/\$\{(\w+)\}/g, (_, key: string) => args.get(key) ?? "");
      stages.push({ name: match[2] ?? String(stages.length), base, instructions: [] });
      continue;
    }
    const current = stages.at(-1);
    if (current === undefined) throw new Error(`line ${instruction.line}: ${instruction.keyword} before FROM`);
    current.instructions.push(instruction);
  }
  return { args, stages };
}

/** Exec-form arguments (`["a", "b"]`); shell form is refused on purpose. */
export function execForm(instruction: Instruction, after = ""): string[] {
  const rest = instruction.args.slice(instruction.args.indexOf(after) + after.length).trim();
  const parsed: unknown = JSON.parse(rest);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
    throw new Error(`line ${instruction.line}: ${instruction.keyword} must use exec (JSON array) form`);
  }
  return parsed;
}

export interface Copy {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
}

export function parseCopy(instruction: Instruction): Copy {
  const words = instruction.args.split(/\s+/);
  let from: string | undefined;
  const rest: string[] = [];
  for (const word of words) {
    if (word.startsWith("--from=")) from = word.slice("--from=".length);
    else if (word.startsWith("--")) continue;
    else rest.push(word);
  }
  const destination = rest.pop();
  if (destination === undefined || rest.length === 0) throw new Error(`line ${instruction.line}: cannot read COPY`);
  return { from, sources: rest, destination };
}

/** ENV key=value pairs (only the `key=value` form). */
export function parseEnv(instruction: Instruction): Map<string, string> {
  const env = new Map<string, string>();
  for (const pair of instruction.args.split(/\s+/)) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`line ${instruction.line}: ENV must use key=value`);
    env.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return env;
}
