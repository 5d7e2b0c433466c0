import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode, errorCatalogue } from '../errors.js';
import { InputRefused } from './input.js';

export interface ProblemField {
  field: string;
  in?: string;
  message: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: ProblemField[];
}

export const problemType = (code: string): string => `urn:brickless:problem:${code}`;

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns ajv errors into fields a person can act on: the path of the field and what is wrong. */
function validationFields(errors: AjvError[], part: string): ProblemField[] {
  return errors.map((e) => {
    const path = e.instancePath ?? '';
    if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') {
      return { field: `${path}/${e.params.additionalProperty}`, in: part, message: 'unknown field' };
    }
    if (e.keyword === 'required' && typeof e.params?.missingProperty === 'string') {
      return { field: `${path}/${e.params.missingProperty}`, in: part, message: 'is required' };
    }
    return { field: path || '/', in: part, message: e.message ?? 'is not valid' };
  });
}

function fastifyCode(error: FastifyError): ErrorCode {
  switch (error.statusCode) {
    case 413:
      return 'payload-too-large';
    case 415:
      return 'unsupported-media-type';
    case 404:
      return 'not-found';
    case 429:
      return 'rate-limited';
    default:
      return 'malformed-request';
  }
}

/** Every error leaves the API as RFC 9457 problem+json; internals of a 500 stay in the log. */
export function toProblem(error: unknown, request: FastifyRequest): ProblemBody {
  const instance = request.url.split('?')[0];
  if (error instanceof DomainError) {
    const body: ProblemBody = {
      type: problemType(error.code),
      title: errorCatalogue[error.code].title,
      status: error.status,
      detail: error.message,
      code: error.code,
    };
    if (instance) body.instance = instance;
    if (error.fields) body.errors = error.fields;
    return body;
  }
  if (error instanceof InputRefused) {
    const code: ErrorCode = error.code === 'malformed-payload' ? 'malformed-request' : 'validation-failed';
    return {
      type: problemType(code),
      title: errorCatalogue[code].title,
      status: 400,
      detail: error.message,
      code,
      errors: [{ field: error.path, in: error.part, message: error.message }],
      ...(instance ? { instance } : {}),
    };
  }
  const fe = error as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const errors = validationFields(fe.validation, fe.validationContext ?? 'body');
    return {
      type: problemType('validation-failed'),
      title: errorCatalogue['validation-failed'].title,
      status: 400,
      detail: errors.map((e) => `${e.in} ${e.field}: ${e.message}`).join('; '),
      code: 'validation-failed',
      errors,
      ...(instance ? { instance } : {}),
    };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code = fastifyCode(fe);
    return {
      type: problemType(code),
      title: errorCatalogue[code].title,
      status: fe.statusCode,
      detail: fe.message,
      code,
      ...(instance ? { instance } : {}),
    };
  }
  return {
    type: problemType('internal'),
    title: errorCatalogue.internal.title,
    status: 500,
    detail: 'an internal error occurred; it has been logged',
    code: 'internal',
    ...(instance ? { instance } : {}),
  };
}

export function sendProblem(reply: FastifyReply, problem: ProblemBody): FastifyReply {
  // The app API names the bearer error itself (RFC 6750 §3: invalid_token, insufficient_scope).
  if (problem.status === 401 && !reply.hasHeader('www-authenticate'))
    reply.header('www-authenticate', 'Bearer');
  return reply.status(problem.status).type('application/problem+json').send(problem);
}
