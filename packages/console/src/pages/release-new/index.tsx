import { useState } from 'preact/hooks';
import { api, orgPath, type Page, request, upload } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { PageTitle, Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import { formatNumber } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import { t } from './messages.js';

interface Product {
  id: string;
  name: string;
  modelNumber: string;
}
interface Artifact {
  sha256: string;
  length: number;
}
interface Release {
  id: string;
  version: string;
}

/**
 * A release from the maker's own build outputs (what `brickless release create` does): the image
 * and the SBOM are uploaded as they are, the release names their hashes, and the SBOM is imported
 * so the release is matched against vulnerabilities at once. Signing stays offline (docs/updates.md).
 */
export default function NewRelease() {
  const org = useOrg();
  const { can } = useSession();
  const products = useGet<Page<Product>>(orgPath(org.slug, 'products'), { limit: 200 });
  const [form, setForm] = useState({
    productId: '',
    version: '',
    kind: 'security',
    securityVersion: '1',
    hardware: '',
    notes: '',
  });
  const [image, setImage] = useState<File | null>(null);
  const [sbom, setSbom] = useState<File | null>(null);
  const [progress, setProgress] = useState<{ what: string; fraction: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [fieldError, setFieldError] = useState<{ field: string; text: string } | null>(null);
  const [created, setCreated] = useState<{
    release: Release;
    sbom: { componentCount: number; matches: number } | null;
  } | null>(null);
  const set = (key: keyof typeof form) => (e: Event) => setForm({ ...form, [key]: inputValue(e) });

  if (!can('releases:write')) {
    return (
      <>
        <PageTitle title={t.title} />
        <p class="alert">{t.forbidden}</p>
      </>
    );
  }

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setFieldError(null);
    if (!image) {
      setFieldError({ field: 'release-image', text: t.fileMissing });
      document.getElementById('release-image')?.focus();
      return;
    }
    let sbomText: string | null = null;
    if (sbom) {
      sbomText = await sbom.text();
      try {
        JSON.parse(sbomText);
      } catch {
        setFieldError({ field: 'release-sbom', text: t.sbomNotJson });
        document.getElementById('release-sbom')?.focus();
        return;
      }
    }
    try {
      setProgress({ what: t.image, fraction: 0 });
      const stored = await upload<Artifact>(orgPath(org.slug, 'artifacts'), image, (fraction) =>
        setProgress({ what: t.image, fraction }),
      );
      let sbomStored: Artifact | null = null;
      if (sbom) {
        setProgress({ what: t.theSbom, fraction: 0 });
        sbomStored = await upload<Artifact>(
          `${orgPath(org.slug, 'artifacts')}?mediaType=application%2Fjson`,
          sbom,
          (fraction) => setProgress({ what: t.theSbom, fraction }),
        );
      }
      setProgress(null);
      const hardware = form.hardware
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean);
      const release = await api.post<Release>(orgPath(org.slug, 'releases'), {
        productId: form.productId,
        version: form.version.trim(),
        kind: form.kind,
        securityVersion: Number(form.securityVersion),
        filename: image.name,
        sha256: stored.sha256,
        ...(hardware.length > 0 ? { hardware } : {}),
        ...(form.notes.trim() ? { notes: form.notes } : {}),
        ...(sbomStored ? { sbomSha256: sbomStored.sha256 } : {}),
      });
      const imported =
        sbomText !== null
          ? await request<{ componentCount: number; matches: number }>(
              orgPath(org.slug, 'releases', release.id, 'sbom'),
              {
                method: 'PUT',
                // As written: the signed targets name the file's own hash (issue 14).
                raw: { data: sbomText, type: 'application/json' },
              },
            )
          : null;
      setCreated({ release, sbom: imported });
    } catch (caught) {
      setProgress(null);
      setError(caught);
    }
  };

  if (created) {
    return (
      <>
        <PageTitle title={t.title} />
        <p class="notice" role="status">
          {t.created(created.release.version)}
          {created.sbom ? ` ${t.sbomImported(created.sbom.componentCount, created.sbom.matches)}` : ''}
        </p>
        <p>{t.next}</p>
        <p>{t.signCommand}</p>
        <pre>
          <code>{`brickless --org ${org.slug} release sign --key targets.key --file ${image?.name ?? 'firmware.bin'}${sbom ? ` --file ${sbom.name}` : ''}`}</code>
        </pre>
        <p>
          <a href={`/releases/${encodeURIComponent(created.release.id)}`}>{t.openRelease}</a>
        </p>
      </>
    );
  }

  const list = products.data?.items ?? [];
  return (
    <>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      <ErrorMessage error={error ?? products.error} />
      {products.data && list.length === 0 ? (
        <p class="alert">
          {t.noProducts} <a href="/products">/products</a>
        </p>
      ) : null}
      <Section title={t.upload}>
        <form class="form-grid" onSubmit={(e) => void submit(e)}>
          <Field id="release-product" label={t.product} required>
            <select id="release-product" required value={form.productId} onChange={set('productId')}>
              <option value="">{t.chooseProduct}</option>
              {list.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} ({p.modelNumber})
                </option>
              ))}
            </select>
          </Field>
          <Field id="release-version" label={t.version} hint={t.versionHint} required>
            <input
              id="release-version"
              required
              maxLength={64}
              aria-describedby={describedBy('release-version', t.versionHint)}
              value={form.version}
              onInput={set('version')}
            />
          </Field>
          <Field id="release-kind" label={t.kind} required>
            <select id="release-kind" value={form.kind} onChange={set('kind')}>
              <option value="security">{t.security}</option>
              <option value="feature">{t.feature}</option>
            </select>
          </Field>
          <Field
            id="release-security-version"
            label={t.securityVersion}
            hint={t.securityVersionHint}
            required
          >
            <input
              id="release-security-version"
              type="number"
              min={0}
              step={1}
              required
              aria-describedby={describedBy('release-security-version', t.securityVersionHint)}
              value={form.securityVersion}
              onInput={set('securityVersion')}
            />
          </Field>
          <Field id="release-hardware" label={t.hardware} hint={t.hardwareHint}>
            <input
              id="release-hardware"
              aria-describedby={describedBy('release-hardware', t.hardwareHint)}
              value={form.hardware}
              onInput={set('hardware')}
            />
          </Field>
          <Field id="release-notes" label={t.notes}>
            <textarea id="release-notes" maxLength={20000} value={form.notes} onInput={set('notes')} />
          </Field>
          <Field
            id="release-image"
            label={t.firmware}
            error={fieldError?.field === 'release-image' ? fieldError.text : null}
            required
          >
            <input
              id="release-image"
              type="file"
              // Not `required`: the browser's own bubble would stop the form before our message at
              // the field; the label says "(required)".
              aria-invalid={fieldError?.field === 'release-image' ? 'true' : undefined}
              aria-describedby={describedBy(
                'release-image',
                null,
                fieldError?.field === 'release-image' ? fieldError.text : null,
              )}
              onChange={(e) => setImage((e.currentTarget as HTMLInputElement).files?.[0] ?? null)}
            />
          </Field>
          <Field
            id="release-sbom"
            label={t.sbom}
            hint={t.sbomHint}
            error={fieldError?.field === 'release-sbom' ? fieldError.text : null}
          >
            <input
              id="release-sbom"
              type="file"
              accept=".json,application/json"
              aria-invalid={fieldError?.field === 'release-sbom' ? 'true' : undefined}
              aria-describedby={describedBy(
                'release-sbom',
                t.sbomHint,
                fieldError?.field === 'release-sbom' ? fieldError.text : null,
              )}
              onChange={(e) => setSbom((e.currentTarget as HTMLInputElement).files?.[0] ?? null)}
            />
          </Field>
          {progress ? (
            <div class="form-actions">
              <label for="release-progress">{t.uploading(progress.what)}</label>
              <progress id="release-progress" max={1} value={progress.fraction}>
                {formatNumber(Math.round(progress.fraction * 100))} %
              </progress>
            </div>
          ) : null}
          <div class="form-actions">
            <button type="submit" class="button-primary" disabled={progress !== null}>
              {t.create}
            </button>
          </div>
        </form>
      </Section>
    </>
  );
}
