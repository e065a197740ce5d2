/** The messages between the orchestrator (bench/run.ts) and a measured child (bench/worker.ts). */

export type Strategy = "cloudmap-sd" | "naive";

export type Command =
  /** `advanceMs`: first step the sidecar's clock (what its intervals, caches and re-reads go by). */
  | { readonly type: "cycle"; readonly advanceMs?: number }
  | { readonly type: "loop-start"; readonly intervalMs: number }
  | { readonly type: "loop-stop" }
  | { readonly type: "exit" };

/** What one cycle cost the child process, measured inside it. */
export interface CycleMeasurement {
  readonly wallMs: number;
  /** process.cpuUsage() delta, user + system. */
  readonly cpuMs: number;
  /** process.resourceUsage().maxRSS: the peak so far of the whole child process. */
  readonly maxRssMb: number;
  readonly heapUsedMb: number;
  readonly fileBytes: number;
  /** Targets, logical AWS calls and file outcome as the strategy reports them. */
  readonly targets: number;
  readonly apiCalls: number;
  readonly outcome: string;
  readonly file: string;
}

export type Reply =
  | { readonly type: "ready"; readonly filePath: string }
  | ({ readonly type: "cycle" } & CycleMeasurement)
  | { readonly type: "loop-started" }
  | {
      readonly type: "loop-stopped";
      readonly cycles: number;
      readonly maxRssMb: number;
      /** V8 heap in use after a full GC: what the sidecar keeps between cycles. */
      readonly retainedHeapMb: number;
    }
  | { readonly type: "error"; readonly message: string };
