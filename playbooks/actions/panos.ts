/**
 * PAN-OS containment with User-ID IP tags (response.md §3): register the device IP with the tag of
 * the containment mode (a Dynamic Address Group per tag, referenced by a deny rule — `restricted`
 * additionally allows the clinical-server group), with a `timeout` as the safety net; read the
 * registered IPs back; unregister on undo. The API key comes from `type=keygen` (POST form, so the
 * password never sits in a URL) and is fetched again once on "Invalid credential".
 *
 * Idempotency: a firewall answers a register of a tag the IP already carries, and an unregister of
 * one it does not carry, with `status="error"` and per-entry messages "tag T already exists,
 * ignore" / "tag T does not exist, ignore unreg" (pan-python pull request #1; pan-os-python
 * `UserId.send` ignores exactly these). They mean "already done": accepted when EVERY listed entry
 * is one of them, then the read-back decides. Any other entry message fails the call. IPs that
 * already carried the tag before this step are recorded (`preexisting`) and left alone by undo: they
 * were contained by someone else (another run, an operator), not by this step.
 */
import { XMLParser } from "fast-xml-parser";
import { z } from "zod";
import { UnauthorizedError } from "../../connectors/http.ts";
import { secretSchema } from "../../core/config-fields.ts";
import { PermanentError } from "../../core/errors.ts";
import { Secret } from "../../core/secret.ts";
import { call } from "./http.ts";
import type { Action, ActionContext } from "./types.ts";
import { defineSystem, needIp } from "./types.ts";

/** `playbooks.systems.panos` as parsed (declared once, below: `panosConfigSchema`). */
export type PanosConfig = z.output<typeof panosConfigSchema>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  isArray: (n) => ["entry", "member"].includes(n),
});

const input = z.strictObject({
  ips: z.array(z.string().min(1)).min(1),
  mode: z.enum(["full", "restricted"]),
  clinicalServers: z.array(z.string()).default([]),
  /** Overrides the configured tag timeout (seconds). */
  timeoutSeconds: z.number().int().min(0).max(2_592_000).optional(),
});
type Input = z.infer<typeof input>;
type Output = {
  ips: string[];
  tag: string;
  clinicalServers: string[];
  /** IPs that carried the tag before this step (the firewall said "already exists"): undo keeps them. */
  preexisting?: string[];
};

/** One entry of a User-ID error answer. */
export interface UidIgnored {
  ip: string;
  message: string;
  /** `exists`: register of a tag already there; `absent`: unregister of a tag not there. */
  kind: "exists" | "absent" | "other";
}

/** The `<entry ip message>` elements of a User-ID error answer (`<msg><line><uid-response>…`). */
export function uidEntries(text: string): UidIgnored[] {
  if (!/<uid-response>/.test(text)) return [];
  const out: UidIgnored[] = [];
  for (const m of text.matchAll(/<entry\s+ip="([^"]*)"\s+message="([^"]*)"\s*\/?>/g)) {
    const message = m[2] as string;
    const kind = /already exists, ignore$/.test(message)
      ? "exists"
      : /does not exist, ignore unreg$/.test(message)
        ? "absent"
        : "other";
    out.push({ ip: m[1] as string, message, kind });
  }
  return out;
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

class PanosClient {
  #key?: Secret;
  constructor(readonly c: PanosConfig) {}
  async #keygen(ctx: ActionContext): Promise<void> {
    const r = await call(ctx, {
      system: "panos",
      method: "POST",
      url: new URL("/api/", this.c.baseUrl).toString(),
      body: new URLSearchParams({
        type: "keygen",
        user: this.c.username,
        password: this.c.password.reveal(),
      }).toString(),
      contentType: "application/x-www-form-urlencoded",
      json: false,
      secrets: [this.c.password],
      context: "requesting a PAN-OS API key",
    });
    const key = /<key>([^<]+)<\/key>/.exec(r.text)?.[1];
    if (!key) throw new PermanentError(`requesting a PAN-OS API key: ${this.#msg(r.text)}`);
    this.#key = new Secret(key);
  }
  #msg(text: string) {
    return (
      /<msg>([\s\S]*?)<\/msg>/
        .exec(text)?.[1]
        ?.replace(/<[^>]+>/g, " ")
        .trim() ?? text.slice(0, 200)
    );
  }
  /**
   * Sends one XML API request. For `type=user-id`, an error answer whose every entry is "already
   * exists, ignore" / "does not exist, ignore unreg" is returned (as `ignored`) instead of thrown.
   */
  async api(ctx: ActionContext, params: Record<string, string>, context: string): Promise<string> {
    return (await this.apiResult(ctx, params, context)).text;
  }
  async apiResult(
    ctx: ActionContext,
    params: Record<string, string>,
    context: string,
  ): Promise<{ text: string; ignored: UidIgnored[] }> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.#key) await this.#keygen(ctx);
      const key = this.#key as Secret;
      const form = new URLSearchParams({
        ...params,
        key: key.reveal(),
        ...(this.c.vsys ? { vsys: this.c.vsys } : {}),
      });
      let text: string;
      try {
        text = (
          await call(ctx, {
            system: "panos",
            method: "POST",
            url: new URL("/api/", this.c.baseUrl).toString(),
            body: form.toString(),
            contentType: "application/x-www-form-urlencoded",
            json: false,
            secrets: [key, this.c.password],
            context,
          })
        ).text;
      } catch (error) {
        if (error instanceof UnauthorizedError && attempt === 0) {
          this.#key = undefined;
          continue;
        }
        throw error;
      }
      if (/status="success"/.test(text)) return { text, ignored: [] };
      if (/code="403"|Invalid credential/i.test(text) && attempt === 0) {
        this.#key = undefined;
        continue;
      }
      const uid = params.type === "user-id" ? uidEntries(text) : [];
      if (uid.length && uid.every((e) => e.kind !== "other")) return { text, ignored: uid };
      const detail = uid.length
        ? uid
            .filter((e) => e.kind === "other")
            .map((e) => `${e.ip}: ${e.message}`)
            .join("; ")
        : this.#msg(text);
      throw new PermanentError(`${context}: PAN-OS error: ${detail}`);
    }
    throw new PermanentError(`${context}: PAN-OS refused the API key twice`);
  }
  uid(kind: "register" | "unregister", ips: string[], tag: string, timeout = 0): string {
    const member =
      kind === "register" && timeout > 0
        ? `<member timeout="${timeout}">${esc(tag)}</member>`
        : `<member>${esc(tag)}</member>`;
    const entries = ips
      .map(
        (ip) =>
          `<entry ip="${esc(ip)}"${kind === "register" ? ' persistent="1"' : ""}><tag>${member}</tag></entry>`,
      )
      .join("");
    return `<uid-message><version>2.0</version><type>update</type><payload><${kind}>${entries}</${kind}></payload></uid-message>`;
  }
  /**
   * The IPs of `ips` that carry `tag`, read back one IP at a time
   * (`<registered-ip><ip>…</ip></registered-ip>`): each answer is that IP's entry alone, so the
   * read-back never depends on paging through every IP registered under a busy tag (PAN-OS 8.0+
   * pages that list 500 at a time).
   */
  async registered(ctx: ActionContext, tag: string, ips: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const ip of ips) if ((await this.tagsOn(ctx, ip)).includes(tag)) out.add(ip);
    return out;
  }
  /** Every tag registered on `ip`. */
  async tagsOn(ctx: ActionContext, ip: string): Promise<string[]> {
    const text = await this.api(
      ctx,
      { type: "op", cmd: `<show><object><registered-ip><ip>${esc(ip)}</ip></registered-ip></object></show>` },
      `reading the tags registered on ${ip}`,
    );
    const doc = parser.parse(text) as {
      response?: {
        result?: { entry?: { "@ip": string; tag?: { member?: (string | { "#text": string })[] } }[] };
      };
    };
    return (doc.response?.result?.entry ?? [])
      .filter((e) => e["@ip"] === ip)
      .flatMap((e) => (e.tag?.member ?? []).map((m) => (typeof m === "string" ? m : m["#text"])));
  }
}

export function panosActions(config: PanosConfig): Action[] {
  const fw = new PanosClient(config);
  const tagOf = (i: Input) => config.tags[i.mode];
  const tag: Action<Input, Output> = {
    name: "panos.tag",
    description:
      "Register the device IPs with the PAN-OS User-ID tag of the containment mode (expiring); read back; unregister on undo.",
    kind: "containment",
    input,
    async plan(i) {
      const t = tagOf(i);
      return {
        summary: `tag ${i.ips.join(", ")} with ${t} on PAN-OS for ${i.timeoutSeconds ?? config.timeoutSeconds} s${i.mode === "restricted" ? ` (clinical servers ${i.clinicalServers.join(", ") || "none configured"} tagged ${config.clinicalServerTag})` : ""}`,
        calls: [
          {
            system: "panos",
            method: "POST",
            url: `${config.baseUrl}/api/ type=user-id`,
            body: fw.uid("register", i.ips, t, i.timeoutSeconds ?? config.timeoutSeconds),
          },
        ],
      };
    },
    async execute(i, ctx) {
      const t = tagOf(i);
      const timeout = i.timeoutSeconds ?? config.timeoutSeconds;
      if (i.mode === "restricted" && i.clinicalServers.length)
        await fw.api(
          ctx,
          { type: "user-id", cmd: fw.uid("register", i.clinicalServers, config.clinicalServerTag) },
          "tagging clinical servers",
        );
      const r = await fw.apiResult(
        ctx,
        { type: "user-id", cmd: fw.uid("register", i.ips, t, timeout) },
        `registering tag ${t}`,
      );
      // ASSUMED: "already exists" leaves the existing registration (and its timeout) as it was.
      const preexisting = r.ignored.filter((e) => e.kind === "exists").map((e) => e.ip);
      return {
        ips: i.ips,
        tag: t,
        clinicalServers: i.mode === "restricted" ? i.clinicalServers : [],
        preexisting,
      };
    },
    async verify(_i, o, ctx) {
      const got = await fw.registered(ctx, o.tag, o.ips);
      const missing = o.ips.filter((ip) => !got.has(ip));
      return missing.length
        ? {
            ok: false,
            detail: `PAN-OS does not list ${missing.join(", ")} under tag ${o.tag}`,
            observed: [...got].slice(0, 50),
          }
        : { ok: true, detail: `PAN-OS lists ${o.ips.join(", ")} under tag ${o.tag}` };
    },
    async undo(_i, o, ctx) {
      // Only what this step registered: a tag that was already there belongs to someone else.
      // The clinical servers' tag is shared by every restricted device and is never removed here.
      const mine = o.ips.filter((ip) => !(o.preexisting ?? []).includes(ip));
      if (!mine.length) return;
      await fw.api(
        ctx,
        { type: "user-id", cmd: fw.uid("unregister", mine, o.tag) },
        `unregistering tag ${o.tag}`,
      );
      const got = await fw.registered(ctx, o.tag, mine);
      const left = mine.filter((ip) => got.has(ip));
      if (left.length)
        throw new PermanentError(`PAN-OS still lists ${left.join(", ")} under ${o.tag} after unregister`);
    },
  };
  const untag: Action<{ ips: string[] }, { ips: string[] }> = {
    name: "panos.untag",
    description:
      "Unregister the device IPs from both containment tags on PAN-OS and read back that none is left.",
    kind: "release",
    input: z.strictObject({ ips: z.array(z.string().min(1)).min(1) }),
    async plan(i) {
      return {
        summary: `unregister ${i.ips.join(", ")} from ${config.tags.full} and ${config.tags.restricted}`,
        calls: [
          {
            system: "panos",
            method: "POST",
            url: `${config.baseUrl}/api/ type=user-id`,
            body: fw.uid("unregister", i.ips, config.tags.full),
          },
        ],
      };
    },
    async execute(i, ctx) {
      for (const t of [config.tags.full, config.tags.restricted])
        await fw.api(ctx, { type: "user-id", cmd: fw.uid("unregister", i.ips, t) }, `unregistering tag ${t}`);
      return { ips: i.ips };
    },
    async verify(_i, o, ctx) {
      for (const t of [config.tags.full, config.tags.restricted]) {
        const got = await fw.registered(ctx, t, o.ips);
        const left = o.ips.filter((ip) => got.has(ip));
        if (left.length) return { ok: false, detail: `PAN-OS still lists ${left.join(", ")} under ${t}` };
      }
      return { ok: true, detail: `no containment tag left on ${o.ips.join(", ")}` };
    },
  };
  return [tag as Action, untag as Action];
}

const url = z.string().url();

/** `playbooks.systems.panos`: PAN-OS firewall or Panorama (User-ID tags). */
export const panosConfigSchema = z.strictObject({
  baseUrl: url,
  username: z.string().min(1),
  password: secretSchema,
  vsys: z.string().optional(),
  /** @defaultValue {full: "iomt-quarantine", restricted: "iomt-restricted"} */
  tags: z
    .strictObject({
      full: z.string().default("iomt-quarantine"),
      restricted: z.string().default("iomt-restricted"),
    })
    .prefault({}),
  /** @defaultValue "iomt-clinical-servers" */
  clinicalServerTag: z.string().default("iomt-clinical-servers"),
  /** Tag lifetime, seconds (safety net; 0 = none). @defaultValue 86400 */
  timeoutSeconds: z.number().int().min(0).max(2_592_000).default(86_400),
});

/** PAN-OS firewall or Panorama (User-ID tags): the one declaration of this system (settings, actions, enforcement point). */
export const panosSystem = defineSystem({
  id: "panos",
  title: "PAN-OS firewall or Panorama (User-ID tags).",
  config: panosConfigSchema,
  actions: ["panos.tag", "panos.untag"],
  create: (config) => panosActions(config),
  stage: "firewall",
  enforcementPoint: {
    label: "PAN-OS User-ID tag",
    keyedBy: "ip",
    apply: "panos.tag",
    release: "panos.untag",
    applyInput: (t, mode, clinicalServers) => needIp(t) ?? { ips: t.ips, mode, clinicalServers },
    releaseInput: (t) => needIp(t) ?? { ips: t.ips },
  },
});
