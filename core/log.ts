import { type DestinationStream, type Logger, pino } from "pino";

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
}

/** Structured JSON logger with secret redaction. Logs read as sentences: `log.warn({ source, err }, "Token refresh failed.")`. */
export function createLogger(options: LogOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.MEDSOC_LOG_LEVEL ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      // Our errors already carry their context chain in the message ("polling armis/device: …");
      // the default serializer would append every cause's message again.
      serializers: { err: pino.stdSerializers.errWithCause },
      base: { service: "medsoc" },
    },
    options.destination ?? pino.destination(2),
  );
}

/** A logger that drops everything (tests and library defaults). */
export const silentLogger: Logger = pino({ level: "silent" });
