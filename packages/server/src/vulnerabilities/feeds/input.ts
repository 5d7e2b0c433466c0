/**
 * Checks for documents from outside (SBOMs, advisories, feeds), after DESIGN.md "Input and trust
 * rules": numbers finite, text without NUL or control characters (prose keeps tab and newline),
 * nesting bounded. Shared by the SBOM and the feed parsers so that both refuse the same things
 * with the same words.
 */

/**
 * Deepest nesting a document may have. Real SBOMs and advisories nest at most ten levels (CSAF
 * product branches are the deepest); recursive readers (the CycloneDX schema validator,
 * JSON.stringify) overflow the stack at a few thousand, so a hostile document stops here.
 */
export const MAX_DEPTH = 64;

/**
 * Characters no text field may hold: NUL and the other C0 controls except tab, line feed and
 * carriage return, DEL, the C1 controls, and lone UTF-16 surrogates (JSON's `\ud800` escape
 * makes one; PostgreSQL cannot store it and UTF-8 turns it into U+FFFD, so it would change).
 * NUL also separates composite keys in matching.
 */
const FORBIDDEN_IN_TEXT =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Identifiers (names, versions, purls, CPEs, ids) hold no line breaks or tabs either, and no
 * bidirectional controls, which make a name display as another (Trojan Source, CVE-2021-42574).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const FORBIDDEN_IN_IDENTIFIER = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Text safe to put in an error message: controls escaped, at most `max` characters. */
export function printable(value: string, max = 80): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return cut.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** JSON Pointer (RFC 6901) of a path, made printable. */
function pointer(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return '/';
  return path.map((p) => `/${printable(String(p), 60).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/**
 * Every problem of the document's shape, at most `limit`, each as `/json/pointer: what`. Walks
 * without recursion, so no nesting overflows the stack.
 */
export function jsonProblems(document: unknown, limit = 20): string[] {
  const problems: string[] = [];
  const stack: Array<{ value: unknown; path: Array<string | number> }> = [{ value: document, path: [] }];
  while (stack.length > 0 && problems.length < limit) {
    const { value, path } = stack.pop() as { value: unknown; path: Array<string | number> };
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) problems.push(`${pointer(path)}: the number is not finite`);
    } else if (typeof value === 'string') {
      if (FORBIDDEN_IN_TEXT.test(value))
        problems.push(`${pointer(path)}: the text holds a NUL, control character or lone surrogate`);
    } else if (value !== null && typeof value === 'object') {
      if (path.length >= MAX_DEPTH) {
        problems.push(`${pointer(path.slice(0, 8))}/…: nested deeper than ${MAX_DEPTH} levels`);
        continue;
      }
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, i] });
      } else {
        const keys = Object.keys(value);
        for (let i = keys.length - 1; i >= 0; i--) {
          const key = keys[i] as string;
          if (FORBIDDEN_IN_TEXT.test(key))
            problems.push(`${pointer(path)}: a key holds a NUL, control character or lone surrogate`);
          stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
        }
      }
    } else if (typeof value !== 'boolean' && value !== null) {
      problems.push(`${pointer(path)}: not a JSON value (${typeof value})`);
    }
  }
  return problems;
}

/**
 * Why the string cannot be an identifier of at most `max` characters, or null when it can.
 * The caller names the field.
 */
export function identifierProblem(value: string, max: number): string | null {
  if (value.length > max) return `longer than ${max} characters`;
  if (FORBIDDEN_IN_IDENTIFIER.test(value))
    return 'holds a line break, tab, control or bidirectional control character';
  return null;
}

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The value when it is a JSON object, else an empty one: reading a field of it never throws. */
export function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

/** The value when it is a list, else an empty one. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The value when it is a string. `String(x)` is not used on outside values: `{"toString":1}` makes it throw. */
export function stringOr<T>(value: unknown, fallback: T): string | T {
  return typeof value === 'string' ? value : fallback;
}

/** The value when it is a finite number. */
export function finiteOr<T>(value: unknown, fallback: T): number | T {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** At most `max` UTF-16 units, never ending in half a surrogate pair (which would be a lone surrogate). */
export function clip(value: string, max: number): string {
  if (value.length <= max) return value;
  const code = value.charCodeAt(max - 1);
  return value.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
