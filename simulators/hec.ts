/**
 * A loopback Splunk HTTP Event Collector double, driven by the status-code table in
 * `../shared/reference/data/splunk/hec/hec_status_codes.json` (the codes below match it) and the
 * batch semantics of splunk.md §1.5: a batch is processed object by object and stops at the first
 * bad one, so objects 0 … N-1 are indexed and the rest are not; an unknown top-level key is the
 * silent-loss case (200, nothing after it indexed). Stores what it indexed for assertions.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/** HEC reply texts by code (hec_status_codes.json). */
export const HEC_CODES: Record<number, { http: number; text: string }> = {
  0: { http: 200, text: "Success" },
  1: { http: 403, text: "Token disabled" },
  2: { http: 401, text: "Token is required" },
  3: { http: 401, text: "Invalid authorization" },
  4: { http: 403, text: "Invalid token" },
  5: { http: 400, text: "No data" },
  6: { http: 400, text: "Invalid data format" },
  7: { http: 400, text: "Incorrect index" },
  8: { http: 500, text: "Internal server error" },
  9: { http: 503, text: "Server is busy" },
  10: { http: 400, text: "Data channel is missing" },
  11: { http: 400, text: "Invalid data channel" },
  12: { http: 400, text: "Event field is required" },
  13: { http: 400, text: "Event field cannot be blank" },
  14: { http: 400, text: "ACK is disabled" },
  15: { http: 400, text: "Error in handling indexed fields" },
  16: { http: 400, text: "Query string authorization is not enabled" },
  17: { http: 200, text: "HEC is healthy" },
  18: { http: 503, text: "HEC is unhealthy, queues are full" },
  19: { http: 503, text: "HEC is unhealthy, ack service unavailable" },
  20: { http: 503, text: "HEC is unhealthy, queues are full, ack service unavailable" },
};

const ENVELOPE_KEYS = new Set(["time", "host", "source", "sourcetype", "index", "event", "fields"]);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface HecFaults {
  /** Answer the next N event requests with code 9 (503 Server is busy). */
  busy?: number;
  /** `Retry-After` seconds sent with the busy replies. @defaultValue none */
  busyRetryAfterSeconds?: number;
  /** Answer code 6 with `invalid-event-number` at the first object matching this (0 … N-1 indexed). */
  invalidEventAt?: (envelope: Record<string, unknown>) => boolean;
  /** Accept the next N requests (ackId given) but lose them: nothing stored, the ack never turns true. */
  loseAcks?: number;
  /** Delay every event reply by this many ms. */
  delayMs?: number;
}

export interface HecDoubleOptions {
  /** The one valid token. */
  token: string;
  /** Token has `useACK`: requests need a channel GUID and get an ackId. @defaultValue false */
  useAck?: boolean;
  /** Indexes the token may write to (code 7 otherwise). @defaultValue any */
  allowedIndexes?: string[];
  /** Silent loss on an unknown top-level key, as Splunk 10.4.3 does. @defaultValue true */
  silentLossOnUnknownKeys?: boolean;
  /** Keep only a count, not the envelopes (benchmarks). @defaultValue false */
  countOnly?: boolean;
  faults?: HecFaults;
}

export interface HecDouble {
  url: string;
  token: string;
  stop(): Promise<void>;
  /** Indexed envelopes, in order (empty in count-only mode). */
  stored: Record<string, unknown>[];
  /** Number of indexed events. */
  count(): number;
  faults: HecFaults;
  /** Event requests received, and replies per code. */
  requests: number;
  codes: Map<number, number>;
  /** Ack polls received. */
  ackPolls: number;
  /** Envelopes silently dropped (silent-loss case). */
  silentlyDropped: number;
}

function reply(
  res: ServerResponse,
  code: number,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  const c = HEC_CODES[code] ?? { http: 500, text: "Internal server error" };
  res.writeHead(c.http, { "content-type": "application/json; charset=UTF-8", ...headers });
  res.end(JSON.stringify({ text: c.text, code, ...extra }));
}

/** Splits concatenated JSON objects (`{…}{…}` or one per line); returns the texts and any trailing garbage. */
export function splitConcatenatedJson(text: string): { objects: string[]; rest: string } {
  const objects: string[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i += 1;
      else if (ch === 34 /* " */) inString = false;
      continue;
    }
    if (ch === 34) inString = true;
    else if (ch === 123 /* { */ || ch === 91 /* [ */) {
      if (depth === 0) start = i;
      depth += 1;
    } else if (ch === 125 /* } */ || ch === 93 /* ] */) {
      depth -= 1;
      if (depth === 0 && start >= 0) {
        objects.push(text.slice(start, i + 1));
        start = -1;
      }
    } else if (depth === 0 && ch > 32) {
      return { objects, rest: text.slice(i) };
    }
  }
  return { objects, rest: depth > 0 && start >= 0 ? text.slice(start) : "" };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the HEC double on 127.0.0.1 with a free port. */
export async function startHecDouble(options: HecDoubleOptions): Promise<HecDouble> {
  const faults: HecFaults = options.faults ?? {};
  const stored: Record<string, unknown>[] = [];
  const codes = new Map<number, number>();
  const silentLoss = options.silentLossOnUnknownKeys ?? true;
  const acks = new Map<string, { next: number; ready: Set<number> }>();
  let indexed = 0;
  const state = { requests: 0, ackPolls: 0, silentlyDropped: 0 };

  const answer = (
    res: ServerResponse,
    code: number,
    extra?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) => {
    codes.set(code, (codes.get(code) ?? 0) + 1);
    reply(res, code, extra, headers);
  };

  /** Authorization per Splunk: missing → 2, no "Splunk " prefix → 3, wrong token → 4. */
  function authCode(req: IncomingMessage): number | undefined {
    const h = req.headers.authorization;
    if (!h) return 2;
    if (!h.startsWith("Splunk ")) return 3;
    if (h.slice(7) !== options.token) return 4;
    return undefined;
  }

  function channelOf(req: IncomingMessage, url: URL): string | undefined {
    const h = req.headers["x-splunk-request-channel"];
    return (Array.isArray(h) ? h[0] : h) ?? url.searchParams.get("channel") ?? undefined;
  }

  async function handleEvents(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    state.requests += 1;
    const auth = authCode(req);
    if (auth !== undefined) return answer(res, auth);
    const encoding = req.headers["content-encoding"];
    const raw = await readBody(req);
    if (encoding && encoding !== "gzip") {
      res.writeHead(415, { "content-type": "text/html" });
      res.end("<!doctype html><html><body><h1>415 Unsupported Media Type</h1></body></html>");
      return;
    }
    let channel: string | undefined;
    if (options.useAck) {
      channel = channelOf(req, url);
      if (!channel) return answer(res, 10);
      if (!GUID.test(channel)) return answer(res, 11);
    }
    if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
    if (faults.busy && faults.busy > 0) {
      faults.busy -= 1;
      return answer(
        res,
        9,
        {},
        faults.busyRetryAfterSeconds !== undefined
          ? { "retry-after": String(faults.busyRetryAfterSeconds) }
          : {},
      );
    }
    let text: string;
    try {
      text = (encoding === "gzip" ? gunzipSync(raw) : raw).toString("utf8");
    } catch {
      return answer(res, 6, { "invalid-event-number": 0 });
    }
    if (text.trim() === "") return answer(res, 5);
    const { objects, rest } = splitConcatenatedJson(text);
    const accepted: Record<string, unknown>[] = [];
    let failure: { code: number; n: number } | undefined;
    let silent = false;
    for (let n = 0; n < objects.length; n++) {
      let envelope: Record<string, unknown>;
      try {
        envelope = JSON.parse(objects[n] as string) as Record<string, unknown>;
      } catch {
        failure = { code: 6, n };
        break;
      }
      if (envelope === null || typeof envelope !== "object" || Array.isArray(envelope)) {
        failure = { code: 6, n };
        break;
      }
      if (silentLoss && Object.keys(envelope).some((k) => !ENVELOPE_KEYS.has(k))) {
        // Observed on Splunk 10.4.3: 200 Success, nothing from here on indexed.
        state.silentlyDropped += objects.length - n;
        silent = true;
        break;
      }
      if (!("event" in envelope)) {
        failure = { code: 12, n };
        break;
      }
      const event = envelope.event;
      if (typeof event === "string" && event.trim() === "") {
        failure = { code: 13, n };
        break;
      }
      if (event === null || event === false) {
        failure = { code: 6, n };
        break;
      }
      const fields = envelope.fields;
      if (
        fields !== undefined &&
        (typeof fields !== "object" ||
          fields === null ||
          Object.values(fields).some((v) => v !== null && typeof v === "object" && !Array.isArray(v)))
      ) {
        failure = { code: 15, n };
        break;
      }
      if (
        options.allowedIndexes &&
        typeof envelope.index === "string" &&
        !options.allowedIndexes.includes(envelope.index)
      ) {
        // Splunk 10.4.3 reported N one too high for code 7.
        failure = { code: 7, n: n + 1 };
        break;
      }
      if (faults.invalidEventAt?.(envelope)) {
        failure = { code: 6, n };
        break;
      }
      accepted.push(envelope);
    }
    if (!failure && !silent && rest.trim() !== "") failure = { code: 6, n: objects.length };
    const lose = !failure && options.useAck && faults.loseAcks !== undefined && faults.loseAcks > 0;
    if (lose) faults.loseAcks = (faults.loseAcks ?? 0) - 1;
    else {
      indexed += accepted.length;
      if (!options.countOnly) stored.push(...accepted);
    }
    if (failure) return answer(res, failure.code, { "invalid-event-number": failure.n });
    if (options.useAck && channel) {
      let ch = acks.get(channel);
      if (!ch) {
        ch = { next: 0, ready: new Set() };
        acks.set(channel, ch);
      }
      const ackId = ch.next++;
      if (!lose) ch.ready.add(ackId);
      return answer(res, 0, { ackId });
    }
    return answer(res, 0);
  }

  async function handleAck(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    state.ackPolls += 1;
    const auth = authCode(req);
    if (auth !== undefined) return answer(res, auth);
    const body = (await readBody(req)).toString("utf8");
    if (!options.useAck) return answer(res, 14);
    const channel = channelOf(req, url);
    if (!channel) return answer(res, 10);
    if (!GUID.test(channel)) return answer(res, 11);
    let ids: unknown;
    try {
      ids = (JSON.parse(body) as { acks?: unknown }).acks;
    } catch {
      return answer(res, 6);
    }
    if (!Array.isArray(ids)) return answer(res, 6);
    const ch = acks.get(channel);
    const out: Record<string, boolean> = {};
    for (const id of ids) {
      const ready = ch?.ready.has(Number(id)) ?? false;
      out[String(id)] = ready;
      // Splunk forgets an id once it has answered true.
      if (ready) ch?.ready.delete(Number(id));
    }
    res.writeHead(200, { "content-type": "application/json; charset=UTF-8" });
    res.end(JSON.stringify({ acks: out }));
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const path = url.pathname.replace(/\/+$/, "");
      const isEvent = [
        "/services/collector",
        "/services/collector/event",
        "/services/collector/event/1.0",
      ].includes(path);
      if (isEvent && req.method === "POST") return handleEvents(req, res, url);
      if (isEvent && req.method === "OPTIONS") {
        res.writeHead(200, { allow: "POST,OPTIONS" });
        return res.end();
      }
      if (isEvent) {
        res.writeHead(405, { "content-type": "application/json" });
        return res.end(
          JSON.stringify({ text: "The requested URL was not found on this server.", code: 404 }),
        );
      }
      if (path === "/services/collector/ack" && req.method === "POST") return handleAck(req, res, url);
      if (
        (path === "/services/collector/health" || path === "/services/collector/health/1.0") &&
        req.method === "GET"
      )
        return answer(res, 17);
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ text: "The requested URL was not found on this server.", code: 404 }));
    })().catch((error: unknown) => {
      if (!res.headersSent) reply(res, 8, { detail: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    stored,
    faults,
    codes,
    count: () => indexed,
    get requests() {
      return state.requests;
    },
    get ackPolls() {
      return state.ackPolls;
    },
    get silentlyDropped() {
      return state.silentlyDropped;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
