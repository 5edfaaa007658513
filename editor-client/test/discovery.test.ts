import assert from "node:assert/strict";
import { test } from "node:test";
import { discover, notFoundMessage, type DiscoveryInput, type Probe } from "../src/discovery";

/** A fake machine: these files exist, these names are on PATH, these Pythons have ems. */
function machine(files: string[], path: Record<string, string> = {}, withEms: string[] = [], poetry: Record<string, string> = {}): Probe & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    isFile: (p) => {
      asked.push(`file ${p}`);
      return Promise.resolve(files.includes(p));
    },
    which: (name) => {
      asked.push(`which ${name}`);
      return Promise.resolve(path[name]);
    },
    importsEms: (python) => {
      asked.push(`import ${python}`);
      return Promise.resolve(withEms.includes(python));
    },
    poetryEnv: (folder) => Promise.resolve(poetry[folder]),
  };
}

const base: DiscoveryInput = { emsPath: [], interpreter: "", folders: ["/w"], platform: "linux" };

test("ems.path wins and is used as given, without probing", async () => {
  const probe = machine(["/w/.venv/bin/ems"]);
  const found = await discover({ ...base, emsPath: ["/opt/ems", "serve"] }, probe);
  assert.deepEqual(found.launch, { source: "the ems.path setting", command: "/opt/ems", args: ["serve"] });
  assert.deepEqual(probe.asked, []);
});

test("ems.interpreter comes next, as python -m ems", async () => {
  const found = await discover({ ...base, interpreter: "/py/bin/python" }, machine(["/w/.venv/bin/ems"]));
  assert.deepEqual(found.launch?.args, ["-m", "ems"]);
  assert.equal(found.launch?.command, "/py/bin/python");
});

test("the workspace .venv comes before venv, the Python extension and PATH", async () => {
  const probe = machine(["/w/.venv/bin/ems", "/w/venv/bin/ems"], { ems: "/usr/bin/ems" }, ["/sel/python"]);
  const found = await discover({ ...base, pythonExtensionInterpreter: "/sel/python" }, probe);
  assert.equal(found.launch?.command, "/w/.venv/bin/ems");
  assert.match(found.launch?.source ?? "", /workspace environment \/w\/\.venv/);
});

test("venv, then uv's UV_PROJECT_ENVIRONMENT, then Poetry's env", async () => {
  assert.equal((await discover(base, machine(["/w/venv/bin/ems"]))).launch?.command, "/w/venv/bin/ems");
  const uv = await discover({ ...base, uvProjectEnvironment: "envs/uv" }, machine(["/w/envs/uv/bin/ems"]));
  assert.equal(uv.launch?.command, "/w/envs/uv/bin/ems");
  const poetry = await discover(base, machine(["/cache/w-py3.11/bin/ems"], {}, [], { "/w": "/cache/w-py3.11" }));
  assert.equal(poetry.launch?.command, "/cache/w-py3.11/bin/ems");
});

test("every workspace folder is looked at, in order", async () => {
  const found = await discover({ ...base, folders: ["/a", "/b"] }, machine(["/b/.venv/bin/ems"]));
  assert.equal(found.launch?.command, "/b/.venv/bin/ems");
  assert.deepEqual(found.tried.slice(0, 2), ["/a/.venv/bin/ems (not found)", "/a/venv/bin/ems (not found)"]);
});

test("the Python extension's interpreter is used only when it has ems", async () => {
  const withEms = await discover({ ...base, pythonExtensionInterpreter: "/sel/python" }, machine([], { ems: "/usr/bin/ems" }, ["/sel/python"]));
  assert.deepEqual(withEms.launch, { source: "the Python extension's selected interpreter", command: "/sel/python", args: ["-m", "ems"] });
  const without = await discover({ ...base, pythonExtensionInterpreter: "/sel/python" }, machine([], { ems: "/usr/bin/ems" }));
  assert.equal(without.launch?.command, "/usr/bin/ems");
  assert.ok(without.tried.some((t) => t.includes("/sel/python -m ems")));
});

test("ems on PATH before python3 -m ems, then python", async () => {
  assert.equal((await discover(base, machine([], { ems: "/usr/bin/ems", python3: "/usr/bin/python3" }, ["/usr/bin/python3"]))).launch?.command, "/usr/bin/ems");
  const py = await discover(base, machine([], { python3: "/usr/bin/python3", python: "/usr/bin/python" }, ["/usr/bin/python"]));
  assert.deepEqual(py.launch, { source: "python on PATH", command: "/usr/bin/python", args: ["-m", "ems"] });
});

test("nothing found: every place tried is listed for the message", async () => {
  const found = await discover({ ...base, pythonExtensionInterpreter: "/sel/python" }, machine([], { python3: "/usr/bin/python3" }));
  assert.equal(found.launch, undefined);
  assert.deepEqual(found.tried, [
    "/w/.venv/bin/ems (not found)",
    "/w/venv/bin/ems (not found)",
    "/sel/python -m ems (the Python extension's interpreter: ems is not installed there)",
    "ems on PATH (not found)",
    "/usr/bin/python3 -m ems (ems is not installed there)",
    "python on PATH (not found)",
  ]);
  const message = notFoundMessage(found.tried);
  assert.match(message, /set ems\.path/);
  assert.match(message, /\/w\/\.venv\/bin\/ems \(not found\)/);
});

test("Windows: Scripts\\ems.exe and ems.exe on PATH", async () => {
  const win = { ...base, folders: ["C:\\w"], platform: "win32" as const };
  assert.equal((await discover(win, machine(["C:\\w\\.venv\\Scripts\\ems.exe"]))).launch?.command, "C:\\w\\.venv\\Scripts\\ems.exe");
  assert.equal((await discover(win, machine([], { "ems.exe": "C:\\bin\\ems.exe" }))).launch?.command, "C:\\bin\\ems.exe");
});
