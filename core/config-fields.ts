import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { Secret } from "./secret.ts";

/**
 * Config fields shared by connectors and sinks, so every component types secrets and TLS the same way.
 */

/**
 * A secret: a plain string in the file (usually `${ENV_VAR}`), a `Secret` after parsing, so it
 * redacts itself in logs, errors and `JSON.stringify`. Parsing twice is harmless.
 */
export const secretSchema = z
  .union([z.string().min(1, "must not be empty"), z.instanceof(Secret)])
  .transform((v) => (v instanceof Secret ? v : new Secret(v)));

/** TLS settings of an outside connection (monitor API, Elasticsearch, HEC). */
export const tlsSchema = z.strictObject({
  /**
   * Verify the server certificate and host name. Only an explicit `false` turns it off (a lab
   * appliance with a self-signed certificate); it is never inferred. @defaultValue true
   */
  verify: z.boolean().default(true),
  /** PEM file with the CA that signed the server certificate (private PKI). @defaultValue the system CAs */
  caFile: z.string().min(1).optional(),
});

/** Reads the optional CA file of a TLS block; an unreadable file is a config error at `<component>.tls.caFile`. */
export function readCa(tls: { caFile?: string | undefined }, component: string): string | undefined {
  if (!tls.caFile) return undefined;
  try {
    return readFileSync(tls.caFile, "utf8");
  } catch (error) {
    throw new ConfigError([
      { path: `${component}.tls.caFile`, message: `reading ${tls.caFile}: ${(error as Error).message}` },
    ]);
  }
}
