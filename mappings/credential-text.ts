/**
 * `medsoc.credential.*` from a monitor's free-text alert detail (DESIGN.md mapping contract): which
 * kind of password was observed, and the user name and password fingerprint when the text names
 * them (`Username: service; credential fingerprint: df-1a2b3c4d`). Pure; undefined when the text
 * says nothing about a credential.
 */
import { str } from "./values.ts";

export type ObservedCredential = "default" | "weak" | "hard_coded" | "shared";

export interface CredentialObservation {
  observed: ObservedCredential;
  username?: string;
  fingerprint?: string;
}

const PASSWORD_TYPE = /password type\s*[:=]\s*"?([a-z_-]+)/i;
const USERNAME = /\buser(?:name)?\s*[:=]\s*"?([^\s";,]+?)"?(?=[\s;,.]|$)/i;
const FINGERPRINT = /fingerprint\s*[:=]\s*"?([A-Za-z0-9_-]+)/i;

function kindOf(word: string): ObservedCredential | undefined {
  const w = word.toLowerCase().replace(/[\s-]/g, "_");
  if (w === "hard_coded" || w === "hardcoded") return "hard_coded";
  if (w === "shared") return "shared";
  if (w === "default") return "default";
  if (w === "weak" || w === "unique") return "weak";
  return undefined;
}

/**
 * Reads a credential observation from `text`. `isCredentialAlert` says the vendor's alert type is a
 * credential finding (xDome "Weak/Default Password"), which makes `weak` the fallback kind; without
 * it the text must itself speak of a default, weak, shared or hard-coded password or credential.
 */
export function credentialFromText(
  text: unknown,
  isCredentialAlert = false,
): CredentialObservation | undefined {
  const t = str(text) ?? "";
  let observed: ObservedCredential | undefined;
  const explicit = PASSWORD_TYPE.exec(t);
  if (explicit) observed = kindOf(explicit[1] as string);
  if (observed === undefined) {
    if (/hard[- ]?coded (?:password|credential)/i.test(t)) observed = "hard_coded";
    else if (/(?:password|credential)s? shared|shared (?:password|credential)/i.test(t)) observed = "shared";
    else if (/default (?:password|credential)/i.test(t)) observed = "default";
    else if (/weak (?:password|credential)/i.test(t)) observed = "weak";
    else if (isCredentialAlert) observed = "weak";
  }
  if (observed === undefined) return undefined;
  const out: CredentialObservation = { observed };
  const user = USERNAME.exec(t)?.[1];
  if (user) out.username = user;
  const fingerprint = FINGERPRINT.exec(t)?.[1];
  if (fingerprint) out.fingerprint = fingerprint;
  return out;
}
