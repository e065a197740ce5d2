import { describe, expect, it } from "vitest";
import { formatDuration, parseDurationSeconds } from "../src/duration.js";

describe("parseDurationSeconds", () => {
  it.each<[string, number]>([
    ["30", 30],
    ["0", 0],
    ["0.5", 0.5],
    [" 12 ", 12],
    ["30s", 30],
    ["5m", 300],
    ["1h", 3_600],
    ["1d", 86_400],
    ["1w", 604_800],
    ["1y", 31_536_000],
    ["500ms", 0.5],
    ["1ms", 0.001],
    ["1h30m", 5_400],
    ["1d2h3m4s5ms", 93_784.005],
    ["0s", 0],
    ["90m", 5_400],
  ])("reads %j as %d seconds", (text, seconds) => {
    expect(parseDurationSeconds(text)).toBe(seconds);
  });

  it.each(["", " ", "abc", "-1", "-1s", "1e3", "1.5s", "1.5m", "5M", "1H", "30m1h", "1s1m", "1h 30m", "1h1h", "ms", "s", "30sec", "1mo", ".5", "5."])(
    "rejects %j",
    (text) => {
      expect(parseDurationSeconds(text)).toBeUndefined();
    },
  );
});

describe("formatDuration", () => {
  it.each<[number, string]>([
    [0, "0s"],
    [0.001, "1ms"],
    [0.1, "100ms"],
    [30, "30s"],
    [90, "1m30s"],
    [300, "5m"],
    [86_400, "1d"],
    [604_800, "7d"],
  ])("writes %d seconds as %j", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it("writes what parseDurationSeconds reads back", () => {
    for (const seconds of [0.001, 0.25, 1, 59, 61, 3_599.5, 86_400]) expect(parseDurationSeconds(formatDuration(seconds))).toBe(seconds);
  });
});
