// What the status bar item shows. Pure.

export type ServerState = "starting" | "ready" | "analysing" | "error" | "stopped";

export interface StatusView {
  readonly text: string;
  readonly tooltip: string;
  /** A ThemeColor id for the background, for states that need attention. */
  readonly background?: string;
}

export function statusView(state: ServerState, detail = ""): StatusView {
  const suffix = detail ? `\n${detail}` : "";
  switch (state) {
    case "starting":
      return { text: "$(loading~spin) ems", tooltip: `ems: starting the language server${suffix}` };
    case "ready":
      return { text: "$(check) ems", tooltip: `ems: ready${suffix}\nClick to show the output.` };
    case "analysing":
      return { text: "$(sync~spin) ems", tooltip: `ems: analysing${suffix}` };
    case "error":
      return {
        text: "$(error) ems",
        tooltip: `ems: error${suffix}\nClick to show the output.`,
        background: "statusBarItem.errorBackground",
      };
    case "stopped":
      return { text: "$(circle-slash) ems", tooltip: `ems: stopped${suffix}` };
  }
}

/**
 * The state while requests are in flight: "analysing" while any diagnostic pull is pending,
 * otherwise the client's own state.
 */
export class Activity {
  private pending = 0;

  begin(): void {
    this.pending += 1;
  }

  end(): void {
    this.pending = Math.max(0, this.pending - 1);
  }

  state(base: ServerState): ServerState {
    return base === "ready" && this.pending > 0 ? "analysing" : base;
  }
}
