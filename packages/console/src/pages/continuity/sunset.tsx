import { useEffect, useRef, useState } from 'preact/hooks';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import type { Paged } from '../../components/use-api.js';
import { common } from '../../i18n/common.js';
import { formatDate } from '../../i18n/index.js';
import { t } from './messages.js';
import type { PublishedRecord } from './types.js';

export interface ProductRow {
  id: string;
  name: string;
  modelNumber: string;
  supportEnds: string;
}

/** The sunset record of a product, if one was published (the newest local record naming it). */
export function sunsetOf(records: PublishedRecord[], productId: string): PublishedRecord | null {
  return records.find((r) => r.mode === 'local' && r.products?.includes(productId)) ?? null;
}

/** Products with their state; the sunset action for those who may publish signed records. */
export function Products(props: {
  org: string;
  list: Paged<ProductRow>;
  records: PublishedRecord[];
  canSunset: boolean;
  onSunset: (product: ProductRow, noticeUrl: string) => void;
}) {
  const [open, setOpen] = useState<ProductRow | null>(null);
  const lastOpened = useRef<string | null>(null);
  const { list } = props;
  // When the dialog closes, the focus goes back to the button that opened it (WCAG 2.4.3). The
  // dialog's own clean-up does that too; this catches the case where the table re-rendered the
  // button while the dialog was open, which leaves the focus on the page's body.
  useEffect(() => {
    if (open || !lastOpened.current) return;
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    const selector = `button[data-sunset="${CSS.escape(lastOpened.current)}"]`;
    const button = document.querySelector<HTMLButtonElement>(selector);
    button?.focus();
  }, [open]);
  return (
    <Section title={t.productsTitle} id="sunset">
      <p>{t.productsIntro}</p>
      {props.canSunset ? null : <p class="hint">{t.sunsetNeedsRole}</p>}
      <ErrorMessage error={list.error} retry={list.reload} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && list.data.items.length === 0 ? <Empty title={t.productsEmpty} /> : null}
      {list.data && list.data.items.length > 0 ? (
        <Table
          caption={t.productsLabel}
          captionHidden
          rows={list.data.items}
          rowKey={(p) => p.id}
          columns={[
            { label: t.product, cell: (p) => p.name },
            { label: t.model, cell: (p) => <code>{p.modelNumber}</code> },
            { label: t.supportEnds, cell: (p) => formatDate(p.supportEnds) },
            {
              label: t.state,
              cell: (p) => {
                const sunset = sunsetOf(props.records, p.id);
                return sunset ? (
                  <Badge tone="warn">{t.stateSunset(sunset.version)}</Badge>
                ) : (
                  <Badge tone="good">{t.stateCloud}</Badge>
                );
              },
            },
            ...(props.canSunset
              ? [
                  {
                    label: t.action,
                    cell: (p: ProductRow) =>
                      sunsetOf(props.records, p.id) ? (
                        '–'
                      ) : (
                        <button
                          type="button"
                          class="button-danger"
                          aria-label={`${t.sunset} ${p.name}`}
                          data-sunset={p.id}
                          onClick={() => {
                            lastOpened.current = p.id;
                            setOpen(p);
                          }}
                        >
                          {t.sunset}
                        </button>
                      ),
                  },
                ]
              : []),
          ]}
        />
      ) : null}
      <Pager list={list} />
      {open ? (
        <SunsetDialog
          org={props.org}
          product={open}
          onClose={() => setOpen(null)}
          onDone={(noticeUrl) => {
            setOpen(null);
            props.onSunset(open, noticeUrl);
          }}
        />
      ) : null}
    </Section>
  );
}

/**
 * The strong confirmation: a modal dialog (the browser's own: focus stays inside, Escape cancels)
 * that says what devices will do, takes the offline-signed record and the notice, and publishes
 * only once the product's model number is typed.
 */
function SunsetDialog(props: {
  org: string;
  product: ProductRow;
  onClose: () => void;
  onDone: (noticeUrl: string) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(document.activeElement);
  const [record, setRecord] = useState('');
  const [message, setMessage] = useState('');
  const [confirm, setConfirm] = useState('');
  const [fieldError, setFieldError] = useState<{ record?: string; confirm?: string }>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const element = dialog.current;
    element?.showModal();
    const back = opener.current;
    return () => {
      element?.close();
      if (back instanceof HTMLElement) back.focus();
    };
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    const problems: { record?: string; confirm?: string } = {};
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(record);
    } catch {
      problems.record = t.recordInvalid;
    }
    if (confirm.trim() !== props.product.modelNumber) problems.confirm = t.confirmMismatch;
    setFieldError(problems);
    if (problems.record || problems.confirm) return;
    setBusy(true);
    setError(null);
    try {
      const result = await api.post<{ noticeUrl: string }>(
        orgPath(props.org, 'products', props.product.id, 'sunset'),
        { record: parsed, message },
      );
      props.onDone(result.noticeUrl);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const title = t.dialogTitle(props.product.name);
  return (
    <dialog
      ref={dialog}
      class="sunset-dialog"
      aria-labelledby="sunset-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <form onSubmit={(e) => void submit(e)} class="form-grid sunset-form">
        <h2 id="sunset-title">{title}</h2>
        <div class="alert alert-warn">
          <p>{t.dialogWarning}</p>
          <p>{t.localWillDo}</p>
        </div>
        <ErrorMessage error={error} />
        <Field
          id="sunset-record"
          label={t.recordLabel}
          hint={t.recordHint}
          error={fieldError.record}
          required
        >
          <textarea
            id="sunset-record"
            required
            rows={5}
            spellcheck={false}
            value={record}
            aria-describedby={describedBy('sunset-record', t.recordHint, fieldError.record)}
            aria-invalid={fieldError.record ? true : undefined}
            onInput={(e) => setRecord(inputValue(e))}
          />
        </Field>
        <Field id="sunset-message" label={t.messageLabel} hint={t.messageHint} required>
          <textarea
            id="sunset-message"
            required
            rows={3}
            maxLength={20_000}
            value={message}
            aria-describedby={describedBy('sunset-message', t.messageHint)}
            onInput={(e) => setMessage(inputValue(e))}
          />
        </Field>
        <Field
          id="sunset-confirm"
          label={t.confirmLabel(props.product.modelNumber)}
          error={fieldError.confirm}
          required
        >
          <input
            id="sunset-confirm"
            required
            autocomplete="off"
            value={confirm}
            aria-describedby={describedBy('sunset-confirm', null, fieldError.confirm)}
            aria-invalid={fieldError.confirm ? true : undefined}
            onInput={(e) => setConfirm(inputValue(e))}
          />
        </Field>
        <div class="button-row">
          <button type="submit" class="button-danger" disabled={busy}>
            {t.confirmSunset}
          </button>
          <button type="button" class="button-secondary" onClick={props.onClose}>
            {common.cancel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
