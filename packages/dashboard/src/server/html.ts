/** Escape text for an HTML attribute or text node. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )
}

export interface PageSettings {
  readonly basePath: string
  readonly title: string
  readonly csrf: string
  readonly readOnly: boolean
  readonly version: string
}

/**
 * The one HTML page; the client renders everything else. No inline script (the CSP forbids it): settings travel in
 * data attributes.
 */
export function indexHtml(page: PageSettings): string {
  const base = escapeHtml(page.basePath)
  const v = escapeHtml(page.version)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(page.title)}</title>
<link rel="stylesheet" href="${base}assets/app.css?v=${v}">
<script type="module" src="${base}assets/app.js?v=${v}"></script>
</head>
<body>
<div id="app" data-base="${base}" data-csrf="${escapeHtml(page.csrf)}" data-read-only="${page.readOnly}" data-title="${escapeHtml(page.title)}"></div>
<noscript>The Conveyor dashboard needs JavaScript.</noscript>
</body>
</html>
`
}

/** Security headers on every page response. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
}
