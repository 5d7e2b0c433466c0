import { useState } from 'preact/hooks';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { t } from './messages.js';
import { type Rollout, statusWord } from './types.js';

type Action = 'pause' | 'resume' | 'cancel' | 'complete';

/**
 * Pause (the server's halt for new offers) and resume, cancel and complete: the last two ask first,
 * in the page (a focusable group, not a browser dialog), since they cannot be undone.
 */
export function RolloutActions(props: { org: string; rollout: Rollout; onDone: (rollout: Rollout) => void }) {
  const { rollout } = props;
  const [confirming, setConfirming] = useState<'cancel' | 'complete' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const active = ['running', 'paused', 'halted'].includes(rollout.status);

  const act = async (action: Action) => {
    setBusy(true);
    setError(null);
    try {
      const next = await api.post<Rollout>(orgPath(props.org, 'rollouts', rollout.id, action));
      setNotice(t.acted(statusWord(next.status)));
      setConfirming(null);
      props.onDone(next);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  if (!active) return <Notice text={notice} />;
  return (
    <div class="rollout-actions">
      <ErrorMessage error={error} />
      <Notice text={notice} />
      <div class="button-row">
        {rollout.status === 'running' ? (
          <button type="button" class="button-secondary" disabled={busy} onClick={() => void act('pause')}>
            {t.pause}
          </button>
        ) : (
          <button type="button" class="button-primary" disabled={busy} onClick={() => void act('resume')}>
            {t.resume}
          </button>
        )}
        <button
          type="button"
          class="button-secondary"
          disabled={busy}
          onClick={() => setConfirming('complete')}
        >
          {t.complete}
        </button>
        <button type="button" class="button-danger" disabled={busy} onClick={() => setConfirming('cancel')}>
          {t.cancel}
        </button>
      </div>
      {confirming ? (
        <div class="confirm-box" role="alertdialog" aria-labelledby="confirm-text" aria-modal="false">
          <p id="confirm-text">{confirming === 'cancel' ? t.confirmCancel : t.confirmComplete}</p>
          <div class="button-row">
            <button
              type="button"
              class={confirming === 'cancel' ? 'button-danger' : 'button-primary'}
              disabled={busy}
              ref={(el) => el?.focus()}
              onClick={() => void act(confirming)}
            >
              {t.confirm}
            </button>
            <button type="button" class="button-secondary" onClick={() => setConfirming(null)}>
              {t.keep}
            </button>
          </div>
        </div>
      ) : null}
    </div>
  );
}
