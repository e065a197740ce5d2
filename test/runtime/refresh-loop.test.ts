import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it, vi } from "vitest";
import { CycleDeadlineError } from "../../src/errors.js";
import { runRefreshLoop } from "../../src/runtime/refresh-loop.js";

const HOUR_MS = 3_600_000;

/** A promise that resolves when `count` calls have been made to the returned `tick`. */
function calls(count: number): { tick: () => void; reached: Promise<void> } {
  let made = 0;
  let resolve: () => void = () => {};
  const reached = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    tick: () => {
      made++;
      if (made >= count) resolve();
    },
    reached,
  };
}

describe("runRefreshLoop", () => {
  it("runs the first cycle at once, before any interval has passed", async () => {
    // Prepare
    const controller = new AbortController();
    const run = vi.fn(async () => {});

    // Act: an hour-long interval; the first cycle must not wait for it.
    const loop = runRefreshLoop({ intervalMs: HOUR_MS, run, onError: vi.fn(), signal: controller.signal });

    // Assess
    expect(run).toHaveBeenCalledTimes(1);
    controller.abort();
    await loop;
    expect(run).toHaveBeenCalledTimes(1);
  });

  it("runs cycles again and again, one every interval", async () => {
    const controller = new AbortController();
    const { tick, reached } = calls(3);

    const loop = runRefreshLoop({ intervalMs: 10, run: async () => tick(), onError: vi.fn(), signal: controller.signal });
    await reached;
    controller.abort();

    await expect(loop).resolves.toBeUndefined();
  });

  it("never overlaps cycles, even when a cycle takes longer than the interval", async () => {
    // Prepare
    const controller = new AbortController();
    const { tick, reached } = calls(5);
    let running = 0;
    let maxRunning = 0;
    const run = async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(30);
      running--;
      tick();
    };

    // Act
    const loop = runRefreshLoop({ intervalMs: 5, run, onError: vi.fn(), signal: controller.signal });
    await reached;
    controller.abort();
    await loop;

    // Assess
    expect(maxRunning).toBe(1);
  });

  it("starts the next cycle at once when a cycle outlasted the interval", async () => {
    // Prepare: an injected clock says each cycle took two hours, against a one-hour interval.
    const controller = new AbortController();
    let clock = 0;
    const { tick, reached } = calls(3);
    const run = async () => {
      clock += 2 * HOUR_MS;
      tick();
    };

    // Act: with a real one-hour wait this would time out.
    const loop = runRefreshLoop({ intervalMs: HOUR_MS, run, onError: vi.fn(), signal: controller.signal, now: () => clock });
    await reached;
    controller.abort();

    // Assess
    await expect(loop).resolves.toBeUndefined();
  });

  it("reports a throwing cycle through onError and goes on", async () => {
    // Prepare
    const controller = new AbortController();
    const failure = new Error("DescribeTasks exploded");
    const { tick, reached } = calls(3);
    const run = vi.fn(async () => {
      tick();
      if (run.mock.calls.length === 1) throw failure;
    });
    const onError = vi.fn();

    // Act
    const loop = runRefreshLoop({ intervalMs: 1, run, onError, signal: controller.signal });
    await reached;
    controller.abort();
    await loop;

    // Assess
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(failure);
    expect(run.mock.calls.length).toBeGreaterThanOrEqual(3);
  });

  it("aborts the signal of the cycle in flight and stops, without reporting the abort as an error", async () => {
    // Prepare: a cycle that only ends when its signal is aborted, like an AWS call given the signal.
    const controller = new AbortController();
    const { tick, reached } = calls(1);
    let seen: AbortSignal | undefined;
    const run = vi.fn(
      (signal: AbortSignal) =>
        new Promise<void>((_resolve, reject) => {
          seen = signal;
          tick();
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        }),
    );
    const onError = vi.fn();
    const loop = runRefreshLoop({ intervalMs: 1, run, onError, signal: controller.signal });
    await reached;
    expect(seen?.aborted).toBe(false);

    // Act
    controller.abort();
    await loop;

    // Assess
    expect(seen?.aborted).toBe(true);
    expect(run).toHaveBeenCalledTimes(1);
    expect(onError).not.toHaveBeenCalled();
  });

  it("stops while waiting for the next interval when aborted", async () => {
    // Prepare
    const controller = new AbortController();
    const { tick, reached } = calls(1);
    const run = vi.fn(async () => tick());

    // Act: an hour-long wait follows the first cycle; the abort must end it.
    const loop = runRefreshLoop({ intervalMs: HOUR_MS, run, onError: vi.fn(), signal: controller.signal });
    await reached;
    await sleep(5);
    controller.abort();

    // Assess
    await expect(loop).resolves.toBeUndefined();
    expect(run).toHaveBeenCalledTimes(1);
  });

  it("runs nothing when the signal is already aborted", async () => {
    const run = vi.fn(async () => {});

    await runRefreshLoop({ intervalMs: 10, run, onError: vi.fn(), signal: AbortSignal.abort() });

    expect(run).not.toHaveBeenCalled();
  });
});

describe("runRefreshLoop cycle bound", () => {
  it("aborts a cycle that overruns its bound with a CycleDeadlineError, and the next cycle starts", async () => {
    // Prepare: the first cycle never ends by itself (a call no deadline reached).
    const controller = new AbortController();
    const reasons: unknown[] = [];
    const { tick, reached } = calls(2);
    const run = async (cycleSignal: AbortSignal, stopSignal: AbortSignal) => {
      tick();
      if (reasons.length === 0) {
        await new Promise<void>((resolve) => cycleSignal.addEventListener("abort", () => resolve(), { once: true }));
        reasons.push(cycleSignal.reason);
        expect(stopSignal.aborted).toBe(false);
      }
    };

    // Act
    const loop = runRefreshLoop({ intervalMs: 5, cycleTimeoutMs: 20, run, onError: vi.fn(), signal: controller.signal });
    await reached;
    controller.abort();
    await loop;

    // Assess
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(CycleDeadlineError);
  });

  it("gives the cycle the shutdown reason, not a deadline, when stopped", async () => {
    const controller = new AbortController();
    let reason: unknown;
    const started = calls(1);
    const run = async (cycleSignal: AbortSignal) => {
      started.tick();
      await new Promise<void>((resolve) => cycleSignal.addEventListener("abort", () => resolve(), { once: true }));
      reason = cycleSignal.reason;
    };

    const loop = runRefreshLoop({ intervalMs: 5, cycleTimeoutMs: HOUR_MS, run, onError: vi.fn(), signal: controller.signal });
    await started.reached;
    controller.abort(new Error("stop"));
    await loop;

    expect(reason).toEqual(new Error("stop"));
  });

  it("schedules on the monotonic clock, so a wall-clock step back does not stall it", async () => {
    // Prepare: during the first cycle the wall clock steps an hour back (NTP, an operator).
    const controller = new AbortController();
    const { tick, reached } = calls(3);
    const realNow = Date.now;
    let stepped = false;
    const dateSpy = vi.spyOn(Date, "now").mockImplementation(() => (stepped ? realNow() - HOUR_MS : realNow()));
    try {
      // Act
      const loop = runRefreshLoop({
        intervalMs: 10,
        run: async () => {
          stepped = true;
          tick();
        },
        onError: vi.fn(),
        signal: controller.signal,
      });
      await reached;
      controller.abort();
      await loop;
    } finally {
      dateSpy.mockRestore();
    }
  });
});
