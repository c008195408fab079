import type { AppServices } from '../../app.ts';
import type { Principal } from '../../core/channel/access.ts';
import { parsePackageFilename } from '../../core/conda/filename.ts';
import { invalid } from '../../core/errors.ts';
import { encodeBase64 } from '../../core/tlog/base64.ts';
import { isBlinded, parseEntry, type LogEntry, type LoggedEntry } from '../../core/tlog/entry.ts';
import type { WebCatalog } from './catalog.ts';
import { plural, timeTag } from './format.ts';
import { html, query, type Html } from './html.ts';
import { copyBlock, layout, type Viewer } from './layout.ts';
import { channelPage, fileAnchor, logEntryPage, packagePage } from './links.ts';

const PER_PAGE = 50;
/** How far back a sha256 search reads the log itself (current files are found through the channels). */
export const SEARCH_SCAN_ENTRIES = 100_000;
const SCAN_CHUNK = 2_000;
const SHA256 = /^[0-9a-f]{64}$/;

/** Which channels this visitor may see, asked once per channel per request. */
class Visibility {
  readonly #seen = new Map<string, boolean>();
  constructor(
    private readonly s: AppServices,
    private readonly principal: Principal,
  ) {}

  async canSee(channel: string): Promise<boolean> {
    let v = this.#seen.get(channel);
    if (v === undefined) {
      const c = await this.s.access.channels.get(channel);
      v = c !== null && this.s.access.allows(this.principal, c, 'read');
      this.#seen.set(channel, v);
    }
    return v;
  }
}

function packageNameOf(filename: string | null): string | null {
  if (filename === null) return null;
  try {
    return parsePackageFilename(filename).name;
  } catch {
    return null;
  }
}

const ACTIONS: Record<LogEntry['action'], string> = {
  publish: 'publish',
  yank: 'yank',
  remove: 'remove',
  publisher_add: 'publisher added',
  publisher_remove: 'publisher removed',
  channel_update: 'channel change',
  repodata_publish: 'repodata signed',
  key_rotation: 'log key rotated',
};

function publisherText(p: LogEntry['publisher']): string {
  if (p === null) return '—';
  if (p.kind === 'log_key') return 'the log operator';
  if (p.kind === 'key' && typeof p['id'] === 'string') return `key ${p['id']}`;
  if (typeof p['repository'] === 'string') return `${p.kind} ${p['repository']}`;
  return p.kind;
}

function subject(e: LogEntry): Html {
  if (e.channel === null) return html`next signing key <code>${String(e.publisher?.['key'] ?? '')}</code>`;
  const name = packageNameOf(e.filename);
  const channel = html`<a href="${channelPage(e.channel)}">${e.channel}</a>`;
  if (e.filename === null || e.subdir === null) return channel;
  const file = name === null
    ? html`<code>${e.filename}</code>`
    : html`<a href="${packagePage(e.channel, name)}#${fileAnchor(e.subdir, e.filename)}"><code>${e.filename}</code></a>`;
  return html`${channel} / ${e.subdir} / ${file}`;
}

async function entryRow(index: number, e: LoggedEntry, vis: Visibility): Promise<Html> {
  // a blinded entry here is one whose channel this visitor cannot read (readEntries opened the others)
  if (isBlinded(e) || (e.channel !== null && !(await vis.canSee(e.channel)))) {
    return html`<tr><td data-label="Index"><a href="${logEntryPage(index)}">${index}</a></td><td data-label="Time">${timeTag(e.time)}</td><td data-label="" colspan="4" class="muted">an entry about a channel you cannot see</td></tr>`;
  }
  return html`<tr>
<td data-label="Index"><a href="${logEntryPage(index)}">${index}</a></td>
<td data-label="Time">${timeTag(e.time)}</td>
<td data-label="Action">${ACTIONS[e.action]}</td>
<td data-label="Subject">${subject(e)}</td>
<td data-label="sha256">${e.sha256 ? html`<code title="${e.sha256}">${e.sha256.slice(0, 12)}…</code>` : ''}</td>
<td data-label="By">${publisherText(e.publisher)}${e.attestation_sha256 ? html` <span class="badge ok">attested</span>` : ''}</td>
</tr>`;
}

function entriesTable(rows: Html[], caption: string): Html {
  return html`<div class="table-wrap"><table class="responsive">
<caption class="visually-hidden">${caption}</caption>
<thead><tr><th scope="col">Index</th><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Subject</th><th scope="col">sha256</th><th scope="col">By</th></tr></thead>
<tbody>${rows}</tbody></table></div>`;
}

/** Entries as this visitor may see them: a private channel's blinded entries opened for its readers only. */
async function readEntries(s: AppServices, start: number, end: number, vis: Visibility): Promise<LoggedEntry[]> {
  const entries = (await s.store.log.entries(start, end)).map((b) => parseEntry(b));
  if (!entries.some(isBlinded)) return entries;
  const openings = await s.log.openings(start, end);
  const out: LoggedEntry[] = [];
  for (const [i, e] of entries.entries()) {
    const o = isBlinded(e) ? openings.get(start + i) : undefined;
    out.push(o !== undefined && (await vis.canSee(o.channel)) ? o.entry : e);
  }
  return out;
}

/**
 * Entries about a package file with this sha256: through the channels' current files (their publish
 * entries, found by index), and by reading the newest SEARCH_SCAN_ENTRIES entries of the log (which
 * also finds removed files). Only entries about channels the visitor may see are returned.
 */
async function searchSha256(s: AppServices, catalog: WebCatalog, principal: Principal, sha256: string, size: number, vis: Visibility): Promise<number[]> {
  const found = new Set<number>();
  for (const channel of await s.channels.list(principal)) {
    const index = await catalog.channel(channel.name);
    for (const pkg of index.bySha256.get(sha256) ?? []) {
      const i = await s.log.latestEntryFor(pkg.channel, pkg.subdir, pkg.filename, 'publish', sha256);
      if (i !== null && i < size) found.add(i);
    }
  }
  const floor = Math.max(0, size - SEARCH_SCAN_ENTRIES);
  for (let end = size; end > floor; end -= SCAN_CHUNK) {
    const start = Math.max(floor, end - SCAN_CHUNK);
    // blinded entries the visitor cannot open have no sha256: a private file is never matched for them
    const entries = await readEntries(s, start, end, vis);
    entries.forEach((e, i) => {
      if (e.sha256 === sha256) found.add(start + i);
    });
  }
  return [...found].sort((a, b) => b - a);
}

/** `/log`: the latest signed checkpoint, the verifier key, recent entries (paged), search by sha256. */
export async function logPageHtml(
  s: AppServices,
  catalog: WebCatalog,
  viewer: Viewer,
  q: { before?: string; sha256?: string },
): Promise<string> {
  const latest = s.log.latest();
  const size = latest.size;
  const vis = new Visibility(s, viewer.principal);

  let search: Html | string = '';
  const wanted = typeof q.sha256 === 'string' ? q.sha256.trim().toLowerCase() : '';
  if (wanted !== '') {
    if (!SHA256.test(wanted)) {
      search = html`<p class="notice err" role="alert">A sha256 is 64 hexadecimal digits; <q>${wanted.slice(0, 80)}</q> is not one.</p>`;
    } else {
      const indexes = await searchSha256(s, catalog, viewer.principal, wanted, size, vis);
      const rows: Html[] = [];
      for (const i of indexes) {
        const [e] = await readEntries(s, i, i + 1, vis);
        if (e && !isBlinded(e) && (e.channel === null || (await vis.canSee(e.channel)))) rows.push(await entryRow(i, e, vis));
      }
      search = html`<section aria-labelledby="results-h"><h3 id="results-h">Entries for <code>${wanted}</code></h3>
${rows.length === 0
    ? html`<p class="notice" role="status">No entry found for this sha256 among the files of the channels you can see and the newest ${SEARCH_SCAN_ENTRIES.toLocaleString('en-US')} entries.</p>`
    : html`<p role="status">${plural(rows.length, 'entry', 'entries')} found.</p>${entriesTable(rows, 'Entries for this sha256')}`}
</section>`;
    }
  }

  const beforeRaw = typeof q.before === 'string' && /^[0-9]{1,15}$/.test(q.before) ? Number(q.before) : size;
  const before = Math.min(Math.max(beforeRaw, 0), size);
  const start = Math.max(0, before - PER_PAGE);
  const entries = await readEntries(s, start, before, vis);
  const rows: Html[] = [];
  for (let i = entries.length - 1; i >= 0; i--) rows.push(await entryRow(start + i, entries[i]!, vis));
  const pager = html`<nav class="pager" aria-label="Log pages">
${before < size ? html`<a href="/log${query({ before: Math.min(size, before + PER_PAGE) })}" rel="prev">← Newer entries</a>` : ''}
${entries.length > 0 ? html`<span>Entries ${start} to ${before - 1} of ${size}</span>` : ''}
${start > 0 ? html`<a href="/log${query({ before: start })}" rel="next">Older entries →</a>` : ''}
</nav>`;

  return layout({
    title: 'Transparency log',
    viewer,
    path: '/log',
    crumbs: [['Transparency log', null]],
    body: html`<h1>Transparency log</h1>
<p class="lead">Every publish, removal and channel change is appended to this log before it is acknowledged. The log is a Merkle tree;
its signed checkpoints let anyone check that an entry is in it and that the log only ever grows.</p>
<h2 id="checkpoint">Latest checkpoint</h2>
<dl class="facts">
<dt>Origin</dt><dd><code>${s.log.origin}</code></dd>
<dt>Tree size</dt><dd>${size.toLocaleString('en-US')} entries</dd>
<dt>Root hash</dt><dd><code>${encodeBase64(latest.root)}</code></dd>
<dt>Signed</dt><dd>${timeTag(latest.createdAt)}</dd>
<dt>Verify with</dt><dd><a href="#note">the signed note</a> and <a href="#key">the verifier key</a></dd>
</dl>
<h2 id="search">Find a log entry</h2>
<form class="search" method="get" action="/log" role="search" aria-label="Find a log entry by sha256">
<div><label for="sha256">Package sha256 <span class="hint">you can use this to find the log entry of a file you downloaded: <code>sha256sum FILE</code></span></label>
<input type="search" id="sha256" name="sha256" value="${wanted}" maxlength="64" spellcheck="false" autocomplete="off" pattern="[0-9a-fA-F]{64}" placeholder="64 hexadecimal digits"></div>
<div class="narrow"><button type="submit">Find</button></div>
</form>
${search}
<h2 id="entries">Recent entries</h2>
${rows.length === 0 ? html`<p class="muted">${size === 0 ? 'The log is empty.' : 'No entries on this page.'}</p>` : entriesTable(rows, 'Log entries, newest first')}
${pager}
<h2 id="note">Signed checkpoint</h2>
<p>The signed note, as served at <a href="/log/checkpoint">/log/checkpoint</a> (C2SP tlog-checkpoint; tiles under <code>/log/tile/</code>):</p>
${copyBlock('checkpoint-note', latest.note.trimEnd(), 'the checkpoint')}
<h2 id="key">Verifier key</h2>
<p>Checkpoints and receipts are signed with this key (<a href="/log/key">/log/key</a>); keep a copy to check them offline,
e.g. <code>provena log verify-receipt FILE.receipt.json --key KEY</code>.</p>
${copyBlock('verifier-key', s.log.verifierKey, 'the verifier key')}
`,
  });
}

/** A blinded entry for a visitor who cannot read its channel: only what the public log holds. */
function blindedEntryPage(viewer: Viewer, index: number, e: LoggedEntry, entry: { entry: string; inclusion_proof: string[]; checkpoint: string }): string {
  return layout({
    title: `Log entry ${index}`,
    viewer,
    path: logEntryPage(index),
    crumbs: [['Transparency log', '/log'], [`Entry ${index}`, null]],
    body: html`<h1>Log entry ${index}</h1>
<p class="notice">This entry concerns a channel you cannot see; the public log holds it blinded (action, time and a commitment).</p>
<dl class="facts"><dt>Index</dt><dd>${index}</dd><dt>Time</dt><dd>${timeTag(e.time)}</dd><dt>Action</dt><dd>${ACTIONS[e.action]}</dd></dl>
${copyBlock('entry-json', Buffer.from(entry.entry, 'base64').toString('utf8'), 'the entry')}
<p><a href="/api/v1/log/entries/${index}">/api/v1/log/entries/${index}</a> · <a href="/log">Back to the log</a></p>`,
  });
}

/** `/log/entries/N`: one entry with its inclusion proof to the latest checkpoint. */
export async function logEntryPageHtml(s: AppServices, viewer: Viewer, indexText: string): Promise<string> {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(indexText)) throw invalid('log_index_invalid', 'a log index is a non-negative decimal integer');
  const index = Number(indexText);
  const vis = new Visibility(s, viewer.principal);
  const entry = await s.log.entry(index, (channel) => vis.canSee(channel));
  // a blinded entry is shown through its opening, which only readers of its channel get
  const e: LoggedEntry = entry.opening?.entry ?? entry.entry_json;
  if (isBlinded(e)) return blindedEntryPage(viewer, index, e, entry);
  const visible = e.channel === null || (await vis.canSee(e.channel));
  const name = packageNameOf(e.filename);

  const facts = visible
    ? html`<dl class="facts">
<dt>Index</dt><dd>${index}</dd>
<dt>Time</dt><dd>${timeTag(e.time)}</dd>
<dt>Action</dt><dd>${ACTIONS[e.action]}</dd>
${e.channel !== null ? html`<dt>Channel</dt><dd><a href="${channelPage(e.channel)}">${e.channel}</a></dd>` : html`<dt>Next key</dt><dd><code>${String(e.publisher?.['key'] ?? '')}</code></dd>`}
${e.subdir ? html`<dt>Subdir</dt><dd>${e.subdir}</dd>` : ''}
${e.filename ? html`<dt>File</dt><dd>${name && e.subdir && e.channel ? html`<a href="${packagePage(e.channel, name)}#${fileAnchor(e.subdir, e.filename)}"><code>${e.filename}</code></a>` : html`<code>${e.filename}</code>`}</dd>` : ''}
${e.sha256 ? html`<dt>sha256</dt><dd><code>${e.sha256}</code></dd>` : ''}
${e.size !== null ? html`<dt>Size</dt><dd>${e.size.toLocaleString('en-US')} bytes</dd>` : ''}
<dt>By</dt><dd>${publisherText(e.publisher)}</dd>
${e.attestation_sha256 ? html`<dt>Attestation sha256</dt><dd><code>${e.attestation_sha256}</code></dd>` : ''}
</dl>
${entry.opening ? html`<p class="notice">This channel is private: the public log holds this entry blinded (below), and you see it through its opening, which only readers of the channel get.</p>` : ''}
<p>The entry exactly as logged (canonical JSON; its SHA-256 leaf hash is in the tree):</p>
${copyBlock('entry-json', Buffer.from(entry.entry, 'base64').toString('utf8'), 'the entry')}`
    : html`<p class="notice">This entry concerns a channel you cannot see; its contents are not shown.</p>
<dl class="facts"><dt>Index</dt><dd>${index}</dd><dt>Time</dt><dd>${timeTag(e.time)}</dd></dl>`;

  return layout({
    title: `Log entry ${index}`,
    viewer,
    path: logEntryPage(index),
    crumbs: [['Transparency log', '/log'], [`Entry ${index}`, null]],
    body: html`<h1>Log entry ${index}</h1>
${facts}
<h2 id="proof">Inclusion proof</h2>
<p>Proof that entry ${index} is in the tree of the latest checkpoint (RFC 9162, leaf side first); also as JSON at
<a href="/api/v1/log/entries/${index}">/api/v1/log/entries/${index}</a>.</p>
${entry.inclusion_proof.length === 0 ? html`<p class="muted">No hashes needed: the tree has one entry.</p>` : html`<ol class="mono">${entry.inclusion_proof.map((h) => html`<li><code>${h}</code></li>`)}</ol>`}
<p>Checkpoint:</p>
<pre><code>${entry.checkpoint.trimEnd()}</code></pre>
<p><a href="/log">Back to the log</a></p>`,
  });
}
