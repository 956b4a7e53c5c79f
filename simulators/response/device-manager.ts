/**
 * A simulated device management server (the pump server that manages pump service credentials).
 * response.md §10: no public API exists for BD Alaris Systems Manager, Baxter Spectrum IQ, B. Braun
 * SpaceCom or Fresenius Agilia Link+, so this is medsoc's own model of a "credential target", not a
 * vendor shape: `POST /api/v1/devices/{mac}/credential` `{username, password}` changes the password,
 * `POST /api/v1/devices/{mac}/credential/verify` `{username, password}` → `{valid}`. Bearer auth.
 * Devices whose credential is hard-coded answer 422; `failPush` MACs answer 503 (device offline).
 * `applyThenFail` MACs apply the password and then answer 504 (a gateway timed out after the server
 * applied it: the ambiguous case); `failVerify` MACs answer 503 to the read-back.
 */
import { createHash, randomBytes } from "node:crypto";
import { json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface DeviceManagerSimulator extends LoopbackServer {
  token: string;
  /** MAC (upper-case, dashes) → sha256 of the current password. */
  passwords: Map<string, string>;
  /** MACs whose firmware has a fixed password (422). */
  hardCoded: Set<string>;
  /** MACs whose push fails (503 "device offline"). */
  failPush: Set<string>;
  /** MACs whose push answers 200 but changes nothing (the read-back catches it). */
  ignorePush: Set<string>;
  pushes: Map<string, number>;
  /** MACs whose push is applied, then answered 504 (the answer was lost after the change). */
  applyThenFail: Set<string>;
  /** MACs whose read-back answers 503. */
  failVerify: Set<string>;
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

export async function startDeviceManagerSimulator(
  options: { port?: number } = {},
): Promise<DeviceManagerSimulator> {
  const token = randomBytes(16).toString("hex");
  const passwords = new Map<string, string>();
  const hardCoded = new Set<string>();
  const failPush = new Set<string>();
  const ignorePush = new Set<string>();
  const pushes = new Map<string, number>();
  const applyThenFail = new Set<string>();
  const failVerify = new Set<string>();
  const base = await startLoopback(
    (req): SimReply => {
      if (req.headers.authorization !== `Bearer ${token}`)
        return { status: 401, body: { error: "invalid token" } };
      const m = /^\/api\/v1\/devices\/([0-9A-Fa-f:-]{17})\/credential(\/verify)?$/.exec(req.path);
      if (!m || req.method !== "POST") return { status: 404, body: { error: "not found" } };
      const mac = (m[1] as string).toUpperCase().replace(/:/g, "-");
      const b = json(req.body);
      if (typeof b?.username !== "string" || typeof b?.password !== "string")
        return { status: 400, body: { error: "username and password are required" } };
      if (m[2] && failVerify.has(mac)) return { status: 503, body: { error: "device offline" } };
      if (m[2]) return { status: 200, body: { mac, valid: passwords.get(mac) === sha(b.password) } };
      if (hardCoded.has(mac))
        return { status: 422, body: { error: "credential is fixed in firmware and cannot be changed" } };
      pushes.set(mac, (pushes.get(mac) ?? 0) + 1);
      if (failPush.has(mac)) return { status: 503, body: { error: "device offline" } };
      if (!ignorePush.has(mac)) passwords.set(mac, sha(b.password));
      if (applyThenFail.has(mac)) return { status: 504, body: { error: "gateway timeout" } };
      return { status: 200, body: { mac, status: "applied" } };
    },
    { port: options.port },
  );
  return Object.assign(base, {
    token,
    passwords,
    hardCoded,
    failPush,
    ignorePush,
    pushes,
    applyThenFail,
    failVerify,
  });
}
