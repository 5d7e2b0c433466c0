/**
 * English and German from the first page (issue 17: the first makers are in the EU). Each module
 * declares its own messages with `messages({ en, de })`: the German catalogue must have every key
 * the English one has (the type says so), so a page cannot ship half translated. Dates and numbers
 * follow the chosen language through Intl.
 */
export const languages = ['en', 'de'] as const;
export type Lang = (typeof languages)[number];

const STORAGE_KEY = 'brickless.lang';

function initialLanguage(): Lang {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === 'en' || stored === 'de') return stored;
  } catch {
    // Storage can be off (private mode, policy): the browser's preference decides.
  }
  for (const preferred of navigator.languages ?? [navigator.language]) {
    const primary = preferred.toLowerCase().split('-')[0];
    if (primary === 'de' || primary === 'en') return primary;
  }
  return 'en';
}

export const lang: Lang = initialLanguage();
document.documentElement.lang = lang;

/** Switches the language for good (this browser) and reloads, so every text and format follows. */
export function chooseLanguage(next: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Without storage the choice lasts this page only.
  }
  location.reload();
}

type Catalogue = Record<string, string | ((...args: never[]) => string)>;

/** The messages of one module in the current language; `de` must translate every English key. */
export function messages<T extends Catalogue>(catalogues: { en: T; de: { [K in keyof T]: T[K] } }): T {
  return catalogues[lang] as T;
}

const numberFormat = new Intl.NumberFormat(lang);
const dateTimeFormat = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
const dateFormat = new Intl.DateTimeFormat(lang, { dateStyle: 'medium' });
const relativeFormat = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });

export function formatNumber(value: number): string {
  return numberFormat.format(value);
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTimeFormat.format(date);
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '–';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateFormat.format(date);
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** "in 3 hours", "vor 5 Minuten": the largest unit that fits. */
export function formatRelative(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '–';
  const delta = new Date(iso).getTime() - now;
  if (Number.isNaN(delta)) return iso;
  for (const [unit, size] of UNITS) {
    if (Math.abs(delta) >= size || unit === 'second')
      return relativeFormat.format(Math.round(delta / size), unit);
  }
  return iso;
}

/** A duration as people read it: "2 h 05 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  const negative = ms < 0;
  let rest = Math.abs(Math.round(ms / 1000));
  const days = Math.floor(rest / 86_400);
  rest -= days * 86_400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  const d = lang === 'de' ? 'T' : 'd';
  const text =
    days > 0
      ? `${days} ${d} ${hours} h`
      : hours > 0
        ? `${hours} h ${String(minutes).padStart(2, '0')} min`
        : `${minutes} min ${String(seconds).padStart(2, '0')} s`;
  return negative ? `−${text}` : text;
}
