import { useState } from 'preact/hooks';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import { d } from './detail-messages.js';
import { t } from './messages.js';
import {
  type Exposure,
  type ReleaseItem,
  type TriageStatus,
  triageStatuses,
  vexJustifications,
} from './types.js';

/**
 * A VEX decision (security:write): the statuses and justifications are the API's own lists, and the
 * form asks only for what the chosen status needs (a justification for not_affected, the fixing
 * release for fixed), so the server's "needs" table is visible before sending.
 */
export function TriageForm(props: { org: string; exposure: Exposure; onDecided: () => void }) {
  const products = props.exposure.products;
  const [productId, setProductId] = useState(products[0]?.productId ?? '');
  const [releaseId, setReleaseId] = useState('');
  const [status, setStatus] = useState<TriageStatus>('not_affected');
  const [justification, setJustification] = useState('');
  const [impact, setImpact] = useState('');
  const [action, setAction] = useState('');
  const [fixedReleaseId, setFixedReleaseId] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const product = products.find((p) => p.productId === productId);
  // Any release of the product can be the fix, not only the matched ones.
  const releases = useGet<{ items: ReleaseItem[] }>(
    status === 'fixed' && productId ? orgPath(props.org, 'releases') : null,
    { productId, limit: 200 },
  );

  if (products.length === 0) return null;

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await api.post(orgPath(props.org, 'vulnerabilities', props.exposure.vulnerability.id, 'decisions'), {
        productId,
        ...(releaseId ? { releaseId } : {}),
        status,
        ...(status === 'not_affected' && justification ? { justification } : {}),
        ...(status === 'not_affected' && impact ? { impactStatement: impact } : {}),
        ...(status === 'affected' && action ? { actionStatement: action } : {}),
        ...(status === 'fixed' && fixedReleaseId ? { fixedReleaseId } : {}),
      });
      setNotice(d.recorded(t.statusLabel(status)));
      setImpact('');
      setAction('');
      props.onDecided();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title={d.triageTitle} id="triage">
      <p>{d.triageIntro}</p>
      <Notice text={notice} />
      <form class="form-grid" onSubmit={(e) => void submit(e)}>
        <ErrorMessage error={error} />
        <Field id="triage-product" label={d.triageProduct} required>
          <select
            id="triage-product"
            value={productId}
            onChange={(e) => {
              setProductId(inputValue(e));
              setReleaseId('');
            }}
          >
            {products.map((p) => (
              <option key={p.productId} value={p.productId}>
                {p.name} ({p.modelNumber})
              </option>
            ))}
          </select>
        </Field>
        <Field id="triage-release" label={d.triageRelease}>
          <select id="triage-release" value={releaseId} onChange={(e) => setReleaseId(inputValue(e))}>
            <option value="">{d.allReleases}</option>
            {(product?.releases ?? []).map((r) => (
              <option key={r.releaseId} value={r.releaseId}>
                {r.version}
              </option>
            ))}
          </select>
        </Field>
        <Field id="triage-status" label={d.triageStatus} required>
          <select
            id="triage-status"
            value={status}
            onChange={(e) => setStatus(inputValue(e) as TriageStatus)}
          >
            {triageStatuses.map((s) => (
              <option key={s} value={s}>
                {t.statusLabel(s)}
              </option>
            ))}
          </select>
        </Field>
        {status === 'not_affected' ? (
          <>
            <Field
              id="triage-justification"
              label={d.triageJustification}
              hint={d.justificationHint}
              required
            >
              <select
                id="triage-justification"
                required
                aria-describedby={describedBy('triage-justification', d.justificationHint)}
                value={justification}
                onChange={(e) => setJustification(inputValue(e))}
              >
                <option value="">{d.chooseJustification}</option>
                {vexJustifications.map((j) => (
                  <option key={j} value={j}>
                    {t.justificationLabel(j)} ({j})
                  </option>
                ))}
              </select>
            </Field>
            <Field id="triage-impact" label={d.impact} hint={d.impactHint}>
              <textarea
                id="triage-impact"
                maxLength={5000}
                rows={3}
                aria-describedby={describedBy('triage-impact', d.impactHint)}
                value={impact}
                onInput={(e) => setImpact(inputValue(e))}
              />
            </Field>
          </>
        ) : null}
        {status === 'affected' ? (
          <Field id="triage-action" label={d.action} hint={d.actionHint}>
            <textarea
              id="triage-action"
              maxLength={5000}
              rows={3}
              aria-describedby={describedBy('triage-action', d.actionHint)}
              value={action}
              onInput={(e) => setAction(inputValue(e))}
            />
          </Field>
        ) : null}
        {status === 'fixed' ? (
          <Field id="triage-fixed" label={d.fixedRelease} hint={d.fixedHint} required>
            <select
              id="triage-fixed"
              required
              aria-describedby={describedBy('triage-fixed', d.fixedHint)}
              value={fixedReleaseId}
              onChange={(e) => setFixedReleaseId(inputValue(e))}
            >
              <option value="">{d.chooseRelease}</option>
              {(releases.data?.items ?? []).map((r) => (
                <option key={r.id} value={r.id}>
                  {r.version}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
        <div class="form-actions">
          <button type="submit" class="button-primary" disabled={busy}>
            {d.record}
          </button>
        </div>
      </form>
    </Section>
  );
}
