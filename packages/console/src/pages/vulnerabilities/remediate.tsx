import { useState } from 'preact/hooks';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import { formatNumber } from '../../i18n/index.js';
import { useSession } from '../../session.js';
import { d } from './detail-messages.js';
import type { Decision, Exposure, ReleaseItem } from './types.js';

/**
 * Remediation creates a rollout, so it needs releases:write (docs/roles.md): the security role
 * decides, whoever ships releases rolls the fix out. The plan is shown before anything is created.
 */
export function Remediate(props: { org: string; exposure: Exposure; decisions: Decision[] }) {
  const { can } = useSession();
  const exposed = props.exposure.products.filter((p) => p.releases.some((r) => r.exposed));
  const [productId, setProductId] = useState(exposed[0]?.productId ?? '');
  const [releaseId, setReleaseId] = useState('');
  const [planned, setPlanned] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [rolloutId, setRolloutId] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const allowed = can('releases:write');
  const releases = useGet<{ items: ReleaseItem[] }>(
    allowed && productId ? orgPath(props.org, 'releases') : null,
    { productId, limit: 200 },
  );
  if (exposed.length === 0 && !rolloutId) return null;
  if (!allowed)
    return (
      <Section title={d.remediateTitle}>
        <p>{d.remediateIntro}</p>
        <p class="alert">{d.remediateNeedsRole}</p>
      </Section>
    );

  const product = exposed.find((p) => p.productId === productId);
  const exposedReleases = product?.releases.filter((r) => r.exposed) ?? [];
  const fromDecision = props.decisions
    .filter((x) => x.productId === productId && x.releaseId === null && x.status === 'fixed')
    .at(-1)?.fixedVersion;
  const chosen =
    releases.data?.items.find((r) => r.id === releaseId)?.version ?? fromDecision ?? d.fromDecision;

  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      const result = await api.post<{ rollout: { id: string } }>(
        orgPath(props.org, 'vulnerabilities', props.exposure.vulnerability.id, 'remediate'),
        { productId, ...(releaseId ? { releaseId } : {}) },
      );
      setRolloutId(result.rollout.id);
      setPlanned(false);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title={d.remediateTitle} id="remediate">
      <p>{d.remediateIntro}</p>
      <Notice text={rolloutId ? d.remediated : null} />
      {rolloutId ? (
        <p>
          <a href={`/rollouts/${rolloutId}`}>{d.openRollout}</a>
        </p>
      ) : null}
      <form
        class="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          setPlanned(true);
        }}
      >
        <ErrorMessage error={error} />
        <Field id="remediate-product" label={d.product} required>
          <select
            id="remediate-product"
            value={productId}
            onChange={(e) => {
              setProductId(inputValue(e));
              setReleaseId('');
              setPlanned(false);
            }}
          >
            {exposed.map((p) => (
              <option key={p.productId} value={p.productId}>
                {p.name} ({p.modelNumber})
              </option>
            ))}
          </select>
        </Field>
        <Field id="remediate-release" label={d.fixingRelease} hint={d.fixingHint}>
          <select
            id="remediate-release"
            aria-describedby={describedBy('remediate-release', d.fixingHint)}
            value={releaseId}
            onChange={(e) => {
              setReleaseId(inputValue(e));
              setPlanned(false);
            }}
          >
            <option value="">{d.fromDecision}</option>
            {(releases.data?.items ?? []).map((r) => (
              <option key={r.id} value={r.id}>
                {r.version}
              </option>
            ))}
          </select>
        </Field>
        <div class="form-actions">
          <button type="submit" class="button-secondary">
            {d.preview}
          </button>
        </div>
      </form>
      {planned && product ? (
        <div class="plan">
          <p>
            {d.plan(
              chosen,
              formatNumber(exposedReleases.reduce((n, r) => n + r.devices, 0)),
              exposedReleases.map((r) => r.version).join(', '),
              product.name,
            )}
          </p>
          <button type="button" class="button-primary" disabled={busy} onClick={() => void create()}>
            {d.remediateConfirm}
          </button>
        </div>
      ) : null}
    </Section>
  );
}
