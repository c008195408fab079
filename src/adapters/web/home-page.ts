import type { AppServices } from '../../app.ts';
import type { Channel, StoredPackage } from '../../core/channel/model.ts';
import type { WebCatalog } from './catalog.ts';
import { plural, timeTag } from './format.ts';
import { html } from './html.ts';
import { layout, type Viewer } from './layout.ts';
import { channelPage, fileAnchor, packagePage } from './links.ts';

const LATEST = 12;

/** `/`: the channels this visitor may see (never a private one without access), with their latest publishes. */
export async function homePage(s: AppServices, catalog: WebCatalog, viewer: Viewer): Promise<string> {
  const channels = await s.channels.list(viewer.principal);
  const rows: { channel: Channel; names: number; files: number; last: string | null }[] = [];
  const recent: { channel: Channel; pkg: StoredPackage }[] = [];
  for (const channel of channels) {
    const index = await catalog.channel(channel.name);
    rows.push({ channel, names: index.groups.length, files: index.fileCount, last: index.recent[0]?.uploadedAt ?? null });
    for (const pkg of index.recent) recent.push({ channel, pkg });
  }
  rows.sort((a, b) => ((a.last ?? '') < (b.last ?? '') ? 1 : (a.last ?? '') > (b.last ?? '') ? -1 : a.channel.name < b.channel.name ? -1 : 1));
  recent.sort((a, b) => (a.pkg.uploadedAt < b.pkg.uploadedAt ? 1 : a.pkg.uploadedAt > b.pkg.uploadedAt ? -1 : 0));

  const channelTable = rows.length === 0
    ? html`<p class="notice">No channels to show yet.${viewer.principal.kind === 'anonymous' ? ' Private channels appear after you sign in with a key that may read them.' : ''}</p>`
    : html`<div class="table-wrap"><table class="responsive">
<caption class="visually-hidden">Channels you can see</caption>
<thead><tr><th scope="col">Channel</th><th scope="col" class="num">Packages</th><th scope="col" class="num">Files</th><th scope="col">Latest publish</th></tr></thead>
<tbody>
${rows.map((r) => html`<tr>
<td data-label="Channel"><a href="${channelPage(r.channel.name)}">${r.channel.name}</a>${r.channel.private ? html` <span class="badge private">private</span>` : ''}${r.channel.requireAttestations ? html` <span class="badge ok">attestations required</span>` : ''}</td>
<td data-label="Packages" class="num">${r.names.toLocaleString('en-US')}</td>
<td data-label="Files" class="num">${r.files.toLocaleString('en-US')}</td>
<td data-label="Latest publish">${timeTag(r.last)}</td>
</tr>`)}
</tbody></table></div>`;

  const latest = recent.slice(0, LATEST);
  const latestList = latest.length === 0
    ? html`<p class="muted">Nothing published yet.</p>`
    : html`<div class="table-wrap"><table class="responsive">
<caption class="visually-hidden">Latest publishes</caption>
<thead><tr><th scope="col">Package</th><th scope="col">Version</th><th scope="col">Channel</th><th scope="col">Subdir</th><th scope="col">Published</th><th scope="col">Provenance</th></tr></thead>
<tbody>
${latest.map(({ channel, pkg }) => html`<tr>
<td data-label="Package"><a href="${packagePage(channel.name, String(pkg.record.name))}#${fileAnchor(pkg.subdir, pkg.filename)}">${String(pkg.record.name)}</a></td>
<td data-label="Version">${String(pkg.record.version)}</td>
<td data-label="Channel"><a href="${channelPage(channel.name)}">${channel.name}</a></td>
<td data-label="Subdir">${pkg.subdir}</td>
<td data-label="Published">${timeTag(pkg.uploadedAt)}</td>
<td data-label="Provenance">${pkg.attestationsSha256 ? html`<span class="badge ok">attested</span>` : html`<span class="badge warn">no attestation</span>`}</td>
</tr>`)}
</tbody></table></div>`;

  return layout({
    title: 'Channels',
    viewer,
    path: '/',
    body: html`<h1>Channels</h1>
<p class="lead">${plural(rows.length, 'channel')} you can see. Every package's origin is checked at upload and recorded in the
<a href="/log">transparency log</a>.</p>
${channelTable}
<h2>Latest publishes</h2>
${latestList}`,
  });
}
