import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, orgPath, type Page } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import type { Brand } from '../brands/index.js';
import type { Release } from '../releases/types.js';
import { fieldErrors } from './field-errors.js';
import { t } from './messages.js';
import type { Rollout } from './types.js';

/** The request's fields, most specific first: `selector.tags` must win over `selector`. */
const FIELDS = [
  'releaseId',
  'name',
  'waves',
  'successThreshold',
  'failureThreshold',
  'soakSeconds',
  'pacePerMinute',
  'window',
  'maxDeferralSeconds',
  'deadline',
  'selector.tags',
  'selector.brandIds',
  'selector.firmwareVersions',
  'selector.deviceIds',
  'selector',
] as const;
type FieldName = (typeof FIELDS)[number];

const EMPTY = {
  releaseId: '',
  name: '',
  waves: '1, 10, 50, 100',
  successThreshold: '',
  failureThreshold: '',
  soakMinutes: '',
  pacePerMinute: '',
  window: '',
  deferralMinutes: '',
  deadline: '',
  tags: '',
  brandIds: [] as string[],
  firmwareVersions: '',
  deviceIds: '',
};
type Form = typeof EMPTY;

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** A number typed in the form, scaled (percent to share, minutes to seconds); null when empty. */
function numberOf(text: string, scale = 1): number | null | 'invalid' {
  if (text.trim() === '') return null;
  const value = Number(text.replace(',', '.'));
  return Number.isFinite(value) ? Math.round(value * scale * 1e6) / 1e6 : 'invalid';
}

/** The request body; local problems (not a number) are named per field before anything is sent. */
function bodyOf(form: Form): { body: Record<string, unknown>; local: Partial<Record<FieldName, string>> } {
  const local: Partial<Record<FieldName, string>> = {};
  const body: Record<string, unknown> = { releaseId: form.releaseId };
  if (form.name.trim()) body.name = form.name.trim();
  const waves = list(form.waves).map(Number);
  if (waves.some((w) => !Number.isFinite(w))) local.waves = t.notNumber;
  else if (waves.length > 0) body.waves = waves;
  const numbers: [FieldName, string, number][] = [
    ['successThreshold', form.successThreshold, 0.01],
    ['failureThreshold', form.failureThreshold, 0.01],
    ['soakSeconds', form.soakMinutes, 60],
    ['pacePerMinute', form.pacePerMinute, 1],
    ['maxDeferralSeconds', form.deferralMinutes, 60],
  ];
  for (const [field, text, scale] of numbers) {
    const value = numberOf(text, scale);
    if (value === 'invalid') local[field] = t.notNumber;
    else if (value !== null) body[field] = value;
  }
  if (form.window.trim()) body.window = form.window.trim();
  if (form.deadline) {
    const at = new Date(form.deadline);
    if (Number.isNaN(at.getTime())) local.deadline = t.notNumber;
    else body.deadline = at.toISOString();
  }
  const selector: Record<string, string[]> = {};
  if (list(form.tags).length) selector.tags = list(form.tags);
  if (form.brandIds.length) selector.brandIds = form.brandIds;
  if (list(form.firmwareVersions).length) selector.firmwareVersions = list(form.firmwareVersions);
  if (list(form.deviceIds).length) selector.deviceIds = list(form.deviceIds);
  if (Object.keys(selector).length > 0) body.selector = selector;
  return { body, local };
}

/** Starts a rollout (releases:write): waves, thresholds, window, deadline and which devices. */
export function CreateRollout(props: { org: string; initialRelease: string }) {
  const { route } = useLocation();
  const releases = useGet<Page<Release>>(orgPath(props.org, 'releases'), { limit: 200 });
  const brands = useGet<Page<Brand>>(orgPath(props.org, 'brands'), { limit: 200 });
  const signed = (releases.data?.items ?? []).filter((r) => r.status === 'published');
  const [form, setForm] = useState<Form>({ ...EMPTY, releaseId: props.initialRelease });
  const [error, setError] = useState<unknown>(null);
  const [local, setLocal] = useState<Partial<Record<FieldName, string>>>({});
  const [busy, setBusy] = useState(false);
  const errors: Partial<Record<FieldName, string>> = { ...fieldErrors(error, FIELDS), ...local };
  const set = (key: keyof Form) => (e: Event) => setForm({ ...form, [key]: inputValue(e) });

  const submit = async (event: Event) => {
    event.preventDefault();
    const { body, local: problems } = bodyOf(form);
    setLocal(problems);
    setError(null);
    if (Object.keys(problems).length > 0) return focusFirstError();
    setBusy(true);
    try {
      const rollout = await api.post<Rollout>(orgPath(props.org, 'rollouts'), body);
      route(`/rollouts/${rollout.id}`);
    } catch (caught) {
      setError(caught);
      focusFirstError();
    } finally {
      setBusy(false);
    }
  };

  /** A text or number input with its label, hint and the server's word on it. */
  const input = (
    field: FieldName,
    key: keyof Form,
    label: string,
    hint: string | null,
    extra: Record<string, unknown> = {},
  ) => {
    const id = `rollout-${field.replace('.', '-')}`;
    return (
      <Field id={id} label={label} hint={hint} error={errors[field] ?? null}>
        <input
          id={id}
          aria-invalid={errors[field] ? true : undefined}
          aria-describedby={describedBy(id, hint, errors[field])}
          value={form[key] as string}
          onInput={set(key)}
          {...extra}
        />
      </Field>
    );
  };

  return (
    <Section title={t.createTitle} id="new-rollout">
      <p>{t.createIntro}</p>
      {releases.data && signed.length === 0 ? <p class="alert alert-warn">{t.noSignedRelease}</p> : null}
      <ErrorMessage error={releases.error ?? brands.error} />
      <form class="form-grid rollout-form" noValidate onSubmit={(e) => void submit(e)}>
        <ErrorMessage error={error} />
        <Field id="rollout-releaseId" label={t.release} error={errors.releaseId ?? null} required>
          <select
            id="rollout-releaseId"
            required
            aria-invalid={errors.releaseId ? true : undefined}
            aria-describedby={describedBy('rollout-releaseId', null, errors.releaseId)}
            value={form.releaseId}
            onChange={set('releaseId')}
          >
            <option value="">{t.chooseRelease}</option>
            {signed.map((r) => (
              <option key={r.id} value={r.id}>
                {r.version} ({r.kind})
              </option>
            ))}
          </select>
        </Field>
        {input('name', 'name', t.name, t.nameHint, { maxLength: 200 })}
        {input('waves', 'waves', t.waves, t.wavesHint, { inputMode: 'decimal' })}
        {input('successThreshold', 'successThreshold', t.successThreshold, t.successHint, {
          inputMode: 'decimal',
        })}
        {input('failureThreshold', 'failureThreshold', t.failureThreshold, t.failureHint, {
          inputMode: 'decimal',
        })}
        {input('soakSeconds', 'soakMinutes', t.soak, t.soakHint, { inputMode: 'decimal' })}
        {input('pacePerMinute', 'pacePerMinute', t.pace, t.paceHint, { inputMode: 'numeric' })}
        {input('maxDeferralSeconds', 'deferralMinutes', t.deferral, t.deferralHint, { inputMode: 'decimal' })}
        {input('window', 'window', t.window, t.windowHint, { maxLength: 100 })}
        {input('deadline', 'deadline', t.deadline, t.deadlineHint, { type: 'datetime-local' })}
        <fieldset aria-describedby="rollout-target-hint">
          <legend>{t.targetTitle}</legend>
          <p class="hint" id="rollout-target-hint">
            {t.targetHint}
          </p>
          {errors.selector ? <p class="field-error">{errors.selector}</p> : null}
          {input('selector.tags', 'tags', t.tags, t.tagsHint)}
          {(brands.data?.items.length ?? 0) > 0 ? (
            <Field
              id="rollout-selector-brandIds"
              label={t.brands}
              hint={t.brandsHint}
              error={errors['selector.brandIds'] ?? null}
            >
              <select
                id="rollout-selector-brandIds"
                multiple
                aria-describedby={describedBy(
                  'rollout-selector-brandIds',
                  t.brandsHint,
                  errors['selector.brandIds'],
                )}
                onChange={(e) =>
                  setForm({
                    ...form,
                    brandIds: [...(e.currentTarget as HTMLSelectElement).selectedOptions].map((o) => o.value),
                  })
                }
              >
                {brands.data?.items.map((b) => (
                  <option key={b.id} value={b.id} selected={form.brandIds.includes(b.id)}>
                    {b.name}
                  </option>
                ))}
              </select>
            </Field>
          ) : null}
          {input('selector.firmwareVersions', 'firmwareVersions', t.firmwareVersions, t.firmwareHint)}
          <Field
            id="rollout-selector-deviceIds"
            label={t.deviceIds}
            hint={t.deviceIdsHint}
            error={errors['selector.deviceIds'] ?? null}
          >
            <textarea
              id="rollout-selector-deviceIds"
              rows={3}
              aria-invalid={errors['selector.deviceIds'] ? true : undefined}
              aria-describedby={describedBy(
                'rollout-selector-deviceIds',
                t.deviceIdsHint,
                errors['selector.deviceIds'],
              )}
              value={form.deviceIds}
              onInput={set('deviceIds')}
            />
          </Field>
        </fieldset>
        <div class="form-actions">
          <button type="submit" class="button-primary" disabled={busy}>
            {t.create}
          </button>
        </div>
      </form>
    </Section>
  );
}

/** After a refused submit, the keyboard lands on the first field the server named. */
function focusFirstError() {
  requestAnimationFrame(() => {
    const first = document.querySelector<HTMLElement>('.rollout-form [aria-invalid="true"]');
    first?.focus();
  });
}
