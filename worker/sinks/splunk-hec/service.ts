/**
 * HTTP to HEC: the connection pool, headers, gzip, the event and ack endpoints and the health
 * check (Vector: `splunk_hec/common/service.rs` and `util.rs`).
 */
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { gzip as gzipCallback } from "node:zlib";
import { Agent, request } from "undici";
import { parseRetryAfter } from "../../../core/backoff.ts";
import { readCa } from "../../../core/config-fields.ts";
import { scrub } from "../../../core/secret.ts";
import type { SplunkHecSinkConfig } from "./config.ts";
import { ConfigRefused, codeText, type HecReply, type Reply } from "./response.ts";

const gzip = promisify(gzipCallback);

/** The requests one sink makes to HEC. */
export interface HecService {
  /** The event endpoint (for messages). */
  readonly eventUrl: string;
  /** The request channel (`X-Splunk-Request-Channel`). */
  readonly channel: string;
  /** Posts events (one JSON envelope per line), gzipped unless `gzip: false`. */
  postEvents(lines: string[]): Promise<Reply>;
  /** Asks which ackIds are indexed; `ConfigRefused` when the endpoint refuses the configuration. */
  pollAcks(ids: number[]): Promise<Record<string, boolean>>;
  /** Scrubs the token from a message. */
  scrub(text: string): string;
  close(): Promise<void>;
}

export function createHecService(config: SplunkHecSinkConfig): HecService {
  const ca = readCa(config.tls, "sinks.splunk");
  const agent = new Agent({
    connect: { rejectUnauthorized: config.tls.verify, ...(ca ? { ca } : {}) },
    connections: config.concurrency + 2,
  });
  const base = config.url.replace(/\/+$/, "");
  const eventUrl = `${base}${config.endpointPath}`;
  const channel = config.ack.channel ?? randomUUID();
  const ackUrl = `${base}/services/collector/ack?channel=${channel}`;
  const secrets = [config.token];

  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    authorization: `Splunk ${config.token.reveal()}`,
    "content-type": "application/json",
    ...(config.useAck ? { "x-splunk-request-channel": channel } : {}),
    ...extra,
  });

  async function post(url: string, body: Buffer | string, extra: Record<string, string>): Promise<Reply> {
    const res = await request(url, {
      method: "POST",
      headers: headers(extra),
      body,
      dispatcher: agent,
      headersTimeout: config.requestTimeoutMs,
      bodyTimeout: config.requestTimeoutMs,
    });
    const raw = await res.body.text();
    let parsed: HecReply | undefined;
    try {
      const json = JSON.parse(raw) as unknown;
      if (json && typeof json === "object") parsed = json as HecReply;
    } catch {
      parsed = undefined;
    }
    const retryAfter = res.headers["retry-after"];
    return {
      status: res.statusCode,
      body: parsed,
      raw: scrub(raw.slice(0, 300), secrets),
      retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
    };
  }

  return {
    eventUrl,
    channel,
    async postEvents(lines) {
      const text = lines.join("\n");
      if (!config.gzip) return post(eventUrl, text, {});
      return post(eventUrl, await gzip(text), { "content-encoding": "gzip" });
    },
    async pollAcks(ids) {
      const reply = await post(ackUrl, JSON.stringify({ acks: ids }), {});
      if (reply.status === 200 && reply.body && typeof (reply.body as { acks?: unknown }).acks === "object")
        return (reply.body as { acks: Record<string, boolean> }).acks;
      if ([400, 401, 403, 404].includes(reply.status))
        throw new ConfigRefused(`polling hec acknowledgements: ${codeText(reply.body, reply.status)}`);
      throw new Error(`polling hec acknowledgements: ${codeText(reply.body, reply.status)}`);
    },
    scrub: (text) => scrub(text, secrets),
    close: () => agent.close(),
  };
}

/** Checks `GET /services/collector/health` (does not validate the token). */
export async function checkHecHealth(
  url: string,
  options: { verifyTls?: boolean } = {},
): Promise<{ healthy: boolean; code?: number; text?: string }> {
  const agent = new Agent({ connect: { rejectUnauthorized: options.verifyTls ?? true } });
  try {
    const res = await request(`${url.replace(/\/+$/, "")}/services/collector/health`, { dispatcher: agent });
    const body = (await res.body.json().catch(() => undefined)) as HecReply | undefined;
    return {
      healthy: res.statusCode === 200,
      ...(body?.code !== undefined ? { code: body.code } : {}),
      ...(body?.text ? { text: body.text } : {}),
    };
  } finally {
    await agent.close();
  }
}
