import type { ComponentChildren } from 'preact';
import { common } from '../i18n/common.js';

/**
 * A labelled field with its hint and error tied to it (aria-describedby), so a screen reader reads
 * what is wrong with the field it is on (WCAG 3.3.1, 3.3.2). The child is the input, with `id`.
 */
export function Field(props: {
  id: string;
  label: string;
  hint?: string | null;
  error?: string | null;
  required?: boolean;
  children: ComponentChildren;
}) {
  return (
    <div class={props.error ? 'field field-invalid' : 'field'}>
      <label for={props.id}>
        {props.label}
        {props.required ? <span class="required"> ({common.required})</span> : null}
      </label>
      {props.children}
      {props.hint ? (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

/** The aria-describedby of a Field's input: its hint and its error, when there are. */
export function describedBy(id: string, hint?: string | null, error?: string | null): string | undefined {
  const ids = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

/** The value of an input event, for `onInput={(e) => set(inputValue(e))}`. */
export function inputValue(event: Event): string {
  return (event.currentTarget as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;
}
