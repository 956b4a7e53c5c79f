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
