/**
 * Authentication of the SIEM trigger routes BEFORE their body is read (issue 13 item 7). It runs as
 * a fastify `onRequest` hook, when only the method, URL and headers have arrived:
 *
 * - Splunk webhook with a path token (`/v1/triggers/splunk/{name}/{token}`): the token is checked
 *   in full.
 * - Kibana with `Authorization: Bearer …`: the token is checked in full.
 * - HMAC-signed requests (`/v1/triggers/splunk`, Kibana without a bearer token): the signature
 *   covers the body, so only what can be known without it is checked: both signature headers are
 *   present, the timestamp is a number inside the replay window, the signature is 64 hex digits, and
 *   a trigger that could verify it exists (the named one has an HMAC secret). The route verifies the
 *   signature after reading a body capped at `api.maxBodyBytes`.
 *
 * A refused request is answered at once with `Connection: close`, so a body still on its way is
 * never read.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { PlaybooksConfig } from "../playbooks/config.ts";

/** The replay window of signed triggers when the config gives none (`playbook-routes.ts` uses the same). */
const WINDOW_MS = 5 * 60_000;

function same(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Why the signature headers cannot belong to a valid request, or undefined when they might. */
function implausibleSignature(req: FastifyRequest, now: number, windowMs: number): string | undefined {
  const ts = header(req, "x-medsoc-timestamp");
  const sig = header(req, "x-medsoc-signature");
  if (!ts || !sig) return "missing signature headers";
  const t = Number(ts) * 1000;
  if (!Number.isFinite(t) || Math.abs(now - t) > windowMs)
    return `timestamp outside the ${windowMs / 1000}-second window (replay?)`;
  const hex = sig.startsWith("sha256=") ? sig.slice(7) : sig;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return "bad signature";
  return undefined;
}

/** The trigger family a route belongs to (`splunk`, `kibana`), or undefined for other routes. */
export function triggerSource(req: FastifyRequest): "splunk" | "kibana" | undefined {
  const url = req.routeOptions.url ?? "";
  if (url.startsWith("/v1/triggers/splunk")) return "splunk";
  if (url.startsWith("/v1/triggers/kibana")) return "kibana";
  return undefined;
}

/**
 * Why `req` (headers only) must be refused with 401, or undefined when it may proceed to the
 * body. Routes that are not trigger routes always proceed.
 */
export function preAuthenticateTrigger(
  req: FastifyRequest,
  config: PlaybooksConfig,
  now: number = Date.now(),
): string | undefined {
  const url = req.routeOptions.url ?? "";
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  if (url === "/v1/triggers/splunk/:name/:token" || url === "/v1/triggers/splunk/:token") {
    const token = params.token ?? "";
    const ok = config.triggers.splunk.some(
      (x) =>
        (params.name === undefined || x.name === params.name) &&
        x.pathToken &&
        same(token, x.pathToken.reveal()),
    );
    return ok ? undefined : "unknown trigger or wrong path token";
  }
  if (url === "/v1/triggers/splunk") {
    const name = header(req, "x-medsoc-trigger");
    const candidates = config.triggers.splunk.filter((x) => x.hmacSecret && (!name || x.name === name));
    if (candidates.length === 0) return "unknown trigger or no HMAC secret configured";
    return implausibleSignature(req, now, (config.triggers.replayWindowSeconds ?? WINDOW_MS / 1000) * 1000);
  }
  if (url === "/v1/triggers/kibana/:name" || url === "/v1/triggers/kibana") {
    const list = config.triggers.kibana.filter((x) => params.name === undefined || x.name === params.name);
    if (list.length === 0) return "unknown trigger";
    const auth = header(req, "authorization");
    if (auth?.startsWith("Bearer ")) {
      const token = auth.slice(7);
      return list.some((x) => x.bearerToken && same(token, x.bearerToken.reveal()))
        ? undefined
        : "wrong bearer token";
    }
    if (!list.some((x) => x.hmacSecret)) return "no credentials";
    if (!header(req, "x-medsoc-signature")) return "no credentials";
    return implausibleSignature(req, now, (config.triggers.replayWindowSeconds ?? WINDOW_MS / 1000) * 1000);
  }
  return undefined;
}
