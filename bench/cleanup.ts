/**
 * Removing a benchmark's Redis keys, whatever way the run ends (finished, failed, Ctrl-C/SIGTERM):
 * a 1,000,000-device run leaves millions of keys (queues, device state, cursors) otherwise.
 */
import { Redis } from "ioredis";

/**
 * Deletes every key containing `prefix` (`<prefix>:…`, and hash-tagged forms such as
 * `{<prefix>}:…` or `<prefix>:{queue}:…`) with SCAN + UNLINK. Returns how many went.
 */
export async function deleteKeysOf(prefix: string, redisUrl = "redis://127.0.0.1:6379"): Promise<number> {
  if (prefix.length < 8)
    throw new Error(`refusing to delete keys of the short prefix ${JSON.stringify(prefix)}`);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  redis.on("error", () => undefined);
  let deleted = 0;
  try {
    await redis.connect();
    // Glob metacharacters in the prefix are escaped: it is matched literally.
    const pattern = `*${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 5000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return deleted;
}

let interruptedBy: NodeJS.Signals | undefined;

/** The signal that interrupted the benchmark, if one did: its children failing then is expected. */
export function interrupted(): NodeJS.Signals | undefined {
  return interruptedBy;
}

/**
 * Runs `cleanup` once when the process gets SIGINT or SIGTERM, then exits (130 / 143). Returns a
 * function that removes the handlers (the normal path cleans up itself).
 */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  let running = false;
  const handler = (signal: NodeJS.Signals) => {
    if (running) return;
    running = true;
    interruptedBy = signal;
    process.stderr.write(`\n${signal}: stopping the benchmark and removing its Redis keys…\n`);
    cleanup()
      .catch((error: unknown) => process.stderr.write(`cleanup failed: ${String(error)}\n`))
      .finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
