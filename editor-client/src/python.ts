// The Python extension's selected interpreter, through its public API (ms-python.python).
import * as vscode from "vscode";

/** The part of the Python extension's API used here (see @vscode/python-extension). */
interface PythonApi {
  environments: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
    resolveEnvironment(env: { path: string }): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

const PYTHON_EXTENSION = "ms-python.python";

async function api(): Promise<PythonApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonApi>(PYTHON_EXTENSION);
  if (!extension) {
    return undefined;
  }
  try {
    const exports = extension.isActive ? extension.exports : await extension.activate();
    return exports?.environments ? exports : undefined;
  } catch {
    return undefined;
  }
}

/** The selected interpreter's executable for a folder, or undefined without the extension. */
export async function selectedInterpreter(folder?: vscode.Uri): Promise<string | undefined> {
  const python = await api();
  if (!python) {
    return undefined;
  }
  try {
    const active = python.environments.getActiveEnvironmentPath(folder);
    const resolved = await python.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath ?? active.path;
  } catch {
    return undefined;
  }
}

/** Call `listener` when the user selects another interpreter (a no-op without the extension). */
export async function onInterpreterChange(listener: () => void): Promise<vscode.Disposable> {
  const python = await api();
  return python ? python.environments.onDidChangeActiveEnvironmentPath(() => listener()) : new vscode.Disposable(() => undefined);
}
