import type { Principal } from '../../core/channel/access.ts';
import { ASSETS } from './assets.ts';
import { html, type Html, type Interpolation } from './html.ts';

/** Who is looking at a page, and what the page needs to render forms for them. */
export interface Viewer {
  principal: Principal;
  /** the CSRF token of the session; null when the visitor has no session (then no form is rendered for them) */
  csrf: string | null;
  /** set when a key cookie was dropped because the key is no longer valid */
  signedOutReason: string | null;
}

export function viewerLabel(p: Principal): string | null {
  switch (p.kind) {
    case 'admin':
      return 'the server admin token';
    case 'key':
      return `key ${p.key.id} (${p.key.scope} on ${p.key.channel})`;
    case 'publisher':
      return `Trusted Publishing token ${p.token.id}`;
    case 'anonymous':
      return null;
  }
}

export function csrfField(viewer: Viewer): Html {
  return html`<input type="hidden" name="_csrf" value="${viewer.csrf ?? ''}">`;
}

export interface PageOptions {
  title: string;
  viewer: Viewer;
  /** breadcrumb trail after "Channels": label and link (the last one is the current page) */
  crumbs?: ReadonlyArray<readonly [string, string | null]>;
  /** where the sign-in form should come back to */
  path?: string;
  body: Interpolation;
}

export function layout(o: PageOptions): string {
  const label = viewerLabel(o.viewer.principal);
  const who = label
    ? html`<span class="who"><span>Signed in with ${label}</span>
<form class="inline" method="post" action="/signout">${csrfField(o.viewer)}<button type="submit" class="secondary small">Sign out</button></form></span>`
    : html`<a href="/signin${o.path && o.path !== '/' ? `?next=${encodeURIComponent(o.path)}` : ''}">Sign in</a>`;
  const crumbs = o.crumbs && o.crumbs.length > 0
    ? html`<nav class="crumbs" aria-label="Breadcrumb"><ol><li><a href="/">Channels</a></li>${o.crumbs.map(([text, href], i) =>
        i === o.crumbs!.length - 1 || href === null
          ? html`<li><span aria-current="page">${text}</span></li>`
          : html`<li><a href="${href}">${text}</a></li>`)}</ol></nav>`
    : '';
  const signedOut = o.viewer.signedOutReason
    ? html`<p class="notice warn" role="status">You were signed out: ${o.viewer.signedOutReason}</p>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${o.title} · Provena</title>
<link rel="icon" href="${ASSETS.icon.href}" type="image/svg+xml">
<link rel="stylesheet" href="${ASSETS.css.href}">
<script src="${ASSETS.js.href}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
<nav aria-label="Site">
<a class="brand" href="/">Provena</a>
<a href="/">Channels</a>
<a href="/log">Transparency log</a>
${who}
</nav>
</header>
<main id="main" tabindex="-1">
${crumbs}
${signedOut}
${o.body}
</main>
<footer>
<p>Provena: a conda channel server that proves where every package came from. Everything published here is recorded in a
<a href="/log">signed, append-only transparency log</a>.</p>
</footer>
</body>
</html>
`.value;
}

// Anonymous visitors all get the same page for the same body: kept as bytes while the body object
// lives (bodies are rebuilt, as new objects, when what they show changes).
const anonymousPages = new WeakMap<Html, { key: string; bytes: Buffer }>();

/**
 * `layout` as bytes, reused for anonymous visitors when the body is an `Html` the caller keeps (the
 * package page keeps its rendered bodies): then a page view costs what serving a stored file costs.
 */
export function layoutBytes(o: PageOptions & { body: Html }): Buffer {
  const reusable = o.viewer.principal.kind === 'anonymous' && o.viewer.signedOutReason === null;
  if (!reusable) return Buffer.from(layout(o));
  const key = `${o.title}\u0000${o.path ?? ''}\u0000${JSON.stringify(o.crumbs ?? [])}`;
  const hit = anonymousPages.get(o.body);
  if (hit && hit.key === key) return hit.bytes;
  const bytes = Buffer.from(layout(o));
  anonymousPages.set(o.body, { key, bytes });
  return bytes;
}

/** A copyable command: the text in a `<pre>` and a button the script reveals and wires. */
export function copyBlock(id: string, text: string, label: string): Html {
  return html`<div class="copyline"><pre id="${id}"><code>${text}</code></pre><button type="button" class="secondary small" data-copy="${id}" hidden aria-label="Copy ${label}">Copy</button></div>`;
}
