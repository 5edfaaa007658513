// VS Code client for the ems language server: starts `ems serve` over stdio and forwards the
// `ems.*` settings. Everything else (diagnostics, quick fixes, fix-all on save, hover) is plain
// LSP handled by vscode-languageclient; the server does the work. The palette commands have
// their own ids (ems.fixFile, ems.scan, ems.showStatus) because vscode-languageclient already
// registers the server's ems.fixAll / ems.scanWorkspace / ems.status for code-action use.
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

const SETTINGS = ["select", "ignore", "run", "debounceMs", "unsafeFixes", "configurationPreference"] as const;

/** The `ems` settings the server understands, for initializationOptions. */
function serverSettings(scope?: vscode.ConfigurationScope): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration("ems", scope);
  const out: Record<string, unknown> = {};
  for (const key of SETTINGS) {
    out[key] = config.get(key);
  }
  return out;
}

/** `ems.path` if set, else `<ems.interpreter> -m ems serve`, else `ems serve` from PATH. */
function serverCommand(): { command: string; args: string[] } {
  const config = vscode.workspace.getConfiguration("ems");
  const path = config.get<string[]>("path") ?? [];
  if (path.length > 0) {
    return { command: path[0], args: path.slice(1) };
  }
  const interpreter = config.get<string>("interpreter") ?? "";
  if (interpreter) {
    return { command: interpreter, args: ["-m", "ems", "serve"] };
  }
  return { command: "ems", args: ["serve"] };
}

function createClient(output: vscode.OutputChannel): LanguageClient {
  const { command, args } = serverCommand();
  // With `transport: stdio` the client appends `--stdio`; `ems serve` accepts it.
  const serverOptions: ServerOptions = {
    run: { command, args, transport: TransportKind.stdio },
    debug: { command, args: [...args, "--log-level", "debug"], transport: TransportKind.stdio },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
    ],
    initializationOptions: serverSettings(),
    // The server pulls `ems` per workspace folder through workspace/configuration and re-pulls
    // on didChangeConfiguration; it registers its own watchers for pyproject.toml / ems.toml.
    synchronize: { configurationSection: "ems" },
    outputChannel: output,
    traceOutputChannel: output,
  };
  return new LanguageClient("ems", "ems", serverOptions, clientOptions);
}

async function executeServerCommand(command: string, args: unknown[]): Promise<unknown> {
  if (!client) {
    throw new Error("the ems server is not running");
  }
  return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("ems");
  client = createClient(output);

  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("ems.fixFile", async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.document.languageId !== "python") {
        vscode.window.showWarningMessage("ems: open a Python file first");
        return;
      }
      await executeServerCommand("ems.fixAll", [editor.document.uri.toString()]);
    }),
    vscode.commands.registerCommand("ems.scan", async () => {
      const result = (await executeServerCommand("ems.scanWorkspace", [])) as { files: number; findings: number };
      vscode.window.showInformationMessage(`ems: ${result.findings} problem(s) in ${result.files} file(s)`);
    }),
    vscode.commands.registerCommand("ems.showStatus", async () => {
      const status = await executeServerCommand("ems.status", []);
      output.appendLine(JSON.stringify(status, null, 2));
      output.show(true);
    }),
    vscode.commands.registerCommand("ems.restart", async () => {
      if (client) {
        await client.stop();
      }
      client = createClient(output);
      await client.start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("ems.path") || event.affectsConfiguration("ems.interpreter")) {
        await vscode.commands.executeCommand("ems.restart");
      }
    }),
  );

  await client.start();
}

export async function deactivate(): Promise<void> {
  if (client) {
    await client.stop();
    client = undefined;
  }
}
