/**
 * A simulated Cisco ISE ERS API (response.md §1, `data/vendors/cisco_ise/`): endpoint lookup by MAC
 * (`filter=mac.EQ.<MAC>`; `EQUALS` is a 400 as on real ISE), endpoint GET, ANC policies, ANC
 * apply/clear (`PUT /ers/config/ancendpoint/apply|clear` with `OperationAdditionalData`), and the
 * ANC endpoint list and GET used to read the assignment back. Basic auth; 401 otherwise.
 *
 * Failure modes besides the common ones: `ignoreApply` answers 204 to apply and changes nothing (the
 * "2xx is not proof" case), `ignoreClear` likewise for clear.
 *
 * Repeated operations (response.md §0.4: "a repeated apply/clear may answer success or an 'already
 * applied / not associated' error"): clearing an endpoint without a policy is a 400 "mac address is
 * not associated with a policy" (the pxGrid text). ASSUMED, the stricter of the documented
 * possibilities: applying the policy an endpoint already carries is a 400 "…is already associated
 * with policy …". ASSUMED (one ANC policy per endpoint): applying a different policy replaces the
 * current one; `modes.refuseReplace` makes it a 400 instead, to test the other possibility.
 */
import { createHash } from "node:crypto";
import { basicUser, json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface IseSimulator extends LoopbackServer {
  username: string;
  password: string;
  /** MAC (upper-case, colons) → ANC policy currently applied. */
  anc: Map<string, string>;
  modes: { ignoreApply: boolean; ignoreClear: boolean; refuseReplace: boolean };
  /** Endpoints ISE knows (upper-case, colon-separated MACs); empty = every MAC. */
  endpoints: Set<string>;
}

const uuidOf = (s: string) => {
  const h = createHash("sha1").update(s).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

export async function startIseSimulator(
  options: { endpoints?: Iterable<string>; policies?: string[]; port?: number } = {},
): Promise<IseSimulator> {
  const username = "ers-admin";
  const password = "ers-password-sim";
  const anc = new Map<string, string>();
  const endpoints = new Set([...(options.endpoints ?? [])].map((m) => m.toUpperCase().replace(/-/g, ":")));
  const policies = options.policies ?? ["IOMT_QUARANTINE", "IOMT_RESTRICTED"];
  const modes = { ignoreApply: false, ignoreClear: false, refuseReplace: false };
  const known = (mac: string) => endpoints.size === 0 || endpoints.has(mac);
  const ancIds = () => [...anc.keys()].map((mac) => ({ mac, id: uuidOf(`anc-${mac}`) }));
  const base = await startLoopback(
    (req): SimReply => {
      const u = basicUser(req.headers);
      if (!u || u.user !== username || u.password !== password)
        return { status: 401, text: "<html><body>401 Unauthorized</body></html>" };
      const p = req.path;
      if (req.method === "GET" && p === "/ers/config/endpoint") {
        const filter = req.query.get("filter") ?? "";
        const m = /^mac\.([A-Z]+)\.(.+)$/.exec(filter);
        if (!m)
          return {
            status: 400,
            body: { ERSResponse: { messages: [{ title: "Filter is required", type: "ERROR" }] } },
          };
        if (m[1] !== "EQ")
          return {
            status: 400,
            body: {
              ERSResponse: { messages: [{ title: "The filter operator is incorrect", type: "ERROR" }] },
            },
          };
        const mac = (m[2] as string).toUpperCase();
        const resources = known(mac)
          ? [
              {
                id: uuidOf(mac),
                name: mac,
                link: { rel: "self", href: `/ers/config/endpoint/${uuidOf(mac)}`, type: "application/json" },
              },
            ]
          : [];
        return { status: 200, body: { SearchResult: { total: resources.length, resources } } };
      }
      const ep = /^\/ers\/config\/endpoint\/([0-9a-f-]+)$/.exec(p);
      if (req.method === "GET" && ep) {
        const mac = [...endpoints].find((x) => uuidOf(x) === ep[1]);
        if (!mac)
          return {
            status: 404,
            body: { ERSResponse: { messages: [{ title: "Resource not found", type: "ERROR" }] } },
          };
        return {
          status: 200,
          body: {
            ERSEndPoint: {
              id: ep[1],
              name: mac,
              mac,
              staticProfileAssignment: false,
              customAttributes: { customAttributes: {} },
            },
          },
        };
      }
      if (req.method === "GET" && p === "/ers/config/ancpolicy")
        return {
          status: 200,
          body: {
            SearchResult: {
              total: policies.length,
              resources: policies.map((n) => ({ id: uuidOf(n), name: n })),
            },
          },
        };
      if (
        req.method === "PUT" &&
        (p === "/ers/config/ancendpoint/apply" || p === "/ers/config/ancendpoint/clear")
      ) {
        const body = json(req.body) as
          | { OperationAdditionalData?: { additionalData?: { name: string; value: string }[] } }
          | undefined;
        const data = body?.OperationAdditionalData?.additionalData;
        if (!Array.isArray(data))
          return {
            status: 400,
            body: { ERSResponse: { messages: [{ title: "Invalid request body", type: "ERROR" }] } },
          };
        const get = (n: string) => data.find((d) => d.name === n)?.value;
        const mac = get("macAddress")?.toUpperCase();
        if (!mac)
          return {
            status: 400,
            body: { ERSResponse: { messages: [{ title: "macAddress is required", type: "ERROR" }] } },
          };
        if (p.endsWith("/apply")) {
          const policy = get("policyName");
          if (!policy || !policies.includes(policy))
            return {
              status: 400,
              body: {
                ERSResponse: { messages: [{ title: `Policy ${policy} does not exist`, type: "ERROR" }] },
              },
            };
          const current = anc.get(mac);
          if (current !== undefined && (current === policy || modes.refuseReplace))
            return {
              status: 400,
              body: {
                ERSResponse: {
                  messages: [
                    { title: `Endpoint ${mac} is already associated with policy ${current}`, type: "ERROR" },
                  ],
                },
              },
            };
          if (!modes.ignoreApply) anc.set(mac, policy);
          return { status: 204 };
        }
        if (!anc.has(mac))
          return {
            status: 400,
            body: {
              ERSResponse: {
                messages: [{ title: "mac address is not associated with a policy", type: "ERROR" }],
              },
            },
          };
        if (!modes.ignoreClear) anc.delete(mac);
        return { status: 204 };
      }
      if (req.method === "GET" && p === "/ers/config/ancendpoint") {
        const size = Math.min(100, Math.max(1, Number(req.query.get("size") ?? 20)));
        const page = Math.max(1, Number(req.query.get("page") ?? 1));
        let all = ancIds();
        const f = /^macAddress\.EQ\.(.+)$/.exec(req.query.get("filter") ?? "");
        if (req.query.get("filter") && !f)
          return {
            status: 400,
            body: {
              ERSResponse: { messages: [{ title: "The filter operator is incorrect", type: "ERROR" }] },
            },
          };
        if (f) all = all.filter((a) => a.mac === (f[1] as string).toUpperCase());
        const slice = all.slice((page - 1) * size, page * size);
        const result: Record<string, unknown> = {
          total: all.length,
          resources: slice.map((a) => ({
            id: a.id,
            link: { rel: "self", href: `/ers/config/ancendpoint/${a.id}` },
          })),
        };
        if (page * size < all.length)
          result.nextPage = { rel: "next", href: `/ers/config/ancendpoint?size=${size}&page=${page + 1}` };
        return { status: 200, body: { SearchResult: result } };
      }
      const ae = /^\/ers\/config\/ancendpoint\/([0-9a-f-]+)$/.exec(p);
      if (req.method === "GET" && ae) {
        const hit = ancIds().find((a) => a.id === ae[1]);
        if (!hit)
          return {
            status: 404,
            body: { ERSResponse: { messages: [{ title: "Resource not found", type: "ERROR" }] } },
          };
        return {
          status: 200,
          body: { ErsAncEndpoint: { id: hit.id, macAddress: hit.mac, policyName: anc.get(hit.mac) } },
        };
      }
      return {
        status: 404,
        body: { ERSResponse: { messages: [{ title: `no route ${req.method} ${p}`, type: "ERROR" }] } },
      };
    },
    { port: options.port, unauthorizedStatus: 401 },
  );
  return Object.assign(base, { username, password, anc, modes, endpoints });
}
