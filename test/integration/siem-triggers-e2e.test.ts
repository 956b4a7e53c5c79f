/**
 * SIEM triggers end to end, with the real pieces on both sides: `medsoc setup splunk` and
 * `medsoc setup kibana` configure a Splunk/Kibana double, then what those products would send goes
 * over real HTTP to the real fastify routes (worker/playbook-routes.ts) of a playbook runtime on the
 * memory queue driver with the response-system simulators:
 * - the Splunk app's alert action (integrations/splunk/medsoc/bin/medsoc_playbook.py, run with
 *   python3) with the parameters and the storage/passwords secret `medsoc setup splunk` installed;
 * - Splunk's built-in webhook at the URL `medsoc setup splunk --trigger webhook` configures, with the
 *   documented payload (`{"result":{…first row…},"sid","results_link","search_name","owner","app"}`);
 * - the Kibana Webhook connector `medsoc setup kibana` creates (URL, method, headers) with the body
 *   template of each shipped rule's action, rendered as Kibana renders it.
 * Forged, replayed and wrongly keyed requests are refused (401) and start nothing.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import type { FastifyInstance } from "fastify";
import { silentLogger } from "../../core/log.ts";
import { Secret } from "../../core/secret.ts";
import { playbooksConfigSchema } from "../../playbooks/config.ts";
import type { DeviceFacts } from "../../simulators/fleet/fleet.ts";
import { createApi } from "../../worker/api.ts";
import { setupKibana } from "../../worker/commands/setup-kibana.ts";
import { setupSplunk } from "../../worker/commands/setup-splunk.ts";
import { Metrics } from "../../worker/metrics.ts";
import { registerPlaybookRoutes } from "../../worker/playbook-routes.ts";
import { deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

const ACTION = resolve(
  import.meta.dirname,
  "..",
  "..",
  "integrations",
  "splunk",
  "medsoc",
  "bin",
  "medsoc_playbook.py",
);
const HMAC = "splunk-hmac-secret-0123456789";
const PATH_TOKEN = "splunk-path-token-0123456789";
const BEARER = "kibana-bearer-token-0123456789";
const SESSION = "splunk-session-key-1";
const HEC = "hec-token-1";
const TRIGGERS = {
  splunk: [
    {
      name: "splunk-alerts",
      playbook: "isolate-infusion-pump",
      allowedPlaybooks: ["rotate-shared-credentials"],
      pathToken: PATH_TOKEN,
      hmacSecret: HMAC,
    },
  ],
  kibana: [
    {
      name: "kibana-rules",
      playbook: "isolate-infusion-pump",
      allowedPlaybooks: ["rotate-shared-credentials"],
      bearerToken: BEARER,
    },
  ],
};

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const read = (req: IncomingMessage): Promise<string> =>
  new Promise((r) => {
    let text = "";
    req.on("data", (c) => {
      text += c;
    });
    req.on("end", () => r(text));
  });
const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};
const entries = (list: { name: string; content: unknown }[]) => ({ entry: list, messages: [] });

/** splunkd as far as `medsoc setup splunk` and the alert action use it. */
function splunkDouble() {
  const passwords = new Map<string, string>();
  const saved = new Map<string, Record<string, string>>();
  const server = createServer(async (req, res) => {
    const text = await read(req);
    const form = Object.fromEntries(new URLSearchParams(text));
    const p = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const pw = /^\/servicesNS\/nobody\/medsoc\/storage\/passwords\/(.+)$/.exec(p);
    // The alert action reads the secret with the session key Splunk hands it.
    if (req.headers.authorization === `Splunk ${SESSION}` && pw && req.method === "GET") {
      const value = passwords.get(pw[1] as string);
      if (value === undefined) return json(res, 404, { messages: [] });
      return json(res, 200, entries([{ name: pw[1] as string, content: { clear_password: value } }]));
    }
    if (req.headers.authorization !== "Bearer mgmt-token") return json(res, 401, { messages: [] });
    if (p === "/services/data/indexes/medsoc")
      return json(res, 200, entries([{ name: "medsoc", content: { datatype: "event" } }]));
    if (p === "/services/data/inputs/http")
      return json(
        res,
        200,
        entries([{ name: "http://medsoc", content: { token: HEC, index: "medsoc", indexes: ["medsoc"] } }]),
      );
    if (p === "/servicesNS/nobody/medsoc/storage/passwords" && req.method === "POST") {
      passwords.set(`${form.realm}:${form.name}:`, form.password as string);
      return json(res, 201, entries([{ name: `${form.realm}:${form.name}:`, content: {} }]));
    }
    if (pw) {
      if (!passwords.has(pw[1] as string)) return json(res, 404, { messages: [] });
      if (req.method === "POST") passwords.set(pw[1] as string, form.password as string);
      return json(res, 200, entries([{ name: pw[1] as string, content: {} }]));
    }
    if (p === "/servicesNS/nobody/medsoc/saved/searches" && req.method === "POST") {
      const { name, ...rest } = form;
      saved.set(name as string, rest as Record<string, string>);
      return json(res, 201, entries([{ name: name as string, content: rest }]));
    }
    const ss = /^\/servicesNS\/nobody\/medsoc\/saved\/searches\/(.+)$/.exec(p);
    if (ss) {
      const s = saved.get(ss[1] as string);
      if (!s) return json(res, 404, { messages: [] });
      if (req.method === "POST") Object.assign(s, form);
      return json(res, 200, entries([{ name: ss[1] as string, content: s }]));
    }
    return json(res, 404, { messages: [] });
  });
  return { server, passwords, saved };
}

/** Kibana as far as `medsoc setup kibana` uses it. */
function kibanaDouble() {
  const connectors: {
    id: string;
    config: { url: string; method: string; headers: Record<string, string> };
  }[] = [];
  const rules: { rule_id: string; actions: { id: string; params: { body: string } }[] }[] = [];
  const server = createServer(async (req, res) => {
    const text = await read(req);
    const p = new URL(req.url ?? "/", "http://x").pathname;
    if (p === "/api/actions/connectors") return json(res, 200, []);
    if (p === "/api/actions/connector" && req.method === "POST") {
      const body = JSON.parse(text);
      connectors.push({ id: `c${connectors.length + 1}`, config: body.config });
      return json(res, 200, { id: `c${connectors.length}` });
    }
    if (p === "/api/detection_engine/rules/_find") return json(res, 200, { total: 0, data: [] });
    if (p === "/api/detection_engine/rules" && req.method === "POST") {
      rules.push(JSON.parse(text));
      return json(res, 200, {});
    }
    return json(res, 404, {});
  });
  return { server, connectors, rules };
}

/** Kibana's mustache for a webhook body: `{{x}}` JSON-escaped, `{{{context.alerts}}}` as raw JSON. */
function renderKibana(template: string, view: Record<string, unknown>): string {
  const lookup = (path: string) =>
    path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], view);
  return template
    .replace(/\{\{\{([a-z_.]+)\}\}\}/gi, (_m, path: string) => JSON.stringify(lookup(path)))
    .replace(/\{\{([a-z_.]+)\}\}/gi, (_m, path: string) =>
      JSON.stringify(String(lookup(path) ?? "")).slice(1, -1),
    );
}

let h: Harness;
let app: FastifyInstance;
let medsoc: string;
const splunk = splunkDouble();
const kibana = kibanaDouble();
let splunkUrl: string;
let kibanaUrl: string;
const seen: { url: string; headers: Record<string, string>; body: string }[] = [];
const pumps: DeviceFacts[] = [];
const tmp = mkdtempSync(join(tmpdir(), "medsoc-siem-e2e-"));

before(async () => {
  h = await startHarness({ driver: "memory", devices: 1200, playbooks: { triggers: TRIGGERS } });
  for (const i of h.indexes("infusion_pump", (f) => f.credential.kind !== "hard_coded").slice(0, 8))
    pumps.push(h.fleet.facts(i));
  h.runtime.directory.observe(pumps.map((f) => deviceDoc(f, { inUse: false })));
  const config = playbooksConfigSchema.parse({ triggers: TRIGGERS });
  app = createApi({
    metrics: new Metrics(),
    log: silentLogger,
    ready: async () => ({ ok: true, checks: {} }),
    routes: (a) => {
      // Records what reached medsoc (raw body and headers), to replay it.
      a.addHook("preHandler", async (req) => {
        if (req.url.startsWith("/v1/triggers/"))
          seen.push({
            url: req.url,
            headers: Object.fromEntries(
              Object.entries(req.headers).filter(
                (e): e is [string, string] =>
                  typeof e[1] === "string" && !["host", "connection", "content-length"].includes(e[0]),
              ),
            ),
            body: typeof req.body === "string" ? req.body : JSON.stringify(req.body),
          });
      });
      registerPlaybookRoutes(a, h.runtime, config);
    },
  });
  medsoc = await app.listen({ host: "127.0.0.1", port: 0 });
  splunkUrl = await listen(splunk.server);
  kibanaUrl = await listen(kibana.server);
});
after(async () => {
  await app.close();
  splunk.server.close();
  kibana.server.close();
  await h.close();
  rmSync(tmp, { recursive: true, force: true });
});

const runs = async () => (await h.runtime.store.listRuns()).length;
const dash = (f: DeviceFacts) => f.mac.replace(/:/g, "-");
const PUMP_SEARCH = "medsoc - Critical alert on infusion pump";

function runAction(payload: unknown): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    const child = spawn("python3", [ACTION, "--execute"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.on("close", (code) => done({ code: code ?? -1, stderr }));
    child.stdin.end(JSON.stringify(payload));
  });
}

/** The payload Splunk hands the alert action of a saved search `medsoc setup splunk` installed. */
function actionPayload(rows: Record<string, string>[]) {
  const params = splunk.saved.get(PUMP_SEARCH) as Record<string, string>;
  const configuration: Record<string, string> = {};
  for (const [k, v] of Object.entries(params))
    if (k.startsWith("action.medsoc_playbook.param.")) configuration[k.slice(29)] = v;
  const file = join(tmp, `results-${seen.length}.csv.gz`);
  const header = Object.keys(rows[0] as object);
  writeFileSync(
    file,
    gzipSync(`${header.join(",")}\n${rows.map((r) => header.map((k) => r[k]).join(",")).join("\n")}\n`),
  );
  return {
    configuration,
    results_file: file,
    sid: `scheduler__nobody__medsoc__RMD5_${seen.length}`,
    search_name: PUMP_SEARCH,
    app: "medsoc",
    owner: "nobody",
    server_uri: splunkUrl,
    session_key: SESSION,
  };
}

const splunkOptions = (trigger: "action" | "webhook", secret: string) => ({
  url: splunkUrl,
  token: new Secret("mgmt-token"),
  index: "medsoc",
  hecToken: new Secret(HEC),
  trigger,
  triggerUrl: `${medsoc}/v1/triggers/splunk`,
  triggerSecret: new Secret(secret),
});

describe("Splunk → medsoc", () => {
  test("the alert action, as `medsoc setup splunk` configures it, starts the shipped playbook; the run isolates the pump", async () => {
    await setupSplunk(splunkOptions("action", HMAC));
    assert.equal(splunk.passwords.get("medsoc:trigger_secret:"), HMAC);
    const pump = pumps[0] as DeviceFacts;
    const before = await runs();
    // A result row of the saved search: device_key is the device state's key, dest_mac the MAC.
    const r = await runAction(
      actionPayload([{ device_key: "dev-0123456789abcdef", dest: pump.name, dest_mac: pump.mac }]),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await runs(), before + 1);
    const last = seen.at(-1);
    assert.equal(last?.url, "/v1/triggers/splunk");
    assert.equal(JSON.parse(last?.body ?? "{}").playbook, "isolate-infusion-pump");
    const run = (await h.runtime.store.listRuns()).find((x) => x.deviceKey === dash(pump));
    assert.ok(run, "a run on the pump");
    const done = await h.runtime.engine.waitForRun(run.id, undefined, 60_000);
    assert.equal(done.status, "succeeded", done.error);
    assert.equal(done.playbookId, "isolate-infusion-pump");
  });

  test("the alert action's request replayed, or with its body changed, is refused and starts nothing", async () => {
    const original = seen.find((s) => s.url === "/v1/triggers/splunk") as (typeof seen)[number];
    const before = await runs();
    const rejected = h.runtime.audit.entries.filter((e) => e.type === "trigger.rejected").length;
    const replay = await fetch(`${medsoc}${original.url}`, {
      method: "POST",
      headers: original.headers,
      body: original.body,
    });
    assert.equal(replay.status, 401);
    const other = pumps[1] as DeviceFacts;
    const forged = await fetch(`${medsoc}${original.url}`, {
      method: "POST",
      headers: original.headers,
      body: original.body.replace((pumps[0] as DeviceFacts).mac, other.mac),
    });
    assert.equal(forged.status, 401);
    assert.equal(await runs(), before);
    assert.equal(
      h.runtime.audit.entries.filter((e) => e.type === "trigger.rejected").length,
      rejected + 2,
      "both refusals are audited",
    );
  });

  test("an alert action holding the wrong secret is refused (exit 2, HTTP 401) and starts nothing", async () => {
    await setupSplunk(splunkOptions("action", "not-the-secret-0123456789"));
    const before = await runs();
    const pump = pumps[2] as DeviceFacts;
    const r = await runAction(actionPayload([{ device_key: dash(pump), dest_mac: pump.mac }]));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refused the trigger: HTTP 401/);
    assert.ok(!r.stderr.includes("not-the-secret"));
    assert.equal(await runs(), before);
  });

  test("Splunk's built-in webhook at the URL `medsoc setup splunk --trigger webhook` configures is accepted; a wrong token is not", async () => {
    await setupSplunk(splunkOptions("webhook", PATH_TOKEN));
    const params = splunk.saved.get(PUMP_SEARCH) as Record<string, string>;
    assert.equal(params["action.webhook"], "1");
    assert.equal(params["action.medsoc_playbook"], "0");
    const url = params["action.webhook.param.url"] as string;
    assert.equal(url, `${medsoc}/v1/triggers/splunk/${PATH_TOKEN}`);
    const pump = pumps[3] as DeviceFacts;
    const body = JSON.stringify({
      result: {
        device_key: "dev-fedcba9876543210",
        dest: pump.name,
        dest_mac: pump.mac,
        severity: "critical",
      },
      sid: "scheduler__nobody__medsoc__RMD5_webhook",
      results_link: "https://splunk.example:8000/app/search/@go?sid=x",
      search_name: PUMP_SEARCH,
      owner: "nobody",
      app: "medsoc",
    });
    const before = await runs();
    const ok = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
    assert.equal(ok.status, 202, await ok.clone().text());
    const out = (await ok.json()) as { runs: { playbook: string; status: string; runId: string }[] };
    assert.equal(out.runs[0]?.playbook, "isolate-infusion-pump");
    assert.equal(await runs(), before + 1);
    await h.runtime.engine.waitForRun(out.runs[0]?.runId as string, undefined, 60_000);
    const wrong = await fetch(url.replace(PATH_TOKEN, "guessed-token"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(wrong.status, 401);
    assert.equal(await runs(), before + 1);
  });
});

describe("Kibana → medsoc", () => {
  test("the Webhook connector and rule actions `medsoc setup kibana` creates reach the routes and start each rule's playbook", async () => {
    const result = await setupKibana({
      url: kibanaUrl,
      authorization: new Secret("ApiKey kibana-admin"),
      triggerUrl: `${medsoc}/v1/triggers/kibana`,
      triggerToken: new Secret(BEARER),
    });
    assert.equal(result.rules.length, 2);
    const connector = kibana.connectors[0];
    assert.ok(connector);
    const started: string[] = [];
    for (const [i, rule] of kibana.rules.entries()) {
      const pump = pumps[4 + i] as DeviceFacts;
      // A security alert as {{{context.alerts}}} carries it: the source event's ECS fields plus kibana.alert.*.
      const alert = {
        "@timestamp": new Date().toISOString(),
        "kibana.alert.rule.name": "medsoc rule",
        "kibana.alert.severity": "critical",
        event: { kind: "signal" },
        host: { name: pump.name.toLowerCase(), mac: [dash(pump)], ip: [pump.ip] },
        medsoc: {
          source: "armis",
          stream: "alert",
          doc_id: `alert-${i}`,
          device: { class: "infusion_pump" },
        },
      };
      const body = renderKibana(rule.actions[0]?.params.body ?? "", {
        rule: { id: `kibana-rule-${i}`, name: `medsoc rule ${i}` },
        date: new Date().toISOString(),
        context: { alerts: [alert] },
      });
      const reply = await fetch(connector.config.url, {
        method: connector.config.method.toUpperCase(),
        headers: connector.config.headers,
        body,
      });
      assert.equal(reply.status, 202, await reply.clone().text());
      const out = (await reply.json()) as { runs: { playbook: string; status: string; runId: string }[] };
      assert.notEqual(out.runs[0]?.status, "rejected", JSON.stringify(out));
      started.push(out.runs[0]?.playbook as string);
      await h.runtime.engine.waitForRun(out.runs[0]?.runId as string, undefined, 60_000);
    }
    assert.deepEqual(started.sort(), ["isolate-infusion-pump", "rotate-shared-credentials"]);
  });

  test("the connector's request with a wrong bearer, or none, is refused and starts nothing", async () => {
    const connector = kibana.connectors[0] as (typeof kibana.connectors)[number];
    const last = seen.filter((s) => s.url.startsWith("/v1/triggers/kibana")).at(-1) as (typeof seen)[number];
    const before = await runs();
    for (const authorization of ["Bearer guessed", ""]) {
      const headers: Record<string, string> = { ...connector.config.headers };
      headers.Authorization = authorization;
      if (!authorization) delete headers.Authorization;
      const r = await fetch(connector.config.url, { method: "POST", headers, body: last.body });
      assert.equal(r.status, 401);
    }
    assert.equal(await runs(), before);
  });
});
