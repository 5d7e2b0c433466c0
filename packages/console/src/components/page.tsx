import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { common } from '../i18n/common.js';

let navigated = false;

/**
 * A page's heading: sets the document title and takes the focus when the page opens, so a screen
 * reader announces the new page and the keyboard starts from its top (WCAG 2.4.3, 2.4.2).
 */
export function PageTitle(props: { title: string; children?: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · ${common.product}`;
  }, [props.title]);
  useEffect(() => {
    // On the first page of a visit the keyboard starts at the top (the skip link); after a
    // navigation inside the console the new page's heading takes the focus, as a page load would.
    if (navigated) heading.current?.focus({ preventScroll: false });
    navigated = true;
  }, []);
  return (
    <header class="page-header">
      <h1 tabIndex={-1} ref={heading}>
        {props.title}
      </h1>
      {props.children ? <div class="page-actions">{props.children}</div> : null}
    </header>
  );
}

/** A titled part of a page (h2), with an id other pages can link to. */
export function Section(props: {
  title: string;
  id?: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  const id = props.id ?? `section-${props.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    // No accessible name on purpose: a named <section> is a landmark, and the tables inside are
    // named regions already (axe landmark-unique); the h2 is what screen readers jump by.
    <section class="section">
      <div class="section-header">
        <h2 id={id}>{props.title}</h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

export function Loading() {
  return (
    <p class="loading" role="status">
      {common.loading}
    </p>
  );
}

/** An empty list says what to do next (issue 17: an empty fleet says how to provision). */
export function Empty(props: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{props.title}</p>
      {props.children}
    </div>
  );
}
