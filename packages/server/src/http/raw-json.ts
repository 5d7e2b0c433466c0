import type { FastifyRequest } from 'fastify';

/**
 * The JSON body of a request exactly as it arrived, for the few routes that must keep the bytes
 * someone else hashed (an SBOM the maker signs by its hash: `release sign --file`). The parser
 * keeps a reference to the text it parsed anyway, so this costs no copy.
 */
const raw = new WeakMap<FastifyRequest, string>();

export function keepRawJson(request: FastifyRequest, text: string): void {
  raw.set(request, text);
}

export function rawJsonOf(request: FastifyRequest): string | undefined {
  return raw.get(request);
}
