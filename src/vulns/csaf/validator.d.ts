// Types for the parts of @secvisogram/csaf-validator-lib (plain JavaScript, no declarations) used here.
declare module '@secvisogram/csaf-validator-lib/validateStrict.js' {
  export interface ValidationResult {
    isValid: boolean;
    tests: {
      name: string;
      isValid: boolean;
      errors: { instancePath: string; message: string }[];
      warnings: unknown[];
      infos: unknown[];
    }[];
  }
  export default function validateStrict(tests: unknown[], document: unknown): Promise<ValidationResult>;
}
declare module '@secvisogram/csaf-validator-lib/mandatoryTests.js' {
  const tests: Record<string, unknown>;
  export = tests;
}
declare module '@secvisogram/csaf-validator-lib/schemaTests.js' {
  export const csaf_2_0_strict: unknown;
}
