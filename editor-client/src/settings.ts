// The `ems` settings: which the server understands and which need a restart. Pure.

/** Settings the server reads (see src/ems/server/settings.py), with their defaults. */
export const SERVER_SETTINGS = {
  select: null,
  ignore: [],
  run: "onType",
  debounceMs: 150,
  fixIdleMs: 500,
  unsafeFixes: null,
  configurationPreference: "editorFirst",
} as const;

export type ServerSettingKey = keyof typeof SERVER_SETTINGS;
export const SERVER_SETTING_KEYS = Object.keys(SERVER_SETTINGS) as ServerSettingKey[];

/** Client-side settings that choose the server process: changing one restarts it. */
export const RESTART_SETTINGS = ["path", "interpreter", "logLevel"] as const;

/**
 * The object sent to the server (initializationOptions, workspace/configuration answers):
 * only the keys it understands, defaults for missing values. `get` reads `ems.<key>`.
 * Client-only settings (path, interpreter, trace) never reach the server.
 */
export function serverSettings(get: (key: string) => unknown): Record<ServerSettingKey, unknown> {
  const out = {} as Record<ServerSettingKey, unknown>;
  for (const key of SERVER_SETTING_KEYS) {
    const value = get(key);
    out[key] = value === undefined ? SERVER_SETTINGS[key] : value;
  }
  return out;
}

/** A settings object (as VS Code's workspace/configuration answer) narrowed to the server's keys. */
export function narrowSettings(section: unknown): unknown {
  if (section === null || typeof section !== "object" || Array.isArray(section)) {
    return section;
  }
  const record = section as Record<string, unknown>;
  return serverSettings((key) => record[key]);
}

/** Does a configuration change need a new server process (vs. didChangeConfiguration)? */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_SETTINGS.some((key) => affects(`ems.${key}`));
}

/** `ems.path` as a command list: the setting is a list, but a plain string is accepted. */
export function emsPathSetting(value: unknown): string[] {
  if (typeof value === "string") {
    return value.trim() ? [value.trim()] : [];
  }
  if (Array.isArray(value)) {
    return value.filter((v): v is string => typeof v === "string" && v.length > 0);
  }
  return [];
}
