import type { ComponentChildren, VNode } from 'preact';
import { common } from '../i18n/common.js';
import type { Paged } from './use-api.js';

export interface Column<T> {
  /** The column's header. */
  label: string;
  cell: (row: T) => ComponentChildren;
  /** Numbers align right. */
  numeric?: boolean;
}

/**
 * A data table with a caption and column headers (WCAG 1.3.1); on a narrow screen it scrolls
 * sideways inside its own focusable region instead of widening the page (WCAG 1.4.10 reflow).
 */
export function Table<T>(props: {
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  captionHidden?: boolean;
}): VNode {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (axe scrollable-region-focusable)
    <section class="table-scroll" tabIndex={0} aria-label={props.caption}>
      <table>
        <caption class={props.captionHidden ? 'visually-hidden' : undefined}>{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th scope="col" key={column.label} class={column.numeric ? 'numeric' : undefined}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={props.rowKey(row)}>
              {props.columns.map((column) => (
                <td key={column.label} class={column.numeric ? 'numeric' : undefined}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Previous and next for a server-side paged list. */
export function Pager(props: { list: Paged<unknown> }) {
  const { list } = props;
  if (!list.hasPrevious && !list.hasNext) return null;
  return (
    <nav class="pager" aria-label={common.pagination}>
      <button type="button" class="button-secondary" disabled={!list.hasPrevious} onClick={list.previous}>
        {common.previous}
      </button>
      <span aria-live="polite">{common.pageNumber(list.page)}</span>
      <button type="button" class="button-secondary" disabled={!list.hasNext} onClick={list.next}>
        {common.next}
      </button>
    </nav>
  );
}
