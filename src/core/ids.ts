import { v7 as uuidv7, validate as uuidValidate } from 'uuid';

/** Time-ordered UUIDv7 identifiers for every record we create (ARCHITECTURE.md: Identifiers). */
export function newId(): string {
  return uuidv7();
}

export function isId(value: string): boolean {
  return uuidValidate(value);
}

/** The JSON-schema pattern of an id, for route parameters. */
export const idPattern = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
