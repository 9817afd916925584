import type { FastifyError } from 'fastify';
import { httpStatusOfKind, isVigilError } from '../core/index.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
  [fact: string]: unknown;
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
): Problem {
  return {
    type: `urn:vigil:problem:${code}`,
    title: titles[status] ?? 'Error',
    status,
    detail,
    code,
    ...extra,
  };
}

/** The problem document for a request no route matches. */
export function routeNotFound(method: string, url: string): Problem {
  return problem(404, 'ROUTE_NOT_FOUND', `no route ${method} ${url.split('?')[0] ?? ''}`);
}

/**
 * Maps any error to an RFC 9457 problem document with a stable code. Only VigilErrors and the
 * framework's request errors say what went wrong; anything else is a 500 with no internals.
 */
export function problemOf(error: unknown): Problem {
  if (isVigilError(error)) {
    return problem(httpStatusOfKind[error.kind], error.code, error.message, error.facts ?? {});
  }
  const fastifyError = error as Partial<FastifyError> & {
    validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[];
  };
  if (Array.isArray(fastifyError.validation)) {
    const context = fastifyError.validationContext ?? 'body';
    const errors = fastifyError.validation.map((issue) => {
      const missing = issue.params?.missingProperty;
      const extra = issue.params?.additionalProperty;
      const path = `${context}${issue.instancePath ?? ''}${typeof missing === 'string' ? `/${missing}` : ''}${typeof extra === 'string' ? `/${extra}` : ''}`;
      return { path, message: issue.message ?? 'is invalid' };
    });
    const first = errors[0];
    return problem(
      400,
      'REQUEST_INVALID',
      first === undefined ? 'the request is invalid' : `${first.path} ${first.message}`,
      { errors },
    );
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(413, 'REQUEST_TOO_LARGE', 'the request body exceeds the size limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem(415, 'REQUEST_MEDIA_TYPE_UNSUPPORTED', 'send the body as application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problem(400, 'REQUEST_JSON_INVALID', 'the request body is not valid JSON');
    default:
      break;
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return problem(status, 'REQUEST_REJECTED', fastifyError.message ?? 'the request was rejected');
  }
  return problem(500, 'INTERNAL_ERROR', 'an internal error occurred; it has been logged');
}
