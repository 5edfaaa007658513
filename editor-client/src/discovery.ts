// Where the ems language server comes from. Pure: the file system, PATH and the Python
// extension are reached through the `Probe` the caller passes, so the order is unit-tested
// under plain node (this module must not import `vscode`).

/** A way to start ems: `command args…`, with where it came from (shown to the user). */
export interface Launch {
  readonly source: string;
  readonly command: string;
  readonly args: readonly string[];
}

/** What discovery looks at, gathered by the caller. */
export interface DiscoveryInput {
  /** `ems.path`: the full command, e.g. ["/p/.venv/bin/ems", "serve"]; empty: discover. */
  readonly emsPath: readonly string[];
  /** `ems.interpreter`: a Python with ems installed; empty: discover. */
  readonly interpreter: string;
  /** Workspace folder paths, in the workspace's order. */
  readonly folders: readonly string[];
  /** The interpreter selected in the Python extension, when it is installed. */
  readonly pythonExtensionInterpreter?: string;
  /** `UV_PROJECT_ENVIRONMENT` (uv's env folder, relative to the project or absolute). */
  readonly uvProjectEnvironment?: string;
  readonly platform: NodeJS.Platform;
}

/** Side effects discovery needs; the extension implements them with node's fs/child_process. */
export interface Probe {
  isFile(path: string): Promise<boolean>;
  /** An executable's full path on PATH, or undefined. */
  which(name: string): Promise<string | undefined>;
  /** Does `python -c "import ems"` succeed? */
  importsEms(python: string): Promise<boolean>;
  /** `poetry env info --path` for a folder with a poetry.lock, when Poetry is installed. */
  poetryEnv(folder: string): Promise<string | undefined>;
}

export interface Discovery {
  readonly launch?: Launch;
  /** Every place looked at, in order, with what was found there: the error message lists these. */
  readonly tried: readonly string[];
}

/** Virtual environment folder names looked for in each workspace folder, in order. */
export const VENV_NAMES = [".venv", "venv"] as const;

function join(platform: NodeJS.Platform, ...parts: string[]): string {
  const sep = platform === "win32" ? "\\" : "/";
  return parts
    .map((p, i) => (i === 0 ? p.replace(/[\\/]+$/, "") : p.replace(/^[\\/]+|[\\/]+$/g, "")))
    .filter((p) => p.length > 0)
    .join(sep);
}

function isAbsolute(path: string): boolean {
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\");
}

/** `bin/ems` (POSIX) or `Scripts\ems.exe` (Windows) inside a virtual environment. */
export function venvExecutable(env: string, name: "ems" | "python", platform: NodeJS.Platform): string {
  return platform === "win32" ? join(platform, env, "Scripts", `${name}.exe`) : join(platform, env, "bin", name);
}

/** The environment folders of one workspace folder, most specific first (without Poetry's). */
export function folderEnvs(folder: string, input: DiscoveryInput): string[] {
  const envs = VENV_NAMES.map((name) => join(input.platform, folder, name));
  const uv = input.uvProjectEnvironment;
  if (uv) {
    const env = isAbsolute(uv) ? uv : join(input.platform, folder, uv);
    if (!envs.includes(env)) {
      envs.push(env);
    }
  }
  return envs;
}

/**
 * The first way to start ems, in this order: `ems.path`; `ems.interpreter`; `ems` in a workspace
 * folder's virtual environment (`.venv`, `venv`, uv's `UV_PROJECT_ENVIRONMENT`, Poetry's env);
 * the Python extension's selected interpreter (`-m ems`); `ems` on PATH; `python3`/`python` on
 * PATH (`-m ems`). Explicit settings are used as given (a wrong one should fail loudly, not be
 * skipped); discovered ones must exist and import ems.
 */
export async function discover(input: DiscoveryInput, probe: Probe): Promise<Discovery> {
  const tried: string[] = [];
  if (input.emsPath.length > 0) {
    return { launch: { source: "the ems.path setting", command: input.emsPath[0], args: input.emsPath.slice(1) }, tried };
  }
  if (input.interpreter) {
    return {
      launch: { source: "the ems.interpreter setting", command: input.interpreter, args: ["-m", "ems"] },
      tried,
    };
  }
  for (const folder of input.folders) {
    const envs = folderEnvs(folder, input);
    const poetry = await probe.poetryEnv(folder);
    if (poetry && !envs.includes(poetry)) {
      envs.push(poetry);
    }
    for (const env of envs) {
      const ems = venvExecutable(env, "ems", input.platform);
      if (await probe.isFile(ems)) {
        return { launch: { source: `the workspace environment ${env}`, command: ems, args: [] }, tried };
      }
      tried.push(`${ems} (not found)`);
    }
  }
  const selected = input.pythonExtensionInterpreter;
  if (selected) {
    if (await probe.importsEms(selected)) {
      return {
        launch: { source: "the Python extension's selected interpreter", command: selected, args: ["-m", "ems"] },
        tried,
      };
    }
    tried.push(`${selected} -m ems (the Python extension's interpreter: ems is not installed there)`);
  } else {
    tried.push("the Python extension's interpreter (none selected, or the extension is not installed)");
  }
  const onPath = await probe.which(input.platform === "win32" ? "ems.exe" : "ems");
  if (onPath) {
    return { launch: { source: "PATH", command: onPath, args: [] }, tried };
  }
  tried.push("ems on PATH (not found)");
  for (const name of input.platform === "win32" ? ["python.exe", "py.exe"] : ["python3", "python"]) {
    const python = await probe.which(name);
    if (python === undefined) {
      tried.push(`${name} on PATH (not found)`);
    } else if (await probe.importsEms(python)) {
      return { launch: { source: `${name} on PATH`, command: python, args: ["-m", "ems"] }, tried };
    } else {
      tried.push(`${python} -m ems (ems is not installed there)`);
    }
  }
  return { tried };
}

/** The one message shown when nothing works. */
export function notFoundMessage(tried: readonly string[]): string {
  return (
    "ems: could not find the ems language server. Install it in the workspace's virtual environment " +
    "(pip install ems) or set ems.path. Tried: " +
    tried.join("; ") +
    "."
  );
}
