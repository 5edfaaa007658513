// When to restart a crashed server. Pure: time comes in as numbers.

export interface RestartDecision {
  readonly restart: boolean;
  /** Wait this long before starting again. */
  readonly delayMs: number;
  /** 1 for the first restart in the window. */
  readonly attempt: number;
  /** What the user is told. */
  readonly message: string;
}

export interface BackoffOptions {
  /** Restarts allowed within `windowMs`; the next crash gives up. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { maxRestarts: 5, windowMs: 3 * 60_000, baseDelayMs: 500, maxDelayMs: 8_000 };

/**
 * Crash bookkeeping: restarts with a doubling delay, at most `maxRestarts` within a sliding
 * window, so a server that dies at start-up is not restarted forever, while one crash a day is.
 */
export class RestartPolicy {
  private crashes: number[] = [];

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  onCrash(now: number): RestartDecision {
    this.crashes = this.crashes.filter((t) => now - t < this.options.windowMs);
    this.crashes.push(now);
    const attempt = this.crashes.length;
    const { maxRestarts, windowMs, baseDelayMs, maxDelayMs } = this.options;
    if (attempt > maxRestarts) {
      const minutes = Math.round(windowMs / 60_000);
      return {
        restart: false,
        delayMs: 0,
        attempt,
        message: `ems: the language server crashed ${attempt} times in ${minutes} minutes and will not be restarted. See the ems output; run "ems: Restart the language server" when fixed.`,
      };
    }
    const delayMs = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    return {
      restart: true,
      delayMs,
      attempt,
      message: `ems: the language server crashed; restarting it (attempt ${attempt} of ${maxRestarts}).`,
    };
  }

  /** A manual restart starts counting afresh. */
  reset(): void {
    this.crashes = [];
  }
}
