import { useState } from 'preact/hooks';
import { t } from './messages.js';

/**
 * A value a maker compares with their own build (a hash, a path, a command): monospace, selectable
 * as a whole, with a button that copies it. The button says what it copies (WCAG 2.4.6).
 */
export function Copyable(props: { value: string; label: string; block?: boolean }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      // No clipboard (permissions, an insecure context): the value stays selectable by hand.
    }
  };
  return (
    <span class={props.block ? 'copyable copyable-block' : 'copyable'}>
      {props.block ? (
        <pre class="copy-value">{props.value}</pre>
      ) : (
        <code class="copy-value">{props.value}</code>
      )}
      <button
        type="button"
        class="button-secondary copy-button"
        aria-label={t.copyLabel(props.label)}
        onClick={() => void copy()}
      >
        {copied ? t.copied : t.copy}
      </button>
    </span>
  );
}
