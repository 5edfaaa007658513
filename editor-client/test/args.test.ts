import assert from "node:assert/strict";
import { test } from "node:test";
import { dashboardArgs, display, lacksSubcommand, serveArgs, subcommandArgs } from "../src/args";

const venv = { source: "venv", command: "/w/.venv/bin/ems", args: [] };
const module = { source: "python", command: "/usr/bin/python3", args: ["-m", "ems"] };

test("serve is added when missing, never twice", () => {
  assert.deepEqual(serveArgs(venv), ["serve"]);
  assert.deepEqual(serveArgs(module), ["-m", "ems", "serve"]);
  assert.deepEqual(serveArgs({ ...venv, args: ["serve"] }), ["serve"]);
});

test("--stdio is left to vscode-languageclient, even when ems.path has it", () => {
  assert.deepEqual(serveArgs({ ...venv, args: ["serve", "--stdio"] }), ["serve"]);
  assert.ok(!serveArgs(module).includes("--stdio"));
});

test("the log level becomes --log-level once", () => {
  assert.deepEqual(serveArgs(venv, "debug"), ["serve", "--log-level", "debug"]);
  assert.deepEqual(serveArgs({ ...venv, args: ["serve", "--log-level", "info"] }, "debug"), ["serve", "--log-level", "info"]);
});

test("other subcommands use the same ems as the server", () => {
  assert.deepEqual(subcommandArgs(venv, "test"), ["test"]);
  assert.deepEqual(subcommandArgs(module, "test", ["-x"]), ["-m", "ems", "test", "-x"]);
  assert.deepEqual(subcommandArgs({ ...module, args: ["-m", "ems", "serve", "--stdio"] }, "test"), ["-m", "ems", "test"]);
  assert.deepEqual(dashboardArgs(module, "/w", 8123), ["-m", "ems", "dashboard", "/w", "--host", "127.0.0.1", "--port", "8123", "--no-browser"]);
});

test("argparse's invalid choice means the subcommand is missing", () => {
  const stderr = "ems: error: argument command: invalid choice: 'dashboard' (choose from 'check', 'fix')";
  assert.ok(lacksSubcommand(stderr, "dashboard"));
  assert.ok(!lacksSubcommand(stderr, "test"));
  assert.ok(!lacksSubcommand("Traceback ...", "dashboard"));
});

test("display quotes what needs quoting", () => {
  assert.equal(display("/a b/ems", ["serve"]), '"/a b/ems" serve');
});
