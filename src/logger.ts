import { type DestinationStream, type Logger, pino } from "pino";

/**
 * JSON logs. Credentials never reach a log line: we never log SDK configs or requests, and these
 * paths are redacted in case an error object carries them.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      name: "cloudmap-sd",
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ["*.credentials", "*.secretAccessKey", "*.sessionToken", "*.accessKeyId", "*.headers.authorization", "*.Authorization"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
