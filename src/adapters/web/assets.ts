/**
 * The UI's static files, kept in the program (the build copies no other files) and served under
 * /static/ with a content hash in the query, so they can be cached for a year. The script only
 * adds copy buttons: every page works without it.
 */
import { createHash } from 'node:crypto';

const CSS = `
:root {
  --bg: #fbfbfa; --fg: #1d2125; --muted: #5b6570; --line: #d9dde1; --card: #ffffff;
  --accent: #0b5cad; --accent-fg: #ffffff; --ok: #146c2e; --ok-bg: #e6f4ea; --warn: #8a4b00; --warn-bg: #fff4e0;
  --err: #a4161a; --err-bg: #fde8e8; --code-bg: #f1f3f5; --focus: #ffbf47;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171a; --fg: #e6e8ea; --muted: #a3acb5; --line: #343a40; --card: #1b1f23;
    --accent: #6cb0ff; --accent-fg: #0b1520; --ok: #7fd695; --ok-bg: #173421; --warn: #ffc56b; --warn-bg: #3a2a10;
    --err: #ff9a9a; --err-bg: #3d1616; --code-bg: #24292e;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); text-underline-offset: 2px; }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .9em; }
code { background: var(--code-bg); padding: .05em .3em; border-radius: 4px; overflow-wrap: anywhere; }
pre { background: var(--code-bg); padding: .75rem; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; margin: .25rem 0; }
pre code { background: none; padding: 0; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.4em 0 .5em; overflow-wrap: anywhere; }
h1 { font-size: 1.75rem; margin-top: .5em; }
h2 { font-size: 1.3rem; }
h3 { font-size: 1.1rem; }
h4 { font-size: 1rem; }
.skip { position: absolute; left: -9999px; top: 0; background: var(--card); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
.site { background: var(--card); border-bottom: 1px solid var(--line); }
.site nav { max-width: 72rem; margin: 0 auto; padding: .6rem 1rem; display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; }
.site .brand { font-weight: 700; font-size: 1.1rem; text-decoration: none; color: var(--fg); margin-right: auto; }
.site .who { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; color: var(--muted); font-size: .9rem; }
main { max-width: 72rem; margin: 0 auto; padding: .5rem 1rem 3rem; }
footer { max-width: 72rem; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: .85rem; border-top: 1px solid var(--line); }
.crumbs ol { list-style: none; padding: 0; margin: .75rem 0 0; display: flex; flex-wrap: wrap; gap: .25rem; font-size: .9rem; color: var(--muted); }
.crumbs li + li::before { content: "/"; margin-right: .25rem; color: var(--muted); }
.muted { color: var(--muted); }
.lead { font-size: 1.1rem; margin: .25rem 0 1rem; overflow-wrap: anywhere; }
.badge { display: inline-block; font-size: .78rem; font-weight: 600; padding: .05rem .5rem; border-radius: 999px; border: 1px solid var(--line); background: var(--code-bg); color: var(--fg); white-space: nowrap; }
.badge.ok { background: var(--ok-bg); color: var(--ok); border-color: transparent; }
.badge.warn { background: var(--warn-bg); color: var(--warn); border-color: transparent; }
.badge.private { background: var(--warn-bg); color: var(--warn); border-color: transparent; }
.notice { border-radius: 6px; padding: .6rem .9rem; margin: .75rem 0; border: 1px solid var(--line); background: var(--card); overflow-wrap: anywhere; }
.notice.ok { background: var(--ok-bg); border-color: transparent; }
.notice.err { background: var(--err-bg); color: var(--err); border-color: transparent; }
.notice.warn { background: var(--warn-bg); border-color: transparent; }
.table-wrap { overflow-x: auto; max-width: 100%; border: 1px solid var(--line); border-radius: 6px; background: var(--card); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
tr:last-child td { border-bottom: 0; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
/* narrow screens: each row becomes a small card of "label value" lines (labels from data-label) */
@media (max-width: 640px) {
  table.responsive thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.responsive, table.responsive tbody, table.responsive tr, table.responsive td { display: block; width: 100%; }
  table.responsive tr { border-bottom: 1px solid var(--line); padding: .35rem 0; }
  table.responsive tr:last-child { border-bottom: 0; }
  table.responsive td { border: 0; position: relative; padding: .1rem .6rem .1rem 8.1rem; min-height: 1.6rem; text-align: left; white-space: normal; overflow-wrap: anywhere; }
  table.responsive td::before { content: attr(data-label); position: absolute; left: .6rem; width: 7rem; color: var(--muted); font-size: .85rem; padding-top: .1rem; }
  table.responsive td[data-label=""] { padding-left: .6rem; }
  table.responsive td[data-label=""]::before { content: none; }
}
.cards { display: grid; gap: .75rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; min-width: 0; }
.card h3, .card h4 { margin: 0 0 .4rem; }
.card-head { display: flex; flex-wrap: wrap; gap: .25rem .75rem; align-items: baseline; justify-content: space-between; }
dl.facts { display: grid; grid-template-columns: minmax(7rem, max-content) 1fr; gap: .2rem 1rem; margin: .5rem 0; }
dl.facts dt { color: var(--muted); font-size: .9rem; }
dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
@media (max-width: 480px) {
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dd { margin-bottom: .35rem; }
}
ul.inline { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: .25rem .75rem; }
ul.deps { margin: 0; padding-left: 1.1rem; }
details.provenance { margin-top: .5rem; border: 1px solid var(--line); border-radius: 6px; padding: .25rem .75rem; }
details.provenance[open] { padding-bottom: .6rem; }
details.provenance summary { cursor: pointer; padding: .35rem 0; font-weight: 600; }
details.provenance summary .badge { margin-left: .25rem; }
form.inline { display: inline; margin: 0; }
form.stack { display: grid; gap: .6rem; max-width: 36rem; }
fieldset { border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem 1rem; margin: 0 0 1rem; min-width: 0; }
legend { font-weight: 600; padding: 0 .25rem; }
label { font-weight: 600; font-size: .92rem; display: block; }
.hint { font-weight: 400; color: var(--muted); font-size: .85rem; display: block; }
input[type=text], input[type=password], input[type=search], input[type=number], select, textarea {
  font: inherit; width: 100%; max-width: 100%; padding: .45rem .55rem; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg);
}
textarea { min-height: 4.5rem; }
button, .button {
  font: inherit; font-weight: 600; cursor: pointer; border-radius: 6px; padding: .4rem .85rem; border: 1px solid var(--accent);
  background: var(--accent); color: var(--accent-fg); text-decoration: none; display: inline-block; line-height: 1.4;
}
button.secondary { background: transparent; color: var(--accent); }
button.danger { background: transparent; color: var(--err); border-color: var(--err); }
button.small { padding: .15rem .55rem; font-size: .85rem; }
.search { display: flex; flex-wrap: wrap; gap: .5rem; align-items: flex-end; margin: .5rem 0 1rem; }
.search > div { flex: 1 1 12rem; min-width: 0; }
.search > div.narrow { flex: 0 1 11rem; }
.copyline { display: flex; gap: .5rem; align-items: flex-start; margin: .25rem 0 .75rem; }
.copyline pre { flex: 1 1 auto; margin: 0; min-width: 0; }
.pager { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; margin: 1rem 0; }
.grid2 { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); }
.secret { font-size: 1rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.text-url { overflow-wrap: anywhere; }
.description { white-space: pre-line; overflow-wrap: anywhere; }
`;

const JS = `'use strict';
// Copy buttons: progressive enhancement only; the text they copy is on the page already.
(function () {
  function textOf(id) {
    var el = document.getElementById(id);
    if (!el) return '';
    return typeof el.value === 'string' ? el.value : el.textContent || '';
  }
  function fallbackCopy(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.top = '-1000px';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }
  function done(button, ok) {
    var label = button.getAttribute('data-label') || button.textContent;
    button.setAttribute('data-label', label);
    button.textContent = ok ? 'Copied' : 'Press Ctrl+C';
    setTimeout(function () { button.textContent = label; }, 2000);
  }
  var buttons = document.querySelectorAll('button[data-copy]');
  for (var i = 0; i < buttons.length; i++) {
    (function (button) {
      button.hidden = false;
      button.addEventListener('click', function () {
        var text = textOf(button.getAttribute('data-copy'));
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(function () { done(button, true); }, function () { done(button, fallbackCopy(text)); });
        } else {
          done(button, fallbackCopy(text));
        }
      });
    })(buttons[i]);
  }
})();
`;

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0b5cad"/><path d="M9 24V8h8a5 5 0 0 1 0 10h-4v6z" fill="none" stroke="#fff" stroke-width="3" stroke-linejoin="round"/></svg>`;

export interface StaticAsset {
  body: Buffer;
  contentType: string;
  etag: string;
  /** the URL pages refer to it by: path plus content hash */
  href: string;
}

function asset(path: string, body: string, contentType: string): StaticAsset {
  const bytes = Buffer.from(body, 'utf8');
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  return { body: bytes, contentType, etag: `"${hash}"`, href: `${path}?v=${hash}` };
}

export const ASSETS = {
  css: asset('/static/provena.css', CSS, 'text/css; charset=utf-8'),
  js: asset('/static/provena.js', JS, 'text/javascript; charset=utf-8'),
  icon: asset('/static/favicon.svg', FAVICON, 'image/svg+xml'),
};

export const ASSET_BY_PATH: ReadonlyMap<string, StaticAsset> = new Map(
  Object.values(ASSETS).map((a) => [a.href.slice(0, a.href.indexOf('?')), a]),
);
