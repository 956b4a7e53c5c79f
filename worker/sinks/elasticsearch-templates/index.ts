/**
 * What `medsoc setup elasticsearch` installs, as data: an ILM policy, component templates with the
 * ECS fields medsoc emits, and one index template for the data streams `logs-medsoc.*-*`.
 *
 * The index template is self-contained (it does not compose the cluster's `logs@*` or `ecs@mappings`
 * components) so the same bodies work on every 8.x and 9.x cluster; its priority is above 500
 * because Elasticsearch ships a `logs` template for `logs-*-*` at priority 100 and Elastic reserves
 * up to 500 for its own (elastic.md §3).
 *
 * One source of truth for medsoc's own fields: the `medsoc.*` mappings are generated from the Elastic
 * package's fields files (integrations/elastic/medsoc/data_stream/<stream>/fields/medsoc.yml; each
 * stream declares what it carries, the sink's single template maps their union), and the vendor
 * namespaces are the monitors' (`monitors/index.ts`), from which the package's `vendor.yml` files are
 * generated (test/unit/elasticsearch-sink-setup.test.ts checks both agree).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { VENDOR_NAMESPACES as MONITOR_NAMESPACES } from "../../../monitors/index.ts";

/** The data stream folder of the Elastic package. */
export const PACKAGE_DATA_STREAMS_DIR = resolve(
  import.meta.dirname,
  "..",
  "..",
  "..",
  "integrations",
  "elastic",
  "medsoc",
  "data_stream",
);

/** The fields folder of the Elastic package's device data stream. */
export const PACKAGE_FIELDS_DIR = join(PACKAGE_DATA_STREAMS_DIR, "device", "fields");

export const ILM_POLICY_NAME = "medsoc-logs";
export const INDEX_TEMPLATE_NAME = "medsoc-logs";
export const INDEX_PATTERN = "logs-medsoc.*-*";
export const INDEX_TEMPLATE_PRIORITY = 510;

/**
 * Vendor namespaces that hold each monitor's record untouched (`armis.device.*`, `xdome.alert.*` …).
 * They are mapped as `flattened`: the vendor shapes are deep, change without notice and disagree on
 * types (the same key is a string in one feed and a number in another), so dynamic mapping would both
 * explode the field count and reject documents with mapper_parsing_exception. `flattened` indexes
 * every leaf as a keyword under one field: searchable (`armis.device.name: "pump-12"`), never a
 * conflict; range queries and aggregations belong on the ECS and `medsoc.*` fields.
 */
export const VENDOR_NAMESPACES: readonly string[] = MONITOR_NAMESPACES;

type Mapping = Record<string, unknown>;
const keyword: Mapping = { type: "keyword", ignore_above: 1024 };
const kw = (...names: string[]): Record<string, Mapping> =>
  Object.fromEntries(names.map((n) => [n, keyword]));
const obj = (properties: Record<string, Mapping>): Mapping => ({ properties });

/** Settings for every backing index: the ILM policy and a sane field limit. */
export const settingsComponent = {
  name: "medsoc-logs-settings",
  body: {
    template: {
      settings: {
        "index.lifecycle.name": ILM_POLICY_NAME,
        "index.mapping.total_fields.limit": 2000,
        "index.mapping.ignore_malformed": true,
        "index.codec": "best_compression",
      },
    },
  },
};

/** The ECS fields medsoc emits (ECS 9.x types). */
export const ecsComponent = {
  name: "medsoc-logs-ecs",
  body: {
    template: {
      mappings: {
        // Unknown strings become keywords, never text+keyword pairs; dates are never guessed.
        date_detection: false,
        dynamic_templates: [{ strings_as_keyword: { match_mapping_type: "string", mapping: keyword } }],
        properties: {
          "@timestamp": { type: "date" },
          message: { type: "match_only_text" },
          tags: keyword,
          labels: { type: "object" },
          ecs: obj(kw("version")),
          data_stream: obj({
            type: { type: "constant_keyword" },
            dataset: { type: "constant_keyword" },
            namespace: { type: "constant_keyword" },
          }),
          event: obj({
            ...kw(
              "kind",
              "category",
              "type",
              "action",
              "outcome",
              "dataset",
              "module",
              "provider",
              "id",
              "code",
              "reason",
            ),
            severity: { type: "long" },
            risk_score: { type: "float" },
            risk_score_norm: { type: "float" },
            created: { type: "date" },
            ingested: { type: "date" },
            start: { type: "date" },
            end: { type: "date" },
            original: { type: "keyword", index: false, doc_values: false },
            url: keyword,
          }),
          host: obj({
            ...kw("id", "name", "hostname", "type", "domain", "architecture"),
            ip: { type: "ip" },
            mac: keyword,
            os: obj({
              ...kw("family", "name", "version", "platform", "type", "kernel"),
              full: keyword,
            }),
            risk: obj({
              static_score: { type: "float" },
              static_level: keyword,
              calculated_score: { type: "float" },
              calculated_level: keyword,
              calculated_score_norm: { type: "float" },
              static_score_norm: { type: "float" },
            }),
          }),
          device: obj({
            ...kw("id", "manufacturer", "serial_number", "type"),
            model: obj(kw("name", "identifier")),
            vendor: obj(kw("id", "name")),
            product: obj(kw("id", "name")),
          }),
          observer: obj({
            ...kw("vendor", "product", "name", "type", "version", "hostname", "serial_number"),
            ip: { type: "ip" },
            mac: keyword,
            ingress: obj({
              zone: keyword,
              vlan: obj(kw("id", "name")),
              interface: obj(kw("id", "name", "alias")),
            }),
          }),
          vulnerability: obj({
            ...kw("id", "enumeration", "reference", "category", "classification", "severity", "report_id"),
            description: { type: "match_only_text" },
            score: obj({
              base: { type: "float" },
              environmental: { type: "float" },
              temporal: { type: "float" },
              version: keyword,
            }),
            scanner: obj(kw("vendor")),
          }),
          rule: obj(kw("id", "name", "uuid", "category", "ruleset", "version", "reference", "description")),
          threat: obj({
            framework: keyword,
            tactic: obj(kw("id", "name", "reference")),
            technique: obj({
              ...kw("id", "name", "reference"),
              subtechnique: obj(kw("id", "name", "reference")),
            }),
          }),
          entity: obj(kw("id", "name", "type", "sub_type", "source", "display_name")),
          // ECS has network.vlan.{id,name} (and inner.vlan), never a network.vlan keyword.
          network: obj({
            ...kw("protocol", "transport", "type", "direction", "application", "name"),
            vlan: obj(kw("id", "name")),
            inner: obj({ vlan: obj(kw("id", "name")) }),
          }),
          source: obj({ ip: { type: "ip" }, port: { type: "long" }, mac: keyword, domain: keyword }),
          destination: obj({ ip: { type: "ip" }, port: { type: "long" }, mac: keyword, domain: keyword }),
          user: obj(kw("id", "name", "domain")),
          related: obj({ ip: { type: "ip" }, ...kw("hosts", "user", "hash") }),
          error: obj({ message: { type: "match_only_text" }, ...kw("code", "type", "id") }),
        },
      },
    },
  },
};

/** One entry of an Elastic package fields file. */
export interface PackageField {
  name: string;
  type?: string;
  fields?: PackageField[];
  index?: boolean;
  doc_values?: boolean;
  scaling_factor?: number;
}

/** Elasticsearch mapping properties of package fields (groups nest; dotted names nest too). */
export function fieldsToProperties(fields: readonly PackageField[]): Record<string, Mapping> {
  const out: Record<string, Mapping> = {};
  for (const f of fields) {
    const [head, ...rest] = f.name.split(".");
    if (rest.length > 0) {
      const inner = fieldsToProperties([{ ...f, name: rest.join(".") }]);
      const existing = (out[head as string] as { properties?: Record<string, Mapping> } | undefined)
        ?.properties;
      out[head as string] = obj({ ...existing, ...inner });
      continue;
    }
    if (f.type === "group" || (f.type === undefined && f.fields)) {
      const existing = (out[f.name] as { properties?: Record<string, Mapping> } | undefined)?.properties;
      out[f.name] = obj({ ...existing, ...fieldsToProperties(f.fields ?? []) });
      continue;
    }
    const m: Mapping = f.type === "keyword" ? { ...keyword } : { type: f.type ?? "keyword" };
    if (f.index === false) m.index = false;
    if (f.doc_values === false) m.doc_values = false;
    if (f.scaling_factor !== undefined) m.scaling_factor = f.scaling_factor;
    out[f.name] = m;
  }
  return out;
}

/** A fields file of the Elastic package (`medsoc.yml`, `vendor.yml`). */
export function packageFields(file: string, dir = PACKAGE_FIELDS_DIR): PackageField[] {
  return parse(readFileSync(resolve(dir, file), "utf8")) as PackageField[];
}

/** Merges fields trees: groups of the same name merge, the first declaration of a leaf wins. */
function mergeFields(into: PackageField[], more: readonly PackageField[]): PackageField[] {
  for (const f of more) {
    const same = into.find((x) => x.name === f.name);
    if (!same) into.push(structuredClone(f));
    else if (same.fields && f.fields) mergeFields(same.fields, f.fields);
  }
  return into;
}

/** The union of every data stream's `medsoc.yml`. */
export function packageMedsocFields(dir = PACKAGE_DATA_STREAMS_DIR): PackageField[] {
  const out: PackageField[] = [];
  for (const stream of readdirSync(dir).sort()) {
    const fields = join(dir, stream, "fields");
    if (existsSync(join(fields, "medsoc.yml"))) mergeFields(out, packageFields("medsoc.yml", fields));
  }
  return out;
}

/** medsoc's own namespace (from the package's medsoc.yml files) and the vendor namespaces. */
export const medsocComponent = {
  name: "medsoc-logs-medsoc",
  body: {
    template: {
      mappings: {
        properties: {
          ...fieldsToProperties(packageMedsocFields()),
          ...Object.fromEntries(VENDOR_NAMESPACES.map((v) => [v, { type: "flattened", ignore_above: 4096 }])),
        },
      },
    },
  },
};

export const componentTemplates = [settingsComponent, ecsComponent, medsocComponent];

/** ILM: roll over at 50 GB per primary shard or 30 days, delete `deleteAfterDays` after rollover. */
export function ilmPolicy(deleteAfterDays: number): { policy: Record<string, unknown> } {
  return {
    policy: {
      phases: {
        hot: { min_age: "0ms", actions: { rollover: { max_primary_shard_size: "50gb", max_age: "30d" } } },
        delete: { min_age: `${deleteAfterDays}d`, actions: { delete: {} } },
      },
    },
  };
}

/** The index template that turns `logs-medsoc.*-*` into data streams built from the components. */
export const indexTemplate = {
  name: INDEX_TEMPLATE_NAME,
  body: {
    index_patterns: [INDEX_PATTERN],
    data_stream: {},
    priority: INDEX_TEMPLATE_PRIORITY,
    composed_of: componentTemplates.map((c) => c.name),
  },
};
