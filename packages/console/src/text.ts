import { options } from 'preact';

/**
 * Text shown to a person: bidirectional controls and control characters written as `<U+XXXX>`,
 * so that stored text cannot reorder what the page shows around it (the "Trojan Source" class,
 * CVE-2021-42574; issue 14 §4 "bidirectional overrides are shown escaped"). The same rule as the
 * CLI's (packages/server/src/text.ts). Right-to-left scripts themselves render as they should;
 * only the invisible controls that reorder them are made visible.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const HAS_UNSAFE = new RegExp(UNSAFE.source);

export function escapeForDisplay(text: string): string {
  return text.replace(
    UNSAFE,
    (char) => `<U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}>`,
  );
}

/**
 * Every text node the console renders passes through `escapeForDisplay`: Preact turns each string
 * child into a text vnode (type null, props the string) and hands it to `options.vnode` first, so
 * no page can forget the rule. Form values are not text nodes and stay as the person typed them.
 */
export function escapeAllDisplayedText(): void {
  const previous = options.vnode;
  options.vnode = (vnode) => {
    if (vnode.type === null && typeof vnode.props === 'string' && HAS_UNSAFE.test(vnode.props))
      (vnode as { props: unknown }).props = escapeForDisplay(vnode.props);
    previous?.(vnode);
  };
}
