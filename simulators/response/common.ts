/**
 * Shared plumbing of the response-system simulators (NAC, firewall, vault, ticketing, paging, chat):
 * a loopback HTTP server, body reading, request log, and the failure modes every one of them offers
 * (`rateLimitNext` → 429 + Retry-After, `serverErrorNext` → 500, `malformedNext` → 200 with a
 * truncated body, `unauthorizedNext` → 401/403 as the vendor answers it).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface SimReply {
  status: number;
  body?: unknown;
  /** Sent as-is (XML, plain text); otherwise `body` is JSON. */
  text?: string;
  headers?: Record<string, string>;
}

/** One-shot failures: each counter is consumed by the next matching request. */
export interface SimFaults {
  /** The next N requests answer 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitNext?: number;
  retryAfterSeconds?: number;
  /** The next N requests answer 500. */
  serverErrorNext?: number;
  /** The next N requests answer 200 with a truncated body. */
  malformedNext?: number;
  /** The next N requests are refused as unauthenticated (the vendor's way: 401 or 403). */
  unauthorizedNext?: number;
  /** Requests whose `METHOD path` matches wait this long before being answered, faults included (slow appliances). */
  slow?: { match: RegExp; delayMs: number };
}

export interface SimLogEntry {
  method: string;
  path: string;
  status: number;
  body: string;
  at: number;
}

export interface LoopbackServer {
  url: string;
  log: SimLogEntry[];
  faults: SimFaults;
  stop(): Promise<void>;
}

export async function startLoopback(
  handler: (req: SimRequest) => Promise<SimReply> | SimReply,
  options: { port?: number; unauthorizedStatus?: number; unauthorizedBody?: SimReply } = {},
): Promise<LoopbackServer> {
  const log: SimLogEntry[] = [];
  const faults: SimFaults = {};
  const send = (res: ServerResponse, r: SimReply) => {
    const headers: Record<string, string> = { ...r.headers };
    let payload = "";
    if (r.text !== undefined) payload = r.text;
    else if (r.body !== undefined) {
      payload = JSON.stringify(r.body);
      headers["content-type"] ??= "application/json";
    }
    res.writeHead(r.status, headers);
    res.end(payload);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://sim");
      const sreq: SimRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      const finish = (r: SimReply) => {
        log.push({ method: sreq.method, path: sreq.path, status: r.status, body: sreq.body, at: Date.now() });
        if (log.length > 5000) log.splice(0, log.length - 5000);
        send(res, r);
      };
      // A slow appliance is slow in every answer, its errors included.
      const slow = faults.slow?.match.test(`${sreq.method} ${sreq.path}`) ? faults.slow.delayMs : 0;
      const respond = () => {
        if (faults.unauthorizedNext) {
          faults.unauthorizedNext--;
          return finish(
            options.unauthorizedBody ?? {
              status: options.unauthorizedStatus ?? 401,
              body: { error: "unauthorized" },
            },
          );
        }
        if (faults.rateLimitNext) {
          faults.rateLimitNext--;
          return finish({
            status: 429,
            headers: { "retry-after": String(faults.retryAfterSeconds ?? 1) },
            body: { error: "rate limited" },
          });
        }
        if (faults.serverErrorNext) {
          faults.serverErrorNext--;
          return finish({ status: 500, body: { error: "internal server error" } });
        }
        if (faults.malformedNext) {
          faults.malformedNext--;
          return finish({
            status: 200,
            text: '{"result": {"trunc',
            headers: { "content-type": "application/json" },
          });
        }
        Promise.resolve()
          .then(() => handler(sreq))
          .then(finish, (error: unknown) => finish({ status: 500, body: { error: String(error) } }));
      };
      if (slow > 0) setTimeout(respond, slow);
      else respond();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    faults,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function basicUser(
  headers: IncomingMessage["headers"],
): { user: string; password: string } | undefined {
  const h = headers.authorization;
  if (!h?.startsWith("Basic ")) return undefined;
  const [user, ...rest] = Buffer.from(h.slice(6), "base64").toString("utf8").split(":");
  return { user: user ?? "", password: rest.join(":") };
}
