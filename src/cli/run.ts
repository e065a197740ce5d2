import { sdkDefaultRegion } from "../aws/region.js";
import { type Config, loadConfig } from "../config.js";
import { textOf } from "../core/file-content.js";
import { ConfigError, CycleDeadlineError, errorMessage } from "../errors.js";
import { createLogger } from "../logger.js";
import { createSidecar } from "../main.js";
import { resolveRegion } from "../startup.js";
import { discardingFileSystem } from "./discarding-fs.js";
import { explainText, parseExplainFilter } from "./explain.js";

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

export const CLI_USAGE = `Usage:
  cloudmap-sd                              run the sidecar (all settings come from the environment; --help lists them)
  cloudmap-sd explain [namespace[/service]]  run one discovery and print what is scraped and why not
  cloudmap-sd once --print                 run one discovery and print the file_sd JSON it would write
Both read the same environment as the sidecar and write no file. Exit status: 0 everything was read,
1 some part could not be read, 2 bad usage or settings.`;

/** The subcommands. Returns the exit status; never throws for a user's mistake. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  const usage = (problem: string) => {
    io.stderr.write(`cloudmap-sd: ${problem}\n${CLI_USAGE}\n`);
    return 2;
  };
  if (command === "help") {
    io.stdout.write(`${CLI_USAGE}\n`);
    return 0;
  }
  if (command === "explain") {
    if (args.length > 1 || args.some((arg) => arg.startsWith("-"))) return usage(`explain takes at most one argument, namespace[/service]; got ${args.join(" ")}`);
    const filter = parseExplainFilter(args[0]);
    if (!filter) return usage(`expected namespace or namespace/service, got ${JSON.stringify(args[0])}`);
    return withOneCycle(io, async ({ status }) => {
      const { text, code } = explainText(status, filter);
      io.stdout.write(text);
      return code;
    });
  }
  if (command === "once") {
    if (args.length !== 1 || args[0] !== "--print") return usage("once needs --print (it prints the file_sd JSON instead of writing it)");
    return withOneCycle(io, async ({ outcome, content, summary }) => {
      if (outcome === "failure" || content === undefined) {
        io.stderr.write(`cloudmap-sd: the discovery failed, nothing would be written: ${summary}\n`);
        return 1;
      }
      io.stdout.write(content);
      if (outcome === "partial") io.stderr.write(`cloudmap-sd: some parts could not be read (run explain): ${summary}\n`);
      return outcome === "success" ? 0 : 1;
    });
  }
  return usage(`unknown command ${JSON.stringify(command)}`);
}

interface OneCycle {
  readonly status: ReturnType<Awaited<ReturnType<typeof createSidecar>>["status"]["status"]>;
  readonly outcome: string;
  readonly content: string | undefined;
  /** The errors of the cycle, one line. */
  readonly summary: string;
}

/**
 * One discovery with the sidecar's own code (createSidecar, one cycle) and settings, writing no
 * file: CONFIG_FILE_DIR need not exist. Logs go to stderr, silent unless LOG_LEVEL is set.
 */
async function withOneCycle(io: CliIo, use: (cycle: OneCycle) => Promise<number>): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(io.env);
    config = { ...config, awsRegion: await resolveRegion(io.env, sdkDefaultRegion) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`cloudmap-sd: ${error.message}\n`);
    return 2;
  }
  const logger = createLogger(io.env.LOG_LEVEL ? config.LOG_LEVEL : "silent", io.stderr);
  const sidecar = await createSidecar(config, { logger, fs: discardingFileSystem() });
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(new CycleDeadlineError(sidecar.cycleTimeoutMs)), sidecar.cycleTimeoutMs);
  try {
    const report = await sidecar.discovery.runCycle(controller.signal);
    const status = sidecar.status.status();
    const content = sidecar.targetsFile.content;
    const summary = status.errors.filter((error) => error.current).map((error) => error.message).slice(0, 3).join("; ") || `outcome ${report.outcome}`;
    return await use({ status, outcome: report.outcome, content: content === undefined ? undefined : textOf(content), summary });
  } catch (error) {
    io.stderr.write(`cloudmap-sd: ${errorMessage(error)}\n`);
    return 1;
  } finally {
    clearTimeout(deadline);
    sidecar.destroy();
  }
}
