/**
 * The syslog receiver: UDP, TCP and TLS listeners → framing → syslog/CEF/LEEF parsing → routing →
 * batches handed to the raw queue ({@link Ingestor}).
 *
 * Bounded everywhere: a connection holds at most one message of `maxMessageBytes`; parsed records
 * wait in per-(source, stream) batches of at most `maxBufferedRecords` in all. When the raw queue is
 * full the batches wait (`whenFull: "wait"`), the buffer reaches its bound and every TCP/TLS socket
 * stops being read (TCP flow control then slows the sender down); reading resumes below half the
 * bound. UDP has no flow control: datagrams arriving while the buffer is full are dropped and
 * counted (`outcome="dropped_full"`). Messages without CEF/LEEF, unreadable ones and ones no route
 * matches go to the dead-letter queue with the reason.
 *
 * UDP accounting: every datagram lands in exactly one outcome of the receiver counter — `accepted`,
 * `unrouted`, `unparsed`, `oversize`, `dropped_full`, `error`, or `dropped_kernel` (the socket's
 * receive buffer overflowed before the datagram could be read; the kernel's per-socket drop
 * counter in `/proc/net/udp{,6}` is read every second and on settle/close, Linux only). Invalid
 * UTF-8 is a property of a message, not an outcome: it is counted by the flag counter.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer as createTcpServer, isIPv6, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { sleep } from "../../core/backoff.ts";
import type { SyslogReceiverConfig } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { DeadLetterFn, Ingestor } from "../push.ts";
import { SyslogFramer } from "./framing.ts";
import { parseMessage, type ReceivedMessage, type SyslogRecord, vendorOf } from "./message.ts";
import { createRouter, type RouteTarget, type SyslogRoute } from "./routes.ts";

/** Counts messages per transport and outcome (`medsoc_receiver_messages_total{receiver="syslog"}`). */
export interface ReceiverCounter {
  inc(labels: { receiver: string; transport: string; outcome: string }, value?: number): void;
}

export interface SyslogReceiverOptions {
  config: SyslogReceiverConfig;
  ingestor: Ingestor;
  /**
   * Routes checked after `config.routes`: the monitors' built-in ones (`DEFAULT_SYSLOG_ROUTES` of
   * `monitors/index.ts`). @defaultValue []
   */
  builtInRoutes?: readonly SyslogRoute[];
  deadLetter: DeadLetterFn;
  /** One outcome per message (`medsoc_receiver_messages_total`). */
  counter?: ReceiverCounter;
  /** Properties of messages that are counted besides their outcome (`invalid_utf8`). */
  flagCounter?: { inc(labels: { receiver: string; transport: string; flag: string }, value?: number): void };
  log?: Logger;
  /** Receive clock (tests). @defaultValue `() => new Date()` */
  now?: () => Date;
}

/** Where the listeners are bound (absent when not configured). */
export interface SyslogAddresses {
  udp?: { host: string; port: number };
  tcp?: { host: string; port: number };
  tls?: { host: string; port: number };
}

interface PendingBatch {
  target: RouteTarget;
  records: SyslogRecord[];
}

export class SyslogReceiver {
  readonly #o: SyslogReceiverOptions;
  readonly #log: Logger;
  readonly #route: ReturnType<typeof createRouter>;
  readonly #batches = new Map<string, PendingBatch>();
  readonly #dead: { reason: string; data: unknown }[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #servers: Server[] = [];
  #udp: UdpSocket | undefined;
  #udpDropsSeen: number | undefined;
  #udpDropTimer: NodeJS.Timeout | undefined;
  #buffered = 0;
  #paused = false;
  #pumping: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SyslogReceiverOptions) {
    this.#o = options;
    this.#log = options.log ?? silentLogger;
    this.#route = createRouter(options.config.routes, options.builtInRoutes);
  }

  /** Records and dead letters held in memory, waiting for the queue. */
  get buffered(): number {
    return this.#buffered;
  }

  /** True while TCP/TLS sockets are not being read (the buffer is full). */
  get paused(): boolean {
    return this.#paused;
  }

  /** Open TCP/TLS connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  #count(transport: string, outcome: string, n = 1): void {
    this.#o.counter?.inc({ receiver: "syslog", transport, outcome }, n);
  }

  #flag(transport: string, flag: string): void {
    this.#o.flagCounter?.inc({ receiver: "syslog", transport, flag });
  }

  /** Starts every configured listener. */
  async listen(): Promise<SyslogAddresses> {
    const c = this.#o.config;
    const out: SyslogAddresses = {};
    if (c.udpPort !== undefined) out.udp = await this.#listenUdp(c.host, c.udpPort);
    if (c.tcpPort !== undefined) {
      const server = createTcpServer((socket) => this.#accept(socket, "tcp"));
      out.tcp = await this.#listenServer(server, c.host, c.tcpPort);
    }
    if (c.tlsPort !== undefined) {
      const read = (file: string | undefined, key: string): string => {
        if (!file)
          throw new ConfigError([
            { path: `receivers.syslog.tls.${key}`, message: "is required with tlsPort" },
          ]);
        try {
          return readFileSync(file, "utf8");
        } catch (error) {
          throw new ConfigError([
            { path: `receivers.syslog.tls.${key}`, message: `reading ${file}: ${(error as Error).message}` },
          ]);
        }
      };
      const ca = c.tls.caFile ? read(c.tls.caFile, "caFile") : undefined;
      const server = createTlsServer(
        {
          cert: read(c.tls.certFile, "certFile"),
          key: read(c.tls.keyFile, "keyFile"),
          ...(ca ? { ca, requestCert: true, rejectUnauthorized: true } : {}),
        },
        (socket) => this.#accept(socket, "tls"),
      );
      server.on("tlsClientError", (error) => {
        this.#count("tls", "tls_error");
        this.#log.warn({ err: error }, "TLS handshake with a syslog sender failed.");
      });
      out.tls = await this.#listenServer(server, c.host, c.tlsPort);
    }
    return out;
  }

  async #listenServer(server: Server, host: string, port: number): Promise<{ host: string; port: number }> {
    this.#servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => this.#log.error({ err: error }, "Syslog listener failed."));
    const a = server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  async #listenUdp(host: string, port: number): Promise<{ host: string; port: number }> {
    const udp = createSocket({
      type: host.includes(":") ? "udp6" : "udp4",
      recvBufferSize: this.#o.config.udpReceiveBufferBytes,
    });
    this.#udp = udp;
    udp.on("message", (bytes, rinfo) => {
      if (this.#buffered >= this.#o.config.maxBufferedRecords) {
        this.#count("udp", "dropped_full");
        return;
      }
      if (bytes.length > this.#o.config.maxMessageBytes) {
        this.#count("udp", "oversize");
        return;
      }
      this.#handle({
        bytes,
        transport: "udp",
        peer: `${rinfo.address}:${rinfo.port}`,
        receivedAt: this.#now(),
      });
    });
    udp.on("error", (error) => this.#log.error({ err: error }, "Syslog UDP socket failed."));
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(port, host, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    const a = udp.address();
    this.#udpDropsSeen = kernelUdpDrops(a.port, isIPv6(a.address));
    this.#udpDropTimer = setInterval(() => this.#countKernelDrops(), 1000);
    this.#udpDropTimer.unref();
    return { host: a.address, port: a.port };
  }

  /** Adds the datagrams the kernel dropped since the last look to `dropped_kernel`. */
  #countKernelDrops(): void {
    if (this.#udp === undefined || this.#udpDropsSeen === undefined) return;
    let a: AddressInfo;
    try {
      a = this.#udp.address();
    } catch {
      return; // closed
    }
    const now = kernelUdpDrops(a.port, isIPv6(a.address));
    if (now === undefined) return;
    if (now > this.#udpDropsSeen) {
      const n = now - this.#udpDropsSeen;
      this.#count("udp", "dropped_kernel", n);
      this.#log.warn(
        { dropped: n, receiveBufferBytes: this.#o.config.udpReceiveBufferBytes },
        "The kernel dropped syslog datagrams: the UDP receive buffer overflowed.",
      );
    }
    this.#udpDropsSeen = now;
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  #accept(socket: Socket, transport: "tcp" | "tls"): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const framer = new SyslogFramer({
      maxMessageBytes: this.#o.config.maxMessageBytes,
      onMessage: (bytes) => this.#handle({ bytes, transport, peer, receivedAt: this.#now() }),
      onProblem: (problem, detail) => {
        this.#count(transport, problem);
        this.#log.warn({ transport, peer, problem, detail }, "Syslog message rejected.");
      },
    });
    if (this.#paused) socket.pause();
    // A connection silent for idleTimeoutMs is closed (not while paused: then the silence is ours).
    socket.setTimeout(this.#o.config.idleTimeoutMs, () => {
      if (this.#paused) return;
      this.#count(transport, "idle_closed");
      this.#log.info({ transport, peer }, "Closed an idle syslog connection.");
      framer.end();
      socket.destroy();
    });
    socket.on("data", (chunk: Buffer) => framer.push(chunk));
    socket.on("end", () => {
      framer.end();
      socket.end();
    });
    socket.on("error", (error) =>
      this.#log.warn({ err: error, transport, peer }, "Syslog connection failed."),
    );
    socket.on("close", () => this.#sockets.delete(socket));
  }

  #handle(msg: ReceivedMessage): void {
    try {
      this.#parseAndRoute(msg);
    } catch (error) {
      // A parser bug must not take the listener down: the message is kept in the dead-letter queue.
      this.#count(msg.transport, "error");
      this.#log.error(
        { err: error, transport: msg.transport, peer: msg.peer },
        "Handling a syslog message failed.",
      );
      this.#deadLetter(`syslog: handling the message failed: ${(error as Error).message}`, {
        rawBase64: msg.bytes.toString("base64"),
        transport: msg.transport,
        peer: msg.peer,
        receivedAt: msg.receivedAt.toISOString(),
      });
    }
  }

  #parseAndRoute(msg: ReceivedMessage): void {
    const parsed = parseMessage(msg);
    if (!parsed.ok) {
      if (parsed.unparsed.invalidUtf8) this.#flag(msg.transport, "invalid_utf8");
      this.#count(msg.transport, "unparsed");
      this.#deadLetter(`syslog: ${parsed.unparsed.reason}`, parsed.unparsed);
      return;
    }
    const record = parsed.record;
    if (record.invalidUtf8) this.#flag(msg.transport, "invalid_utf8");
    const { vendor, product } = vendorOf(record);
    const target = this.#route(vendor, product);
    if (!target) {
      this.#count(msg.transport, "unrouted");
      this.#deadLetter(
        `syslog: no route for ${record.format.toUpperCase()} vendor "${vendor}" product "${product}" (add one under receivers.syslog.routes)`,
        record,
      );
      return;
    }
    this.#count(msg.transport, "accepted");
    const key = `${target.source}\u0000${target.type}\u0000${target.stream}`;
    let batch = this.#batches.get(key);
    if (!batch) {
      batch = { target, records: [] };
      this.#batches.set(key, batch);
    }
    batch.records.push(record);
    this.#added(batch.records.length >= this.#o.config.batchSize);
  }

  #deadLetter(reason: string, data: unknown): void {
    this.#dead.push({ reason, data });
    this.#added(this.#dead.length >= this.#o.config.batchSize);
  }

  #added(full: boolean): void {
    this.#buffered++;
    if (!this.#paused && this.#buffered >= this.#o.config.maxBufferedRecords) {
      this.#paused = true;
      for (const s of this.#sockets) s.pause();
      this.#log.warn(
        { buffered: this.#buffered },
        "Syslog buffer full; TCP/TLS reading paused until the queue has room.",
      );
    }
    if (full) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#o.config.flushMs);
  }

  #kick(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = undefined;
      if (this.#buffered > 0 && !this.#closed) this.#kick();
    });
  }

  /** Enqueues everything buffered, batch by batch; a batch leaves the buffer only once enqueued. */
  async #pump(): Promise<void> {
    let failures = 0;
    for (;;) {
      const dead = this.#dead.splice(0, this.#dead.length);
      try {
        while (dead.length > 0) {
          const d = dead[0] as { reason: string; data: unknown };
          await this.#o.deadLetter({ receiver: "syslog", reason: d.reason, data: d.data });
          dead.shift();
          this.#released(1);
        }
      } catch (error) {
        this.#dead.unshift(...dead);
        failures++;
        this.#log.error({ err: error }, "Writing syslog dead letters failed; retrying.");
        await sleep(Math.min(5000, 100 * 2 ** failures));
        continue;
      }
      const next = this.#batches.entries().next();
      if (next.done) return;
      const [key, batch] = next.value;
      this.#batches.delete(key);
      const size = this.#o.config.batchSize;
      try {
        while (batch.records.length > 0) {
          const chunk = batch.records.slice(0, size);
          await this.#o.ingestor.ingest(
            {
              source: batch.target.source,
              type: batch.target.type,
              stream: batch.target.stream,
              records: chunk,
            },
            { whenFull: "wait" },
          );
          batch.records.splice(0, chunk.length);
          this.#released(chunk.length);
        }
        failures = 0;
      } catch (error) {
        // Keep the records (in front of anything newer for the same stream) and try again.
        const newer = this.#batches.get(key);
        if (newer) batch.records.push(...newer.records);
        this.#batches.delete(key);
        this.#batches.set(key, batch);
        failures++;
        this.#log.error(
          { err: error, source: batch.target.source },
          "Enqueueing syslog records failed; retrying.",
        );
        await sleep(Math.min(5000, 100 * 2 ** failures));
      }
    }
  }

  #released(n: number): void {
    this.#buffered -= n;
    if (this.#paused && this.#buffered <= this.#o.config.maxBufferedRecords / 2) {
      this.#paused = false;
      for (const s of this.#sockets) s.resume();
      this.#log.info({ buffered: this.#buffered }, "Syslog reading resumed.");
    }
  }

  /**
   * Resolves once every open connection has closed and everything received is enqueued (the
   * embedded default waits for this after the simulators pushed, before draining the pipeline).
   */
  async settled(timeoutMs = 60_000): Promise<void> {
    this.#countKernelDrops();
    const deadline = Date.now() + timeoutMs;
    while (this.#sockets.size > 0 || this.#buffered > 0 || this.#pumping) {
      if (this.#buffered > 0 && !this.#pumping) this.#kick();
      if (Date.now() > deadline)
        throw new Error(`waiting for the syslog receiver to settle: timed out (${this.#buffered} buffered)`);
      await sleep(20);
    }
  }

  /**
   * Stops listening, ends open connections after reading what they sent, and enqueues everything
   * buffered (so call it before the pipeline's workers stop).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const s of this.#sockets) s.resume();
    this.#paused = false;
    const servers = this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const s of this.#sockets) s.end();
    this.#countKernelDrops();
    if (this.#udpDropTimer) clearInterval(this.#udpDropTimer);
    this.#udp?.close();
    const grace = Date.now() + 2000;
    while (this.#sockets.size > 0 && Date.now() < grace) await sleep(10);
    for (const s of this.#sockets) s.destroy();
    await Promise.all(servers);
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#buffered > 0) {
      await (this.#pumping ?? this.#pump());
    }
  }
}

/**
 * The kernel's drop counter of the UDP socket bound to `port` (Linux `/proc/net/udp{,6}`, last
 * column), or undefined where there is none (other systems).
 */
export function kernelUdpDrops(port: number, ipv6: boolean): number | undefined {
  let table: string;
  try {
    table = readFileSync(ipv6 ? "/proc/net/udp6" : "/proc/net/udp", "utf8");
  } catch {
    return undefined;
  }
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let drops: number | undefined;
  for (const line of table.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13 || !cols[1]?.endsWith(suffix)) continue;
    drops = (drops ?? 0) + Number(cols[cols.length - 1]);
  }
  return drops;
}
