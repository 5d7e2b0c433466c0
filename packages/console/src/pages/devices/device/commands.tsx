import { useEffect, useState } from 'preact/hooks';
import { api, orgPath } from '../../../api/client.js';
import { ErrorMessage, Notice } from '../../../components/alert.js';
import { Badge, type Tone } from '../../../components/badge.js';
import { describedBy, Field, inputValue } from '../../../components/form.js';
import { Empty, Loading } from '../../../components/page.js';
import { Pager, Table } from '../../../components/table.js';
import { usePaged } from '../../../components/use-api.js';
import { formatDateTime } from '../../../i18n/index.js';
import { t } from './messages.js';
import type { Command, CommandStatus, PartProps } from './types.js';

const POLL_MS = 2000;
const PENDING: CommandStatus[] = ['queued', 'delivered'];

export function statusTone(status: CommandStatus): Tone {
  return status === 'succeeded'
    ? 'good'
    : status === 'failed'
      ? 'bad'
      : status === 'expired'
        ? 'warn'
        : 'info';
}

/** Sends commands and shows their history; while one waits for its result the list refreshes. */
export function CommandsPart(props: PartProps) {
  const path = orgPath(props.org, 'devices', props.device.id, 'commands');
  const history = usePaged<Command>(path, { order: 'desc' }, 20);
  // The command just sent is followed by itself as well, whichever history page is open.
  const [latest, setLatest] = useState<Command | null>(null);
  const pending =
    (latest !== null && PENDING.includes(latest.status)) ||
    (history.data?.items.some((c) => PENDING.includes(c.status)) ?? false);
  const { reload } = history;
  useEffect(() => {
    // Poll every 2 s while a command waits for the device; stops when none does or the page closes.
    if (!pending) return;
    const controller = new AbortController();
    const timer = setInterval(() => {
      reload();
      if (latest && PENDING.includes(latest.status)) {
        api
          .get<Command>(`${path}/${encodeURIComponent(latest.id)}`, undefined, controller.signal)
          .then(setLatest, () => {});
      }
    }, POLL_MS);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }, [pending, reload, latest, path]);

  return (
    <div>
      <h2>{t.commands}</h2>
      {props.canWrite ? (
        <SendCommand
          path={path}
          {...props}
          onSent={(command) => {
            setLatest(command);
            reload();
          }}
        />
      ) : null}
      {latest ? <LatestCommand command={latest} /> : null}
      <h3 id="command-history">{t.commandHistory}</h3>
      {pending ? <p class="hint">{t.waitingForResult}</p> : null}
      <ErrorMessage error={history.error} retry={reload} />
      {history.loading && !history.data ? <Loading /> : null}
      {history.data && history.data.items.length === 0 ? (
        <Empty title={t.noCommands}>
          <p>{props.canWrite ? t.noCommandsNext : t.noCommandsAsk}</p>
        </Empty>
      ) : null}
      {history.data && history.data.items.length > 0 ? (
        <Table
          caption={t.commandHistory}
          captionHidden
          rows={history.data.items}
          rowKey={(c) => c.id}
          columns={[
            { label: t.commandName, cell: (c) => <code>{c.name}</code> },
            { label: t.params, cell: (c) => <JsonCell value={c.params} /> },
            {
              label: t.commandStatus,
              cell: (c) => <Badge tone={statusTone(c.status)}>{t.commandState(c.status)}</Badge>,
            },
            { label: t.result, cell: (c) => <JsonCell value={c.result} /> },
            { label: t.sentAt, cell: (c) => formatDateTime(c.createdAt) },
            { label: t.completedAt, cell: (c) => formatDateTime(c.completedAt) },
          ]}
        />
      ) : null}
      <Pager list={history} />
    </div>
  );
}

/** The command just sent, with its result as soon as the device answers (announced politely). */
function LatestCommand(props: { command: Command }) {
  const { command } = props;
  return (
    <div class="card latest-command" aria-live="polite">
      <h3>{t.latestCommand}</h3>
      <dl class="facts">
        <dt>{t.commandName}</dt>
        <dd>
          <code>{command.name}</code>
        </dd>
        <dt>{t.commandStatus}</dt>
        <dd>
          <Badge tone={statusTone(command.status)}>{t.commandState(command.status)}</Badge>
        </dd>
        <dt>{t.result}</dt>
        <dd>
          <JsonCell value={command.result} />
        </dd>
      </dl>
    </div>
  );
}

function JsonCell(props: { value: unknown }) {
  if (props.value === null || props.value === undefined) return <>–</>;
  return <code class="json-cell">{JSON.stringify(props.value)}</code>;
}

/** What is wrong with the params text, or null: empty means no params. */
export function paramsError(text: string): string | null {
  if (!text.trim()) return null;
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    return t.notJson((error as Error).message);
  }
}

function SendCommand(props: PartProps & { path: string; onSent: (command: Command) => void }) {
  const declared = props.product?.capabilities?.commands ?? {};
  const names = Object.keys(declared);
  const [name, setName] = useState(names[0] ?? '');
  const [params, setParams] = useState('');
  const [invalid, setInvalid] = useState<{ name?: string; params?: string }>({});
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const spec = declared[name];
  const paramsHint = spec?.params ? t.paramsSchema(JSON.stringify(spec.params)) : t.paramsHint;

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setNotice(null);
    const problems = {
      ...(name.trim() ? {} : { name: t.nameRequired }),
      ...(paramsError(params) ? { params: paramsError(params) as string } : {}),
    };
    setInvalid(problems);
    if (problems.name || problems.params) {
      document.getElementById(problems.name ? 'command-name' : 'command-params')?.focus();
      return;
    }
    setBusy(true);
    try {
      const sent = await api.post<Command>(props.path, {
        name: name.trim(),
        ...(params.trim() ? { params: JSON.parse(params) as unknown } : {}),
      });
      setNotice(t.commandSent(sent.name));
      props.onSent(sent);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form-grid" onSubmit={(e) => void submit(e)}>
      <h3>{t.sendCommand}</h3>
      <ErrorMessage error={error} />
      <Notice text={notice} />
      {names.length > 0 ? (
        <Field id="command-name" label={t.commandName} hint={spec?.description ?? null} required>
          <select
            id="command-name"
            value={name}
            aria-describedby={describedBy('command-name', spec?.description)}
            onChange={(e) => setName(inputValue(e))}
          >
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </Field>
      ) : (
        <Field id="command-name" label={t.commandName} error={invalid.name ?? null} required>
          <input
            id="command-name"
            required
            maxLength={64}
            aria-invalid={invalid.name ? 'true' : undefined}
            aria-describedby={describedBy('command-name', null, invalid.name)}
            value={name}
            onInput={(e) => setName(inputValue(e))}
          />
        </Field>
      )}
      <Field id="command-params" label={t.params} hint={paramsHint} error={invalid.params ?? null}>
        <textarea
          id="command-params"
          class="json-input"
          rows={4}
          spellcheck={false}
          aria-invalid={invalid.params ? 'true' : undefined}
          aria-describedby={describedBy('command-params', paramsHint, invalid.params)}
          value={params}
          onInput={(e) => setParams(inputValue(e))}
        />
      </Field>
      <div class="form-actions">
        <button type="submit" class="button-primary" disabled={busy}>
          {t.send}
        </button>
      </div>
    </form>
  );
}
