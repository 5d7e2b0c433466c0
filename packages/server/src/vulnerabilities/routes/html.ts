/** Escapes text for HTML element content and quoted attribute values (OWASP XSS rule #1 and #2). */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`=/]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Public pages: no scripts at all, styles inline, forms only to ourselves, never framed. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}label{display:block;margin-top:1rem;font-weight:600}input,textarea{width:100%;font:inherit;padding:.4rem}button{margin-top:1rem;font:inherit;padding:.5rem 1rem}.muted{color:#555}.message{white-space:pre-wrap;overflow-wrap:anywhere}ol.thread{padding-left:1.2rem}</style>
</head><body><main>${body}</main></body></html>`;
}
