import { type DestinationStream, type Logger, pino } from "pino";
import { prettyFactory } from "pino-pretty";
import { colorFor, type LogFormat, logFormatFor, type TerminalStream, writeAbove } from "./terminal.ts";

export type { Logger } from "pino";

/**
 * Paths that never reach a log line, whatever a caller passes. Secrets are also typed
 * (`core/secret.ts`) so they redact themselves; this list is the second net.
 */
export const REDACT_PATHS = [
  "password",
  "token",
  "secret",
  "secretKey",
  "secret_key",
  "apiKey",
  "api_key",
  "authorization",
  "*.password",
  "*.token",
  "*.secret",
  "*.secretKey",
  "*.secret_key",
  "*.apiKey",
  "*.api_key",
  "*.authorization",
  "*.Authorization",
  "headers.authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
];

export interface LogOptions {
  /** @defaultValue `process.env.MEDSOC_LOG_LEVEL ?? "info"` */
  level?: string;
  /** Where lines go. @defaultValue stderr (stdout is reserved for CLI output such as `medsoc normalize`). */
  destination?: DestinationStream;
  /**
   * `json`: one JSON object per line (files, pipes, log shippers); `pretty`: `[12:00:01] WARN: …`
   * lines for a person. @defaultValue `json` with a `destination`, else `logFormatFor(process.stderr)`:
   * pretty when stderr is a terminal, `MEDSOC_LOG_FORMAT=json|pretty` overrides.
   */
  format?: LogFormat;
}

/**
 * Readable log lines for a terminal (pino-pretty): time, level, message, then the fields on the same
 * line. An error shows as its message (our messages carry their context chain); the stack only at
 * debug level and below, or in JSON.
 */
export function prettyDestination(
  stream: TerminalStream,
  options: { colorize?: boolean; stacks?: boolean } = {},
): DestinationStream {
  const prettify = prettyFactory({
    colorize: options.colorize ?? colorFor(stream),
    translateTime: "SYS:HH:MM:ss",
    singleLine: true,
    ignore: options.stacks ? "pid,hostname,service" : "pid,hostname,service,err",
    messageFormat: (log, messageKey) => {
      const msg = String(log[messageKey] ?? "");
      const err = log.err as { message?: unknown } | undefined;
      return !options.stacks && err?.message ? `${msg} (${String(err.message)})` : msg;
    },
  });
  return { write: (line: string) => writeAbove(stream, prettify(line)) };
}

/** Structured JSON logger with secret redaction. Logs read as sentences: `log.warn({ source, err }, "Token refresh failed.")`. */
export function createLogger(options: LogOptions = {}): Logger {
  const level = options.level ?? process.env.MEDSOC_LOG_LEVEL ?? "info";
  const format = options.format ?? (options.destination ? "json" : logFormatFor(process.stderr));
  const destination =
    format === "pretty"
      ? prettyDestination(options.destination ?? process.stderr, {
          stacks: level === "debug" || level === "trace",
        })
      : (options.destination ?? pino.destination(2));
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      // Our errors already carry their context chain in the message ("polling armis/device: …");
      // the default serializer would append every cause's message again.
      serializers: { err: pino.stdSerializers.errWithCause },
      base: { service: "medsoc" },
    },
    destination,
  );
}

/** A logger that drops everything (tests and library defaults). */
export const silentLogger: Logger = pino({ level: "silent" });
