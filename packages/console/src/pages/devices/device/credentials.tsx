import { useEffect, useRef, useState } from 'preact/hooks';
import { api, orgPath } from '../../../api/client.js';
import { ErrorMessage, Notice } from '../../../components/alert.js';
import { Badge } from '../../../components/badge.js';
import { Field, inputValue } from '../../../components/form.js';
import { Empty, Loading } from '../../../components/page.js';
import { Table } from '../../../components/table.js';
import { useGet } from '../../../components/use-api.js';
import { formatDateTime } from '../../../i18n/index.js';
import { t } from './messages.js';
import type { Credential, IssuedCredential, PartProps } from './types.js';

type Confirming = 'rotate' | 'revoke' | null;

/** The device's credentials (never their secrets); an operator rotates or revokes them. */
export function CredentialsPart(props: PartProps) {
  const path = orgPath(props.org, 'devices', props.device.id, 'credentials');
  const list = useGet<{ items: Credential[] }>(path);
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [kind, setKind] = useState<'secret' | 'certificate'>('secret');
  const [issued, setIssued] = useState<IssuedCredential | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const act = async (what: 'rotate' | 'revoke') => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      if (what === 'rotate') setIssued(await api.post<IssuedCredential>(path, { kind }));
      else {
        const { revoked } = await api.delete<{ revoked: number }>(path);
        setIssued(null);
        setNotice(t.revoked(revoked));
      }
      setConfirming(null);
      list.reload();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const rows = list.data?.items ?? [];
  return (
    <div>
      <h2>{t.credentials}</h2>
      <ErrorMessage error={list.error} retry={list.reload} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && rows.length === 0 ? (
        <Empty title={t.noCredentials}>
          <p>{props.canWrite ? t.noCredentialsNext : t.noCredentialsAsk}</p>
        </Empty>
      ) : null}
      {rows.length > 0 ? (
        <Table
          caption={t.credentials}
          captionHidden
          rows={rows}
          rowKey={(c) => c.id}
          columns={[
            { label: t.kind, cell: (c) => t.credentialKind(c.kind) },
            {
              label: t.credentialState,
              cell: (c) =>
                c.revokedAt ? (
                  <Badge tone="neutral">{t.revokedAt(formatDateTime(c.revokedAt))}</Badge>
                ) : (
                  <Badge tone="good">{t.valid}</Badge>
                ),
            },
            { label: t.createdAt, cell: (c) => formatDateTime(c.createdAt) },
            { label: t.expires, cell: (c) => formatDateTime(c.notAfter) },
            {
              label: t.fingerprint,
              cell: (c) => (c.fingerprint ? <code class="json-cell">{c.fingerprint}</code> : '–'),
            },
          ]}
        />
      ) : null}
      <Notice text={notice} />
      <ErrorMessage error={error} />
      {issued ? <IssuedOnce issued={issued} onDone={() => setIssued(null)} /> : null}
      {props.canWrite ? (
        <div class="credential-actions">
          <Field id="credential-kind" label={t.newKind}>
            <select
              id="credential-kind"
              value={kind}
              onChange={(e) => setKind(inputValue(e) as 'secret' | 'certificate')}
            >
              <option value="secret">{t.credentialKind('secret')}</option>
              <option value="certificate">{t.credentialKind('certificate')}</option>
            </select>
          </Field>
          <div class="button-row">
            <button type="button" class="button-secondary" onClick={() => setConfirming('rotate')}>
              {t.rotate}
            </button>
            <button type="button" class="button-danger" onClick={() => setConfirming('revoke')}>
              {t.revokeAll}
            </button>
          </div>
          {confirming ? (
            <Confirm
              text={confirming === 'rotate' ? t.confirmRotate : t.confirmRevoke}
              action={confirming === 'rotate' ? t.rotateNow : t.revokeNow}
              danger={confirming === 'revoke'}
              busy={busy}
              onConfirm={() => void act(confirming)}
              onCancel={() => setConfirming(null)}
            />
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

/**
 * An inline confirmation: the focus moves to it (Cancel first, the safe choice), Escape cancels,
 * and the buttons say what happens.
 */
function Confirm(props: {
  text: string;
  action: string;
  danger: boolean;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <fieldset
      class="confirm alert alert-warn"
      onKeyDown={(e) => {
        if (e.key === 'Escape') props.onCancel();
      }}
    >
      <legend>{props.text}</legend>
      <div class="button-row">
        <button type="button" class="button-secondary" ref={cancel} onClick={props.onCancel}>
          {t.cancel}
        </button>
        <button
          type="button"
          class={props.danger ? 'button-danger' : 'button-primary'}
          disabled={props.busy}
          onClick={props.onConfirm}
        >
          {props.action}
        </button>
      </div>
    </fieldset>
  );
}

/** The new credential, shown this once: the server keeps only its hash (or nothing, for a key). */
function IssuedOnce(props: { issued: IssuedCredential; onDone: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  useEffect(() => heading.current?.focus(), []);
  const secret = props.issued.secret ?? null;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret ?? '');
      setCopied(t.copied);
    } catch {
      setCopied(t.copyByHand);
    }
  };
  return (
    <div class="alert alert-warn issued-once">
      <h3 tabIndex={-1} ref={heading}>
        {t.issuedTitle}
      </h3>
      <p>{t.issuedWarning}</p>
      {secret ? (
        <p>
          <span>{t.secret}: </span>
          <code class="secret-value">{secret}</code>{' '}
          <button type="button" class="button-secondary" onClick={() => void copy()}>
            {t.copy}
          </button>
        </p>
      ) : null}
      {props.issued.certificate ? (
        <>
          <p>{t.certificate}</p>
          <pre class="secret-value">{props.issued.certificate}</pre>
        </>
      ) : null}
      {props.issued.privateKey ? (
        <>
          <p>{t.privateKey}</p>
          <pre class="secret-value">{props.issued.privateKey}</pre>
        </>
      ) : null}
      <Notice text={copied} />
      <button type="button" class="button-primary" onClick={props.onDone}>
        {t.storedIt}
      </button>
    </div>
  );
}
