/**
 * CEF/LEEF → ECS (mappings/syslog): escaping edge cases flow from the wire through the receiver's
 * parser into ECS values; severity and time conversions; dispatch keeps REST records on the vendor
 * mapping; document ids are deterministic.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseMessage } from "../../connectors/syslog/message.ts";
import { cefSeverity, cefTime, isSyslogRecord } from "../../mappings/syslog/index.ts";
import { mapRecord } from "../../monitors/index.ts";
import { formatProblems, validateEcs } from "../helpers/ecs.ts";

const at = new Date("2026-03-01T12:00:00.000Z");

function record(line: string): Record<string, unknown> {
  const p = parseMessage({
    bytes: Buffer.from(line),
    transport: "udp",
    peer: "10.0.0.1:514",
    receivedAt: at,
  });
  if (!p.ok) throw new Error(p.unparsed.reason);
  return JSON.parse(JSON.stringify(p.record));
}

function map(source: string, stream: string, line: string) {
  const doc = mapRecord(source, stream, record(line), { ingestedAt: "2026-03-01T12:00:01.000Z" });
  const problems = validateEcs(doc);
  assert.equal(problems.length, 0, formatProblems(problems));
  // biome-ignore lint/suspicious/noExplicitAny: the tests read deep document fields
  return doc as Record<string, any>;
}

describe("CEF escaping reaches ECS values", () => {
  test("\\| in the header, \\= \\\\ \\n in values, an unescaped = inside a value, a trailing backslash", () => {
    const d = map(
      "armis",
      "alert",
      "<134>1 2026-03-01T10:00:00Z h a - - - CEF:0|Armis|Armis\\|Platform|1|7|Name \\\\ with \\| pipe|5|msg=a\\=b c\\\\d\\nnext request=https://x/?q=1&r=2 cs1Label=Device ID cs1=dev\\=1 suser=end\\",
    );
    assert.equal(d.observer.product, "Armis|Platform");
    assert.equal(d.rule.name, "Name \\ with | pipe");
    assert.equal(d.message, "a=b c\\d\nnext");
    assert.equal(d.armis.syslog.extension.request, "https://x/?q=1&r=2");
    assert.equal(d.host.id, "dev=1");
    assert.equal(d.source.user.name, "end\\");
  });

  test("values with spaces end at the next key; labels bind custom fields whatever their order", () => {
    const d = map(
      "claroty_xdome",
      "alert",
      "<134>1 2026-03-01T10:00:00Z h a - - - CEF:0|Claroty|xDome|1|X|Outdated Firmware|4|cs2=Patient Monitor cs1Label=Device UID msg=firmware 1.2 is old cs2Label=Device Type cs1=uid-7 dst=10.1.1.1 dmac=aa:bb:cc:dd:ee:ff",
    );
    assert.equal(d.message, "firmware 1.2 is old");
    assert.equal(d.host.id, "uid-7");
    assert.equal(d.medsoc.device.vendor_type, "Patient Monitor");
    assert.deepEqual(d.host.mac, ["AA-BB-CC-DD-EE-FF"]);
    assert.equal(d.event.severity, 47);
  });

  test("LEEF 2.0: escaped delimiter, LEEF keys renamed to their CEF meaning", () => {
    const d = map(
      "nozomi",
      "alert",
      "<134>1 2026-03-01T10:00:00Z h a - - - LEEF:2.0|Nozomi Networks|N2OS|24|SIGN:X|^|src=10.0.0.1^dst=10.0.0.2^dstPort=502^dstMAC=00:11:22:33:44:55^usrName=a\\^b^sev=9",
    );
    assert.equal(d.destination.port, 502);
    assert.deepEqual(d.host.mac, ["00-11-22-33-44-55"]);
    assert.equal(d.source.user.name, "a^b");
    assert.equal(d.event.severity, 99);
    assert.equal(d.event.code, "SIGN:X");
  });

  test("invalid IPs, ports and MACs stay in the vendor namespace instead of ECS", () => {
    const d = map(
      "armis",
      "alert",
      "<134>1 2026-03-01T10:00:00Z h a - - - CEF:0|Armis|Armis|1|7|x|3|dst=not-an-ip dpt=70000 dmac=:::::",
    );
    assert.equal(d.destination, undefined);
    assert.equal(d.host, undefined);
    assert.deepEqual(d.armis.syslog.extension, { dst: "not-an-ip", dpt: "70000", dmac: ":::::" });
  });
});

describe("conversions", () => {
  test("CEF severity 0–10 and labels → 21/47/73/99", () => {
    assert.deepEqual(
      ["0", "3", "4", "6", "7", "8", "9", "10", "Low", "Medium", "High", "Very-High", "Unknown", "11"].map(
        cefSeverity,
      ),
      [21, 21, 47, 47, 73, 73, 99, 99, 21, 47, 73, 99, undefined, undefined],
    );
  });
  test("CEF times: epoch ms, ISO, MMM dd yyyy HH:mm:ss[.SSS] [UTC]; other zones are not guessed", () => {
    assert.equal(cefTime("1651456283700"), "2022-05-02T01:51:23.700Z");
    assert.equal(cefTime("Apr 14 2025 10:39:58"), "2025-04-14T10:39:58.000Z");
    assert.equal(cefTime("Apr 14 2025 10:39:58.5 UTC"), "2025-04-14T10:39:58.500Z");
    assert.equal(cefTime("Apr 14 2025 10:39:58 CEST"), undefined);
    assert.equal(cefTime("Feb 30 2025 10:39:58"), undefined);
  });
});

describe("dispatch and identity", () => {
  test("REST records are not syslog records; syslog records are", () => {
    assert.equal(isSyslogRecord({ alertId: 1, format: "json" }), false);
    assert.equal(isSyslogRecord({ format: "cef", extensions: {} }), false, "no header");
    assert.equal(isSyslogRecord(record("<134>1 - h a - - - CEF:0|A|B|1|2|n|3|x=y")), true);
  });
  test("doc_id: from the vendor id and time when present (re-delivery keeps it), else from the payload", () => {
    const line =
      "<134>1 2026-03-01T10:00:00Z h a - - - CEF:0|Nozomi Networks|N2OS|1|SIGN:X|x|5|cs3Label=Id cs3=abc start=1651456283700";
    const a = map("nozomi", "alert", line);
    const b = mapRecord(
      "nozomi",
      "alert",
      { ...record(line), receivedAt: "2027-01-01T00:00:00.000Z", peer: "x" },
      {
        ingestedAt: "2027-01-01T00:00:00.000Z",
      },
    );
    assert.equal(a.medsoc.doc_id, b.medsoc.doc_id);
    assert.equal(a.event.id, "abc");
    const c = map("nozomi", "alert", line.replace("cs3=abc", "cs3=abd"));
    assert.notEqual(a.medsoc.doc_id, c.medsoc.doc_id);
    const noId1 = map(
      "armis",
      "alert",
      "<134>1 2026-03-01T10:00:00Z h a - - - CEF:0|Armis|A|1|7|x|3|dst=10.0.0.1",
    );
    const noId2 = map(
      "armis",
      "alert",
      "<134>1 2026-03-01T10:00:00Z h a - - - CEF:0|Armis|A|1|7|x|3|dst=10.0.0.2",
    );
    assert.notEqual(noId1.medsoc.doc_id, noId2.medsoc.doc_id);
  });
  test("Cynerio CEF carrying Cynerio's own columns keeps the event mapping", () => {
    const d = map(
      "cynerio",
      "event",
      "<134>1 2026-03-01T10:00:00Z h a - - - CEF:0|Cynerio|Cynerio|1|x|Scanner Activity|8|uid=u-1 timestamp=1743206409 title=Scanner Activity severity=High asset_id=a-1",
    );
    assert.equal(d.event.id, "u-1");
    assert.equal(d.host.id, "a-1");
    assert.equal(d.cynerio.syslog, undefined);
  });
});
