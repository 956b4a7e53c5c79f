/**
 * A simulated FortiGate REST API (response.md §4, `data/vendors/fortigate/`): bearer API token and
 * `?vdom=`; the quarantine ban list (`monitor/user/banned/add_users|select|clear_users`, `expiry`
 * seconds with 0 = until cleared, entries without `expires` for permanent bans as in the sample) and
 * `cmdb/firewall/address` + `cmdb/firewall/addrgrp/{name}` (PUT replaces the member list; a member
 * that names no address object is refused) and the group's `member` child table
 * (`POST …/addrgrp/{name}/member` `{"name"}` adds one member, `DELETE …/addrgrp/{name}/member/{m}`
 * removes one; response.md §4: each is one change on the appliance, so concurrent writers do not
 * lose each other's members the way GET-append-PUT does).
 *
 * Errors as FortiOS answers them (XSOAR/FortiOS clients): a duplicate object or child entry is
 * HTTP 500 `error: -5`, a missing one HTTP 404 `error: -3`, deleting an address still used by a
 * group HTTP 500 `error: -23`. ASSUMED (no public sample): the child-table paths answer with the
 * same write envelope as the table, and `add_users` on an IP already banned answers success and
 * keeps the earlier entry's `created`/`expires`. Envelopes as in the XSOAR test data: reads
 * `{http_method, results, vdom, path, name, status, serial, version, build}`, writes
 * `{http_method, revision, revision_changed, old_revision, mkey, status, http_status, …}`.
 *
 * Failure modes besides the common ones: `ignoreBan` answers success to `add_users` and bans nothing.
 */
import { randomBytes } from "node:crypto";
import { json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface FortiGateSimulator extends LoopbackServer {
  token: string;
  /** IP → {created, expires} (epoch seconds; `expires` absent = until cleared). */
  banned: Map<string, { created: number; expires?: number }>;
  addresses: Map<string, string>;
  groups: Map<string, string[]>;
  modes: { ignoreBan: boolean };
}

const META = { vdom: "root", serial: "FGVM00SIM0000001", version: "v7.2.5", build: 1517 };

export async function startFortiGateSimulator(
  options: { port?: number; groups?: string[] } = {},
): Promise<FortiGateSimulator> {
  const token = `fg-${randomBytes(12).toString("hex")}`;
  const banned: FortiGateSimulator["banned"] = new Map();
  const addresses = new Map<string, string>();
  const groups = new Map<string, string[]>(
    (options.groups ?? ["IoMT-Restricted", "IoMT-Clinical-Servers"]).map((g) => [g, []]),
  );
  const modes = { ignoreBan: false };
  let revision = 1000;
  const read = (
    path: string,
    name: string,
    results: unknown,
    extra: Record<string, unknown> = {},
  ): SimReply => ({
    status: 200,
    body: { http_method: "GET", results, path, name, status: "success", ...extra, ...META },
  });
  const write = (method: string, path: string, name: string, mkey?: string): SimReply => {
    const old = revision++;
    return {
      status: 200,
      body: {
        http_method: method,
        revision: String(revision),
        revision_changed: true,
        old_revision: String(old),
        ...(mkey ? { mkey } : {}),
        status: "success",
        http_status: 200,
        path,
        name,
        ...META,
      },
    };
  };
  const error = (method: string, httpStatus: number, code: number, path: string, name: string): SimReply => ({
    status: httpStatus,
    body: { http_method: method, status: "error", http_status: httpStatus, error: code, path, name, ...META },
  });
  const base = await startLoopback(
    (req): SimReply => {
      if (req.headers.authorization !== `Bearer ${token}`) return { status: 401, text: "" };
      if ((req.query.get("vdom") ?? "root") !== "root") return error(req.method, 400, -3, "", "");
      const p = req.path;
      const now = Math.floor(Date.now() / 1000);
      for (const [ip, b] of banned) if (b.expires !== undefined && b.expires <= now) banned.delete(ip);
      if (req.method === "GET" && p === "/api/v2/monitor/user/banned/select")
        return read(
          "user",
          "banned",
          [...banned].map(([ip, b]) => ({
            ...(b.expires !== undefined ? { expires: b.expires } : {}),
            created: b.created,
            ip_address: ip,
            source: "Administrative",
            ipv6: ip.includes(":") ? 1 : 0,
          })),
          { action: "select" },
        );
      if (
        req.method === "POST" &&
        (p === "/api/v2/monitor/user/banned/add_users" || p === "/api/v2/monitor/user/banned/clear_users")
      ) {
        const b = json(req.body);
        const ips = b?.ip_addresses;
        if (!Array.isArray(ips) || ips.some((x) => typeof x !== "string"))
          return error("POST", 400, -651, "user", "banned");
        if (p.endsWith("add_users")) {
          const expiry = Number(b?.expiry ?? 0);
          if (!Number.isInteger(expiry) || expiry < 0) return error("POST", 400, -651, "user", "banned");
          if (!modes.ignoreBan)
            for (const ip of ips as string[])
              if (!banned.has(ip))
                banned.set(ip, { created: now, ...(expiry > 0 ? { expires: now + expiry } : {}) });
        } else for (const ip of ips as string[]) banned.delete(ip);
        return {
          status: 200,
          body: {
            http_method: "POST",
            results: {},
            path: "user",
            name: "banned",
            status: "success",
            http_status: 200,
            ...META,
          },
        };
      }
      if (p === "/api/v2/cmdb/firewall/address" && req.method === "POST") {
        const b = json(req.body);
        const name = String(b?.name ?? "");
        if (!name || typeof b?.subnet !== "string") return error("POST", 400, -651, "firewall", "address");
        if (addresses.has(name)) return error("POST", 500, -5, "firewall", "address");
        addresses.set(name, b.subnet as string);
        return write("POST", "firewall", "address", name);
      }
      const addr = /^\/api\/v2\/cmdb\/firewall\/address\/([^/]+)$/.exec(p);
      if (addr) {
        const name = decodeURIComponent(addr[1] as string);
        if (!addresses.has(name)) return error(req.method, 404, -3, "firewall", "address");
        if (req.method === "GET")
          return read("firewall", "address", [{ name, type: "ipmask", subnet: addresses.get(name) }]);
        if (req.method === "DELETE") {
          if ([...groups.values()].some((m) => m.includes(name)))
            return error("DELETE", 500, -23, "firewall", "address");
          addresses.delete(name);
          return write("DELETE", "firewall", "address", name);
        }
      }
      const child = /^\/api\/v2\/cmdb\/firewall\/addrgrp\/([^/]+)\/member(?:\/([^/]+))?$/.exec(p);
      if (child) {
        const name = decodeURIComponent(child[1] as string);
        const members = groups.get(name);
        if (!members) return error(req.method, 404, -3, "firewall", "addrgrp");
        if (req.method === "POST" && !child[2]) {
          const m = String(json(req.body)?.name ?? "");
          if (!m) return error("POST", 400, -651, "firewall", "addrgrp");
          if (!addresses.has(m)) return error("POST", 400, -3, "firewall", "addrgrp");
          if (members.includes(m)) return error("POST", 500, -5, "firewall", "addrgrp");
          members.push(m);
          return write("POST", "firewall", "addrgrp", m);
        }
        if (req.method === "DELETE" && child[2]) {
          const m = decodeURIComponent(child[2]);
          const at = members.indexOf(m);
          if (at < 0) return error("DELETE", 404, -3, "firewall", "addrgrp");
          members.splice(at, 1);
          return write("DELETE", "firewall", "addrgrp", m);
        }
        if (req.method === "GET")
          return read(
            "firewall",
            "addrgrp",
            members.map((m) => ({ name: m, q_origin_key: m })),
          );
      }
      const grp = /^\/api\/v2\/cmdb\/firewall\/addrgrp\/([^/]+)$/.exec(p);
      if (grp) {
        const name = decodeURIComponent(grp[1] as string);
        const members = groups.get(name);
        if (!members) return error(req.method, 404, -3, "firewall", "addrgrp");
        if (req.method === "GET")
          return read(
            "firewall",
            "addrgrp",
            [
              {
                name,
                q_origin_key: name,
                member: members.map((m) => ({ name: m, q_origin_key: m })),
                comment: "",
              },
            ],
            { size: 1, matched_count: 1, next_idx: 0, revision: String(revision) },
          );
        if (req.method === "PUT") {
          const list = json(req.body)?.member;
          if (!Array.isArray(list)) return error("PUT", 400, -651, "firewall", "addrgrp");
          const names = list.map((m) => String((m as { name?: string }).name ?? ""));
          if (names.some((n) => !addresses.has(n))) return error("PUT", 400, -3, "firewall", "addrgrp");
          groups.set(name, names);
          return write("PUT", "firewall", "addrgrp", name);
        }
      }
      return error(req.method, 404, -3, "", "");
    },
    { port: options.port, unauthorizedBody: { status: 401, text: "" } },
  );
  return Object.assign(base, { token, banned, addresses, groups, modes });
}
