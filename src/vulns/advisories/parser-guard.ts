import { isVigilError } from '../../core/index.ts';
import { advisoryError } from './errors.ts';

/**
 * Runs a parser on attacker-controlled input so that only VigilError leaves it: the parser's own typed
 * refusals pass through; anything else is a bug in Vigil, reported as VULNS_ADVISORY_PARSER_FAILED.
 */
export function guardParser<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (isVigilError(error)) throw error;
    throw advisoryError('VULNS_ADVISORY_PARSER_FAILED', 'reading the advisory failed inside Vigil', {
      cause: error,
    });
  }
}
