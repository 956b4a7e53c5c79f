/**
 * Syslog receiver parsing, no services: RFC 5424 and RFC 3164 headers, CEF and LEEF (1.0, 2.0 with
 * its delimiter) escaping, TCP framing (octet-counting, newline, oversize, framing errors), bad
 * UTF-8 and the routing table.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  createRouter,
  type FramingProblem,
  parseCef,
  parseLeef,
  parseMessage,
  parseSyslog,
  SyslogFramer,
} from "../../connectors/syslog/index.ts";
import { DEFAULT_SYSLOG_ROUTES } from "../../monitors/index.ts";

const RECEIVED = new Date("2026-03-01T12:00:00Z");

describe("RFC 5424", () => {
  test("every header field, structured data with escapes, BOM removed", () => {
    const h = parseSyslog(
      '<165>1 2026-02-28T22:14:15.003+01:00 mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="App\\"lication\\]" eventID="1011"][other@1 a="x" a="y"] \uFEFFAn application event',
    );
    assert.equal(h.format, "rfc5424");
    assert.equal(h.pri, 165);
    assert.equal(h.facility, 20);
    assert.equal(h.facilityName, "local4");
    assert.equal(h.severity, 5);
    assert.equal(h.severityName, "notice");
    assert.equal(h.timestamp, "2026-02-28T21:14:15.003Z");
    assert.equal(h.hostname, "mymachine.example.com");
    assert.equal(h.appName, "evntslog");
    assert.equal(h.procId, "1234");
    assert.equal(h.msgId, "ID47");
    assert.deepEqual(h.structuredData, {
      "exampleSDID@32473": { iut: "3", eventSource: 'App"lication]', eventID: "1011" },
      "other@1": { a: ["x", "y"] },
    });
    assert.equal(h.message, "An application event");
  });

  test("NILVALUEs and no MSG", () => {
    const h = parseSyslog("<13>1 - - - - - -");
    assert.equal(h.format, "rfc5424");
    assert.equal(h.timestamp, null);
    assert.equal(h.hostname, null);
    assert.equal(h.structuredData, null);
    assert.equal(h.message, "");
  });
});

describe("RFC 3164", () => {
  test("classic header with tag and pid", () => {
    const h = parseSyslog("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick", RECEIVED);
    assert.equal(h.format, "rfc3164");
    assert.equal(h.facilityName, "auth");
    assert.equal(h.severityName, "critical");
    assert.equal(h.timestamp, "2025-10-11T22:14:15.000Z", "the year nearest the receive time");
    assert.equal(h.hostname, "mymachine");
    assert.equal(h.appName, "su");
    assert.equal(h.procId, "230");
    assert.equal(h.message, "'su root' failed for lonvick");
  });

  test("no hostname before a CEF payload; single-digit day; year after the day", () => {
    const a = parseSyslog("<134>Mar  1 11:59:00 CEF:0|Armis|Armis Platform|1|A|x|5|", RECEIVED);
    assert.equal(a.hostname, null);
    assert.equal(a.timestamp, "2026-03-01T11:59:00.000Z");
    assert.match(a.message, /^CEF:0\|/);
    const b = parseSyslog("<134>Dec 31 2025 23:00:00 fw01 CEF:0|Claroty|xDome|1|A|x|5|", RECEIVED);
    assert.equal(b.timestamp, "2025-12-31T23:00:00.000Z");
    assert.equal(b.hostname, "fw01");
    assert.equal(b.appName, null, "CEF: is not taken for a tag");
  });

  test("no PRI and no timestamp: the whole text is the message", () => {
    const h = parseSyslog("just text");
    assert.equal(h.format, "none");
    assert.equal(h.message, "just text");
  });
});

describe("CEF", () => {
  test("header escapes and extension escapes (\\=, \\|, \\\\, \\n, literal newline)", () => {
    const e = parseCef(
      "CEF:0|Claroty|xDome \\| Medical|1.2\\\\3|ALRT-7|Pump \\| attack|10|src=10.0.0.5 msg=a\\=b c\\\\d\\nline2 path=C:\\\\temp\\\\x cs1Label=Zone cs1=ICU west act=blocked\nsecond line request=https://h/?a=b&c=d suser=",
    );
    assert.deepEqual(e.header, {
      version: "0",
      deviceVendor: "Claroty",
      deviceProduct: "xDome | Medical",
      deviceVersion: "1.2\\3",
      deviceEventClassId: "ALRT-7",
      name: "Pump | attack",
      severity: "10",
    });
    assert.equal(e.extensions.src, "10.0.0.5");
    assert.equal(e.extensions.msg, "a=b c\\d\nline2");
    assert.equal(e.extensions.path, "C:\\temp\\x");
    assert.equal(e.extensions.cs1, "ICU west");
    assert.equal(e.extensions.act, "blocked\nsecond line", "a literal newline stays in the value");
    assert.equal(e.extensions.request, "https://h/?a=b&c=d", "an unescaped = inside a value stays");
    assert.equal(e.extensions.suser, "");
    assert.deepEqual(e.customLabels, { Zone: "ICU west" });
  });

  test("too few header fields is an error with the reason", () => {
    assert.throws(() => parseCef("CEF:0|Vendor|Product"), /fewer than 8/);
  });
});

describe("LEEF", () => {
  test("1.0 with tab delimiter and escapes", () => {
    const e = parseLeef(
      "LEEF:1.0|Nozomi Networks|N2OS|22.0|SIGN:MALWARE|src=10.1.1.1\tmsg=a\\=b\\tc\tdst=10.1.1.2",
    );
    assert.equal(e.header.version, "1.0");
    assert.equal(e.header.vendor, "Nozomi Networks");
    assert.equal(e.header.eventId, "SIGN:MALWARE");
    assert.equal(e.header.delimiter, "\t");
    assert.deepEqual(e.extensions, { src: "10.1.1.1", msg: "a=b\tc", dst: "10.1.1.2" });
  });

  test("2.0 with a character, a hex and an absent delimiter", () => {
    const caret = parseLeef(
      "LEEF:2.0|Forescout|CounterACT|8.4|HostInfo|^|ip=10.2.0.1^mac=00:11:22:33:44:55^note=x\\^y",
    );
    assert.equal(caret.header.delimiter, "^");
    assert.deepEqual(caret.extensions, { ip: "10.2.0.1", mac: "00:11:22:33:44:55", note: "x^y" });
    const hex = parseLeef("LEEF:2.0|Forescout|CounterACT|8.4|HostInfo|0x7C|ip=10.2.0.1|os=Windows 7");
    assert.equal(hex.header.delimiter, "|");
    assert.deepEqual(hex.extensions, { ip: "10.2.0.1", os: "Windows 7" });
    const none = parseLeef("LEEF:2.0|Forescout|CounterACT|8.4|HostInfo|ip=10.2.0.1\tos=Linux");
    assert.equal(none.header.delimiter, "\t");
    assert.deepEqual(none.extensions, { ip: "10.2.0.1", os: "Linux" });
  });

  test("a value holding the delimiter unescaped is glued back, not lost", () => {
    const e = parseLeef("LEEF:2.0|V|P|1|E|;|a=1;b=x;y;c=3");
    assert.deepEqual(e.extensions, { a: "1", b: "x;y", c: "3" });
  });
});

describe("messages: bad UTF-8 and unparsed payloads", () => {
  test("invalid UTF-8 becomes U+FFFD, flagged, bytes kept", () => {
    const bytes = Buffer.concat([
      Buffer.from("<134>1 2026-03-01T10:00:00Z h app - - - CEF:0|Cynerio|Cynerio|1|E1|Scan|7|msg=caf"),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(" dst=10.0.0.9"),
    ]);
    const r = parseMessage({ bytes, transport: "udp", peer: "x", receivedAt: RECEIVED });
    assert.ok(r.ok);
    assert.equal(r.record.invalidUtf8, true);
    assert.equal(r.record.extensions.msg, "caf\uFFFD(");
    assert.equal(Buffer.from(r.record.rawBase64 ?? "", "base64").compare(bytes), 0);
    assert.equal(r.record.syslog.format, "rfc5424");
    assert.equal(r.record.cef?.deviceVendor, "Cynerio");
  });

  test("a message without CEF/LEEF is reported with its reason", () => {
    const r = parseMessage({
      bytes: Buffer.from("<13>Mar  1 10:00:00 host app: hello"),
      transport: "tcp",
      peer: "x",
      receivedAt: RECEIVED,
    });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.match(r.unparsed.reason, /no CEF or LEEF/);
      assert.equal(r.unparsed.syslog.appName, "app");
    }
  });
});

describe("TCP framing", () => {
  function frame(max: number, chunks: Buffer[], end = true) {
    const messages: string[] = [];
    const problems: FramingProblem[] = [];
    const f = new SyslogFramer({
      maxMessageBytes: max,
      onMessage: (b) => messages.push(b.toString("utf8")),
      onProblem: (p) => problems.push(p),
    });
    for (const c of chunks) f.push(c);
    if (end) f.end();
    return { messages, problems, buffered: f.buffered };
  }
  const octet = (s: string) => `${Buffer.byteLength(s)} ${s}`;

  test("octet-counting and newline framing mixed on one connection, split at every byte", () => {
    const withNewline = "<13>1 - h a - - - multi\nline";
    const text = `${octet(withNewline)}<13>Mar  1 10:00:00 h a: second\r\n${octet("<13>1 - h a - - - ünïcode")}\n<13>last-without-newline`;
    const bytes = Buffer.from(text);
    const oneByOne = [...bytes].map((b) => Buffer.from([b]));
    for (const chunks of [[bytes], oneByOne]) {
      const r = frame(1000, chunks);
      assert.deepEqual(r.messages, [
        withNewline,
        "<13>Mar  1 10:00:00 h a: second",
        "<13>1 - h a - - - ünïcode",
        "<13>last-without-newline",
      ]);
      assert.deepEqual(r.problems, []);
    }
  });

  test("oversize: octet-counted skipped exactly, newline-framed skipped to the next newline; memory stays bounded", () => {
    const big = "x".repeat(5000);
    const r = frame(100, [Buffer.from(`${octet(big)}${octet("<13>ok1")}${big}\n<13>ok2\n`)]);
    assert.deepEqual(r.messages, ["<13>ok1", "<13>ok2"]);
    assert.deepEqual(r.problems, ["oversize", "oversize"]);
    const streaming = frame(
      100,
      Array.from({ length: 50 }, () => Buffer.from("y".repeat(1000))),
      false,
    );
    assert.ok(streaming.buffered <= 1100, `buffered ${streaming.buffered}`);
    assert.deepEqual(streaming.problems, ["oversize"]);
  });

  test("framing errors: absurd octet count, connection closed mid-frame", () => {
    const r = frame(1000, [Buffer.from("99999999999 <13>x\n<13>after\n")]);
    assert.deepEqual(r.messages, ["<13>after"]);
    assert.deepEqual(r.problems, ["framing_error"]);
    const cut = frame(1000, [Buffer.from("50 <13>only part")]);
    assert.deepEqual(cut.messages, []);
    assert.deepEqual(cut.problems, ["framing_error"]);
  });
});

describe("routing table", () => {
  test("built-in vendors, case-insensitive; overrides first; unknown vendors undefined", () => {
    const route = createRouter(
      [{ vendor: "Claroty", product: "CTD", source: "claroty_ctd", type: "claroty_xdome", stream: "event" }],
      DEFAULT_SYSLOG_ROUTES,
    );
    assert.deepEqual(route("CLAROTY", "xDome"), {
      source: "claroty_xdome",
      type: "claroty_xdome",
      stream: "alert",
    });
    assert.deepEqual(route("Claroty", "ctd"), {
      source: "claroty_ctd",
      type: "claroty_xdome",
      stream: "event",
    });
    assert.deepEqual(route("ForeScout Technologies", "CounterAct"), {
      source: "forescout",
      type: "forescout",
      stream: "host",
    });
    assert.deepEqual(route("Nozomi Networks", "N2OS"), { source: "nozomi", type: "nozomi", stream: "alert" });
    assert.deepEqual(route("Cynerio", "Cynerio"), { source: "cynerio", type: "cynerio", stream: "event" });
    assert.deepEqual(route("Armis", "Armis Platform"), { source: "armis", type: "armis", stream: "alert" });
    assert.equal(route("Acme", "Widget"), undefined);
  });
});
