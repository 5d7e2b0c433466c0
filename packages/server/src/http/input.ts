/**
 * The input rules every JSON document from outside passes before anything reads it (DESIGN.md,
 * "Input and trust rules"): one layer, shared by MQTT (gateway/upstream.ts), the device HTTP API
 * and the admin API (the JSON body parser in http/server.ts), so no transport can differ.
 *
 * - Numbers are finite: `1e309` parses to Infinity, which JSON cannot carry back out (it becomes
 *   `null`), so a stored Infinity would break every later read of it. Refused.
 * - Text (values and keys): no NUL and no other control character (C0, DEL, C1). Tab, line feed and
 *   carriage return are kept, for prose; single-line fields refuse those too in their own schema
 *   (http/schemas.ts `Name`). Bidirectional overrides are allowed, and escaped wherever text is
 *   printed (text.ts `escapeForDisplay`).
 * - Keys: `__proto__` is refused, and so is `constructor.prototype` (what Fastify's default parser
 *   refuses, for the same reason: code that merges the value into an object would change its
 *   prototype). Every other key (`constructor`, `toString`, …) is a plain key; maps keyed by outside
 *   input are `Map`s or null-prototype objects.
 * - Depth: at most MAX_DEPTH levels of nesting, so that no walk over a document can exhaust the stack.
 */

/** Why a document was refused: a stable code and the JSON pointer of the offending place. */
export class InputRefused extends Error {
  readonly code: 'malformed-payload' | 'invalid-number' | 'invalid-text' | 'forbidden-key' | 'too-deep';
  readonly path: string;
  /** Where the value was: `body`, `querystring`, `params` (the HTTP API's names), `payload` (MQTT). */
  readonly part: string;
  constructor(code: InputRefused['code'], path: string, message: string, part = 'body') {
    super(message);
    this.name = 'InputRefused';
    this.code = code;
    this.path = path;
    this.part = part;
  }
}

export const MAX_DEPTH = 64;

/** Control characters refused in any text: C0 except tab, LF and CR; DEL; C1. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** Control characters refused in single-line text (names, ids): every one, tab and newlines too. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const SINGLE_LINE_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const pointer = (path: readonly (string | number)[]): string =>
  path.length === 0
    ? '/'
    : path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

const describe = (char: string): string =>
  `U+${char.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')}`;

/** The first control character of a text, if it has one (tab, LF and CR allowed). */
export function controlCharacter(text: string, singleLine = false): string | null {
  const found = (singleLine ? SINGLE_LINE_CONTROL : CONTROL).exec(text);
  return found ? describe(found[0]) : null;
}

/**
 * Checks a parsed JSON value against the rules above; throws InputRefused naming the first place
 * that breaks one. Values that did not come from JSON.parse (the query string) pass the same check.
 */
export function checkInput(value: unknown, path: (string | number)[] = [], part = 'body'): void {
  try {
    checkValue(
      value,
      path.reduce<Path>((parent, segment) => child(parent, segment), null),
    );
  } catch (error) {
    if (error instanceof InputRefused && part !== error.part)
      throw new InputRefused(error.code, error.path, `${part} ${error.message}`, part);
    throw error;
  }
}

/** Where a value sits, as a linked list: no path array is copied per value of a large document. */
type Path = { segment: string | number; parent: Path; depth: number } | null;

const segments = (path: Path): (string | number)[] => {
  const out: (string | number)[] = [];
  for (let at = path; at; at = at.parent) out.unshift(at.segment);
  return out;
};

const child = (parent: Path, segment: string | number): Path => ({
  segment,
  parent,
  depth: (parent?.depth ?? 0) + 1,
});

function checkValue(value: unknown, path: Path): void {
  if ((path?.depth ?? 0) > MAX_DEPTH)
    throw new InputRefused('too-deep', pointer(segments(path)), `nested deeper than ${MAX_DEPTH} levels`);
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) {
        const where = pointer(segments(path));
        throw new InputRefused(
          'invalid-number',
          where,
          `${where} is not a finite number (JSON numbers such as 1e309 overflow to infinity)`,
        );
      }
      return;
    case 'string': {
      const control = controlCharacter(value);
      if (control) {
        const where = pointer(segments(path));
        throw new InputRefused('invalid-text', where, `${where} contains the control character ${control}`);
      }
      return;
    }
    case 'object': {
      if (value === null) return;
      if (Array.isArray(value)) {
        for (let index = 0; index < value.length; index++) checkValue(value[index], child(path, index));
        return;
      }
      for (const key of Object.keys(value)) {
        const control = controlCharacter(key);
        if (control)
          throw new InputRefused(
            'invalid-text',
            pointer(segments(child(path, key))),
            `the key ${JSON.stringify(key)} at ${pointer(segments(path))} contains the control character ${control}`,
          );
        const item = (value as Record<string, unknown>)[key];
        if (
          key === '__proto__' ||
          (key === 'constructor' &&
            item !== null &&
            typeof item === 'object' &&
            Object.hasOwn(item, 'prototype'))
        )
          throw new InputRefused(
            'forbidden-key',
            pointer(segments(child(path, key))),
            `the key ${key === '__proto__' ? '__proto__' : 'constructor.prototype'} is not allowed (at ${pointer(segments(path))})`,
          );
        checkValue(item, child(path, key));
      }
      return;
    }
    default:
      return;
  }
}

/** Parses JSON text from outside and applies the input rules. */
export function parseInput(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputRefused('malformed-payload', '/', `not valid JSON: ${(error as Error).message}`);
  }
  checkInput(value);
  return value;
}
