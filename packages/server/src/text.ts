/**
 * Text shown to a person (CLI tables, records): bidirectional controls are accepted in prose
 * (a product description in Arabic or Hebrew needs them) but printed escaped, so that stored text
 * cannot reorder what a terminal shows around it (the "Trojan Source" class, CVE-2021-42574).
 * Control characters, which the input rules refuse (http/input.ts) but older data may hold, are
 * escaped too. Tab and line feed are kept.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The text with every bidirectional and control character written as `<U+XXXX>`. */
export function escapeForDisplay(text: string): string {
  return text.replace(
    UNSAFE,
    (char) => `<U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}>`,
  );
}
