import { useState } from 'preact/hooks';
import { api } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { Loading, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { useLoad } from '../../components/use-api.js';
import { formatDateTime } from '../../i18n/index.js';
import { useSession } from '../../session.js';
import { ConfirmButton } from '../settings/confirm.js';
import { t } from './messages.js';

interface SessionRow {
  handle: string;
  method: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  userAgent: string | null;
  ip: string | null;
  current: boolean;
}

/** The person's open sessions: end one, or all of them (this one too). */
export function Sessions() {
  const session = useSession();
  // Adding a passkey or changing the password ends the other sessions and refreshes `me`:
  // the list loads again with it.
  const list = useLoad<{ items: SessionRow[] }>(
    (signal) => api.get('/v1/me/sessions', undefined, signal),
    [session.me],
  );
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <Section
      title={t.sessionsTitle}
      id="account-sessions"
      actions={
        <ConfirmButton
          label={t.everywhere}
          question={t.everywhereQuestion}
          onConfirm={async () => {
            try {
              await api.post('/v1/me/sign-out-everywhere', {});
            } finally {
              // This session ended too: back to the sign-in page.
              await session.signOut().catch(() => {});
            }
          }}
        />
      }
    >
      <p>{t.sessionsIntro}</p>
      <Notice text={notice} />
      <ErrorMessage error={error} />
      <ErrorMessage error={list.error} retry={list.reload} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data ? (
        <Table<SessionRow>
          caption={t.sessionsTitle}
          captionHidden
          rows={list.data.items}
          rowKey={(s) => s.handle}
          columns={[
            {
              label: t.device,
              cell: (s) => (
                <>
                  {s.userAgent ?? '–'} {s.current ? <Badge tone="info">{t.thisOne}</Badge> : null}
                </>
              ),
            },
            { label: t.address, cell: (s) => s.ip ?? '–' },
            { label: t.method, cell: (s) => s.method },
            { label: t.started, cell: (s) => formatDateTime(s.createdAt) },
            { label: t.lastSeen, cell: (s) => formatDateTime(s.lastSeenAt) },
            {
              label: t.signOutOne,
              cell: (s) =>
                s.current ? (
                  '–'
                ) : (
                  <ConfirmButton
                    label={t.signOutOne}
                    ariaLabel={t.signOutOf(`${s.userAgent ?? s.handle}, ${formatDateTime(s.createdAt)}`)}
                    question={t.signOutQuestion}
                    onConfirm={async () => {
                      try {
                        await api.delete(`/v1/me/sessions/${encodeURIComponent(s.handle)}`);
                        setNotice(t.sessionEnded);
                        list.reload();
                      } catch (caught) {
                        setError(caught);
                      }
                    }}
                  />
                ),
            },
          ]}
        />
      ) : null}
    </Section>
  );
}
