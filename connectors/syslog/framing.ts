/**
 * Syslog over a byte stream (TCP, TLS): RFC 6587 octet-counting (`<length> <message>`, also RFC
 * 5425's framing) and non-transparent newline framing, detected per frame, so one connection may
 * mix both. Memory per connection is bounded by `maxMessageBytes`: a longer message is skipped
 * (octet-counted: exactly its declared bytes; newline-framed: up to the next newline) and reported,
 * never buffered.
 */

export type FramingProblem =
  /** A message longer than `maxMessageBytes` (skipped). */
  | "oversize"
  /** An octet count that cannot be right (too many digits, zero) or a frame cut off by the end of the connection. */
  | "framing_error";

export interface FramerOptions {
  maxMessageBytes: number;
  onMessage(bytes: Buffer): void;
  onProblem(problem: FramingProblem, detail: string): void;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const isDigit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;

/** Splits one connection's bytes into syslog messages. Feed it with `push`, finish with `end`. */
export class SyslogFramer {
  readonly #o: FramerOptions;
  #buf: Buffer = Buffer.alloc(0);
  /** Bytes still to discard of an oversize octet-counted frame. */
  #skipBytes = 0;
  /** Discarding up to the next newline (an oversize newline-framed message or a bad octet count). */
  #skipLine = false;

  constructor(options: FramerOptions) {
    this.#o = options;
  }

  /** Bytes currently held for an incomplete message (at most about `maxMessageBytes`). */
  get buffered(): number {
    return this.#buf.length;
  }

  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    this.#drain();
  }

  /** The connection ended: a newline-less last message is delivered; a cut octet-counted frame is a framing error. */
  end(): void {
    if (this.#skipBytes > 0) {
      this.#o.onProblem(
        "framing_error",
        `connection closed ${this.#skipBytes} byte(s) before the end of a skipped frame`,
      );
    } else if (!this.#skipLine && this.#buf.length > 0) {
      const head = this.#octetHeader();
      if (head && typeof head === "object")
        this.#o.onProblem(
          "framing_error",
          `connection closed inside an octet-counted frame (${this.#buf.length - head.start} of ${head.length} bytes)`,
        );
      else {
        const msg = trimLine(this.#buf);
        if (msg.length > 0) this.#o.onMessage(msg);
      }
    }
    this.#buf = Buffer.alloc(0);
    this.#skipBytes = 0;
    this.#skipLine = false;
  }

  /** An octet-count prefix at the start of the buffer: `partial` while its digits may still be arriving. */
  #octetHeader(): { length: number; start: number } | "partial" | "bad" | null {
    const b = this.#buf;
    if (!isDigit(b[0])) return null;
    let i = 0;
    while (i < b.length && isDigit(b[i])) i++;
    if (i === b.length) return i > 10 ? "bad" : "partial";
    if (b[i] !== SP) return null; // digits not followed by a space: a newline-framed message without PRI
    if (i > 10 || b[0] === 0x30) return "bad";
    return { length: Number(b.subarray(0, i).toString("latin1")), start: i + 1 };
  }

  #drain(): void {
    const { maxMessageBytes, onMessage, onProblem } = this.#o;
    for (;;) {
      if (this.#skipBytes > 0) {
        const n = Math.min(this.#skipBytes, this.#buf.length);
        this.#buf = this.#buf.subarray(n);
        this.#skipBytes -= n;
        if (this.#skipBytes > 0) return;
      }
      if (this.#skipLine) {
        const nl = this.#buf.indexOf(LF);
        if (nl === -1) {
          this.#buf = Buffer.alloc(0);
          return;
        }
        this.#buf = this.#buf.subarray(nl + 1);
        this.#skipLine = false;
      }
      // Blank lines between frames are noise.
      let s = 0;
      while (s < this.#buf.length && (this.#buf[s] === LF || this.#buf[s] === CR)) s++;
      if (s > 0) this.#buf = this.#buf.subarray(s);
      if (this.#buf.length === 0) return;

      const head = this.#octetHeader();
      if (head === "partial") return;
      if (head === "bad") {
        onProblem(
          "framing_error",
          `invalid octet count "${this.#buf.subarray(0, 12).toString("latin1")}…"; skipped to the next newline`,
        );
        this.#skipLine = true;
        continue;
      }
      if (head) {
        if (head.length > maxMessageBytes) {
          onProblem("oversize", `octet-counted message of ${head.length} bytes exceeds ${maxMessageBytes}`);
          this.#buf = this.#buf.subarray(head.start);
          this.#skipBytes = head.length;
          continue;
        }
        if (this.#buf.length < head.start + head.length) return;
        const msg = this.#buf.subarray(head.start, head.start + head.length);
        this.#buf = this.#buf.subarray(head.start + head.length);
        onMessage(Buffer.from(msg));
        continue;
      }
      const nl = this.#buf.indexOf(LF);
      if (nl === -1) {
        if (this.#buf.length > maxMessageBytes) {
          onProblem(
            "oversize",
            `newline-framed message longer than ${maxMessageBytes} bytes; skipped to the next newline`,
          );
          this.#buf = Buffer.alloc(0);
          this.#skipLine = true;
        }
        return;
      }
      const line = trimLine(this.#buf.subarray(0, nl));
      this.#buf = this.#buf.subarray(nl + 1);
      if (line.length > maxMessageBytes) {
        onProblem("oversize", `newline-framed message of ${line.length} bytes exceeds ${maxMessageBytes}`);
        continue;
      }
      onMessage(Buffer.from(line));
    }
  }
}

function trimLine(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === CR || b[end - 1] === LF)) end--;
  return b.subarray(0, end);
}
