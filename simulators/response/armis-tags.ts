/**
 * The write side of an Armis tenant (monitors.md §3): token endpoint (JSON `secret_key` →
 * `{"data":{"access_token","expiration_utc"},"success":true}`; raw token in `Authorization`),
 * `POST` / `DELETE /api/v1/devices/{id}/tags/` with `{"tags":[…]}`, and `GET /api/v1/search/` for the
 * AQL forms the tag action uses (`in:devices deviceId:(…)`, `macAddress:(…)`, `ipAddress:(…)`) in the
 * search envelope `{"data":{"count","next","prev","results","total"},"success":true}`. Kept apart
 * from `simulators/armis/server.ts` (the read-only, fleet-streamed tenant of the connector) so the two
 * do not interfere.
 *
 * Failure modes besides the common ones: `expireTokens()` (the next call gets 401 "Invalid access
 * token"), `ignoreTagWrites` (200 `success: true`, nothing changes).
 *
 * ASSUMED (no public sample): adding a tag the device already carries and removing one it does not
 * carry both answer `success: true` and change nothing (the tag action reads the tags first and
 * sends neither, so a stricter tenant would not break it).
 */
import { randomBytes } from "node:crypto";
import { json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface ArmisTagDevice {
  id: number;
  macAddress: string;
  ipAddress: string;
  name?: string;
  tags: string[];
}

export interface ArmisTagSimulator extends LoopbackServer {
  secret: string;
  devices: Map<number, ArmisTagDevice>;
  modes: { ignoreTagWrites: boolean };
  expireTokens(): void;
}

const fail = (status: number, message: string): SimReply => ({ status, body: { message, success: false } });

export async function startArmisTagSimulator(
  options: { devices?: Omit<ArmisTagDevice, "tags">[]; port?: number } = {},
): Promise<ArmisTagSimulator> {
  const secret = `armis-sim-${randomBytes(10).toString("hex")}`;
  const tokens = new Map<string, number>();
  const devices = new Map<number, ArmisTagDevice>(
    (options.devices ?? []).map((d) => [
      d.id,
      { ...d, macAddress: d.macAddress.toLowerCase().replace(/-/g, ":"), tags: [] },
    ]),
  );
  const modes = { ignoreTagWrites: false };
  const base = await startLoopback(
    (req): SimReply => {
      const path = req.path.endsWith("/") ? req.path : `${req.path}/`;
      if (path === "/api/v1/access_token/" && req.method === "POST") {
        if (json(req.body)?.secret_key !== secret) return fail(401, "Invalid secret key");
        const t = randomBytes(16).toString("hex");
        const exp = Date.now() + 3_600_000;
        tokens.set(t, exp);
        return {
          status: 200,
          body: {
            data: { access_token: t, expiration_utc: new Date(exp).toISOString().replace("Z", "+00:00") },
            success: true,
          },
        };
      }
      const tok = req.headers.authorization ?? "";
      if ((tokens.get(tok) ?? 0) < Date.now()) return fail(401, "Invalid access token");
      if (path === "/api/v1/search/" && req.method === "GET") {
        const aql = req.query.get("aql") ?? "";
        const m = /^\s*in:devices\s+(deviceId|macAddress|ipAddress):\(([^)]*)\)\s*$/.exec(aql);
        if (!m) return fail(400, `Invalid AQL: ${aql}`);
        const values = (m[2] as string).split(",").map((v) => v.trim().toLowerCase());
        const results = [...devices.values()].filter((d) =>
          m[1] === "deviceId"
            ? values.includes(String(d.id))
            : m[1] === "macAddress"
              ? values.includes(d.macAddress)
              : values.includes(d.ipAddress),
        );
        return {
          status: 200,
          body: {
            data: {
              count: results.length,
              next: null,
              prev: null,
              results: results.map((d) => ({
                id: d.id,
                name: d.name ?? `device-${d.id}`,
                macAddress: d.macAddress,
                ipAddress: d.ipAddress,
                tags: [...d.tags],
              })),
              total: results.length,
            },
            success: true,
          },
        };
      }
      const tg = /^\/api\/v1\/devices\/([^/]+)\/tags\/$/.exec(path);
      if (tg && (req.method === "POST" || req.method === "DELETE")) {
        const d = devices.get(Number(tg[1]));
        if (!d) return fail(404, `Device ${tg[1]} not found`);
        const tags = json(req.body)?.tags;
        if (!Array.isArray(tags) || tags.length === 0 || tags.some((t) => typeof t !== "string" || !t))
          return fail(400, "tags must be a non-empty list of strings");
        if (!modes.ignoreTagWrites) {
          if (req.method === "POST")
            for (const t of tags as string[]) if (!d.tags.includes(t)) d.tags.push(t);
          if (req.method === "DELETE") d.tags = d.tags.filter((t) => !(tags as string[]).includes(t));
        }
        return { status: 200, body: { data: true, success: true } };
      }
      return fail(404, `Not found: ${req.path}`);
    },
    { port: options.port, unauthorizedBody: fail(401, "Invalid access token") },
  );
  return Object.assign(base, { secret, devices, modes, expireTokens: () => tokens.clear() });
}
