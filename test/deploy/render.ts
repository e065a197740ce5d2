// Shared by the deployment tests: render task-definitions/ the way a user does, with
// task-definitions/render.sh and sample values.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const taskDefinitionsDir = path.join(repo, "task-definitions");

export const sampleValues = {
  AWS_REGION: "eu-west-1",
  ACCOUNT_ID: "123456789012",
  WORKSPACE_ID: "ws-11111111-2222-3333-4444-555555555555",
  CLOUDMAP_SD_IMAGE: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cloudmap-sd:0.1.0",
} as const;

/**
 * Runs render.sh into a fresh temp folder and returns that folder; the caller removes it with
 * removeRendered (in afterAll). When render.sh fails, the folder is removed before the error is
 * rethrown, since no caller ever learns its name.
 */
export function renderAll(values: Record<string, string> = sampleValues): string {
  const out = mkdtempSync(path.join(tmpdir(), "cloudmap-sd-rendered-"));
  try {
    execFileSync("bash", [path.join(taskDefinitionsDir, "render.sh"), out], {
      env: { PATH: process.env["PATH"] ?? "", ...values },
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (error) {
    removeRendered(out);
    throw error;
  }
  return out;
}

export function removeRendered(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
