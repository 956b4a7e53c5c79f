import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { Client } from "@elastic/elasticsearch";
import MockModule, { type MockPattern } from "@elastic/elasticsearch-mock";
import { parse } from "yaml";
import { PermanentError } from "../../core/errors.ts";
import { declaredFields } from "../../integrations/tools/elastic-package-spec.ts";
import { setupElasticsearch } from "../../worker/commands/setup-elasticsearch.ts";
import {
  ecsComponent,
  fieldsToProperties,
  medsocComponent,
  VENDOR_NAMESPACES,
} from "../../worker/sinks/elasticsearch-templates/index.ts";
import { ECS_FLAT_PATH } from "../helpers/ecs.ts";

// The package is CommonJS (`module.exports = Mocker`) but its types declare a default export.
const Mock = MockModule as unknown as typeof MockModule.default;

// biome-ignore lint/suspicious/noExplicitAny: the assertions walk deep into JSON request bodies
type Body = Record<string, any>;

/** A mock cluster that stores what is PUT and serves it back on GET like Elasticsearch does. */
function cluster() {
  const mock = new Mock();
  const puts: { path: string; body: Body }[] = [];
  const store = new Map<string, Body>();
  const paths = ["/_ilm/policy/:name", "/_component_template/:name", "/_index_template/:name"];
  mock.add({ method: "PUT", path: paths }, (params: MockPattern) => {
    const path = String(params.path);
    puts.push({ path, body: params.body as Body });
    store.set(path, params.body as Body);
    return { acknowledged: true };
  });
  const serveStored = () =>
    mock.add({ method: "GET", path: paths }, (params: MockPattern) => {
      const path = String(params.path);
      const found = store.get(path);
      const name = path.split("/").at(-1) as string;
      if (!found) return {}; // no `_meta`: treated as not installed
      if (path.startsWith("/_index_template/")) return { index_templates: [{ name, index_template: found }] };
      if (path.startsWith("/_component_template/"))
        return { component_templates: [{ name, component_template: found }] };
      return { [name]: { version: 1, policy: found.policy } };
    });
  const client = new Client({
    node: "http://localhost:9200",
    Connection: mock.getConnection(),
    maxRetries: 0,
  });
  return { mock, client, puts, store, serveStored };
}

describe("medsoc setup elasticsearch", () => {
  it("installs the ILM policy, the component templates and the index template, in that order", async () => {
    const { client, puts } = cluster();
    const result = await setupElasticsearch(client, { namespace: "default" });
    assert.deepEqual(
      puts.map((p) => p.path),
      [
        "/_ilm/policy/medsoc-logs",
        "/_component_template/medsoc-logs-settings",
        "/_component_template/medsoc-logs-ecs",
        "/_component_template/medsoc-logs-medsoc",
        "/_index_template/medsoc-logs",
      ],
    );
    assert.equal(result.installed.length, 5);
    assert.equal(result.unchanged.length, 0);

    const ilm = puts[0]?.body.policy;
    assert.deepEqual(ilm.phases.hot.actions.rollover, { max_primary_shard_size: "50gb", max_age: "30d" });
    assert.equal(ilm.phases.delete.min_age, "90d");
    assert.equal(ilm._meta.managed_by, "medsoc");

    const template = puts[4]?.body as Body;
    assert.deepEqual(template.index_patterns, ["logs-medsoc.*-*"]);
    assert.deepEqual(template.data_stream, {});
    assert.ok(template.priority > 500, "above the built-in logs template and Elastic's reserved range");
    assert.deepEqual(template.composed_of, ["medsoc-logs-settings", "medsoc-logs-ecs", "medsoc-logs-medsoc"]);

    assert.equal(puts[1]?.body.template.settings["index.lifecycle.name"], "medsoc-logs");
    const ecs = puts[2]?.body.template.mappings.properties;
    assert.equal(ecs["@timestamp"].type, "date");
    assert.equal(ecs.event.properties.severity.type, "long");
    assert.equal(ecs.event.properties.risk_score.type, "float");
    assert.equal(ecs.event.properties.kind.type, "keyword");
    assert.equal(ecs.host.properties.ip.type, "ip");
    assert.equal(ecs.host.properties.mac.type, "keyword");
    assert.equal(ecs.host.properties.name.type, "keyword");
    assert.equal(ecs.related.properties.ip.type, "ip");
    assert.equal(ecs.message.type, "match_only_text");
    assert.equal(ecs.error.properties.message.type, "match_only_text");
    for (const set of ["device", "observer", "vulnerability", "rule", "threat"])
      assert.ok(ecs[set]?.properties, set);
    const own = puts[3]?.body.template.mappings.properties;
    assert.equal(own.medsoc.properties.risk.properties.score.type, "float");
    assert.equal(own.medsoc.properties.doc_id.type, "keyword");
    assert.equal(own.armis.type, "flattened");
  });

  it("is idempotent: a second run finds everything installed and writes nothing", async () => {
    const { client, puts, serveStored } = cluster();
    await setupElasticsearch(client);
    const first = puts.length;
    serveStored();
    const again = await setupElasticsearch(client);
    assert.equal(puts.length, first, "no PUT on the second run");
    assert.equal(again.installed.length, 0);
    assert.equal(again.unchanged.length, 5);
  });

  it("rewrites only what changed, and everything with force", async () => {
    const { client, puts, serveStored } = cluster();
    await setupElasticsearch(client);
    serveStored();
    puts.length = 0;
    const changed = await setupElasticsearch(client, { deleteAfterDays: 30 });
    assert.deepEqual(changed.installed, ["/_ilm/policy/medsoc-logs"]);
    assert.equal(puts[0]?.body.policy.phases.delete.min_age, "30d");
    puts.length = 0;
    const forced = await setupElasticsearch(client, { force: true, deleteAfterDays: 30 });
    assert.equal(forced.installed.length, 5);
    assert.equal(puts.length, 5);
  });

  it("refuses an invalid namespace before calling the cluster", async () => {
    const { client, puts } = cluster();
    await assert.rejects(setupElasticsearch(client, { namespace: "Bad-Name" }), PermanentError);
    assert.equal(puts.length, 0);
  });

  it("reports a refused PUT as a permanent error with context", async () => {
    const mock = new Mock();
    const client = new Client({
      node: "http://localhost:9200",
      Connection: mock.getConnection(),
      maxRetries: 0,
    });
    // Nothing registered: every call is the mock's 404.
    await assert.rejects(setupElasticsearch(client), (e: unknown) => {
      assert.ok(e instanceof PermanentError);
      assert.match(e.message, /^setting up elasticsearch: installing \/_ilm\/policy\/medsoc-logs: HTTP 404/);
      return true;
    });
  });
});

describe("the sink's index templates and the Elastic package declare the same fields", () => {
  const PKG = resolve(import.meta.dirname, "..", "..", "integrations", "elastic", "medsoc");
  const leaves = (props: Record<string, Mapping>, prefix = "", out = new Map<string, string>()) => {
    for (const [k, v] of Object.entries(props)) {
      const name = prefix ? `${prefix}.${k}` : k;
      if (v.properties) leaves(v.properties as Record<string, Mapping>, name, out);
      else out.set(name, String(v.type));
    }
    return out;
  };
  type Mapping = { type?: string; properties?: Record<string, Mapping> };
  const sink = leaves(medsocComponent.body.template.mappings.properties as Record<string, Mapping>);
  it("every medsoc.* field of every package data stream and the transform is in the sink template, with its type", () => {
    const dirs = [
      ...readdirSync(join(PKG, "data_stream")).map((s) => join(PKG, "data_stream", s, "fields")),
      join(PKG, "elasticsearch", "transform", "latest_device", "fields"),
    ];
    const all = new Set<string>();
    const allVendors = new Set<string>();
    for (const dir of dirs) {
      const declared = declaredFields(readdirSync(dir).map((f) => join(dir, f)));
      const medsoc = declared.filter((f) => f.name.startsWith("medsoc."));
      assert.ok(medsoc.length >= 3, dir);
      for (const f of medsoc) {
        assert.equal(sink.get(f.name), f.type, `${dir}: ${f.name}`);
        all.add(f.name);
      }
      for (const v of declared.filter((f) => f.type === "flattened")) {
        assert.ok((VENDOR_NAMESPACES as readonly string[]).includes(v.name), `${dir}: ${v.name}`);
        allVendors.add(v.name);
      }
    }
    for (const name of sink.keys())
      if (name.startsWith("medsoc.")) assert.ok(all.has(name), `${name} is in the sink template only`);
    assert.deepEqual([...allVendors].sort(), [...VENDOR_NAMESPACES].sort());
  });
  it("uses the enrichment's names (medsoc.device.class, medsoc.risk.factors), not the old stand-ins", () => {
    assert.equal(sink.get("medsoc.device.class"), "keyword");
    assert.equal(sink.get("medsoc.risk.factors"), "keyword");
    assert.equal(sink.get("medsoc.risk.score"), "float");
    assert.equal(sink.get("medsoc.device_class"), undefined);
    assert.equal(sink.get("medsoc.risk.reasons"), undefined);
  });
  it("maps network.vlan as ECS does (network.vlan.id/name), and every ECS field of the template exists in ECS", () => {
    const ecsFields = parse(readFileSync(ECS_FLAT_PATH, "utf8")) as Record<string, { type: string }>;
    const ecs = leaves(ecsComponent.body.template.mappings.properties as Record<string, Mapping>);
    assert.equal(ecs.get("network.vlan"), undefined);
    assert.equal(ecs.get("network.vlan.id"), "keyword");
    for (const name of ecs.keys())
      if (!name.startsWith("data_stream.") && name !== "labels")
        assert.ok(ecsFields[name], `${name} is not an ECS field`);
  });
  it("the generator nests groups and dotted names, and keeps index/doc_values", () => {
    assert.deepEqual(
      fieldsToProperties([
        { name: "a", type: "group", fields: [{ name: "b.c", type: "long" }] },
        { name: "d", type: "keyword", index: false, doc_values: false },
      ]),
      {
        a: { properties: { b: { properties: { c: { type: "long" } } } } },
        d: { type: "keyword", ignore_above: 1024, index: false, doc_values: false },
      },
    );
  });
});
