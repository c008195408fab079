import { html } from './html.ts';
import { csrfField, layout, type Viewer } from './layout.ts';

/** A local path to return to after signing in; anything else (other sites, `//host`, `\`) goes home. */
export function safeNext(v: unknown): string {
  if (typeof v !== 'string' || v.length > 1000) return '/';
  if (!v.startsWith('/') || v.startsWith('//') || v.includes('\\') || /[\u0000-\u001f\u007f]/.test(v)) return '/';
  return v;
}

export function signinPageHtml(viewer: Viewer, next: string, error?: string): string {
  return layout({
    title: 'Sign in',
    viewer,
    crumbs: [['Sign in', null]],
    body: html`<h1>Sign in</h1>
<p>Sign in with an API key to see a private channel (a <code>read</code> key) or to manage a channel (an <code>admin</code> key).
The key is kept in a cookie only your browser sends to this server (HttpOnly, SameSite=Strict) for 12 hours, or until you sign out.</p>
${error ? html`<p class="notice err" role="alert" id="signin-error">${error}</p>` : ''}
<form method="post" action="/signin" class="stack">
${csrfField(viewer)}
<input type="hidden" name="next" value="${next}">
<div><label for="token">API key <span class="hint" id="token-hint">starts with <code>pvn_</code>; create one with <code>provena key create</code></span></label>
<input type="password" id="token" name="token" required autocomplete="off" spellcheck="false" aria-describedby="token-hint${error ? ' signin-error' : ''}"></div>
<div><button type="submit">Sign in</button></div>
</form>`,
  });
}

export function errorPageHtml(viewer: Viewer, status: number, title: string, message: string, opts: { signIn?: string } = {}): string {
  return layout({
    title,
    viewer,
    body: html`<h1>${title}</h1>
<p class="notice${status >= 500 ? ' err' : ''}">${message}</p>
${opts.signIn ? html`<p><a href="/signin?next=${encodeURIComponent(opts.signIn)}">Sign in with a key</a></p>` : ''}
<p><a href="/">Back to the channels</a></p>
<p class="muted">HTTP ${status}</p>`,
  });
}
