/**
 * CSAF 2.0 validation with the BSI's maintained validator (`@secvisogram/csaf-validator-lib`, the
 * library behind Secvisogram): the official JSON schema (with the CVSS schemas) and the standard's
 * mandatory tests (§6.1: product ids defined before use, no contradicting product status,
 * consistent CVSS vectors, …). Pure (no network: the informative URL tests are not run).
 */
import type { DocumentTest } from "@secvisogram/csaf-validator-lib/validate.js";

export interface CsafValidation {
  valid: boolean;
  /** `<test>: <path> <message>`, at most 20. */
  errors: string[];
}

/**
 * The validator and its tests, loaded on first use: importing them compiles every schema (seconds
 * of CPU and tens of MB), which `medsoc start` would otherwise pay at startup without validating
 * anything (it only imports advisories through `medsoc advisories`).
 */
let loaded: Promise<{ validate: Validate; tests: DocumentTest[] }> | undefined;
type Validate = typeof import("@secvisogram/csaf-validator-lib/validate.js").default;
function validator(): Promise<{ validate: Validate; tests: DocumentTest[] }> {
  loaded ??= Promise.all([
    import("@secvisogram/csaf-validator-lib/mandatoryTests.js"),
    import("@secvisogram/csaf-validator-lib/schemaTests.js"),
    import("@secvisogram/csaf-validator-lib/validate.js"),
  ]).then(([mandatoryTests, schemaTests, v]) => {
    // An ES module namespace: its values are the tests, as with the static `import * as`.
    const tests: DocumentTest[] = [schemaTests.csaf_2_0];
    for (const t of Object.values(mandatoryTests) as unknown[])
      if (typeof t === "function") tests.push(t as DocumentTest);
    return { validate: v.default, tests };
  });
  return loaded;
}

/** Validates one CSAF 2.0 document against the schema and the mandatory tests. */
export async function validateCsaf(doc: unknown): Promise<CsafValidation> {
  const { validate, tests } = await validator();
  const result = await validate(tests, doc);
  const errors: string[] = [];
  for (const t of result.tests) {
    for (const e of t.errors) {
      if (errors.length < 20) errors.push(`${t.name}: ${e.instancePath || "/"} ${e.message}`);
    }
  }
  return { valid: result.isValid, errors };
}
