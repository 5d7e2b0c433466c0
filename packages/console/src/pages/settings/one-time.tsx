import { useEffect, useRef } from 'preact/hooks';
import { t } from './messages.js';

/**
 * A secret the server shows once (an invitation link, a token): selected and focused, so the
 * person copies it with one key press, with a plain word that it will not come back.
 */
export function OneTimeSecret(props: { id: string; label: string; value: string; onDone: () => void }) {
  const field = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    field.current?.focus();
    field.current?.select();
  }, [props.value]);
  return (
    <section class="alert alert-warn one-time" aria-labelledby={`${props.id}-label`}>
      <label id={`${props.id}-label`} for={props.id}>
        <strong>{props.label}</strong>
      </label>
      <textarea
        id={props.id}
        ref={field}
        readOnly
        rows={2}
        class="one-time-value"
        aria-describedby={`${props.id}-hint`}
        value={props.value}
        onFocus={(e) => (e.currentTarget as HTMLTextAreaElement).select()}
      />
      <p id={`${props.id}-hint`}>{t.copyHint}</p>
      <button type="button" class="button-secondary" onClick={props.onDone}>
        {t.dismiss}
      </button>
    </section>
  );
}
