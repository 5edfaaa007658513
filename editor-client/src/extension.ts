// VS Code client for the ems language server. The server does the analysis; this file finds
// it, starts it over stdio, keeps its settings current, shows its state and restarts it after
// a crash. The decisions (discovery order, arguments, settings, back-off, status) are pure
// modules with unit tests; this one only wires them to the VS Code API.
//
// Multi-root: one server for the whole workspace. The server knows workspace folders (it
// resolves each file's ems.toml/pyproject.toml and pulls `ems` settings per folder through
// workspace/configuration), so one process serves every folder with one analysis worker,
// instead of one Python process and worker per folder.
import { spawn, type ChildProcess } from "node:child_process";
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  ResponseError,
  State,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import { dashboardArgs, display, lacksSubcommand, serveArgs, subcommandArgs } from "./args";
import { RestartPolicy } from "./backoff";
import { discover, notFoundMessage, type Launch } from "./discovery";
import { freePort, waitForPort } from "./ports";
import { nodeProbe, run } from "./probe";
import { onInterpreterChange, selectedInterpreter } from "./python";
import { emsPathSetting, narrowSettings, needsRestart, serverSettings } from "./settings";
import { Activity, statusView, type ServerState } from "./status";

const DASHBOARD_START_TIMEOUT_MS = 60_000;

class Controller implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private launch: Launch | undefined;
  private state: ServerState = "stopped";
  private detail = "";
  private readonly activity = new Activity();
  private readonly policy = new RestartPolicy();
  private readonly dashboards = new Map<string, ChildProcess>();

  constructor(
    readonly output: vscode.OutputChannel,
    private readonly status: vscode.StatusBarItem,
  ) {
    status.command = "ems.showOutput";
    status.name = "ems";
    this.render();
    status.show();
  }

  private setState(state: ServerState, detail = this.detail): void {
    this.state = state;
    this.detail = detail;
    this.render();
  }

  private render(): void {
    const view = statusView(this.activity.state(this.state), this.detail);
    this.status.text = view.text;
    this.status.tooltip = view.tooltip;
    this.status.backgroundColor = view.background ? new vscode.ThemeColor(view.background) : undefined;
  }

  /** Find ems (see discovery.ts), or tell the user once what was tried. */
  private async findServer(): Promise<Launch | undefined> {
    const config = vscode.workspace.getConfiguration("ems");
    const folders = vscode.workspace.workspaceFolders ?? [];
    const discovery = await discover(
      {
        emsPath: emsPathSetting(config.get("path")),
        interpreter: config.get<string>("interpreter") ?? "",
        folders: folders.map((f) => f.uri.fsPath),
        pythonExtensionInterpreter: await selectedInterpreter(folders[0]?.uri),
        uvProjectEnvironment: process.env.UV_PROJECT_ENVIRONMENT,
        platform: process.platform,
      },
      nodeProbe(),
    );
    if (discovery.launch) {
      return discovery.launch;
    }
    const message = notFoundMessage(discovery.tried);
    this.output.appendLine(message);
    this.setState("error", "ems was not found");
    void vscode.window.showErrorMessage(message, "Set ems.path", "Show output").then((choice) => {
      if (choice === "Set ems.path") {
        void vscode.commands.executeCommand("workbench.action.openSettings", "ems.path");
      } else if (choice === "Show output") {
        this.output.show(true);
      }
    });
    return undefined;
  }

  private createClient(launch: Launch): LanguageClient {
    const config = vscode.workspace.getConfiguration("ems");
    const logLevel = config.get<string>("logLevel") || undefined;
    // No `--stdio` here: with `transport: stdio` vscode-languageclient appends it.
    const args = serveArgs(launch, logLevel);
    const serverOptions: ServerOptions = {
      run: { command: launch.command, args, transport: TransportKind.stdio },
      debug: { command: launch.command, args: serveArgs(launch, "debug"), transport: TransportKind.stdio },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: "file", language: "python" },
        { scheme: "untitled", language: "python" },
      ],
      initializationOptions: serverSettings((key) => config.get(key)),
      // didChangeConfiguration on any `ems.*` change; the server then pulls `ems` per folder.
      synchronize: { configurationSection: "ems" },
      outputChannel: this.output,
      traceOutputChannel: this.output,
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        closed: async () => {
          const decision = this.policy.onCrash(Date.now());
          this.output.appendLine(decision.message);
          if (!decision.restart) {
            this.setState("error", "crashed too often; not restarted");
            void vscode.window.showErrorMessage(decision.message, "Show output").then((c) => c && this.output.show(true));
            return { action: CloseAction.DoNotRestart, handled: true };
          }
          void vscode.window.showWarningMessage(decision.message);
          this.setState("starting", `restart ${decision.attempt} after a crash`);
          await new Promise((r) => setTimeout(r, decision.delayMs));
          return { action: CloseAction.Restart, handled: true };
        },
      },
      middleware: {
        workspace: {
          // Answer the server's workspace/configuration with only the keys it understands.
          configuration: async (params, token, next) => {
            const result = (await next(params, token)) as unknown[] | ResponseError<void>;
            return Array.isArray(result)
              ? result.map((item, i) => (params.items[i]?.section === "ems" ? narrowSettings(item) : item))
              : result;
          },
        },
        provideDiagnostics: async (document, previousResultId, token, next) => {
          this.activity.begin();
          this.render();
          try {
            return await next(document, previousResultId, token);
          } finally {
            this.activity.end();
            this.render();
          }
        },
      },
    };
    const client = new LanguageClient("ems", "ems", serverOptions, clientOptions);
    client.onDidChangeState((event) => {
      if (event.newState === State.Running) {
        this.setState("ready", `${display(launch.command, args)}\nfrom ${launch.source}`);
      } else if (event.newState === State.Starting) {
        this.setState("starting");
      } else if (this.state !== "error") {
        this.setState("stopped");
      }
    });
    return client;
  }

  async start(): Promise<void> {
    this.setState("starting", "");
    const launch = await this.findServer();
    if (!launch) {
      return;
    }
    this.launch = launch;
    this.output.appendLine(`ems: starting ${display(launch.command, serveArgs(launch))} (from ${launch.source})`);
    this.client = this.createClient(launch);
    try {
      await this.client.start();
    } catch (error) {
      const message = `ems: the language server (${display(launch.command, serveArgs(launch))}, from ${launch.source}) did not start: ${String(error)}`;
      this.output.appendLine(message);
      this.setState("error", "did not start");
      void vscode.window.showErrorMessage(message, "Set ems.path", "Show output").then((choice) => {
        if (choice === "Set ems.path") {
          void vscode.commands.executeCommand("workbench.action.openSettings", "ems.path");
        } else if (choice === "Show output") {
          this.output.show(true);
        }
      });
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop();
      } catch (error) {
        this.output.appendLine(`ems: stopping the server: ${String(error)}`);
      }
    }
    this.setState("stopped", "");
  }

  async restart(reason: string): Promise<void> {
    this.output.appendLine(`ems: restarting the language server (${reason})`);
    this.policy.reset();
    await this.stop();
    await this.start();
  }

  async request(command: string, args: unknown[]): Promise<unknown> {
    if (!this.client || !this.client.isRunning()) {
      throw new Error("the ems language server is not running (see the ems output)");
    }
    return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  }

  /** The ems the server runs, for the CLI commands; discovers it when the server is down. */
  async cli(): Promise<Launch | undefined> {
    return this.launch ?? (await this.findServer());
  }

  /** Does the installed ems have this subcommand? Says clearly when it does not. */
  async hasSubcommand(launch: Launch, subcommand: string): Promise<boolean> {
    const args = subcommandArgs(launch, subcommand, ["--help"]);
    const done = await run(launch.command, args);
    if (done.code === 0) {
      return true;
    }
    const message = lacksSubcommand(done.stderr, subcommand)
      ? `ems: the installed ems (${launch.command}, from ${launch.source}) has no \`ems ${subcommand}\` command; update ems.`
      : `ems: \`${display(launch.command, args)}\` failed (exit ${done.code}): ${done.stderr.trim()}`;
    this.output.appendLine(message);
    void vscode.window.showErrorMessage(message);
    return false;
  }

  async openDashboard(folder: vscode.WorkspaceFolder): Promise<void> {
    const key = folder.uri.toString();
    const launch = await this.cli();
    if (!launch || !(await this.hasSubcommand(launch, "dashboard"))) {
      return;
    }
    this.stopDashboard(key);
    const port = await freePort();
    const args = dashboardArgs(launch, folder.uri.fsPath, port);
    this.output.appendLine(`ems: starting ${display(launch.command, args)}`);
    const child = spawn(launch.command, args, { cwd: folder.uri.fsPath, stdio: ["ignore", "pipe", "pipe"] });
    let exited = false;
    child.stdout?.on("data", (data: Buffer) => this.output.append(`[dashboard] ${data.toString()}`));
    child.stderr?.on("data", (data: Buffer) => this.output.append(`[dashboard] ${data.toString()}`));
    child.on("exit", (code) => {
      exited = true;
      this.output.appendLine(`ems: the dashboard for ${folder.name} exited (${code ?? "signal"})`);
      if (this.dashboards.get(key) === child) {
        this.dashboards.delete(key);
      }
    });
    child.on("error", (error) => {
      exited = true;
      this.output.appendLine(`ems: the dashboard did not start: ${error.message}`);
    });
    this.dashboards.set(key, child);
    const up = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `ems: starting the dashboard for ${folder.name}` },
      () => waitForPort(port, DASHBOARD_START_TIMEOUT_MS, () => exited),
    );
    if (!up) {
      this.stopDashboard(key);
      void vscode.window.showErrorMessage("ems: the dashboard did not start; see the ems output.", "Show output").then(
        (c) => c && this.output.show(true),
      );
      return;
    }
    await vscode.env.openExternal(vscode.Uri.parse(`http://127.0.0.1:${port}/`));
  }

  stopDashboard(key?: string): void {
    for (const [k, child] of this.dashboards) {
      if (key === undefined || k === key) {
        child.kill();
        this.dashboards.delete(k);
      }
    }
  }

  dispose(): void {
    this.stopDashboard();
    this.status.dispose();
  }
}

async function pickFolder(): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) {
    if (!folders[0]) {
      void vscode.window.showWarningMessage("ems: open a folder first");
    }
    return folders[0];
  }
  const active = vscode.window.activeTextEditor?.document.uri;
  const current = active ? vscode.workspace.getWorkspaceFolder(active) : undefined;
  return current ?? (await vscode.window.showWorkspaceFolderPick({ placeHolder: "ems: which folder?" }));
}

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("ems");
  const status = vscode.window.createStatusBarItem("ems.status", vscode.StatusBarAlignment.Right, 100);
  const ctl = new Controller(output, status);
  controller = ctl;

  context.subscriptions.push(
    output,
    ctl,
    vscode.commands.registerCommand("ems.restart", () => ctl.restart("requested")),
    vscode.commands.registerCommand("ems.showOutput", () => output.show(true)),
    vscode.commands.registerCommand("ems.fixFile", async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.document.languageId !== "python") {
        void vscode.window.showWarningMessage("ems: open a Python file first");
        return;
      }
      const result = (await ctl.request("ems.fixAll", [editor.document.uri.toString()])) as {
        applied: unknown[];
        changed: boolean;
      };
      void vscode.window.setStatusBarMessage(
        result.changed ? `ems: applied ${result.applied.length} fix(es)` : "ems: nothing to fix",
        5000,
      );
    }),
    vscode.commands.registerCommand("ems.scan", async () => {
      const result = (await ctl.request("ems.scanWorkspace", [])) as { files: number; findings: number };
      void vscode.window.showInformationMessage(`ems: ${result.findings} problem(s) in ${result.files} file(s)`);
    }),
    vscode.commands.registerCommand("ems.showStatus", async () => {
      const status = (await ctl.request("ems.status", [])) as { version: string; rules: unknown[] };
      output.appendLine(JSON.stringify(status, null, 2));
      output.show(true);
      void vscode.window.showInformationMessage(`ems ${status.version}: running, ${status.rules.length} rules`);
    }),
    vscode.commands.registerCommand("ems.runTests", async () => {
      const folder = await pickFolder();
      const launch = folder && (await ctl.cli());
      if (!folder || !launch || !(await ctl.hasSubcommand(launch, "test"))) {
        return;
      }
      const execution = new vscode.ProcessExecution(launch.command, subcommandArgs(launch, "test"), {
        cwd: folder.uri.fsPath,
      });
      const task = new vscode.Task({ type: "ems", command: "test" }, folder, "ems test", "ems", execution);
      await vscode.tasks.executeTask(task);
    }),
    vscode.commands.registerCommand("ems.openDashboard", async () => {
      const folder = await pickFolder();
      if (folder) {
        await ctl.openDashboard(folder);
      }
    }),
    vscode.commands.registerCommand("ems.stopDashboard", () => ctl.stopDashboard()),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      // Other ems.* settings reach the running server through didChangeConfiguration.
      if (needsRestart((section) => event.affectsConfiguration(section))) {
        await ctl.restart("ems.path, ems.interpreter or ems.logLevel changed");
      }
    }),
    await onInterpreterChange(() => {
      const config = vscode.workspace.getConfiguration("ems");
      if (!config.get("interpreter") && emsPathSetting(config.get("path")).length === 0) {
        void ctl.restart("the Python extension's interpreter changed");
      }
    }),
  );

  await ctl.start();
}

export async function deactivate(): Promise<void> {
  if (controller) {
    controller.stopDashboard();
    await controller.stop();
    controller = undefined;
  }
}
