import type { ComponentChildren } from 'preact';
import { useRef } from 'preact/hooks';

export interface TabSpec {
  id: string;
  label: string;
}

/**
 * Tabs after the WAI-ARIA Authoring Practices tabs pattern: one tab stop for the tab list, arrow
 * keys (and Home/End) move between tabs and activate them at once, the panel is the next stop.
 * Only the selected panel is rendered, so each part loads its data when it is opened.
 */
export function Tabs(props: {
  label: string;
  tabs: TabSpec[];
  selected: string;
  onSelect: (id: string) => void;
  children: ComponentChildren;
}) {
  const list = useRef<HTMLDivElement>(null);
  const index = Math.max(
    0,
    props.tabs.findIndex((tab) => tab.id === props.selected),
  );
  const move = (to: number) => {
    const count = props.tabs.length;
    const next = props.tabs[(to + count) % count];
    if (!next) return;
    props.onSelect(next.id);
    // The focus follows the selection (automatic activation: every panel is quick to show).
    list.current?.querySelector<HTMLButtonElement>(`#tab-${next.id}`)?.focus();
  };
  const onKeyDown = (event: KeyboardEvent) => {
    const keys: Record<string, () => void> = {
      ArrowRight: () => move(index + 1),
      ArrowLeft: () => move(index - 1),
      Home: () => move(0),
      End: () => move(props.tabs.length - 1),
    };
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  };
  return (
    <div class="device-tabs">
      <div role="tablist" aria-label={props.label} class="tablist" ref={list} onKeyDown={onKeyDown}>
        {props.tabs.map((tab) => {
          const selected = tab.id === props.selected;
          return (
            <button
              key={tab.id}
              type="button"
              role="tab"
              id={`tab-${tab.id}`}
              aria-selected={selected ? 'true' : 'false'}
              // Only the selected panel exists, so only its tab points at it (a dangling id fails axe).
              aria-controls={selected ? `panel-${tab.id}` : undefined}
              tabIndex={selected ? 0 : -1}
              onClick={() => props.onSelect(tab.id)}
            >
              {tab.label}
            </button>
          );
        })}
      </div>
      <div
        role="tabpanel"
        id={`panel-${props.selected}`}
        aria-labelledby={`tab-${props.selected}`}
        class="tabpanel"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the WAI-ARIA tabs pattern makes the panel the next stop
        tabIndex={0}
      >
        {props.children}
      </div>
    </div>
  );
}
