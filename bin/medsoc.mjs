#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so `npx medsoc …` works right after `npm ci`
// without a separate build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../worker/cli.ts");
await main(process.argv);
