import { Type, type TSchema } from '@sinclair/typebox';

/**
 * The HTTP contract every module's routes share: RFC 9457 problem documents, list pages and
 * bearer security. Kept here so domain routes and the API edge describe them one way.
 */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable machine-readable error code, MODULE_REASON.' }),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details.' },
);

const problemRef = Type.Ref('Problem');

/** Error responses documented on every authenticated route. */
export function withErrors<T extends Record<number, TSchema>>(responses: T) {
  return {
    ...responses,
    400: problemRef,
    401: problemRef,
    403: problemRef,
    404: problemRef,
    409: problemRef,
    413: problemRef,
  };
}

export const bearerSecurity = [{ bearerAuth: [] as string[] }];

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
