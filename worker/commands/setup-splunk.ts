import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type Dispatcher, request } from "undici";
import { createAgent } from "../../connectors/http.ts";
import { ConfigError, PermanentError } from "../../core/errors.ts";
import { createLogger, type Logger, silentLogger } from "../../core/log.ts";
import { Secret, scrub } from "../../core/secret.ts";
import { SPLUNK_APP_DIR } from "../../integrations/paths.ts";
import { parseConf, settingValue } from "../../integrations/tools/splunk-conf.ts";

/**
 * `medsoc setup splunk` and the fired-alert trigger source, over Splunk's management port (8089)
 * with the official `splunk-sdk` (2.x, Promise API, no TypeScript types: the few calls used are
 * typed below). The SDK's own HTTP layer turns TLS verification off for every request
 * (`rejectUnauthorized: false` in `lib/platform/node/node_http.js`); medsoc plugs in an HTTP layer
 * built on undici that verifies certificates unless told otherwise and accepts a private CA.
 */

interface SdkResponse {
  status: number;
  data: {
    entry?: { name: string; content: Record<string, unknown> }[];
    sid?: string;
    results?: Record<string, unknown>[];
    messages?: { type: string; text: string }[];
  };
}
interface SdkService {
  get(path: string, params: Record<string, unknown>): Promise<SdkResponse>;
  post(path: string, params: Record<string, unknown>): Promise<SdkResponse>;
  login(): Promise<boolean>;
}
interface SdkHttpBase {
  _buildResponse(
    error: unknown,
    response: { headers: Record<string, unknown>; statusCode: number } | null,
    data: string,
  ): unknown;
}
interface SplunkSdk {
  Service: new (http: unknown, params: Record<string, unknown>) => SdkService;
  NodeHttp: { extend(methods: Record<string, unknown>): new () => SdkHttpBase };
}

let sdk: SplunkSdk | undefined;
function splunkSdk(): SplunkSdk {
  // Loaded on first use: the SDK reads a .env file from the working directory when it is required.
  sdk ??= createRequire(import.meta.url)("splunk-sdk") as SplunkSdk;
  return sdk;
}

/** Connection to the management port. */
export interface SplunkManagementOptions {
  /** `https://splunk.example:8089` */
  url: string;
  /** A Splunk authentication token (sent as `Authorization: Bearer …`), or username + password. */
  token?: Secret;
  username?: string;
  password?: Secret;
  /** @defaultValue verification on */
  tls?: { verify?: boolean; ca?: string };
  /** Tests: undici dispatcher. */
  dispatcher?: Dispatcher;
  /** Splunk version for the SDK's endpoint choice (search/v2 for 9.x). @defaultValue "9.2" */
  version?: string;
}

/** Opens a `splunk-sdk` Service with medsoc's verifying HTTP layer; logs in when given a password. */
export async function connectSplunk(
  options: SplunkManagementOptions,
): Promise<{ service: SdkService; close(): Promise<void> }> {
  const url = new URL(options.url);
  const dispatcher = options.dispatcher ?? createAgent(options.tls ?? {});
  const secrets = [options.token, options.password];
  const Http = splunkSdk().NodeHttp.extend({
    // Same contract as the SDK's NodeHttp.makeRequest: resolve with _buildResponse(null, …), reject with _buildResponse(error, …).
    makeRequest(
      this: SdkHttpBase,
      target: string,
      message: { method: string; headers: Record<string, string>; body?: string },
    ) {
      const headers = { ...message.headers, "User-Agent": "medsoc (splunk-sdk)" };
      return request(target, {
        method: message.method as Dispatcher.HttpMethod,
        headers,
        ...(message.method === "GET" || message.method === "DELETE" ? {} : { body: message.body ?? "" }),
        dispatcher,
        headersTimeout: 30_000,
        bodyTimeout: 120_000,
      }).then(
        async (res) =>
          this._buildResponse(
            null,
            { headers: res.headers as Record<string, unknown>, statusCode: res.statusCode },
            await res.body.text(),
          ),
        (error: Error) => {
          throw this._buildResponse(new Error(scrub(error.message, secrets)), null, "");
        },
      );
    },
  });
  const params: Record<string, unknown> = {
    scheme: url.protocol.replace(":", ""),
    host: url.hostname,
    port: Number(url.port || 8089),
    version: options.version ?? "9.2",
    autologin: false,
  };
  if (options.token) Object.assign(params, { sessionKey: options.token.reveal(), authorization: "Bearer" });
  else if (options.username && options.password)
    Object.assign(params, { username: options.username, password: options.password.reveal() });
  else throw new ConfigError([{ path: "splunk.auth", message: "give a token, or a username and password" }]);
  const service = new (splunkSdk().Service)(new Http(), params);
  if (!options.token) await call("logging in to splunk", () => service.login(), secrets);
  return {
    service,
    close: async () => (options.dispatcher ? undefined : (dispatcher as { close(): Promise<void> }).close()),
  };
}

function sdkError(context: string, error: unknown, secrets: Iterable<Secret | undefined>): Error {
  const e = error as { status?: number; data?: { messages?: { text: string }[] }; error?: unknown };
  const status = typeof e?.status === "number" ? e.status : undefined;
  const text =
    e?.data?.messages?.map((m) => m.text).join("; ") ||
    (e?.error instanceof Error ? e.error.message : error instanceof Error ? error.message : "");
  const message = scrub(
    `${context}: ${status ? `HTTP ${status}` : "request failed"}${text ? `: ${text}` : ""}`,
    secrets,
  );
  return status !== undefined && status >= 400 && status < 500 && status !== 429
    ? new PermanentError(message)
    : new Error(message);
}

async function call<T>(
  context: string,
  fn: () => Promise<T>,
  secrets: Iterable<Secret | undefined>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw sdkError(context, error, secrets);
  }
}

/** GET that returns undefined on 404. */
async function find(
  service: SdkService,
  path: string,
  context: string,
  secrets: Iterable<Secret | undefined>,
) {
  try {
    return await service.get(path, {});
  } catch (error) {
    if ((error as { status?: number }).status === 404) return undefined;
    throw sdkError(context, error, secrets);
  }
}

const APP = "medsoc";
const ns = (path: string) => `/servicesNS/nobody/${APP}/${path}`;

/**
 * How saved searches hand alerts to medsoc. There is no `poll` mode: nothing in `medsoc start`
 * runs {@link pollFiredAlerts}, and a setup that wires triggers nobody reads would silently drop
 * every alert (issue 11).
 */
export type TriggerMode = "action" | "webhook";

export interface SetupSplunkOptions extends SplunkManagementOptions {
  /** Index the HEC sink writes to (must exist). */
  index: string;
  /** The HEC token of the sink (must exist, be enabled and allow the index). */
  hecToken: Secret;
  /** `action`: medsoc_playbook alert action; `webhook`: built-in webhook. */
  trigger: TriggerMode;
  /** medsoc's `/v1/triggers/splunk` URL (action and webhook). */
  triggerUrl?: string;
  /** HMAC secret (action: stored in storage/passwords) or path token (webhook). */
  triggerSecret?: Secret;
  /** Saved searches of the app to install. @defaultValue the app's default/savedsearches.conf */
  savedSearchesConf?: string;
  log?: Logger;
}

export interface SetupSplunkResult {
  index: string;
  hecToken: { name: string; disabled: boolean };
  savedSearches: { name: string; action: "created" | "updated" }[];
  secret?: "created" | "updated";
}

/**
 * Verifies the index and the HEC token, stores the trigger secret (alert action mode), then creates
 * or updates every saved search of the app in `servicesNS/nobody/medsoc` with the chosen trigger
 * wiring and schedules it. Idempotent: existing objects are updated, never duplicated.
 */
export async function setupSplunk(options: SetupSplunkOptions): Promise<SetupSplunkResult> {
  const log = options.log ?? silentLogger;
  const secrets = [options.token, options.password, options.hecToken, options.triggerSecret];
  if (!["action", "webhook"].includes(options.trigger))
    throw new ConfigError([{ path: "--trigger", message: "must be action or webhook" }]);
  {
    if (!options.triggerUrl || !options.triggerSecret)
      throw new ConfigError([
        { path: "--trigger-url", message: `trigger mode ${options.trigger} needs a trigger URL and secret` },
      ]);
    // Plain http only on loopback (Splunk and medsoc on one host), as the alert action itself allows.
    const loopback = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(options.triggerUrl);
    if (!options.triggerUrl.startsWith("https://") && !loopback)
      throw new ConfigError([
        {
          path: "--trigger-url",
          message:
            "must be an https URL (Splunk Cloud and the alert action refuse plain http; http only on loopback)",
        },
      ]);
  }
  const { service, close } = await connectSplunk(options);
  try {
    const index = await find(
      service,
      `/services/data/indexes/${encodeURIComponent(options.index)}`,
      `checking splunk index ${options.index}`,
      secrets,
    );
    if (!index?.data.entry?.length)
      throw new PermanentError(`setting up splunk: index ${options.index} does not exist`);
    const inputs = await call(
      "listing HEC tokens",
      () => service.get("/services/data/inputs/http", { count: 0 }),
      secrets,
    );
    const token = inputs.data.entry?.find((e) => e.content.token === options.hecToken.reveal());
    if (!token)
      throw new PermanentError(
        "setting up splunk: the HEC token of sinks.splunk is not among data/inputs/http",
      );
    const disabled =
      token.content.disabled === true || token.content.disabled === "1" || token.content.disabled === 1;
    if (disabled) throw new PermanentError(`setting up splunk: HEC token ${token.name} is disabled`);
    const allowed = String(token.content.indexes ?? "")
      .split(/[,\s]+/)
      .filter(Boolean);
    const defaultIndex = String(token.content.index ?? "");
    if (
      allowed.length > 0
        ? !allowed.includes(options.index)
        : defaultIndex !== options.index && defaultIndex !== ""
    )
      throw new PermanentError(
        `setting up splunk: HEC token ${token.name} may not write to index ${options.index}`,
      );
    const result: SetupSplunkResult = {
      index: options.index,
      hecToken: { name: token.name, disabled },
      savedSearches: [],
    };

    if (options.trigger === "action") {
      const entity = ns(`storage/passwords/${encodeURIComponent(`${APP}:trigger_secret:`)}`);
      const existing = await find(service, entity, "reading the trigger secret", secrets);
      const password = (options.triggerSecret as Secret).reveal();
      if (existing)
        await call("updating the trigger secret", () => service.post(entity, { password }), secrets);
      else
        await call(
          "storing the trigger secret",
          () => service.post(ns("storage/passwords"), { name: "trigger_secret", realm: APP, password }),
          secrets,
        );
      result.secret = existing ? "updated" : "created";
    }

    const conf = parseConf(
      options.savedSearchesConf ??
        readFileSync(join(SPLUNK_APP_DIR, "default", "savedsearches.conf"), "utf8"),
    );
    for (const stanza of conf.stanzas) {
      const props: Record<string, string> = {};
      for (const s of stanza.settings) props[s.key] = s.value;
      const playbook = settingValue(conf, stanza.name, "action.medsoc_playbook.param.playbook");
      if (playbook) {
        props.enableSched = "1";
        props["action.medsoc_playbook"] = options.trigger === "action" ? "1" : "0";
        props["action.medsoc_playbook.param.endpoint"] =
          options.trigger === "action" ? (options.triggerUrl as string) : "";
        props["action.webhook"] = options.trigger === "webhook" ? "1" : "0";
        if (options.trigger === "webhook")
          props["action.webhook.param.url"] =
            `${(options.triggerUrl as string).replace(/\/+$/, "")}/${encodeURIComponent((options.triggerSecret as Secret).reveal())}`;
      }
      const path = ns(`saved/searches/${encodeURIComponent(stanza.name)}`);
      const existing = await find(service, path, `reading saved search ${stanza.name}`, secrets);
      if (existing)
        await call(`updating saved search ${stanza.name}`, () => service.post(path, props), secrets);
      else
        await call(
          `creating saved search ${stanza.name}`,
          () => service.post(ns("saved/searches"), { name: stanza.name, ...props }),
          secrets,
        );
      result.savedSearches.push({ name: stanza.name, action: existing ? "updated" : "created" });
      log.info(
        { savedSearch: stanza.name, action: existing ? "updated" : "created" },
        "Splunk saved search is in place.",
      );
    }
    return result;
  } finally {
    await close();
  }
}

/** One playbook trigger read from Splunk: the same shape the alert action posts. */
export interface SplunkTrigger {
  source: "splunk";
  playbook: string;
  search_name: string;
  sid: string;
  trigger_time: number;
  results: Record<string, unknown>[];
}

/** Cursor of the fired-alert poller: the last trigger time seen and the sids fired at that second. */
export interface FiredAlertCursor {
  triggerTime: number;
  sids: string[];
}

/**
 * A trigger source that would need no inbound connection — NOT wired: no `medsoc start` component
 * calls it and `setup splunk` offers no mode that relies on it. Kept as a tested library function.
 * It runs a search job over `_audit` for the
 * app's alerts fired after the cursor (`action=alert_fired ss_app=medsoc`), then reads each fired
 * search's results from its job (`search/v2/jobs/<sid>/results`, kept for `alert.expires`). Returns
 * the triggers and the cursor to pass next time (boundary sids are kept, as for the monitors).
 */
export async function pollFiredAlerts(
  service: SdkService,
  cursor: FiredAlertCursor,
  options: { maxResults?: number; secrets?: Iterable<Secret | undefined> } = {},
): Promise<{ triggers: SplunkTrigger[]; cursor: FiredAlertCursor }> {
  const secrets = options.secrets ?? [];
  const query = `search index=_audit action=alert_fired ss_app=${APP} | eval trigger_time=_time | table trigger_time sid ss_name severity | sort 0 trigger_time`;
  const job = await call(
    "creating the fired-alerts search job",
    () =>
      service.post("/services/search/v2/jobs", {
        search: query,
        exec_mode: "blocking",
        earliest_time: String(cursor.triggerTime),
        latest_time: "now",
      }),
    secrets,
  );
  const sid = job.data.sid;
  if (!sid) throw new Error("creating the fired-alerts search job: no sid in the reply");
  const rows =
    (
      await call(
        "reading fired alerts",
        () => service.get(`/services/search/v2/jobs/${encodeURIComponent(sid)}/results`, { count: 0 }),
        secrets,
      )
    ).data.results ?? [];
  const next: FiredAlertCursor = { triggerTime: cursor.triggerTime, sids: [...cursor.sids] };
  const triggers: SplunkTrigger[] = [];
  const playbooks = new Map<string, string | undefined>();
  for (const row of rows) {
    const time = Number(row.trigger_time);
    const firedSid = String(row.sid ?? "");
    const name = String(row.ss_name ?? "");
    if (!firedSid || Number.isNaN(time)) continue;
    if (time < cursor.triggerTime || (time === cursor.triggerTime && cursor.sids.includes(firedSid)))
      continue;
    if (!playbooks.has(name)) {
      const saved = await find(
        service,
        ns(`saved/searches/${encodeURIComponent(name)}`),
        `reading saved search ${name}`,
        secrets,
      );
      playbooks.set(
        name,
        saved?.data.entry?.[0]?.content["action.medsoc_playbook.param.playbook"] as string | undefined,
      );
    }
    const playbook = playbooks.get(name);
    if (playbook) {
      const results =
        (
          await find(
            service,
            `/services/search/v2/jobs/${encodeURIComponent(firedSid)}/results`,
            `reading results of ${firedSid}`,
            secrets,
          )
        )?.data.results ?? [];
      triggers.push({
        source: "splunk",
        playbook,
        search_name: name,
        sid: firedSid,
        trigger_time: time,
        results: results.slice(0, options.maxResults ?? 100),
      });
    }
    if (time > next.triggerTime) next.sids = [];
    next.triggerTime = Math.max(next.triggerTime, time);
    if (time === next.triggerTime) next.sids.push(firedSid);
  }
  return { triggers, cursor: next };
}

function envSecret(name: string | undefined, flag: string): Secret | undefined {
  if (!name) return undefined;
  const v = process.env[name];
  if (!v) throw new ConfigError([{ path: flag, message: `environment variable ${name} is not set` }]);
  return new Secret(v);
}

/** `medsoc setup splunk` (declared in worker/cli/setup.ts). */
export async function setupSplunkAction(opts: {
  url: string;
  index: string;
  hecTokenEnv: string;
  tokenEnv?: string;
  username?: string;
  passwordEnv?: string;
  trigger: string;
  triggerUrl?: string;
  triggerSecretEnv?: string;
  caFile?: string;
  insecure?: boolean;
}): Promise<void> {
  if (!["action", "webhook"].includes(opts.trigger))
    throw new ConfigError([{ path: "--trigger", message: "must be action or webhook" }]);
  const token = envSecret(opts.tokenEnv, "--token-env");
  const password = envSecret(opts.passwordEnv, "--password-env");
  const triggerSecret = envSecret(opts.triggerSecretEnv, "--trigger-secret-env");
  const result = await setupSplunk({
    url: opts.url,
    ...(token ? { token } : {}),
    ...(opts.username ? { username: opts.username } : {}),
    ...(password ? { password } : {}),
    index: opts.index,
    hecToken: envSecret(opts.hecTokenEnv, "--hec-token-env") as Secret,
    trigger: opts.trigger as TriggerMode,
    ...(opts.triggerUrl ? { triggerUrl: opts.triggerUrl } : {}),
    ...(triggerSecret ? { triggerSecret } : {}),
    tls: { verify: !opts.insecure, ...(opts.caFile ? { ca: readFileSync(opts.caFile, "utf8") } : {}) },
    log: createLogger(),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
