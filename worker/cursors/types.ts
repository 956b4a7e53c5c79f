import type { Cursor } from "../../connectors/types.ts";

/** Per (source, stream) cursor storage: Redis in production, memory in the embedded default. */
export interface CursorStore {
  get(source: string, stream: string): Promise<Cursor | null>;
  set(source: string, stream: string, cursor: Cursor): Promise<void>;
  delete(source: string, stream: string): Promise<void>;
  close(): Promise<void>;
}
