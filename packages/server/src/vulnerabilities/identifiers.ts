import { PackageURL } from 'packageurl-js';
import { schemeOfEcosystem, schemeOfPurlType, type VersionScheme } from './versions/index.js';

/**
 * Keys that bring a component and a vulnerability record together. A key names a package without
 * its version, normalised the way the ecosystem compares names (PyPI `Foo_Bar` = `foo-bar`), so one
 * indexed lookup finds every candidate and only versions are left to compare.
 */
export interface ComponentKey {
  key: string;
  version: string;
  scheme: VersionScheme;
  /** Distribution release the package was built for (`12`, `22.04`, `3.18`), if it says. */
  distro: string | null;
}

/**
 * How each purl type compares namespace and name, from the type definitions of the purl
 * specification (package-url/purl-spec `types/*-definition.json`). A type not listed here is
 * compared exactly as written (maven, cargo, gem, generic: `case_sensitive` or no rule).
 */
interface NameRule {
  /** `namespace_definition.case_sensitive: false`: lowercased. */
  lowerNamespace: boolean;
  /** `name_definition.case_sensitive: false`: lowercased. */
  lowerName: boolean;
  /** The definition's `normalization_rules` for the name, applied after lowercasing. */
  normalise?: (name: string) => string;
}

const nameRules: Record<string, NameRule> = {
  // "the name must be lowercased" (package.json forbids upper case in new names); scope too.
  npm: { lowerNamespace: true, lowerName: true },
  // "PyPI treats - and _ as the same character and is not case sensitive": lowercased, `_` → `-`.
  // Runs of `-`, `_` and `.` collapse to one `-` as PyPI itself compares project names
  // (PEP 503), so `zope.interface` and `zope-interface` are the same project.
  pypi: { lowerNamespace: true, lowerName: true, normalise: (n) => n.replace(/[-_.]+/g, '-') },
  // deb: "The namespace is the vendor … not case sensitive and must be lowercased. The name is
  // not case sensitive and must be lowercased."
  deb: { lowerNamespace: true, lowerName: true },
  // apk: the same words for vendor (alpine, openwrt) and name.
  apk: { lowerNamespace: true, lowerName: true },
  // rpm: vendor lowercased, "The name is the RPM name and is case sensitive."
  rpm: { lowerNamespace: true, lowerName: false },
  // golang: "The namespace must be lowercased." "The name must be lowercased."
  golang: { lowerNamespace: true, lowerName: true },
  // composer: vendor and name "not case sensitive and must be lowercased".
  composer: { lowerNamespace: true, lowerName: true },
  // hex: organisation and name "not case sensitive and must be lowercased".
  hex: { lowerNamespace: true, lowerName: true },
  // pub: lowercase, and any character outside [a-z0-9_] becomes `_`.
  pub: { lowerNamespace: true, lowerName: true, normalise: (n) => n.replace(/[^a-z0-9_]/g, '_') },
  // nuget: "case-preserving, but case-insensitive" (the definition's note): compared lowercased.
  nuget: { lowerNamespace: true, lowerName: true },
  github: { lowerNamespace: true, lowerName: true },
  bitbucket: { lowerNamespace: true, lowerName: true },
};

export function packageKey(type: string, namespace: string | null | undefined, name: string): string {
  const rule = nameRules[type];
  let ns = namespace ?? '';
  let n = name;
  if (rule?.lowerNamespace) ns = ns.toLowerCase();
  if (rule?.lowerName) n = n.toLowerCase();
  if (rule?.normalise) n = rule.normalise(n);
  return `pkg:${type}/${ns ? `${ns}/` : ''}${n}`;
}

/** Distribution codenames the purl `distro` qualifier may carry instead of a number. */
const codenames: Record<string, string> = {
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  bionic: '18.04',
  focal: '20.04',
  jammy: '22.04',
  noble: '24.04',
};

export function distroRelease(value: string | null | undefined): string | null {
  if (!value) return null;
  const lower = value.toLowerCase();
  for (const [name, release] of Object.entries(codenames)) if (lower.includes(name)) return release;
  const m = /(\d+(?:\.\d+)*)/.exec(lower);
  return m?.[1] ?? null;
}

/** Same release when equal or when one is a point release of the other (`3.18` and `3.18.4`). */
export function sameDistro(a: string | null, b: string | null): boolean {
  if (!a || !b) return true;
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/**
 * The keys of a component's purl: its own package and, for distro packages, its source package.
 * A purl without a version takes the component's own `version` (CycloneDX `version`, SPDX
 * `versionInfo`) when there is one: SBOM tools often write the version only there.
 */
export function purlKeys(purl: string, componentVersion?: string | null): ComponentKey[] {
  let parsed: PackageURL;
  try {
    parsed = PackageURL.fromString(purl);
  } catch {
    return [];
  }
  const written = parsed.version || componentVersion?.trim();
  if (!written) return [];
  const type = parsed.type.toLowerCase();
  const version = type === 'golang' ? written.replace(/^v/, '') : written;
  const qualifiers = (parsed.qualifiers ?? {}) as Record<string, string>;
  const distro = distroRelease(qualifiers.distro);
  const scheme = schemeOfPurlType(type);
  const keys: ComponentKey[] = [
    { key: packageKey(type, parsed.namespace, parsed.name), version, scheme, distro },
  ];
  // A binary package (libssl3) is fixed through its source package (openssl), which is what
  // distribution advisories name (purl spec: `upstream` qualifier for deb, `origin` for apk).
  const source = qualifiers.upstream ?? qualifiers.origin ?? qualifiers.source;
  if (source && (type === 'deb' || type === 'apk' || type === 'rpm')) {
    const [sourceName, sourceVersion] = source.split(/@|=/);
    if (sourceName && sourceName !== parsed.name)
      keys.push({
        key: packageKey(type, parsed.namespace, sourceName),
        version: sourceVersion || version,
        scheme,
        distro,
      });
  }
  return keys;
}

/** OSV ecosystem names (schema "Defined ecosystems") → purl type and namespace. */
const ecosystemTypes: Record<string, { type: string; namespace?: string }> = {
  npm: { type: 'npm' },
  pypi: { type: 'pypi' },
  go: { type: 'golang' },
  'crates.io': { type: 'cargo' },
  maven: { type: 'maven' },
  nuget: { type: 'nuget' },
  rubygems: { type: 'gem' },
  packagist: { type: 'composer' },
  hex: { type: 'hex' },
  pub: { type: 'pub' },
  debian: { type: 'deb', namespace: 'debian' },
  ubuntu: { type: 'deb', namespace: 'ubuntu' },
  alpine: { type: 'apk', namespace: 'alpine' },
};

export interface EcosystemPackage {
  key: string;
  scheme: VersionScheme;
  distro: string | null;
}

export function ecosystemPackage(ecosystem: string, name: string): EcosystemPackage | null {
  const [base = '', ...release] = ecosystem.split(':');
  const mapping = ecosystemTypes[base.toLowerCase()];
  if (!mapping) return null;
  let namespace: string | null = mapping.namespace ?? null;
  let packageName = name;
  if (
    mapping.type === 'maven' ||
    mapping.type === 'composer' ||
    mapping.type === 'npm' ||
    mapping.type === 'golang'
  ) {
    // Maven `group:artifact`, Packagist `vendor/name`, npm `@scope/name`, Go `host/path/module`.
    const separator = mapping.type === 'maven' ? ':' : '/';
    const at = name.lastIndexOf(separator);
    if (at > 0) {
      namespace = name.slice(0, at);
      packageName = name.slice(at + 1);
    }
  }
  return {
    key: packageKey(mapping.type, namespace, packageName),
    scheme: schemeOfEcosystem(ecosystem),
    distro: distroRelease(release.join(':')),
  };
}

export interface Cpe {
  part: string;
  vendor: string;
  product: string;
  version: string;
  update: string;
}

/** Splits a CPE 2.3 formatted string (`\:` escapes a colon) or a CPE 2.2 URI. */
export function parseCpe(cpe: string): Cpe | null {
  const text = cpe.trim();
  let fields: string[];
  if (text.startsWith('cpe:2.3:')) {
    fields = [];
    let current = '';
    for (let i = 'cpe:2.3:'.length; i < text.length; i++) {
      const char = text[i];
      if (char === '\\' && i + 1 < text.length) {
        current += text[++i];
      } else if (char === ':') {
        fields.push(current);
        current = '';
      } else current += char;
    }
    fields.push(current);
  } else if (text.startsWith('cpe:/')) {
    fields = text
      .slice('cpe:/'.length)
      .split(':')
      .map((f) => decodeURIComponent(f));
  } else return null;
  const [part, vendor, product, version = '*', update = '*'] = fields;
  if (!part || !/^[aoh]$/.test(part) || !vendor || !product || vendor === '*' || product === '*') return null;
  return {
    part,
    vendor: vendor.toLowerCase(),
    product: product.toLowerCase(),
    version: version === '' ? '*' : version,
    update: update === '' ? '*' : update,
  };
}

export function cpeKey(cpe: Cpe): string {
  return `cpe:${cpe.part}:${cpe.vendor}:${cpe.product}`;
}

/**
 * A CPE version of `-` is the logical value NA ("not applicable", CPE 2.3 Naming, NISTIR 7695
 * 5.3.1): the product has no version, as NetApp writes its firmware (`h300s_firmware:-`). It is
 * kept as the version `-`, which only a record saying NA or "any version" matches (see
 * `isAffected`). A version of `*` (ANY) says nothing, so the component's own `version` is used,
 * or the CPE gives no key.
 */
export function cpeComponentKey(cpe: string, componentVersion?: string | null): ComponentKey | null {
  const parsed = parseCpe(cpe);
  if (!parsed) return null;
  let version: string;
  if (parsed.version === NOT_APPLICABLE) version = NOT_APPLICABLE;
  else if (parsed.version === '*') {
    const own = componentVersion?.trim();
    if (!own) return null;
    version = own;
  } else
    version =
      parsed.update !== '*' && parsed.update !== '-' ? `${parsed.version}${parsed.update}` : parsed.version;
  return { key: cpeKey(parsed), version, scheme: 'generic', distro: null };
}

/** The CPE logical value NA as a version. */
export const NOT_APPLICABLE = '-';
