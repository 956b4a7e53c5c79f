/**
 * The write side of a Claroty xDome tenant (monitors.md §2): static bearer token, `POST
 * /api/v1/custom-attributes/set` with `{target_specification: {target_type, filter_by},
 * custom_attribute_api_name, value}` (the body of guruevi/medigate_api `PublicSetCustomAttributeParams`;
 * `value: null` clears), and `POST /api/v1/devices/` with `fields`, a simple `filter_by`
 * (`uid in`, `mac_list contains`), `offset`/`limit` → `{devices: [...]}`. Validation errors are 422
 * with the FastAPI body `{"detail":[{"loc","msg","type"}]}` (`data/vendors/claroty_xdome/xsoar_error_422_response.json`);
 * `fields` is required, `limit` 0–5000, and an attribute that was never created is a 422.
 *
 * Assumed (no public sample): the response body of `custom-attributes/set` and that `devices/`
 * returns a custom attribute under its API name. Failure modes besides the common ones:
 * `ignoreSet` (200, nothing changes). ASSUMED: setting the value a device already has (or `null` on
 * an unset attribute) is a plain success (the action reads first and does not send it).
 */
import { randomBytes } from "node:crypto";
import { json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface XDomeAttributeDevice {
  uid: string;
  mac_list: string[];
  ip_list: string[];
  device_name?: string;
  custom: Record<string, string>;
}

export interface XDomeAttributeSimulator extends LoopbackServer {
  token: string;
  devices: Map<string, XDomeAttributeDevice>;
  /** API names of the custom attributes that exist. */
  attributes: Set<string>;
  modes: { ignoreSet: boolean };
}

const invalid = (loc: string[], msg: string, type = "value_error"): SimReply => ({
  status: 422,
  body: { detail: [{ loc, msg, type }] },
});

type Filter = { field?: string; operation?: string; value?: unknown };

export async function startXDomeAttributeSimulator(
  options: { devices?: Omit<XDomeAttributeDevice, "custom">[]; port?: number } = {},
): Promise<XDomeAttributeSimulator> {
  const token = `xdome-${randomBytes(12).toString("hex")}`;
  const devices = new Map<string, XDomeAttributeDevice>(
    (options.devices ?? []).map((d) => [
      d.uid,
      { ...d, mac_list: d.mac_list.map((m) => m.toLowerCase().replace(/-/g, ":")), custom: {} },
    ]),
  );
  const attributes = new Set(["medsoc_containment"]);
  const modes = { ignoreSet: false };
  const match = (f: Filter | undefined): XDomeAttributeDevice[] | SimReply => {
    if (!f?.field || !f.operation) return invalid(["body", "filter_by"], "field and operation are required");
    const all = [...devices.values()];
    if (f.field === "uid" && f.operation === "in" && Array.isArray(f.value))
      return all.filter((d) => (f.value as unknown[]).includes(d.uid));
    if (f.field === "uid" && f.operation === "equals") return all.filter((d) => d.uid === f.value);
    if (f.field === "mac_list" && (f.operation === "contains" || f.operation === "has_any_equals"))
      return all.filter((d) => d.mac_list.some((m) => m.includes(String(f.value).toLowerCase())));
    return invalid(["body", "filter_by", "operation"], `unsupported operation ${f.operation} for ${f.field}`);
  };
  const base = await startLoopback(
    (req): SimReply => {
      if (req.headers.authorization !== `Bearer ${token}`)
        return { status: 401, body: { detail: "Invalid token" } };
      if (req.method !== "POST") return { status: 405, body: { detail: "Method Not Allowed" } };
      const b = json(req.body);
      if (!b) return invalid(["body"], "body must be a JSON object", "type_error.dict");
      if (req.path === "/api/v1/devices/" || req.path === "/api/v1/devices") {
        if (!Array.isArray(b.fields) || b.fields.length === 0)
          return invalid(["body", "fields"], "field required", "value_error.missing");
        const limit = Number(b.limit ?? 100);
        if (!Number.isInteger(limit) || limit < 0 || limit > 5000)
          return invalid(["body", "limit"], "limit must be 0-5000");
        const hits = b.filter_by === undefined ? [...devices.values()] : match(b.filter_by as Filter);
        if (!Array.isArray(hits)) return hits;
        const offset = Number(b.offset ?? 0);
        const fields = b.fields as string[];
        const out = hits.slice(offset, offset + limit).map((d) => {
          const row: Record<string, unknown> = {};
          for (const f of fields)
            row[f] =
              f in d.custom || attributes.has(f)
                ? (d.custom[f] ?? null)
                : ((d as unknown as Record<string, unknown>)[f] ?? null);
          return row;
        });
        return { status: 200, body: { devices: out, ...(b.include_count ? { count: hits.length } : {}) } };
      }
      if (req.path === "/api/v1/custom-attributes/set") {
        const ts = b.target_specification as { target_type?: string; filter_by?: Filter } | undefined;
        if (ts?.target_type !== "devices")
          return invalid(["body", "target_specification", "target_type"], "target_type must be devices");
        const name = b.custom_attribute_api_name;
        if (typeof name !== "string" || !name)
          return invalid(["body", "custom_attribute_api_name"], "field required", "value_error.missing");
        if (!attributes.has(name))
          return invalid(["body", "custom_attribute_api_name"], `custom attribute ${name} does not exist`);
        if (!("value" in b) || (b.value !== null && typeof b.value !== "string"))
          return invalid(["body", "value"], "value must be a string or null");
        const hits = match(ts.filter_by);
        if (!Array.isArray(hits)) return hits;
        if (!modes.ignoreSet)
          for (const d of hits) {
            if (b.value === null) delete d.custom[name];
            else d.custom[name] = b.value as string;
          }
        return { status: 200, body: {} };
      }
      return { status: 404, body: { detail: "Not Found" } };
    },
    { port: options.port, unauthorizedBody: { status: 401, body: { detail: "Invalid token" } } },
  );
  return Object.assign(base, { token, devices, attributes, modes });
}
