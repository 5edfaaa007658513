// Command lines for the server and the other ems commands the extension runs. Pure.
import type { Launch } from "./discovery";

/** The flag vscode-languageclient appends itself with `transport: stdio`. */
export const STDIO_FLAG = "--stdio";

/**
 * Arguments of `ems serve` for a launch. A user's `ems.path` may or may not name the `serve`
 * subcommand and may end with `--stdio` (copied from another editor's set-up): the client
 * appends `--stdio` itself, so it is dropped here rather than passed twice.
 */
export function serveArgs(launch: Launch, logLevel?: string): string[] {
  const args = launch.args.filter((arg) => arg !== STDIO_FLAG);
  if (!args.includes("serve")) {
    args.push("serve");
  }
  if (logLevel && !args.includes("--log-level")) {
    args.push("--log-level", logLevel);
  }
  return args;
}

/**
 * Arguments for another subcommand (`test`, `dashboard`) run with the same ems as the server:
 * the launch's prefix (e.g. `-m ems`) up to `serve`, then the subcommand.
 */
export function subcommandArgs(launch: Launch, subcommand: string, extra: readonly string[] = []): string[] {
  const serve = launch.args.indexOf("serve");
  const prefix = (serve >= 0 ? launch.args.slice(0, serve) : launch.args).filter((arg) => arg !== STDIO_FLAG);
  return [...prefix, subcommand, ...extra];
}

/** `ems dashboard` for a folder, on a loopback port, without opening a browser itself. */
export function dashboardArgs(launch: Launch, folder: string, port: number): string[] {
  return subcommandArgs(launch, "dashboard", [folder, "--host", "127.0.0.1", "--port", String(port), "--no-browser"]);
}

/** argparse's answer to an unknown subcommand: the installed ems is older than the command. */
export function lacksSubcommand(stderr: string, subcommand: string): boolean {
  return stderr.includes("invalid choice") && stderr.includes(`'${subcommand}'`);
}

/** Quote a command line for display (logs and messages), not for a shell. */
export function display(command: string, args: readonly string[]): string {
  return [command, ...args].map((part) => (/[\s"']/.test(part) ? JSON.stringify(part) : part)).join(" ");
}
