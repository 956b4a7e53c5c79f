/**
 * Forescout eyeControl containment through Data Exchange (response.md §5): a DEX host property set
 * with `POST /fsapi/niCore/Hosts` (XML `FSAPI` `TRANSACTION TYPE="update"`, `HOST_KEY NAME="ip"`,
 * HTTP Basic with the DEX web-service account); the eyeControl policy the customer built on the
 * property does the blocking (the restricted value's policy keeps the clinical servers reachable).
 * The XML answer's `CODE` decides success (HTTP 200 alone does not). The value is read back through
 * the eyeSight Web API (`POST /api/login` → JWT, `GET /api/hosts/ip/{ip}?fields=<property>`); undo is
 * `TRANSACTION TYPE="delete"` of the property, read back as absent.
 */
import { XMLParser } from "fast-xml-parser";
import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import { PermanentError } from "../../core/errors.ts";
import type { IssuedToken } from "../../core/token-cache.ts";
import { actionTokens, type CallResponse, call, withToken } from "./http.ts";
import { type Action, type ActionContext, defineSystem, needIp, UnknownDeviceError } from "./types.ts";

/** `playbooks.systems.forescout` as parsed (declared once, below: `forescoutConfigSchema`). */
export type ForescoutConfig = z.output<typeof forescoutConfigSchema>;

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" });
const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

const input = z.strictObject({
  ips: z.array(z.string().min(1)).min(1),
  mode: z.enum(["full", "restricted"]),
  clinicalServers: z.array(z.string()).default([]),
});
type Input = z.infer<typeof input>;
type Output = {
  ips: string[];
  property: string;
  value: string;
  /** Hosts that already had this value before the step: undo leaves them. */
  preexisting?: string[];
  /** Other values hosts had before the step (restricted, before a full isolation): undo puts them back. */
  previous?: Record<string, string>;
};

class ForescoutClient {
  // The JWT is good for about 5 minutes (XSOAR reuses it that long); renewed 30 s earlier.
  readonly #tokens = actionTokens((ctx) => this.#login(ctx), 30_000);
  constructor(readonly c: ForescoutConfig) {}

  dexXml(kind: "update" | "delete", ip: string, value?: string): string {
    const prop =
      kind === "update"
        ? `<PROPERTY NAME="${esc(this.c.property)}"><VALUE>${esc(value ?? "")}</VALUE></PROPERTY>`
        : `<PROPERTY NAME="${esc(this.c.property)}"/>`;
    return `<?xml version="1.0" encoding="UTF-8"?><FSAPI TYPE="request" API_VERSION="2.0"><TRANSACTION TYPE="${kind}"><OPTIONS CREATE_NEW_HOST="false"/><HOST_KEY NAME="ip" VALUE="${esc(ip)}"/><PROPERTIES>${prop}</PROPERTIES></TRANSACTION></FSAPI>`;
  }

  async dex(ctx: ActionContext, kind: "update" | "delete", ip: string, value?: string): Promise<string> {
    const context = `${kind === "update" ? "setting" : "deleting"} Forescout property ${this.c.property} on ${ip}`;
    const r = await call(ctx, {
      system: "forescout",
      method: "POST",
      url: new URL("/fsapi/niCore/Hosts", this.c.baseUrl).toString(),
      headers: {
        authorization: `Basic ${Buffer.from(`${this.c.dexUsername}:${this.c.dexPassword.reveal()}`).toString("base64")}`,
        accept: "application/xml",
      },
      body: this.dexXml(kind, ip, value),
      contentType: "application/xml",
      json: false,
      secrets: [this.c.dexPassword],
      context,
    });
    const doc = parser.parse(r.text) as { FSAPI?: { STATUS?: { CODE?: string; MESSAGE?: string } } };
    const status = doc.FSAPI?.STATUS;
    if (status?.CODE !== "FSAPI_OK")
      throw new PermanentError(
        `${context}: Forescout answered ${status?.CODE ?? "no CODE"}: ${status?.MESSAGE ?? r.text.slice(0, 200)}`,
      );
    return status.MESSAGE ?? "FSAPI_OK";
  }

  async #login(ctx: ActionContext): Promise<IssuedToken> {
    const r = await call(ctx, {
      system: "forescout",
      method: "POST",
      url: new URL("/api/login", this.c.baseUrl).toString(),
      body: new URLSearchParams({
        username: this.c.webUsername,
        password: this.c.webPassword.reveal(),
      }).toString(),
      contentType: "application/x-www-form-urlencoded",
      json: false,
      secrets: [this.c.webPassword],
      context: "logging in to the Forescout Web API",
    });
    const jwt = r.text.trim();
    if (!jwt) throw new PermanentError("logging in to the Forescout Web API: empty token");
    return { value: jwt, expiresAt: Date.now() + 300_000 };
  }

  /** The property's value on `ip`, or null when it is not set. */
  async read(ctx: ActionContext, ip: string): Promise<string | null> {
    const go = (token: string): Promise<CallResponse> =>
      call(ctx, {
        system: "forescout",
        method: "GET",
        url: new URL(
          `/api/hosts/ip/${encodeURIComponent(ip)}?fields=${encodeURIComponent(this.c.property)}`,
          this.c.baseUrl,
        ).toString(),
        headers: { authorization: token, accept: "application/hal+json" },
        secrets: [token, this.c.webPassword],
        context: `reading Forescout property ${this.c.property} of ${ip}`,
      });
    let r: CallResponse;
    try {
      r = await withToken(this.#tokens, ctx, go);
    } catch (error) {
      if (error instanceof PermanentError && /HTTP 404/.test(error.message))
        throw new UnknownDeviceError(`Forescout knows no host ${ip}`, { cause: error });
      throw error;
    }
    const f = (r.body as { host?: { fields?: Record<string, unknown> } })?.host?.fields?.[this.c.property];
    const v = Array.isArray(f) ? f[0] : f;
    const value = v && typeof v === "object" ? (v as { value?: unknown }).value : v;
    return value === undefined || value === null || value === "" ? null : String(value);
  }
}

export function forescoutActions(config: ForescoutConfig): Action[] {
  const fs = new ForescoutClient(config);
  const mark: Action<Input, Output> = {
    name: "forescout.mark",
    description:
      "Set the Forescout DEX host property of the containment mode (eyeControl policy blocks on it); read it back through the Web API; delete it on undo.",
    kind: "containment",
    input,
    async plan(i) {
      const value = config.values[i.mode];
      return {
        summary: `set Forescout property ${config.property}=${value} on ${i.ips.join(", ")}${i.mode === "restricted" ? ` (clinical servers ${i.clinicalServers.join(", ") || "none configured"} stay reachable by policy)` : ""}`,
        calls: i.ips.map((ip) => ({
          system: "forescout",
          method: "POST",
          url: `${config.baseUrl}/fsapi/niCore/Hosts`,
          body: fs.dexXml("update", ip, value),
        })),
      };
    },
    async execute(i, ctx) {
      const value = config.values[i.mode];
      const preexisting: string[] = [];
      const previous: Record<string, string> = {};
      for (const ip of i.ips) {
        const before = await fs.read(ctx, ip);
        // Already this value, or already stronger (full when restricted is asked): never loosen here.
        if (before === value || (value === config.values.restricted && before === config.values.full)) {
          preexisting.push(ip);
          continue;
        }
        if (before !== null && before !== undefined) previous[ip] = before;
        await fs.dex(ctx, "update", ip, value);
      }
      return { ips: i.ips, property: config.property, value, preexisting, previous };
    },
    async verify(_i, o, ctx) {
      const wrong: string[] = [];
      for (const ip of o.ips) {
        const got = await fs.read(ctx, ip);
        const holds = got === o.value || (o.value === config.values.restricted && got === config.values.full);
        if (!holds) wrong.push(`${ip}=${got ?? "unset"}`);
      }
      return wrong.length
        ? { ok: false, detail: `Forescout reads ${o.property} ${wrong.join(", ")} (expected ${o.value})` }
        : { ok: true, detail: `Forescout reads ${o.property}=${o.value} on ${o.ips.join(", ")}` };
    },
    async undo(_i, o, ctx) {
      for (const ip of o.ips) {
        if ((o.preexisting ?? []).includes(ip)) continue;
        const back = o.previous?.[ip];
        if (back === undefined) {
          await clear(ctx, ip);
          continue;
        }
        if ((await fs.read(ctx, ip)) !== back) await fs.dex(ctx, "update", ip, back);
        const now = await fs.read(ctx, ip);
        if (now !== back)
          throw new PermanentError(
            `Forescout reads ${config.property}=${now ?? "unset"} on ${ip} after restoring ${back}`,
          );
      }
    },
  };
  async function clear(ctx: ActionContext, ip: string): Promise<void> {
    if ((await fs.read(ctx, ip)) !== null) await fs.dex(ctx, "delete", ip);
    const left = await fs.read(ctx, ip);
    if (left !== null)
      throw new PermanentError(`Forescout still reads ${config.property}=${left} on ${ip} after delete`);
  }
  const unmark: Action<{ ips: string[] }, { ips: string[] }> = {
    name: "forescout.unmark",
    description: "Delete the Forescout containment property of the device IPs and read back that it is gone.",
    kind: "release",
    input: z.strictObject({ ips: z.array(z.string().min(1)).min(1) }),
    async plan(i) {
      return {
        summary: `delete Forescout property ${config.property} on ${i.ips.join(", ")}`,
        calls: i.ips.map((ip) => ({
          system: "forescout",
          method: "POST",
          url: `${config.baseUrl}/fsapi/niCore/Hosts`,
          body: fs.dexXml("delete", ip),
        })),
      };
    },
    async execute(i, ctx) {
      for (const ip of i.ips) await clear(ctx, ip);
      return { ips: i.ips };
    },
    async verify(_i, o, ctx) {
      for (const ip of o.ips) {
        const got = await fs.read(ctx, ip);
        if (got !== null)
          return { ok: false, detail: `Forescout still reads ${config.property}=${got} on ${ip}` };
      }
      return { ok: true, detail: `${config.property} unset on ${o.ips.join(", ")}` };
    },
  };
  return [mark as Action, unmark as Action];
}

const url = z.string().url();

/** `playbooks.systems.forescout`: Forescout DEX host property (eyeControl policy) + Web API read-back. */
export const forescoutConfigSchema = z.strictObject({
  baseUrl: url,
  dexUsername: z.string().min(1),
  dexPassword: secretSchema,
  webUsername: z.string().min(1),
  webPassword: secretSchema,
  /** @defaultValue "iomt_quarantine" */
  property: z.string().min(1).default("iomt_quarantine"),
  /** @defaultValue {full: "full", restricted: "restricted"} */
  values: z
    .strictObject({ full: z.string().default("full"), restricted: z.string().default("restricted") })
    .prefault({}),
});

/** Forescout DEX host property (eyeControl policy) + Web API read-back: the one declaration of this system (settings, actions, enforcement point). */
export const forescoutSystem = defineSystem({
  id: "forescout",
  title: "Forescout DEX host property (eyeControl policy) + Web API read-back.",
  config: forescoutConfigSchema,
  actions: ["forescout.mark", "forescout.unmark"],
  create: (config) => forescoutActions(config),
  stage: "monitor",
  enforcementPoint: {
    label: "Forescout property",
    keyedBy: "ip",
    apply: "forescout.mark",
    release: "forescout.unmark",
    applyInput: (t, mode, clinicalServers) => needIp(t) ?? { ips: t.ips, mode, clinicalServers },
    releaseInput: (t) => needIp(t) ?? { ips: t.ips },
  },
});
