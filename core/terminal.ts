/**
 * What medsoc writes to a person at a terminal: the log format for a stream (readable lines on a
 * TTY, JSON for everything else: files, pipes, journald, CI) and a status line (progress of
 * `start --once`, `advisories import`, `report`) that log lines print above instead of through.
 */

/** The part of a stream the terminal helpers use (process.stderr, or a fake in tests). */
export interface TerminalStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export type LogFormat = "json" | "pretty";

/**
 * JSON unless the stream is a terminal; `MEDSOC_LOG_FORMAT=json|pretty` overrides either way (JSON
 * on a terminal for copying lines into a ticket, pretty through `less -R`).
 */
export function logFormatFor(stream: TerminalStream, env: NodeJS.ProcessEnv = process.env): LogFormat {
  const forced = env.MEDSOC_LOG_FORMAT;
  if (forced === "json" || forced === "pretty") return forced;
  return stream.isTTY ? "pretty" : "json";
}

/** Colours on a terminal unless NO_COLOR is set (https://no-color.org) or TERM is dumb. */
export function colorFor(stream: TerminalStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== "dumb";
}

const shown = new WeakMap<TerminalStream, string>();

function fit(stream: TerminalStream, text: string): string {
  const width = (stream.columns || 80) - 1; // 0 when the terminal reports no size
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}

/**
 * Writes `text` (whole lines) to the stream; when a status line is showing there, it is cleared
 * first and drawn again below, so a log line never lands in the middle of the progress display.
 */
export function writeAbove(stream: TerminalStream, text: string): void {
  const status = shown.get(stream);
  if (status === undefined) stream.write(text);
  else stream.write(`\r\x1b[K${text}${status}`);
}

export interface StatusLine {
  /** Replaces the line (cut to the terminal's width). */
  update(text: string): void;
  /** Removes the line; `final` stays on screen as an ordinary line. */
  stop(final?: string): void;
}

/**
 * A one-line progress display on a terminal; `undefined` when the stream is not one (a pipe or a
 * file gets no carriage-return animation, and commands print their results as usual).
 */
export function statusLine(stream: TerminalStream = process.stderr): StatusLine | undefined {
  if (!stream.isTTY) return undefined;
  let stopped = false;
  return {
    update(text) {
      if (stopped) return;
      const line = fit(stream, text);
      if (shown.get(stream) === line) return;
      shown.set(stream, line);
      stream.write(`\r${line}\x1b[K`);
    },
    stop(final) {
      if (stopped) return;
      stopped = true;
      if (shown.delete(stream)) stream.write("\r\x1b[K");
      if (final !== undefined) stream.write(`${fit(stream, final)}\n`);
    },
  };
}

/**
 * Runs `render` every `everyMs` into a status line until stopped (for counts kept elsewhere, such
 * as metrics). `stop()` draws once more and, with `keep`, leaves that last line on screen.
 */
export function pollStatus(
  status: StatusLine,
  render: () => string | Promise<string>,
  everyMs = 250,
): { stop(keep?: boolean): Promise<void> } {
  let last = "";
  const tick = async () => {
    last = await render();
    status.update(last);
  };
  const timer = setInterval(() => void tick().catch(() => undefined), everyMs);
  timer.unref?.();
  return {
    async stop(keep = false) {
      clearInterval(timer);
      await tick().catch(() => undefined);
      status.stop(keep ? last : undefined);
    },
  };
}
