import { keptWarningLimit, type SbomWarning, type SbomWarningCode } from './parsed-sbom.ts';

/** Collects a document's warnings, keeping the first {@link keptWarningLimit} and counting the rest. */
export class WarningCollector {
  readonly kept: SbomWarning[] = [];
  omitted = 0;

  add(code: SbomWarningCode, path: string, message: string): void {
    if (this.kept.length < keptWarningLimit) this.kept.push({ code, path, message });
    else this.omitted++;
  }
}
