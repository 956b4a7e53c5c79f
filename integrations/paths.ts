/** Where the SIEM packages' sources live in the checkout (light: the CLI shows them as defaults). */
import { join, resolve } from "node:path";

const INTEGRATIONS = resolve(import.meta.dirname);
/** The Splunk app folder (its name is the app id). */
export const SPLUNK_APP_DIR = join(INTEGRATIONS, "splunk", "medsoc");
/** The Elastic integration package folder. */
export const ELASTIC_PACKAGE_DIR = join(INTEGRATIONS, "elastic", "medsoc");
