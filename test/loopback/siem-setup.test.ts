import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { Ajv } from "ajv";
import * as tar from "tar";
import { Secret } from "../../core/secret.ts";
import { packageElastic, packageSplunk } from "../../worker/commands/package.ts";
import { CONNECTOR_NAME, setupKibana } from "../../worker/commands/setup-kibana.ts";
import { REFERENCE_DATA_DIR } from "../helpers/ecs.ts";

type Handler = (req: IncomingMessage, body: unknown, res: ServerResponse) => void;

async function loopback(handler: Handler) {
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (c) => {
      text += c;
    });
    req.on("end", () => handler(req, text ? JSON.parse(text) : undefined, res));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

describe("medsoc package", () => {
  const out = mkdtempSync(join(tmpdir(), "medsoc-dist-"));
  after(() => rmSync(out, { recursive: true, force: true }));
  it("splunk: a .tgz with the app folder at the root, executable bin/, no hidden files, reproducible", async () => {
    const r = await packageSplunk(out);
    assert.match(r.file, /medsoc-0\.1\.0\.tgz$/);
    const entries: { path: string; mode: number }[] = [];
    await tar.list({ file: r.file, onReadEntry: (e) => entries.push({ path: e.path, mode: e.mode ?? 0 }) });
    assert.equal(entries.length, r.entries);
    assert.ok(entries.every((e) => e.path.startsWith("medsoc/") && !/\/\./.test(e.path)));
    for (const must of [
      "medsoc/default/app.conf",
      "medsoc/app.manifest",
      "medsoc/metadata/default.meta",
      "medsoc/bin/medsoc_playbook.py",
    ])
      assert.ok(
        entries.some((e) => e.path === must),
        must,
      );
    assert.equal(entries.find((e) => e.path === "medsoc/bin/medsoc_playbook.py")?.mode, 0o755);
    assert.equal(entries.find((e) => e.path === "medsoc/default/props.conf")?.mode, 0o644);
    const first = readFileSync(r.file);
    const again = await packageSplunk(out);
    assert.deepEqual(gunzipSync(readFileSync(again.file)), gunzipSync(first));
  });
  it("elastic: a .zip with every package file under <name>-<version>/", async () => {
    const r = await packageElastic(out);
    assert.match(r.file, /medsoc-0\.1\.0\.zip$/);
    const buf = readFileSync(r.file);
    assert.equal(buf.subarray(0, 2).toString(), "PK");
    for (const must of [
      "medsoc-0.1.0/manifest.yml",
      "medsoc-0.1.0/data_stream/device/fields/ecs.yml",
      "medsoc-0.1.0/kibana/dashboard/medsoc-fleet-posture.json",
    ])
      assert.ok(buf.includes(must), must);
    assert.ok(r.entries > 40);
  });
});

describe("medsoc setup kibana against a loopback double of the Kibana API", () => {
  const schemaFile = join(
    REFERENCE_DATA_DIR,
    "elastic",
    "detection-rules",
    "kibana-api-schema-master.query.json",
  );
  const { $schema: _s, ...ruleSchema } = JSON.parse(readFileSync(schemaFile, "utf8"));
  const validate = new Ajv({ strict: false, allErrors: true }).compile(ruleSchema);

  function kibanaDouble() {
    const connectors: {
      id: string;
      name: string;
      connector_type_id: string;
      config: Record<string, unknown>;
    }[] = [];
    const rules = new Map<string, Record<string, unknown>>();
    const calls: string[] = [];
    const handler: Handler = (req, body, res) => {
      calls.push(`${req.method} ${req.url?.split("?")[0]}`);
      if (req.headers["kbn-xsrf"] === undefined)
        return json(res, 400, { message: "Request must contain a kbn-xsrf header." });
      if (req.headers.authorization !== "ApiKey k1")
        return json(res, 401, { statusCode: 401, message: "Unauthorized" });
      const url = new URL(req.url ?? "/", "http://x");
      if (req.method === "GET" && url.pathname === "/api/actions/connectors")
        return json(res, 200, connectors);
      if (req.method === "POST" && url.pathname === "/api/actions/connector") {
        const b = body as { name: string; connector_type_id: string; config: Record<string, unknown> };
        const c = {
          id: `c-${connectors.length + 1}`,
          name: b.name,
          connector_type_id: b.connector_type_id,
          config: b.config,
        };
        connectors.push(c);
        return json(res, 200, c);
      }
      const put = /^\/api\/actions\/connector\/(.+)$/.exec(url.pathname);
      if (req.method === "PUT" && put) {
        const c = connectors.find((x) => x.id === put[1]);
        if (!c) return json(res, 404, { message: "not found" });
        c.config = (body as { config: Record<string, unknown> }).config;
        return json(res, 200, c);
      }
      if (req.method === "GET" && url.pathname === "/api/detection_engine/rules/_find") {
        const id = /ruleId:"([^"]+)"/.exec(url.searchParams.get("filter") ?? "")?.[1] ?? "";
        const r = rules.get(id);
        return json(res, 200, { page: 1, perPage: 1, total: r ? 1 : 0, data: r ? [r] : [] });
      }
      if (url.pathname === "/api/detection_engine/rules" && (req.method === "POST" || req.method === "PUT")) {
        const b = body as Record<string, unknown>;
        if (!validate(b)) return json(res, 400, { message: JSON.stringify(validate.errors) });
        const exists = rules.has(String(b.rule_id));
        if (req.method === "POST" && exists) return json(res, 409, { message: "rule_id already exists" });
        if (req.method === "PUT" && !exists) return json(res, 404, { message: "rule not found" });
        rules.set(String(b.rule_id), b);
        return json(res, 200, { id: `r-${b.rule_id}`, ...b });
      }
      return json(res, 404, { message: `no route ${req.method} ${url.pathname}` });
    };
    return { connectors, rules, calls, handler };
  }

  it("creates the connector and both rules, then updates them in place on a second run", async () => {
    const k = kibanaDouble();
    const server = await loopback(k.handler);
    try {
      const options = {
        url: server.url,
        authorization: new Secret("ApiKey k1"),
        triggerUrl: "https://medsoc.example.org:8787/v1/triggers/kibana",
        triggerToken: new Secret("tok-123"),
      };
      const first = await setupKibana(options);
      assert.equal(first.connector.action, "created");
      assert.deepEqual(
        first.rules.map((r) => r.action),
        ["created", "created"],
      );
      assert.equal(k.connectors.length, 1);
      assert.equal(k.connectors[0]?.name, CONNECTOR_NAME);
      assert.equal(k.connectors[0]?.config.url, options.triggerUrl);
      assert.equal(
        (k.connectors[0]?.config.headers as Record<string, string> | undefined)?.Authorization,
        "Bearer tok-123",
      );
      assert.equal(k.rules.size, 2);
      for (const r of k.rules.values()) {
        const action = (r.actions as { id: string; action_type_id: string }[])[0];
        assert.equal(action?.id, "c-1");
        assert.equal(action?.action_type_id, ".webhook");
      }
      const second = await setupKibana(options);
      assert.equal(second.connector.action, "updated");
      assert.deepEqual(
        second.rules.map((r) => r.action),
        ["updated", "updated"],
      );
      assert.equal(k.connectors.length, 1);
      assert.equal(k.rules.size, 2);
    } finally {
      server.close();
    }
  });
  it("fails with a clear error on bad credentials and never prints the secrets", async () => {
    const k = kibanaDouble();
    const server = await loopback(k.handler);
    try {
      await assert.rejects(
        setupKibana({
          url: server.url,
          authorization: new Secret("ApiKey wrong-key"),
          triggerUrl: "https://medsoc.example.org/v1/triggers/kibana",
          triggerToken: new Secret("tok-123"),
        }),
        (error: Error) =>
          /listing kibana connectors: HTTP 401/.test(error.message) && !error.message.includes("wrong-key"),
      );
      await assert.rejects(
        setupKibana({
          url: server.url,
          authorization: new Secret("ApiKey k1"),
          triggerUrl: "http://medsoc.example.org/v1/triggers/kibana",
          triggerToken: new Secret("tok-123"),
        }),
        /must be https/,
      );
    } finally {
      server.close();
    }
  });
});

describe("medsoc setup splunk against a loopback double of the management REST API (splunk-sdk)", () => {
  const HEC = "11111111-2222-3333-4444-555555555555";
  function splunkDouble() {
    const saved = new Map<string, Record<string, string>>();
    const passwords = new Map<string, string>();
    const calls: string[] = [];
    const jobs = new Map<string, Record<string, unknown>[]>();
    jobs.set("scheduler__nobody__medsoc__pump_at_1", [{ device_key: "armis:2", severity: "critical" }]);
    const entryList = (entries: { name: string; content: Record<string, unknown> }[]) => ({
      links: {},
      origin: "https://127.0.0.1:8089/services",
      updated: "2026-01-01T00:00:00+00:00",
      generator: { build: "x", version: "9.2.0" },
      entry: entries.map((e) => ({ ...e, id: `https://127.0.0.1:8089/x/${e.name}`, acl: {} })),
      paging: { total: entries.length, perPage: 30, offset: 0 },
      messages: [],
    });
    const notFound = (res: ServerResponse, what: string) =>
      json(res, 404, { messages: [{ type: "ERROR", text: `Could not find object id=${what}` }] });
    const server = createServer((req, res) => {
      let text = "";
      req.on("data", (c) => {
        text += c;
      });
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://x");
        const form = Object.fromEntries(new URLSearchParams(text));
        calls.push(`${req.method} ${url.pathname}`);
        if (req.headers.authorization !== "Bearer mgmt-token")
          return json(res, 401, { messages: [{ type: "WARN", text: "call not properly authenticated" }] });
        const p = decodeURIComponent(url.pathname);
        if (p === "/services/data/indexes/medsoc")
          return json(res, 200, entryList([{ name: "medsoc", content: { datatype: "event" } }]));
        if (p.startsWith("/services/data/indexes/")) return notFound(res, p.split("/").pop() as string);
        if (p === "/services/data/inputs/http")
          return json(
            res,
            200,
            entryList([
              {
                name: "http://medsoc",
                content: { token: HEC, index: "medsoc", indexes: ["medsoc"], disabled: false },
              },
            ]),
          );
        if (p === "/servicesNS/nobody/medsoc/storage/passwords" && req.method === "POST") {
          passwords.set(`${form.realm}:${form.name}:`, form.password as string);
          return json(res, 201, entryList([{ name: `${form.realm}:${form.name}:`, content: {} }]));
        }
        const pw = /^\/servicesNS\/nobody\/medsoc\/storage\/passwords\/(.+)$/.exec(p);
        if (pw) {
          if (!passwords.has(pw[1] as string)) return notFound(res, pw[1] as string);
          if (req.method === "POST") passwords.set(pw[1] as string, form.password as string);
          return json(res, 200, entryList([{ name: pw[1] as string, content: { clear_password: "***" } }]));
        }
        if (p === "/servicesNS/nobody/medsoc/saved/searches" && req.method === "POST") {
          if (saved.has(form.name as string))
            return json(res, 409, { messages: [{ type: "ERROR", text: "already exists" }] });
          const { name, ...rest } = form;
          saved.set(name as string, rest as Record<string, string>);
          return json(res, 201, entryList([{ name: name as string, content: rest }]));
        }
        const ss = /^\/servicesNS\/nobody\/medsoc\/saved\/searches\/(.+)$/.exec(p);
        if (ss) {
          const s = saved.get(ss[1] as string);
          if (!s) return notFound(res, ss[1] as string);
          if (req.method === "POST") Object.assign(s, form);
          return json(res, 200, entryList([{ name: ss[1] as string, content: s }]));
        }
        if (p === "/services/search/v2/jobs" && req.method === "POST") {
          assert.match(form.search as string, /action=alert_fired ss_app=medsoc/);
          jobs.set("audit_job", [
            {
              trigger_time: "1767225600",
              sid: "scheduler__nobody__medsoc__pump_at_1",
              ss_name: "medsoc - Critical alert on infusion pump",
            },
            {
              trigger_time: "1767225600",
              sid: "scheduler__nobody__medsoc__posture_at_1",
              ss_name: "medsoc - Fleet posture",
            },
          ]);
          return json(res, 201, { sid: "audit_job" });
        }
        const job = /^\/services\/search\/v2\/jobs\/([^/]+)\/results$/.exec(p);
        if (job) {
          const rows = jobs.get(job[1] as string);
          if (!rows) return notFound(res, job[1] as string);
          return json(res, 200, { preview: false, init_offset: 0, messages: [], fields: [], results: rows });
        }
        return notFound(res, p);
      });
    });
    return { server, saved, passwords, calls };
  }

  it("verifies index and HEC token, stores the secret, installs the saved searches, and updates on a re-run", async () => {
    const d = splunkDouble();
    await new Promise<void>((r) => d.server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(d.server.address() as AddressInfo).port}`;
    try {
      const { setupSplunk } = await import("../../worker/commands/setup-splunk.ts");
      const options = {
        url,
        token: new Secret("mgmt-token"),
        index: "medsoc",
        hecToken: new Secret(HEC),
        trigger: "action" as const,
        triggerUrl: "https://medsoc.example.org:8787/v1/triggers/splunk",
        triggerSecret: new Secret("hmac-secret"),
      };
      const first = await setupSplunk(options);
      assert.equal(first.hecToken.name, "http://medsoc");
      assert.equal(first.secret, "created");
      assert.deepEqual(
        first.savedSearches.map((s) => s.action),
        ["created", "created", "created", "created"],
      );
      assert.equal(d.passwords.get("medsoc:trigger_secret:"), "hmac-secret");
      const pump = d.saved.get("medsoc - Critical alert on infusion pump");
      assert.equal(pump?.enableSched, "1");
      assert.equal(pump?.["action.medsoc_playbook"], "1");
      assert.equal(pump?.["action.medsoc_playbook.param.endpoint"], options.triggerUrl);
      assert.equal(pump?.["action.medsoc_playbook.param.playbook"], "isolate-infusion-pump");
      assert.match(pump?.search ?? "", /`medsoc_alerts`/);
      const second = await setupSplunk({
        ...options,
        trigger: "webhook" as const,
        triggerSecret: new Secret("path-token"),
      });
      assert.deepEqual(
        second.savedSearches.map((s) => s.action),
        ["updated", "updated", "updated", "updated"],
      );
      assert.equal(d.saved.size, 4);
      assert.equal(pump?.["action.webhook"], "1");
      assert.equal(pump?.["action.webhook.param.url"], `${options.triggerUrl}/path-token`);
      assert.equal(pump?.["action.medsoc_playbook"], "0");
      await assert.rejects(setupSplunk({ ...options, index: "nope" }), /index nope does not exist/);
      await assert.rejects(
        setupSplunk({ ...options, hecToken: new Secret("other") }),
        /HEC token of sinks.splunk is not among/,
      );
      await assert.rejects(
        setupSplunk({ ...options, token: new Secret("bad-token") }),
        (e: Error) => /HTTP 401/.test(e.message) && !e.message.includes("bad-token"),
      );
    } finally {
      d.server.close();
    }
  });
  it("polls fired alerts through a search job and turns the playbook ones into triggers, past the cursor", async () => {
    const d = splunkDouble();
    await new Promise<void>((r) => d.server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(d.server.address() as AddressInfo).port}`;
    try {
      const { connectSplunk, pollFiredAlerts, setupSplunk } = await import(
        "../../worker/commands/setup-splunk.ts"
      );
      await setupSplunk({
        url,
        token: new Secret("mgmt-token"),
        index: "medsoc",
        hecToken: new Secret(HEC),
        trigger: "webhook",
        triggerUrl: "https://medsoc.example/v1/triggers/splunk",
        triggerSecret: new Secret("path-token"),
      });
      // No poll mode: nothing in `medsoc start` reads fired alerts, so setup refuses to rely on it.
      await assert.rejects(
        setupSplunk({
          url,
          token: new Secret("mgmt-token"),
          index: "medsoc",
          hecToken: new Secret(HEC),
          trigger: "poll" as unknown as "action",
        }),
        /--trigger: must be action or webhook/,
      );
      const { service, close } = await connectSplunk({ url, token: new Secret("mgmt-token") });
      try {
        const first = await pollFiredAlerts(service, { triggerTime: 0, sids: [] });
        assert.equal(first.triggers.length, 1);
        assert.equal(first.triggers[0]?.playbook, "isolate-infusion-pump");
        assert.deepEqual(first.triggers[0]?.results, [{ device_key: "armis:2", severity: "critical" }]);
        assert.deepEqual(first.cursor, {
          triggerTime: 1767225600,
          sids: ["scheduler__nobody__medsoc__pump_at_1", "scheduler__nobody__medsoc__posture_at_1"],
        });
        const again = await pollFiredAlerts(service, first.cursor);
        assert.equal(again.triggers.length, 0, "the boundary sids are not triggered twice");
      } finally {
        await close();
      }
    } finally {
      d.server.close();
    }
  });
});
