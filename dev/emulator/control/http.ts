import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { CallCounter } from "./calls.js";
import { FAULT_KINDS, type Faults } from "./faults.js";

/**
 * The emulator's control API over HTTP, for an emulator running as a separate process (the
 * in-process API is `emu.faults` / `emu.calls`). Paths under /_emulator/ never reach the AWS
 * dispatch, so they need no signature:
 *
 *   GET    /_emulator/health                     {"status":"ok"}
 *   POST   /_emulator/faults  {operation?, spec}  set one operation's fault (no operation: every operation)
 *   DELETE /_emulator/faults[?operation=Op]       clear one operation's fault, or all of them
 *   GET    /_emulator/faults                     {"injected": {label: n}, "calls": {operation: n}}
 */
export const CONTROL_PREFIX = "/_emulator/";

const rate = z.number().min(0).max(1);
const specSchema = z.strictObject({
  latencyMs: z.number().min(0).optional(),
  errorCount: z.number().int().min(0).optional(),
  errorRate: rate.optional(),
  kind: z.enum(FAULT_KINDS as [string, ...string[]]).optional(),
  error: z.string().min(1).optional(),
  message: z.string().optional(),
  status: z.number().int().min(100).max(599).optional(),
  spikeRate: rate.optional(),
  spikeMs: z.number().min(0).optional(),
});
const setSchema = z.strictObject({ operation: z.string().min(1).optional(), spec: specSchema });

export interface ControlScope {
  readonly faults: Faults;
  readonly calls: CallCounter;
}

export function handleControl(req: IncomingMessage, res: ServerResponse, body: string, scope: ControlScope): void {
  const url = new URL(req.url ?? "/", "http://emulator");
  const route = `${req.method ?? ""} ${url.pathname}`;
  switch (route) {
    case "GET /_emulator/health":
      return reply(res, 200, { status: "ok" });
    case "GET /_emulator/faults":
      return reply(res, 200, { injected: scope.faults.injectedCounts(), calls: scope.calls.snapshot() });
    case "DELETE /_emulator/faults":
      scope.faults.clear(url.searchParams.get("operation") ?? undefined);
      return reply(res, 200, { cleared: url.searchParams.get("operation") ?? "*" });
    case "POST /_emulator/faults": {
      const parsed = setSchema.safeParse(parseOrUndefined(body));
      if (!parsed.success) return reply(res, 400, { error: z.prettifyError(parsed.error) });
      const { operation, spec } = parsed.data;
      // The schema mirrors FaultSpec; `kind` is narrowed by the enum above.
      const faultSpec = spec as Parameters<Faults["set"]>[1];
      if (operation === undefined || operation === "*") scope.faults.setAll(faultSpec);
      else scope.faults.set(operation, faultSpec);
      return reply(res, 200, { operation: operation ?? "*", spec });
    }
    default:
      return reply(res, 404, { error: `no control route ${route}` });
  }
}

function parseOrUndefined(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function reply(res: ServerResponse, status: number, payload: object): void {
  const bytes = Buffer.from(`${JSON.stringify(payload)}\n`, "utf8");
  res.writeHead(status, { "content-type": "application/json", "content-length": bytes.length });
  res.end(bytes);
}
