/**
 * Catalogue of domain errors. Domain code throws these; only the HTTP error handler and the CLI
 * turn them into RFC 9457 problem details or one-line messages. Codes are stable API: clients
 * match on `code`, never on the human text.
 */
export const errorCatalogue = {
  'validation-failed': { status: 400, title: 'The request is not valid' },
  'malformed-request': { status: 400, title: 'The request body could not be parsed' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Not allowed for this role' },
  'not-found': { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict with the current state' },
  'device-moved': { status: 409, title: 'The device moved to another server or to local mode' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'schema-too-new': { status: 500, title: 'Database schema is newer than this brickless' },
  'database-unreachable': { status: 503, title: 'Database unreachable' },
  'mail-not-configured': { status: 503, title: 'No SMTP server is configured' },
  'artifact-store-unavailable': { status: 503, title: 'The artifact store is unreachable or incomplete' },
  internal: { status: 500, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export interface ErrorField {
  /** JSON pointer-ish path of the offending field, for example `/capabilities/telemetry/temp`. */
  field: string;
  message: string;
}

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fields: ErrorField[] | undefined;

  constructor(code: ErrorCode, message: string, fields?: ErrorField[]) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.fields = fields;
  }
}

export const notFound = (what: string, id: string): DomainError =>
  new DomainError('not-found', `${what} ${JSON.stringify(id)} not found`);

export const conflict = (message: string): DomainError => new DomainError('conflict', message);

export const invalid = (field: string, message: string): DomainError =>
  new DomainError('validation-failed', `${field}: ${message}`, [{ field, message }]);
