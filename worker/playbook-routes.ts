/**
 * Playbook routes of the HTTP API: SIEM triggers and approvals.
 *
 * - `POST /v1/triggers/splunk/{name}/{token}`: Splunk's built-in webhook action (it cannot send
 *   headers, so a per-trigger secret path token authenticates it); body
 *   `{"result":{…first row…},"sid","search_name",…}`.
 * - `POST /v1/triggers/splunk` (the medsoc Splunk app's alert action) and
 *   `POST /v1/triggers/kibana/{name}` with HMAC headers: `X-Medsoc-Timestamp: <unix seconds>`,
 *   `X-Medsoc-Signature: <hex HMAC-SHA256(secret, "<timestamp><raw body>")>` (an optional
 *   `sha256=` prefix is accepted), and optionally `X-Medsoc-Trigger: <name>` (otherwise the
 *   Splunk trigger whose secret verifies the signature is the one); a timestamp more than
 *   `triggers.replayWindowSeconds` (5 minutes) off, or a signature seen before, is a replay. Kibana
 *   may instead send `Authorization: Bearer <token>` (the Webhook connector's static header).
 *
 * On every route, each alert (worker/trigger-alerts.ts) is checked before anything runs: an alert
 * whose own time is older than `triggers.maxAlertAgeMinutes` is refused (401, a replay or a delay
 * nobody should act on); the same delivery again (alert id + time) is a replay and starts nothing
 * (`duplicate`); one run per trigger, playbook, rule and device within `dedupWindowMinutes`, the
 * claim kept only when the run really started (`duplicate` otherwise). The alert's id, rule and
 * reason become the run's inputs `alert_id`, `rule`, `reason`.
 * - Approvals (API keys and the confirmation pages people decide on): worker/approval-routes.ts.
 *
 * Unauthenticated, forged, replayed → 401; malformed → 400; nothing runs and an audit entry says why.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Secret } from "../core/secret.ts";
import type { EcsDocument } from "../mappings/types.ts";
import type { DeviceInfo } from "../playbooks/actions/types.ts";
import type { PlaybooksConfig } from "../playbooks/config.ts";
import { startOnce } from "../playbooks/engine/claims.ts";
import type { PlaybookRuntime } from "../playbooks/index.ts";
import { registerApprovalRoutes } from "./approval-routes.ts";
import { kibanaAlert, splunkAlert, type TriggerAlert } from "./trigger-alerts.ts";
import { preAuthenticateTrigger, triggerSource } from "./trigger-guard.ts";

/** Default of `triggers.replayWindowSeconds`, ms. */
export const REPLAY_WINDOW_MS = 5 * 60_000;

/** Names the SIEM packages (`integrations/`) and the reference examples use for the shipped playbooks. */
export const PLAYBOOK_ALIASES: Readonly<Record<string, string>> = {
  contain_infusion_pump: "isolate-infusion-pump",
  isolate_device: "isolate-infusion-pump",
  isolate_infusion_pump: "isolate-infusion-pump",
  rotate_default_credentials: "rotate-shared-credentials",
  rotate_shared_credentials: "rotate-shared-credentials",
  release_device: "release-device",
  contain_eol_workstation: "contain-eol-workstation",
};

type TriggerConfig = PlaybooksConfig["triggers"]["splunk"][number] & { bearerToken?: Secret };

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Hex HMAC-SHA256 over the decimal timestamp immediately followed by the body bytes: what the
 * medsoc Splunk app's alert action (`integrations/splunk/medsoc/bin/medsoc_playbook.py`) sends.
 */
export function signBody(secret: string, timestamp: string, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}${body}`).digest("hex");
}

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export function registerPlaybookRoutes(
  app: FastifyInstance,
  runtime: PlaybookRuntime,
  config: PlaybooksConfig,
): void {
  const { engine, audit, store, directory, claims } = runtime;
  const replayWindowMs = (config.triggers.replayWindowSeconds ?? 300) * 1000;
  const maxAlertAgeMs = (config.triggers.maxAlertAgeMinutes ?? 60) * 60_000;

  const reject = async (
    reply: FastifyReply,
    req: FastifyRequest,
    status: 400 | 401,
    source: string,
    reason: string,
  ) => {
    await audit.append({
      type: "trigger.rejected",
      actor: source,
      outcome: "failure",
      message: `Trigger refused (${status}): ${reason}.`,
      detail: { route: req.routeOptions.url, ip: req.ip, status },
    });
    return reply.code(status).send({
      error: status === 401 ? "unauthorized" : "bad request",
      reason: status === 400 ? reason : undefined,
    });
  };

  const checkHmac = async (
    req: FastifyRequest,
    secret: Secret,
    body: string,
  ): Promise<string | undefined> => {
    const ts = header(req, "x-medsoc-timestamp");
    const sig = header(req, "x-medsoc-signature");
    if (!ts || !sig) return "missing signature headers";
    const t = Number(ts) * 1000;
    if (!Number.isFinite(t) || Math.abs(Date.now() - t) > replayWindowMs)
      return `timestamp outside the ${replayWindowMs / 1000}-second window (replay?)`;
    const hex = sig.startsWith("sha256=") ? sig.slice(7) : sig;
    if (!same(hex, signBody(secret.reveal(), ts, body))) return "bad signature";
    if (!(await store.claimOnce(`sig-${hex.slice(0, 64)}`, 2 * replayWindowMs)))
      return "signature already used (replay)";
    return undefined;
  };

  /** Without X-Medsoc-Trigger: the configured Splunk trigger whose secret verifies the signature. */
  const bySignature = (req: FastifyRequest, body: string) => {
    const ts = header(req, "x-medsoc-timestamp") ?? "";
    const sig = (header(req, "x-medsoc-signature") ?? "").replace(/^sha256=/, "");
    return config.triggers.splunk.find(
      (t) => t.hmacSecret && same(sig, signBody(t.hmacSecret.reveal(), ts, body)),
    );
  };

  /** Device hints in a Splunk result row or a flat object. */
  const deviceFromRow = async (row: Record<string, unknown>): Promise<DeviceInfo | undefined> => {
    for (const k of [
      "device_key",
      "medsoc.device.key",
      "mac",
      "src_mac",
      "dest_mac",
      "host.mac",
      "host_mac",
      "ip",
      "dest_ip",
      "src_ip",
      "host.ip",
      "dest",
      "src",
    ]) {
      const v = row[k];
      const s = Array.isArray(v) ? v[0] : v;
      if (typeof s === "string" && s) {
        const d = await directory.get(s);
        if (d) return d;
      }
    }
    return undefined;
  };

  /** Why the alerts' own times rule the request out (too old: replayed or delayed; from the future). */
  const staleAlert = (alerts: TriggerAlert[]): string | undefined => {
    const now = Date.now();
    for (const a of alerts) {
      if (a.timeMs === undefined) continue;
      if (now - a.timeMs > maxAlertAgeMs)
        return `alert ${a.id} is from ${new Date(a.timeMs).toISOString()}, older than ${maxAlertAgeMs / 60_000} minutes (replayed or delayed)`;
      if (a.timeMs - now > replayWindowMs)
        return `alert ${a.id} is from ${new Date(a.timeMs).toISOString()}, in the future`;
    }
    return undefined;
  };

  const hash = (v: string) => createHash("sha256").update(v).digest("hex").slice(0, 32);

  const run = async (
    t: TriggerConfig,
    source: string,
    asked: unknown,
    device: DeviceInfo | undefined,
    hint: string,
    alert: TriggerAlert,
    detail: Record<string, unknown>,
  ) => {
    const allowed = new Set([t.playbook, ...(t.allowedPlaybooks ?? [])]);
    const wanted = typeof asked === "string" && asked ? (PLAYBOOK_ALIASES[asked] ?? asked) : t.playbook;
    const info = { ...detail, alert_id: alert.id, rule: alert.rule };
    if (!allowed.has(wanted)) {
      await audit.append({
        type: "trigger.refused_playbook",
        actor: `${source}:${t.name}`,
        outcome: "failure",
        message: `Trigger ${t.name} asked for playbook ${String(asked)}, which it may not run (allowed: ${[...allowed].join(", ")}); nothing runs.`,
        detail: info,
      });
      return { playbook: String(asked), status: "rejected", reason: "playbook not allowed for this trigger" };
    }
    const playbookId = wanted;
    if (!device) {
      await audit.append({
        type: "trigger.no_device",
        actor: `${source}:${t.name}`,
        outcome: "failure",
        message: `Trigger ${t.name}: no known device in ${hint}; nothing runs.`,
        detail: info,
      });
      return { playbook: playbookId, status: "rejected", reason: "unknown device" };
    }
    const duplicate = async (reason: string) => {
      await audit.append({
        type: "trigger.duplicate",
        playbookId,
        deviceKey: device.key,
        actor: `${source}:${t.name}`,
        outcome: "success",
        message: `Trigger ${t.name}: alert ${alert.id} (${alert.rule}) on device ${device.key} ${reason}; no new run.`,
        detail: info,
      });
      return { playbook: playbookId, status: "duplicate", reason };
    };
    // The same delivery again (alert id + its time): remembered as long as its time would pass.
    const replayKey = `replay-${source}-${t.name}-${hash(alert.delivery)}`;
    const token = await claims.claim(replayKey, maxAlertAgeMs + replayWindowMs);
    if (!token) return duplicate("was already received (replay)");
    try {
      const windowMs = (t.dedupWindowMinutes ?? config.triggers.dedupWindowMinutes ?? 60) * 60_000;
      const r = await startOnce(
        claims,
        `alert-${source}-${t.name}-${playbookId}-${hash(alert.rule)}-${device.key}`,
        windowMs,
        () =>
          engine.start({
            playbookId,
            device,
            inputs: { alert_id: alert.id, rule: alert.rule, reason: alert.reason },
            trigger: { kind: source, id: t.name, detail: info },
          }),
      );
      if (r === "duplicate")
        return duplicate(`already started a run within the last ${windowMs / 60_000} minutes`);
      if (!r) throw new Error("starting a run: no result");
      return { playbook: playbookId, runId: r.runId, status: r.status, reason: r.reason };
    } catch (error) {
      // Nothing started: a retry of this delivery must not count as a replay.
      await claims.release(replayKey, token).catch(() => undefined);
      throw error;
    }
  };

  app.register(async (sub) => {
    // Authentication before the body is read (worker/trigger-guard.ts).
    sub.addHook("onRequest", async (req, reply) => {
      const why = preAuthenticateTrigger(req, config);
      if (why)
        return reject(reply.header("connection", "close"), req, 401, triggerSource(req) ?? "trigger", why);
    });
    sub.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) =>
      done(null, body),
    );
    const parse = (raw: unknown): Record<string, unknown> | undefined => {
      if (typeof raw !== "string") return undefined;
      try {
        const v = JSON.parse(raw) as unknown;
        return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    };

    // Splunk built-in webhook: secret path token.
    // Splunk built-in webhook: the secret path token identifies (and authenticates) the trigger.
    const splunkWebhook = async (
      req: FastifyRequest,
      reply: FastifyReply,
      name: string | undefined,
      token: string,
    ) => {
      const t = config.triggers.splunk.find(
        (x) => (name === undefined || x.name === name) && x.pathToken && same(token, x.pathToken.reveal()),
      );
      if (!t) return reject(reply, req, 401, "splunk", "unknown trigger or wrong path token");
      const body = parse(req.body);
      const result = body?.result;
      if (!body || !result || typeof result !== "object")
        return reject(reply, req, 400, "splunk", "body is not a Splunk webhook payload ({result:{…}})");
      const row = result as Record<string, unknown>;
      const alert = splunkAlert(body, row);
      const stale = staleAlert([alert]);
      if (stale) return reject(reply, req, 401, "splunk", stale);
      const out = await run(t, "splunk", row.playbook, await deviceFromRow(row), "result", alert, {
        sid: body.sid,
        search_name: body.search_name,
      });
      return reply.code(202).send({ runs: [out] });
    };
    sub.post<{ Params: { name: string; token: string } }>("/v1/triggers/splunk/:name/:token", (req, reply) =>
      splunkWebhook(req, reply, req.params.name, req.params.token),
    );
    sub.post<{ Params: { token: string } }>("/v1/triggers/splunk/:token", (req, reply) =>
      splunkWebhook(req, reply, undefined, req.params.token),
    );

    // Our Splunk alert action: HMAC over timestamp + body.
    sub.post("/v1/triggers/splunk", async (req, reply) => {
      const name = header(req, "x-medsoc-trigger");
      const raw = typeof req.body === "string" ? req.body : "";
      const t = name ? config.triggers.splunk.find((x) => x.name === name) : bySignature(req, raw);
      if (!t?.hmacSecret)
        return reject(reply, req, 401, "splunk", "unknown trigger or no HMAC secret configured");
      const why = await checkHmac(req, t.hmacSecret, typeof req.body === "string" ? req.body : "");
      if (why) return reject(reply, req, 401, "splunk", why);
      const body = parse(req.body);
      const rows = (body?.results ?? (body?.result ? [body.result] : undefined)) as unknown;
      if (!body || !Array.isArray(rows) || rows.some((r) => !r || typeof r !== "object"))
        return reject(reply, req, 400, "splunk", "body needs results[] (or result) objects");
      const list = rows.slice(0, 500) as Record<string, unknown>[];
      const alerts = list.map((row) => splunkAlert(body, row));
      const stale = staleAlert(alerts);
      if (stale) return reject(reply, req, 401, "splunk", stale);
      const runs = [];
      for (const [i, row] of list.entries())
        runs.push(
          await run(
            t,
            "splunk",
            row.playbook ?? body.playbook,
            await deviceFromRow(row),
            "result row",
            alerts[i] as TriggerAlert,
            { sid: body.sid, search_name: body.search_name },
          ),
        );
      return reply.code(202).send({ runs });
    });

    // Kibana Webhook connector: bearer header or HMAC.
    const kibanaTrigger = async (
      req: FastifyRequest,
      name: string | undefined,
    ): Promise<TriggerConfig | string> => {
      const raw = typeof req.body === "string" ? req.body : "";
      const auth = header(req, "authorization");
      const list = config.triggers.kibana.filter(
        (x) => name === undefined || x.name === name,
      ) as TriggerConfig[];
      if (!list.length) return "unknown trigger";
      if (auth?.startsWith("Bearer ")) {
        const t = list.find((x) => x.bearerToken && same(auth.slice(7), x.bearerToken.reveal()));
        return t ?? "wrong bearer token";
      }
      const ts = header(req, "x-medsoc-timestamp") ?? "";
      const sig = (header(req, "x-medsoc-signature") ?? "").replace(/^sha256=/, "");
      const t = list.find((x) => x.hmacSecret && same(sig, signBody(x.hmacSecret.reveal(), ts, raw)));
      if (!t?.hmacSecret) return header(req, "x-medsoc-signature") ? "bad signature" : "no credentials";
      const why = await checkHmac(req, t.hmacSecret, raw);
      return why ?? t;
    };
    const kibana = async (req: FastifyRequest, reply: FastifyReply, name: string | undefined) => {
      const t = await kibanaTrigger(req, name);
      if (typeof t === "string") return reject(reply, req, 401, "kibana", t);
      const body = parse(req.body);
      const alerts = body?.alerts;
      if (!body || !Array.isArray(alerts) || alerts.some((a) => !a || typeof a !== "object"))
        return reject(reply, req, 400, "kibana", "body needs alerts[] (the rule's {{{context.alerts}}})");
      const list = alerts.slice(0, 500) as Record<string, unknown>[];
      const parsed = list.map((a) => kibanaAlert(body, a));
      const stale = staleAlert(parsed);
      if (stale) return reject(reply, req, 401, "kibana", stale);
      const runs = [];
      for (const [i, a] of list.entries()) {
        const doc = a as unknown as EcsDocument;
        const withMeta = {
          ...doc,
          event: doc.event ?? { kind: "alert" },
          medsoc: doc.medsoc ?? { source: "kibana", doc_id: "", stream: "alert" },
        } as EcsDocument;
        const devices = await directory.devicesOf(withMeta);
        const known = [];
        for (const d of devices) if (await directory.get(d.key)) known.push(d);
        runs.push(
          await run(t, "kibana", body.playbook, known[0], "alert", parsed[i] as TriggerAlert, {
            rule: body.rule,
          }),
        );
      }
      return reply.code(202).send({ runs });
    };
    sub.post<{ Params: { name: string } }>("/v1/triggers/kibana/:name", (req, reply) =>
      kibana(req, reply, req.params.name),
    );
    sub.post("/v1/triggers/kibana", (req, reply) => kibana(req, reply, undefined));
  });

  // Approvals: API and the pages people decide on (worker/approval-routes.ts).
  registerApprovalRoutes(app, runtime, config);
}
