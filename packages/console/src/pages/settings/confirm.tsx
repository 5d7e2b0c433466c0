import { useEffect, useRef, useState } from 'preact/hooks';
import { common } from '../../i18n/common.js';

/**
 * A destructive action asked twice, in the page rather than in a browser dialog: the first press
 * shows the question with a confirm and a cancel button, and the focus moves to the question's
 * confirm button so a keyboard user answers it at once.
 */
export function ConfirmButton(props: {
  label: string;
  question: string;
  /** Names the button for a screen reader when the visible label repeats on every row. */
  ariaLabel?: string;
  onConfirm: () => Promise<void> | void;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirm = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirm.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button
        type="button"
        class="button-secondary"
        aria-label={props.ariaLabel}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  }
  return (
    <span class="button-row">
      <span>{props.question}</span>
      <button
        type="button"
        ref={confirm}
        class="button-danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await props.onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {props.label}
      </button>
      <button type="button" class="button-secondary" onClick={() => setAsking(false)}>
        {common.cancel}
      </button>
    </span>
  );
}
