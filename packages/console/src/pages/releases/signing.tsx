import { ApiError, orgPath } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { Loading, Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import { formatDateTime, formatNumber } from '../../i18n/index.js';
import { useOrg } from '../../session.js';
import { StatusBadge } from './badges.js';
import { Copyable } from './copy.js';
import { t } from './messages.js';
import type { Release, RepositoryStatus, TargetsDraft } from './types.js';

/**
 * What waits for the offline targets key, shown so the key holder can compare every target with
 * their own build before signing with the CLI (docs/updates.md, "Signing is never blind"). The
 * console never signs: the key never reaches a browser.
 */
export function Signing(props: { release: Release }) {
  const { release } = props;
  const org = useOrg();
  const status = useGet<RepositoryStatus>(orgPath(org.slug, 'updates'));
  const draft = useGet<TargetsDraft>(orgPath(org.slug, 'updates', 'targets', 'draft'));
  const noDraft = draft.error instanceof ApiError && draft.error.status === 404;
  const targets = Object.entries(draft.data?.metadata.signed.targets ?? {});
  const online = `brickless release sign --key targets-1.key --file ${release.filename} --yes`;
  const offline = [
    'brickless release sign --export pending.json',
    `brickless release sign --sign-offline pending.json --key targets-1.key --file ${release.filename} --out signatures.json`,
    'brickless release sign --import signatures.json',
  ].join('\n');

  return (
    <Section title={t.signingTitle} id="signing">
      <p>{t.signingIntro}</p>
      <p>
        <StatusBadge status={release.status} /> {release.status === 'published' ? t.signed : t.waiting}
      </p>
      <ErrorMessage error={status.error} retry={status.reload} />
      {noDraft ? null : <ErrorMessage error={draft.error} retry={draft.reload} />}
      {(status.loading && !status.data) || (draft.loading && !draft.data && !draft.error) ? (
        <Loading />
      ) : null}
      {status.data && !status.data.initialized ? <p class="alert alert-warn">{t.noRepository}</p> : null}
      {status.data?.warnings.map((warning) => (
        <p class="alert alert-warn" key={warning}>
          {warning}
        </p>
      ))}
      {noDraft && release.status === 'draft' ? <p>{t.noDraft}</p> : null}
      {draft.data ? (
        <>
          <h3>
            {t.draftVersion(draft.data.version)} ·{' '}
            {t.signatures(draft.data.signatures.length, draft.data.threshold)}
          </h3>
          {release.status === 'draft' ? (
            <p>{draft.data.releaseIds.includes(release.id) ? t.inDraft : t.notInDraft}</p>
          ) : null}
          <h4>{t.draftTargets}</h4>
          <ul class="target-list">
            {targets.map(([path, target]) => {
              const current = target.custom?.brickless?.releaseId === release.id;
              return (
                <li key={path} class={current ? 'target-current' : undefined}>
                  {current ? (
                    <p>
                      <Badge tone="info">{t.thisRelease}</Badge>
                    </p>
                  ) : null}
                  <dl class="facts">
                    <dt>{t.targetPath}</dt>
                    <dd>
                      <Copyable value={path} label={`${t.targetPath} ${path}`} />
                    </dd>
                    <dt>{t.length}</dt>
                    <dd>
                      <Copyable value={String(target.length)} label={`${t.length} ${path}`} /> (
                      {formatNumber(target.length)})
                    </dd>
                    <dt>{t.sha256}</dt>
                    <dd>
                      <Copyable value={target.hashes.sha256 ?? '–'} label={`${t.sha256} ${path}`} />
                    </dd>
                  </dl>
                </li>
              );
            })}
          </ul>
          <p class="hint">{t.expires(formatDateTime(draft.data.metadata.signed.expires))}</p>
        </>
      ) : null}
      {release.status === 'draft' ? (
        <>
          <h3>{t.commandTitle}</h3>
          <p>{t.commandOnline}</p>
          <Copyable value={online} label={t.copyCommand} block />
          <p>{t.commandOffline}</p>
          <Copyable value={offline} label={t.copyOfflineCommand} block />
        </>
      ) : null}
    </Section>
  );
}
