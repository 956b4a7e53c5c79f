/**
 * Offline checks of a Splunk app folder: every `.conf` against its `.conf.spec` (system specs plus
 * the app's `README/*.conf.spec`), the key AppInspect checks listed in the reference (splunk.md §5,
 * named as AppInspect names them), and the layout/CIM defects the reference apps are known for.
 * Without a spec folder only the spec-independent checks run (that is what `medsoc package splunk`
 * does on a machine without the reference).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { type ConfFile, type Finding, lintConf, parseConf, parseSpec, settingValue } from "./splunk-conf.ts";

export type { Finding } from "./splunk-conf.ts";

export interface LintOptions {
  /** Folder holding Splunk's `<name>.conf.spec` files (reference `conf-specs/`). */
  specDir?: string;
  /** pytest-splunk-addon `CommonFields.json` (fields props must not extract). */
  commonFieldsFile?: string;
  /**
   * The oldest Splunk Enterprise the app works on: app.manifest must declare
   * `platformRequirements.splunk.Enterprise` as `>=<this or newer>`.
   */
  minSplunkVersion?: string;
}

/** Splunk's app icons and their sizes (Splunk shows them at 36 px, the _2x variants on high-DPI screens). */
const APP_ICONS: Record<string, number> = {
  "static/appIcon.png": 36,
  "static/appIcon_2x.png": 72,
  "static/appIconAlt.png": 36,
  "static/appIconAlt_2x.png": 72,
};

/** Width and height of a PNG (its IHDR chunk), or undefined when the file is not a PNG. */
export function pngSize(file: string): { width: number; height: number } | undefined {
  const b = readFileSync(file);
  if (b.length < 24 || b.readUInt32BE(0) !== 0x89504e47 || b.subarray(12, 16).toString() !== "IHDR")
    return undefined;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

function versionAtLeast(range: string, min: string): boolean {
  const m = /^>=\s*(\d+)\.(\d+)(?:\.(\d+))?$/.exec(range.trim());
  if (!m) return false;
  const have = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  const want = min.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((have[i] ?? 0) !== (want[i] ?? 0)) return (have[i] ?? 0) > (want[i] ?? 0);
  return true;
}

/** Splunk's own configuration files (no reload trigger needed, never "custom"). */
const SYSTEM_CONFS = new Set(
  "alert_actions app audit authentication authorize collections commands datamodels default-mode deploymentclient distsearch eventtypes fields health indexes inputs limits macros multikv outputs passwords procmon-filters props restmap savedsearches searchbnf segmenters server serverclass source-classifier sourcetypes tags telemetry times transactiontypes transforms ui-prefs ui-tour user-prefs user-seed visualizations web wmi workflow_actions workload_pools workload_rules workload_policy global-banner messages".split(
    " ",
  ),
);
const FORBIDDEN_CONFS = new Set([
  "outputs",
  "user-seed",
  "serverclass",
  "deploymentclient",
  "health",
  "workload_pools",
  "workload_rules",
  "workload_policy",
  "authorize",
]);
const MANIFEST_KEYS = new Set([
  "schemaVersion",
  "info",
  "dependencies",
  "tasks",
  "inputGroups",
  "incompatibleApps",
  "platformRequirements",
  "supportedDeployments",
  "targetWorkloads",
]);
const DEPLOYMENTS = new Set(["_standalone", "_distributed", "_search_head_clustering", "*"]);
const WORKLOADS = new Set(["_search_heads", "_forwarders", "*"]);
const SECRET_KEY = /(^|[_.])(pass(word)?|proxy_pass|secret|api_?key|token)$/i;

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else out.push(full);
  }
  return out;
}

function rel(root: string, file: string): string {
  return relative(root, file).split(sep).join("/");
}

/** Lints an app folder; returns every finding (empty = clean). */
export function lintSplunkApp(appDir: string, options: LintOptions = {}): Finding[] {
  const findings: Finding[] = [];
  const add = (check: string, file: string, message: string, line?: number) =>
    findings.push({ check, file, message, ...(line === undefined ? {} : { line }) });
  const files = walk(appDir).map((f) => rel(appDir, f));
  const confs = new Map<string, ConfFile>();
  for (const f of files.filter((x) => x.endsWith(".conf")))
    confs.set(f, parseConf(readFileSync(join(appDir, f), "utf8")));
  const conf = (name: string) => confs.get(`default/${name}.conf`);

  // Layout (AppInspect packaging checks).
  if (files.some((f) => f.startsWith("local/")))
    add("check_that_local_does_not_exist", "local/", "the app ships a local/ folder");
  if (files.includes("metadata/local.meta"))
    add("check_for_local_meta", "metadata/local.meta", "the app ships local.meta");
  if (files.some((f) => f.startsWith("users/")))
    add("check_that_users_does_not_exist", "users/", "the app ships a users/ folder");
  for (const f of files) {
    if (/\s/.test(basename(f))) add("check_filenames_for_spaces", f, "file name contains a space");
    if (/\.py[co]$/.test(f)) add("check_for_compiled_python", f, "compiled Python in the app");
    if (basename(f).startsWith(".")) add("check_for_hidden_files", f, "hidden file in the app");
  }
  if (!files.includes("metadata/default.meta"))
    add(
      "check_default_meta_exists",
      "metadata/default.meta",
      "no metadata/default.meta: objects are not shared",
    );

  // .conf placement, names and specs.
  const specDir = options.specDir;
  const readmeSpecs = new Map<string, string>();
  for (const f of files.filter((x) => /^README\/[^/]+\.conf\.spec$/.test(x)))
    readmeSpecs.set(basename(f, ".conf.spec"), readFileSync(join(appDir, f), "utf8"));
  for (const [f, parsed] of confs) {
    const name = basename(f, ".conf");
    if (!/^default\/[^/]+\.conf$/.test(f))
      add(
        "check_conf_files_in_default",
        f,
        "Splunk reads .conf files only from default/ (and local/): this file has no effect",
      );
    if (FORBIDDEN_CONFS.has(name) || name.startsWith("workload_"))
      add("check_forbidden_conf", f, `${name}.conf is not allowed in a cloud-vetted app`);
    if (specDir) {
      const systemSpec = join(specDir, `${name}.conf.spec`);
      const texts = [
        ...(existsSync(systemSpec) ? [readFileSync(systemSpec, "utf8")] : []),
        ...(readmeSpecs.has(name) ? [readmeSpecs.get(name) as string] : []),
      ];
      if (texts.length === 0) {
        for (const p of parsed.problems) add("conf_syntax", f, p.message, p.line);
        add(
          "conf_without_spec",
          f,
          SYSTEM_CONFS.has(name)
            ? `no ${name}.conf.spec in the reference specs`
            : `${name}.conf is neither a Splunk configuration file nor declared in README/${name}.conf.spec (misnamed?)`,
        );
      } else {
        const spec = parseSpec(...texts);
        // [<custom_alert_action>] takes arbitrary param.* (declared in README/alert_actions.conf.spec when the app has one).
        const customParams = name === "alert_actions" && !readmeSpecs.has("alert_actions");
        findings.push(
          ...lintConf(f, parsed, spec).filter(
            (x) =>
              !(
                customParams &&
                x.check === "conf_unknown_setting" &&
                /^param\./.test(x.message) &&
                settingValue(parsed, x.message.replace(/^.* of \[(.*)\] in the spec$/, "$1"), "is_custom") ===
                  "1"
              ),
          ),
        );
      }
    } else for (const p of parsed.problems) add("conf_syntax", f, p.message, p.line);
  }
  for (const [name] of readmeSpecs)
    if (!SYSTEM_CONFS.has(name)) {
      const spec = readmeSpecs.get(name) as string;
      for (const m of spec.matchAll(/^([A-Za-z0-9_.]+)\s*=/gm))
        if (SECRET_KEY.test(m[1] as string))
          add(
            "credentials_in_conf",
            `README/${name}.conf.spec`,
            `${m[1]} declares a credential as a plain setting; use storage/passwords`,
          );
    }

  // app.conf / app.manifest identity and reload triggers.
  const appConfPath = confs.has("default/app.conf")
    ? "default/app.conf"
    : [...confs.keys()].find((f) => basename(f) === "app.conf");
  const app = appConfPath ? confs.get(appConfPath) : undefined;
  const appId = app ? settingValue(app, "package", "id") : undefined;
  const appVersion = app ? settingValue(app, "launcher", "version") : undefined;
  if (!app) add("check_app_conf_exists", "default/app.conf", "no default/app.conf");
  else {
    if (!appId) add("check_that_app_name_config_is_valid", "default/app.conf", "[package] id is missing");
    else if (/^\d/.test(appId))
      add("check_that_app_name_config_is_valid", "default/app.conf", `app id ${appId} starts with a digit`);
    // AppInspect (cloud): an app must not ship as already set up.
    const configured = settingValue(app, "install", "is_configured");
    if (configured !== undefined && /^(1|true|t|yes|y|on)$/i.test(configured.trim()))
      add(
        "check_that_setup_has_not_been_performed",
        "default/app.conf",
        "[install] is_configured is true: it claims a setup was already performed",
      );
    if (appVersion !== undefined && !/^\d{1,3}\.\d{1,3}\.\d{1,3}(\s?\w[\w\d]{0,9})?$/.test(appVersion))
      add(
        "check_app_version",
        "default/app.conf",
        `[launcher] version ${appVersion} is not major.minor.patch`,
      );
    for (const [f] of confs) {
      const name = basename(f, ".conf");
      if (
        f.startsWith("default/") &&
        !SYSTEM_CONFS.has(name) &&
        !settingValue(app, "triggers", `reload.${name}`)
      )
        add(
          "check_reload_trigger_for_all_custom_confs",
          "default/app.conf",
          `no [triggers] reload.${name} for the custom conf ${name}.conf`,
        );
    }
  }
  if (files.includes("app.manifest")) {
    try {
      const manifest = JSON.parse(readFileSync(join(appDir, "app.manifest"), "utf8")) as Record<
        string,
        unknown
      >;
      for (const k of Object.keys(manifest))
        if (!MANIFEST_KEYS.has(k))
          add("check_manifest_schema", "app.manifest", `unknown key ${k} (schema 2.0.0)`);
      if (manifest.schemaVersion !== "2.0.0")
        add(
          "check_manifest_schema",
          "app.manifest",
          `schemaVersion is ${String(manifest.schemaVersion)}, expected 2.0.0`,
        );
      const id = (manifest.info as { id?: { name?: string; version?: string } } | undefined)?.id;
      if (appId && id?.name !== appId)
        add(
          "check_manifest_matches_app_conf",
          "app.manifest",
          `info.id.name ${String(id?.name)} ≠ app.conf [package] id ${appId}`,
        );
      if (appVersion && id?.version !== appVersion)
        add(
          "check_manifest_matches_app_conf",
          "app.manifest",
          `info.id.version ${String(id?.version)} ≠ app.conf [launcher] version ${appVersion}`,
        );
      for (const d of (manifest.supportedDeployments as unknown[] | undefined) ?? [])
        if (!DEPLOYMENTS.has(String(d)))
          add(
            "check_manifest_schema",
            "app.manifest",
            `supportedDeployments value ${JSON.stringify(d)} is not one of ${[...DEPLOYMENTS].join(", ")}`,
          );
      for (const w of (manifest.targetWorkloads as unknown[] | undefined) ?? [])
        if (!WORKLOADS.has(String(w)))
          add(
            "check_manifest_schema",
            "app.manifest",
            `targetWorkloads value ${JSON.stringify(w)} is not one of ${[...WORKLOADS].join(", ")}`,
          );
      if (options.minSplunkVersion) {
        const enterprise = (manifest.platformRequirements as { splunk?: { Enterprise?: unknown } } | null)
          ?.splunk?.Enterprise;
        if (typeof enterprise !== "string" || !versionAtLeast(enterprise, options.minSplunkVersion))
          add(
            "check_manifest_platform_requirements",
            "app.manifest",
            `platformRequirements.splunk.Enterprise must be ">=${options.minSplunkVersion}" or newer (is ${JSON.stringify(enterprise ?? null)})`,
          );
      }
      const deps = manifest.dependencies as Record<string, Record<string, unknown>> | null | undefined;
      for (const [dep, spec] of Object.entries(deps ?? {}))
        for (const k of Object.keys(spec ?? {}))
          if (!["version", "package", "optional"].includes(k))
            add(
              "check_manifest_schema",
              "app.manifest",
              `dependencies.${dep}.${k} is not a schema 2.0.0 key (version, package, optional)`,
            );
    } catch (error) {
      add("check_validate_json_data_is_well_formed", "app.manifest", `not JSON: ${(error as Error).message}`);
    }
  }

  // App icons: PNG of the sizes Splunk reads.
  for (const [icon, size] of Object.entries(APP_ICONS)) {
    if (!files.includes(icon)) continue;
    const dims = pngSize(join(appDir, icon));
    if (!dims || dims.width !== size || dims.height !== size)
      add(
        "check_app_icons",
        icon,
        `must be a ${size}x${size} PNG (is ${dims ? `${dims.width}x${dims.height}` : "not a PNG"})`,
      );
  }

  // Custom alert actions: executable and icon (check_alert_actions_exe_exist).
  for (const [f, parsed] of confs) {
    if (basename(f) !== "alert_actions.conf") continue;
    for (const s of parsed.stanzas) {
      if (settingValue(parsed, s.name, "is_custom") !== "1") continue;
      const cmd = settingValue(parsed, s.name, "alert.execute.cmd") ?? `${s.name}.py`;
      if (!files.includes(`bin/${cmd}`) && !files.some((x) => x.startsWith(`bin/${s.name}.`)))
        add("check_alert_actions_exe_exist", f, `custom alert action ${s.name} has no executable bin/${cmd}`);
      const icon = settingValue(parsed, s.name, "icon_path");
      if (icon && !files.includes(`appserver/static/${icon}`))
        add(
          "check_alert_actions_exe_exist",
          f,
          `icon_path ${icon} of ${s.name} does not exist under appserver/static/`,
        );
      if (!files.includes(`default/data/ui/alerts/${s.name}.html`))
        add(
          "check_alert_action_html",
          f,
          `custom alert action ${s.name} has no default/data/ui/alerts/${s.name}.html`,
        );
      for (const setting of s.settings)
        if (SECRET_KEY.test(setting.key.replace(/^param\./, "")) && setting.value !== "")
          add("credentials_in_conf", f, `${s.name}: ${setting.key} holds a credential value`, setting.line);
    }
  }

  // JSON / XML well-formedness, Python hygiene.
  for (const f of files) {
    const text = () => readFileSync(join(appDir, f), "utf8");
    if (f.endsWith(".json")) {
      try {
        JSON.parse(text());
      } catch (error) {
        add("check_validate_json_data_is_well_formed", f, (error as Error).message);
      }
    }
    if (f.endsWith(".xml")) {
      const result = XMLValidator.validate(text());
      if (result !== true)
        add("check_that_all_xml_files_are_well_formed", f, `${result.err.msg} (line ${result.err.line})`);
      else if (/<eventHandler\b/i.test(text()))
        add("check_validate_no_event_handler", f, "dashboard uses an eventHandler");
    }
    if (f.startsWith("bin/") && f.endsWith(".py") && /["']http:\/\//.test(text()))
      add("check_for_insecure_http_calls_in_python", f, "plain http:// URL in Python");
  }

  // inputs.conf for Cloud.
  for (const [f, parsed] of confs) {
    if (basename(f) !== "inputs.conf") continue;
    for (const s of parsed.stanzas) {
      if (/^(monitor|fifo):/.test(s.name))
        add("check_for_inputs_fifo_or_monitor_usage", f, `[${s.name}]`, s.line);
      if (/^(tcp|udp|splunktcp)(-ssl)?:|^SSL$/.test(s.name))
        add("check_inputs_conf_for_tcp_udp_ssl", f, `[${s.name}]`, s.line);
      for (const setting of s.settings)
        if (SECRET_KEY.test(setting.key))
          add(
            "credentials_in_conf",
            f,
            `[${s.name}] ${setting.key}: credentials belong in storage/passwords`,
            setting.line,
          );
    }
  }
  const web = conf("web");
  if (web)
    for (const s of web.stanzas)
      if (!/^(endpoint|expose):/.test(s.name))
        add("check_web_conf", "default/web.conf", `[${s.name}] is not an [endpoint:*] or [expose:*] stanza`);

  findings.push(...lintProps(confs, options));
  return findings;
}

/** props.conf semantics: JSON extracted twice, wildcard sourcetype stanzas, contradictory timestamps, EVAL bare words, reserved fields. */
function lintProps(confs: Map<string, ConfFile>, options: LintOptions): Finding[] {
  const findings: Finding[] = [];
  const reserved = new Set<string>();
  if (options.commonFieldsFile && existsSync(options.commonFieldsFile)) {
    const common = JSON.parse(readFileSync(options.commonFieldsFile, "utf8")) as {
      fields: { name: string; type: string }[];
    };
    for (const f of common.fields) if (f.type.startsWith("not_allowed")) reserved.add(f.name);
  }
  const propsSourcetypes = new Set<string>();
  for (const [f, parsed] of confs) {
    if (basename(f) !== "props.conf") continue;
    for (const s of parsed.stanzas) {
      const get = (k: string) => settingValue(parsed, s.name, k);
      propsSourcetypes.add(s.name);
      const kv = get("KV_MODE");
      if (get("INDEXED_EXTRACTIONS") && kv && kv.toLowerCase() !== "none")
        findings.push({
          check: "props_json_extracted_twice",
          file: f,
          line: s.line,
          message: `[${s.name}] sets INDEXED_EXTRACTIONS and KV_MODE = ${kv}: fields are extracted twice`,
        });
      if (!/^(source|host|rule|delayedrule)::/.test(s.name) && /[*|]|\.\.\./.test(s.name))
        findings.push({
          check: "props_wildcard_sourcetype",
          file: f,
          line: s.line,
          message: `[${s.name}]: sourcetype stanzas match by exact name; wildcards only work for source:: and host::`,
        });
      if (get("DATETIME_CONFIG")?.toUpperCase() === "NONE" && (get("TIME_PREFIX") || get("TIME_FORMAT")))
        findings.push({
          check: "props_timestamp_contradiction",
          file: f,
          line: s.line,
          message: `[${s.name}] disables timestamp extraction (DATETIME_CONFIG = NONE) yet sets TIME_PREFIX/TIME_FORMAT`,
        });
      for (const setting of s.settings) {
        const targets: string[] = [];
        if (setting.key.startsWith("EVAL-")) {
          targets.push(setting.key.slice(5));
          if (
            /^[A-Za-z_][A-Za-z0-9_]*$/.test(setting.value) &&
            !/^(true|false|null)\(\)$/.test(setting.value)
          )
            findings.push({
              check: "props_eval_bare_word",
              file: f,
              line: setting.line,
              message: `${setting.key} = ${setting.value} reads the field ${setting.value}; a string literal needs double quotes`,
            });
          if (/^mac$/.test(setting.key.slice(5)) && /ipv6/i.test(setting.value))
            findings.push({
              check: "props_cim_semantics",
              file: f,
              line: setting.line,
              message: `${setting.key} can put an IPv6 address into the CIM mac field`,
            });
        }
        if (setting.key.startsWith("FIELDALIAS-"))
          for (const m of setting.value.matchAll(/\s+AS(?:NEW)?\s+("[^"]+"|\S+)/gi))
            targets.push((m[1] as string).replace(/"/g, ""));
        for (const t of targets)
          if (reserved.has(t))
            findings.push({
              check: "props_reserved_es_field",
              file: f,
              line: setting.line,
              message: `${setting.key} sets ${t}, which Splunk ES fills from its asset/identity framework`,
            });
      }
    }
  }
  // Sourcetypes the inputs emit or the eventtypes search must have props stanzas.
  for (const [f, parsed] of confs) {
    if (basename(f) === "inputs.conf")
      for (const s of parsed.stanzas) {
        const st = settingValue(parsed, s.name, "sourcetype");
        if (st && propsSourcetypes.size > 0 && !propsSourcetypes.has(st))
          findings.push({
            check: "sourcetype_consistency",
            file: f,
            line: s.line,
            message: `[${s.name}] emits sourcetype ${st}, which props.conf does not define`,
          });
      }
    if (basename(f) === "eventtypes.conf")
      for (const s of parsed.stanzas) {
        const search = settingValue(parsed, s.name, "search") ?? "";
        for (const m of search.matchAll(/sourcetype\s*=\s*"?([^"\s)]+)"?/g))
          if (!propsSourcetypes.has(m[1] as string))
            findings.push({
              check: "sourcetype_consistency",
              file: f,
              line: s.line,
              message: `eventtype ${s.name} searches sourcetype ${m[1]}, which props.conf does not define`,
            });
      }
  }
  // Tags: enabled|disabled values, and the CIM tag vocabulary.
  const cimSpecFile = options.specDir ? join(options.specDir, "tags.conf.cim.spec") : undefined;
  const cimTags = new Set<string>(["default"]);
  if (cimSpecFile && existsSync(cimSpecFile))
    for (const m of readFileSync(cimSpecFile, "utf8").matchAll(/^([a-z_]+)\s*=/gm))
      cimTags.add(m[1] as string);
  for (const [f, parsed] of confs) {
    if (basename(f) !== "tags.conf") continue;
    for (const s of parsed.stanzas)
      for (const setting of s.settings) {
        if (setting.value !== "enabled" && setting.value !== "disabled")
          findings.push({
            check: "tags_value",
            file: f,
            line: setting.line,
            message: `tag ${setting.key} = ${setting.value}: only enabled or disabled (no inline comments)`,
          });
        if (cimTags.size > 1 && !cimTags.has(setting.key))
          findings.push({
            check: "tags_not_cim",
            file: f,
            line: setting.line,
            message: `[${s.name}] tag ${setting.key} is not a CIM tag`,
          });
      }
  }
  return findings;
}
