/**
 * Operating-system age checks the report and the risk score need when the EOL table
 * (`medsoc.device.os_eol`, from mappings/data/os-eol.json) has not marked a document.
 */

export interface OsInput {
  family?: string;
  name?: string;
  version?: string;
  full?: string;
}

/**
 * True for Windows older than 10: XP, Vista, 7, 8, 8.1, CE, Embedded (Standard 7, POSReady, …),
 * Server 2003/2008/2012. False for 10, 11, Server 2016 and later, and for anything not Windows.
 */
export function olderThanWindows10(os: OsInput): boolean {
  const text = [os.family, os.name, os.version, os.full].filter(Boolean).join(" ").toLowerCase();
  if (!/windows|win\s?(xp|7|ce)/.test(text) && !/^(xp|ce\b|embedded standard|vista)/.test(text)) return false;
  if (/\b(10|11)\b/.test(text) && !/embedded standard 7|server 20(03|08|12)/.test(text)) return false;
  if (/server\s*(2016|2019|2022|2025)/.test(text)) return false;
  return /\bxp\b|vista|\b7\b|\b8(\.1)?\b|\bce\b|embedded|nt\b|2000|server\s*20(03|08|12)|\b95\b|\b98\b/.test(
    text,
  );
}
