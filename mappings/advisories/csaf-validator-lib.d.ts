// Types for the parts of @secvisogram/csaf-validator-lib (plain JavaScript) that medsoc uses.
declare module "@secvisogram/csaf-validator-lib/validate.js" {
  export interface TestResult {
    name: string;
    isValid: boolean;
    errors: { instancePath: string; message?: string }[];
    warnings: { instancePath: string; message?: string }[];
    infos: { instancePath: string; message?: string }[];
  }
  export type DocumentTest = (doc: unknown) => unknown;
  export default function validate(
    tests: readonly DocumentTest[],
    doc: unknown,
  ): Promise<{ tests: TestResult[]; isValid: boolean }>;
}
declare module "@secvisogram/csaf-validator-lib/schemaTests.js" {
  import type { DocumentTest } from "@secvisogram/csaf-validator-lib/validate.js";
  export const csaf_2_0: DocumentTest;
  export const csaf_2_0_strict: DocumentTest;
}
declare module "@secvisogram/csaf-validator-lib/mandatoryTests.js" {
  import type { DocumentTest } from "@secvisogram/csaf-validator-lib/validate.js";

  const tests: Record<string, DocumentTest>;
  export = tests;
}
