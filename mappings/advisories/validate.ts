/**
 * CSAF 2.0 validation with the BSI's maintained validator (`@secvisogram/csaf-validator-lib`, the
 * library behind Secvisogram): the official JSON schema (with the CVSS schemas) and the standard's
 * mandatory tests (§6.1: product ids defined before use, no contradicting product status,
 * consistent CVSS vectors, …). Pure (no network: the informative URL tests are not run).
 */
import * as mandatoryTests from "@secvisogram/csaf-validator-lib/mandatoryTests.js";
import { csaf_2_0 } from "@secvisogram/csaf-validator-lib/schemaTests.js";
import validate from "@secvisogram/csaf-validator-lib/validate.js";

export interface CsafValidation {
  valid: boolean;
  /** `<test>: <path> <message>`, at most 20. */
  errors: string[];
}

const TESTS = [csaf_2_0, ...Object.values(mandatoryTests)];

/** Validates one CSAF 2.0 document against the schema and the mandatory tests. */
export async function validateCsaf(doc: unknown): Promise<CsafValidation> {
  const result = await validate(TESTS, doc);
  const errors: string[] = [];
  for (const t of result.tests) {
    for (const e of t.errors) {
      if (errors.length < 20) errors.push(`${t.name}: ${e.instancePath || "/"} ${e.message}`);
    }
  }
  return { valid: result.isValid, errors };
}
