import { ApiError } from '../../api/client.js';

/**
 * The server's per-field problems (problem+json `errors`) by the form field they belong to, so a
 * form shows each next to its input. Schema errors name JSON pointers (`/waves/0`, `/selector/tags`),
 * domain errors dotted names (`waves`, `selector.tags`): both become `waves`, `selector.tags`.
 */
export function fieldErrors(error: unknown, fields: readonly string[]): Record<string, string> {
  const found: Record<string, string> = {};
  if (!(error instanceof ApiError)) return found;
  for (const problem of error.problem.errors ?? []) {
    const path = (problem.field ?? '').replace(/^\//, '').replace(/\//g, '.');
    const field = fields.find((name) => path === name || path.startsWith(`${name}.`));
    if (field && !found[field]) found[field] = problem.message ?? error.message;
  }
  return found;
}
