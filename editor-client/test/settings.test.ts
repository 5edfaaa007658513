import assert from "node:assert/strict";
import { test } from "node:test";
import { emsPathSetting, narrowSettings, needsRestart, serverSettings } from "../src/settings";

test("the server gets its seven settings, defaults for missing ones", () => {
  const values: Record<string, unknown> = { select: ["ALL"], debounceMs: 300, path: ["/x"], trace: { server: "verbose" } };
  assert.deepEqual(serverSettings((key) => values[key]), {
    select: ["ALL"],
    ignore: [],
    run: "onType",
    debounceMs: 300,
    fixIdleMs: 500,
    unsafeFixes: null,
    configurationPreference: "editorFirst",
  });
});

test("workspace/configuration answers are narrowed to the server's keys", () => {
  const narrowed = narrowSettings({ select: null, ignore: ["E501"], run: "onSave", path: ["/x"], interpreter: "", trace: {} });
  assert.deepEqual(Object.keys(narrowed as object).sort(), ["configurationPreference", "debounceMs", "fixIdleMs", "ignore", "run", "select", "unsafeFixes"]);
  assert.equal((narrowed as { run: string }).run, "onSave");
  assert.equal(narrowSettings(null), null);
});

test("only the settings that choose the process restart it", () => {
  const changed = (keys: string[]) => (section: string) => keys.includes(section);
  assert.ok(needsRestart(changed(["ems.path"])));
  assert.ok(needsRestart(changed(["ems.interpreter"])));
  assert.ok(needsRestart(changed(["ems.logLevel"])));
  assert.ok(!needsRestart(changed(["ems.select", "ems.run", "ems.trace.server"])));
});

test("ems.path: a list, or a plain string", () => {
  assert.deepEqual(emsPathSetting(["/a/ems", "serve"]), ["/a/ems", "serve"]);
  assert.deepEqual(emsPathSetting(" /a/ems "), ["/a/ems"]);
  assert.deepEqual(emsPathSetting(""), []);
  assert.deepEqual(emsPathSetting(undefined), []);
  assert.deepEqual(emsPathSetting(["", 3, "/a"]), ["/a"]);
});
