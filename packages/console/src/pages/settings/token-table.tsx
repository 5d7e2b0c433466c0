import { Badge } from '../../components/badge.js';
import { Table } from '../../components/table.js';
import { formatDateTime } from '../../i18n/index.js';
import { ConfirmButton } from './confirm.js';
import { t } from './messages.js';
import { k } from './tokens.messages.js';

export interface ApiToken {
  id: string;
  orgId: string | null;
  role: string;
  name: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  personId: string | null;
}

export function tokenLive(token: ApiToken): boolean {
  return !token.revokedAt && !(token.expiresAt && new Date(token.expiresAt).getTime() <= Date.now());
}

/**
 * Tokens with their state and a revoke button; shared by Settings › Tokens and My account. Without
 * `onRevoke` (a reader such as the auditor, tokens:read) the table has no actions column.
 */
export function TokenTable(props: {
  caption: string;
  tokens: ApiToken[];
  extra?: { label: string; cell: (token: ApiToken) => string };
  onRevoke?: (token: ApiToken) => Promise<void>;
}) {
  const revoke = props.onRevoke;
  return (
    <Table<ApiToken>
      caption={props.caption}
      captionHidden
      rows={props.tokens}
      rowKey={(token) => token.id}
      columns={[
        { label: t.name, cell: (token) => token.name },
        ...(props.extra ? [props.extra] : []),
        { label: k.role, cell: (token) => token.role },
        { label: k.madeBy, cell: (token) => token.createdBy },
        { label: t.created, cell: (token) => formatDateTime(token.createdAt) },
        { label: t.expires, cell: (token) => (token.expiresAt ? formatDateTime(token.expiresAt) : t.never) },
        { label: k.lastUsed, cell: (token) => formatDateTime(token.lastUsedAt) },
        {
          label: t.status,
          cell: (token) =>
            token.revokedAt ? (
              <Badge tone="bad">{t.revoked}</Badge>
            ) : tokenLive(token) ? (
              <Badge tone="good">{t.active}</Badge>
            ) : (
              <Badge tone="warn">{t.expired}</Badge>
            ),
        },
        ...(revoke
          ? [
              {
                label: t.actions,
                cell: (token: ApiToken) =>
                  tokenLive(token) ? (
                    <ConfirmButton
                      label={t.revoke}
                      ariaLabel={k.revokeOf(token.name)}
                      question={k.revokeQuestion}
                      onConfirm={() => revoke(token)}
                    />
                  ) : (
                    '–'
                  ),
              },
            ]
          : []),
      ]}
    />
  );
}
