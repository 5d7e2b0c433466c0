import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, orgPath } from '../../../api/client.js';
import { ErrorMessage, Notice } from '../../../components/alert.js';
import { describedBy, Field, inputValue } from '../../../components/form.js';
import { Loading } from '../../../components/page.js';
import { useGet } from '../../../components/use-api.js';
import { formatDateTime } from '../../../i18n/index.js';
import { t } from './messages.js';
import type { PartProps, Twin } from './types.js';

/** Reported and desired state; an operator changes desired state as JSON, checked before sending. */
export function StatePart(props: PartProps) {
  const path = orgPath(props.org, 'devices', props.device.id, 'state');
  const twin = useGet<Twin>(path);
  return (
    <div>
      <h2>{t.state}</h2>
      <ErrorMessage error={twin.error} retry={twin.reload} />
      {twin.loading && !twin.data ? <Loading /> : null}
      {twin.data ? (
        <>
          <p>{t.stateUpdated(formatDateTime(twin.data.updatedAt))}</p>
          <div class="state-grid">
            <Document title={t.reported(twin.data.reportedVersion)} value={twin.data.reported} />
            <Document title={t.desired(twin.data.desiredVersion)} value={twin.data.desired} />
            <Document title={t.delta} value={twin.data.delta} />
          </div>
          {props.canWrite ? <EditDesired path={path} twin={twin.data} onSaved={twin.reload} /> : null}
        </>
      ) : null}
    </div>
  );
}

function Document(props: { title: string; value: Record<string, unknown> }) {
  const empty = Object.keys(props.value).length === 0;
  return (
    <div class="state-doc">
      <h3>{props.title}</h3>
      {empty ? <p>{t.emptyDocument}</p> : <pre>{JSON.stringify(props.value, null, 2)}</pre>}
    </div>
  );
}

/** What is wrong with the text as a desired-state change, or null when it can be sent. */
export function desiredError(text: string): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return t.notJson((error as Error).message);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return t.notObject;
  const keys = Object.keys(value);
  if (keys.length === 0) return t.noKeys;
  if (keys.length > 256) return t.tooManyKeys;
  const long = keys.find((key) => key.length > 64);
  return long ? t.keyTooLong(long.slice(0, 20)) : null;
}

function EditDesired(props: { path: string; twin: Twin; onSaved: () => void }) {
  const [text, setText] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setText(JSON.stringify(props.twin.desired, null, 2));
  }, [props.twin.desiredVersion]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setNotice(null);
    setError(null);
    const problem = desiredError(text);
    setInvalid(problem);
    if (problem) {
      document.getElementById('desired-json')?.focus();
      return;
    }
    setBusy(true);
    try {
      await api.patch(props.path, {
        version: props.twin.desiredVersion,
        desired: JSON.parse(text) as Record<string, unknown>,
      });
      setNotice(t.desiredSaved);
      props.onSaved();
    } catch (caught) {
      // Someone else changed it meanwhile: say so and show theirs.
      if (caught instanceof ApiError && caught.status === 409) {
        setError(new Error(t.desiredConflict));
        props.onSaved();
      } else setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form-grid" onSubmit={(e) => void submit(e)}>
      <h3>{t.editDesired}</h3>
      <ErrorMessage error={error} />
      <Notice text={notice} />
      <Field id="desired-json" label={t.desiredJson} hint={t.desiredHint} error={invalid}>
        <textarea
          id="desired-json"
          class="json-input"
          spellcheck={false}
          rows={8}
          aria-invalid={invalid ? 'true' : undefined}
          aria-describedby={describedBy('desired-json', t.desiredHint, invalid)}
          value={text}
          onInput={(e) => {
            setText(inputValue(e));
            if (invalid) setInvalid(null);
          }}
        />
      </Field>
      <div class="form-actions">
        <button type="submit" class="button-primary" disabled={busy}>
          {t.saveDesired}
        </button>
      </div>
    </form>
  );
}
