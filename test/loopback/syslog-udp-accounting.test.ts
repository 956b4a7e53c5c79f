/**
 * UDP syslog accounting (issue 13 item 8): every datagram sent lands in exactly one outcome of
 * `medsoc_receiver_messages_total{receiver="syslog",transport="udp"}` — accepted, unrouted, unparsed,
 * oversize, dropped_full, error, or dropped_kernel (the socket buffer overflowed before the receiver
 * could read it; read from the kernel's per-socket drop counter on Linux). A burst of datagrams of
 * every kind, large ones included, is sent without pauses; the outcomes must add up to the number
 * sent. Needs nothing but loopback (the raw queue is the in-memory driver).
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { SyslogReceiver } from "../../connectors/syslog/index.ts";
import { sleep } from "../../core/backoff.ts";
import { syslogReceiverSchema } from "../../core/config.ts";
import { DEFAULT_SYSLOG_ROUTES } from "../../monitors/index.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline } from "../../worker/pipeline.ts";
import { createQueueDriver } from "../../worker/queue/index.ts";

const OUTCOMES = ["accepted", "unrouted", "unparsed", "oversize", "dropped_full", "error", "dropped_kernel"];

function cef(i: number, pad = 0): string {
  return `<134>Mar  1 10:00:00 xdome CEF:0|Claroty|xDome|1.0|alert|Alert ${i}|5|src=10.0.0.${i % 250} msg=${"x".repeat(pad)}`;
}

const LINUX = existsSync("/proc/net/udp");

async function burst(receiveBufferBytes: number): Promise<{ sent: number; by: Record<string, number> }> {
  const driver = createQueueDriver({ kind: "memory" });
  const metrics = new Metrics();
  const pipeline = new Pipeline({
    driver,
    cursors: createCursorStore({ kind: "memory" }),
    sources: [],
    sinks: [],
    metrics,
    maxPendingBatches: 1000,
  });
  const receiver = new SyslogReceiver({
    builtInRoutes: DEFAULT_SYSLOG_ROUTES,
    config: syslogReceiverSchema.parse({
      enabled: true,
      udpPort: 0,
      maxMessageBytes: 16_384,
      maxBufferedRecords: 100_000,
      udpReceiveBufferBytes: receiveBufferBytes,
    }),
    ingestor: pipeline,
    deadLetter: async () => {},
    counter: metrics.received,
  });
  const at = await receiver.listen();
  const port = at.udp?.port as number;
  const sender = createSocket("udp4");
  const payloads: Buffer[] = [];
  for (let i = 0; i < 271; i++) {
    const kind = i % 9;
    if (kind === 0)
      payloads.push(Buffer.from(cef(i, 15_000))); // large but accepted
    else if (kind === 1)
      payloads.push(Buffer.from(cef(i, 40_000))); // oversize
    else if (kind === 2)
      payloads.push(Buffer.from(cef(i).replace("Claroty|xDome", "Acme|Widget"))); // unrouted
    else if (kind === 3)
      payloads.push(Buffer.from("<13>Mar  1 10:00:00 host plain text, no CEF")); // unparsed
    else if (kind === 4)
      payloads.push(Buffer.alloc(0)); // empty datagram
    else if (kind === 5)
      payloads.push(Buffer.from([0xff, 0xfe, 0x00, 0x80])); // binary garbage
    else payloads.push(Buffer.from(cef(i)));
  }
  try {
    // No pause between sends: the burst outruns the receiver's socket buffer.
    await Promise.all(
      payloads.map(
        (p) =>
          new Promise<void>((resolve, reject) =>
            sender.send(p, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
          ),
      ),
    );
    const total = async () => {
      let n = 0;
      for (const outcome of OUTCOMES)
        n += await metrics.total(metrics.received, { receiver: "syslog", transport: "udp", outcome });
      return n;
    };
    const deadline = Date.now() + 15_000;
    let counted = await total();
    while (counted < payloads.length && Date.now() < deadline) {
      await sleep(50);
      await receiver.settled();
      counted = await total();
    }
    const by: Record<string, number> = {};
    for (const outcome of OUTCOMES)
      by[outcome] = await metrics.total(metrics.received, { receiver: "syslog", transport: "udp", outcome });
    if (process.env.MEDSOC_TEST_VERBOSE) console.log(by);
    assert.equal(
      counted,
      payloads.length,
      `outcomes ${JSON.stringify(by)} must add up to ${payloads.length}`,
    );
    return { sent: payloads.length, by };
  } finally {
    sender.close();
    await receiver.close();
    await pipeline.close();
    await driver.close();
  }
}

describe("UDP syslog accounting", () => {
  test("a burst of N datagrams (valid, large, oversize, unroutable, garbage, empty) adds up to N outcomes", async () => {
    const { by } = await burst(4 * 1024 * 1024);
    // With the default 4 MiB buffer the whole burst fits: every datagram is read and classified.
    assert.equal(by.oversize, 30);
    assert.equal(by.unrouted, 30);
  });

  test("datagrams the kernel drops (receive buffer too small for the burst) are counted as dropped_kernel", {
    skip: LINUX ? false : "the kernel drop counter is read from /proc/net/udp (Linux)",
  }, async () => {
    // The sends run synchronously on this thread, so the receiver cannot read until the whole
    // 1.7 MB burst has been offered to a 64 KiB buffer: the kernel must drop some.
    const { by } = await burst(65_536);
    assert.ok((by.dropped_kernel ?? 0) > 0, `expected kernel drops, got ${JSON.stringify(by)}`);
  });
});
