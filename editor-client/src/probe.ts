// The side effects discovery needs, with node's fs and child_process (no `vscode`).
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { Probe } from "./discovery";

/** Seconds allowed for `python -c "import ems"` and `poetry env info` (a cold start is slow). */
const PROBE_TIMEOUT_MS = 15_000;

function run(command: string, args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: PROBE_TIMEOUT_MS, windowsHide: true }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

export function nodeProbe(env: NodeJS.ProcessEnv = process.env): Probe {
  return {
    isFile,
    async which(name) {
      for (const dir of (env.PATH ?? "").split(path.delimiter)) {
        if (dir && (await isFile(path.join(dir, name)))) {
          return path.join(dir, name);
        }
      }
      return undefined;
    },
    async importsEms(python) {
      return (await run(python, ["-c", "import ems"])).code === 0;
    },
    async poetryEnv(folder) {
      if (!(await isFile(path.join(folder, "poetry.lock")))) {
        return undefined;
      }
      const done = await run("poetry", ["env", "info", "--path"], folder);
      const env = done.stdout.trim();
      return done.code === 0 && env ? env : undefined;
    },
  };
}

/** Run a command to completion (for `ems test --help` and similar checks). */
export { run };
