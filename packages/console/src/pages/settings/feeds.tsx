import { useState } from 'preact/hooks';
import { api } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { Section } from '../../components/page.js';
import { useSession } from '../../session.js';
import { f } from './feeds.messages.js';

const CHECKPOINTS = '/.well-known/brickless/audit-checkpoints';

/**
 * What the API offers about escrow and vulnerability feeds. Escrow lives on /continuity; the feeds
 * have no status endpoint, so a platform admin starts a sync and sees its result, and everyone
 * else reads why there is nothing to set.
 */
export default function Feeds() {
  const { me } = useSession();
  return (
    <>
      <Section title={f.escrowTitle} id="feeds-escrow">
        <p>{f.escrowIntro}</p>
        <p>
          <a href="/continuity">{f.toContinuity}</a>
        </p>
        <p>
          {f.checkpoints} <a href={CHECKPOINTS}>{CHECKPOINTS}</a>
        </p>
      </Section>
      <Section title={f.feedsTitle} id="feeds-vulnerabilities">
        <p>{f.feedsIntro}</p>
        {me.person.platformAdmin ? <Sync /> : <p>{f.feedsOrg}</p>}
      </Section>
    </>
  );
}

function Sync() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<unknown>(null);
  const sync = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.post('/v1/platform/vulnerabilities/sync', {}));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <p>{f.feedsNoStatus}</p>
      <button
        type="button"
        id="feeds-sync"
        class="button-primary"
        disabled={busy}
        onClick={() => void sync()}
      >
        {f.sync}
      </button>
      <Notice text={busy ? f.syncing : result !== null ? f.synced : null} />
      <ErrorMessage error={error} />
      {result !== null ? (
        <details open>
          <summary>{f.result}</summary>
          <pre class="sync-result">{JSON.stringify(result, null, 2)}</pre>
        </details>
      ) : null}
    </>
  );
}
