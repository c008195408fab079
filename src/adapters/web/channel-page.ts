import type { AppServices } from '../../app.ts';
import { isKnownSubdir } from '../../core/conda/platforms.ts';
import type { PackageGroup, WebCatalog } from './catalog.ts';
import { pageNumber, plural, timeTag } from './format.ts';
import { html, query } from './html.ts';
import { copyBlock, layout, type Viewer } from './layout.ts';
import { channelPage, condaChannelUrl, packagePage, settingsPage } from './links.ts';

const PER_PAGE = 50;
const MAX_QUERY = 100;

export interface ChannelQuery {
  q?: string;
  subdir?: string;
  page?: string;
}

/**
 * `/channels/NAME`: the channel's packages, newest publish first; search by name (names starting with
 * the text first, then names containing it), filter by subdir; and how to use the channel.
 */
export async function channelPageHtml(s: AppServices, catalog: WebCatalog, viewer: Viewer, name: string, q: ChannelQuery): Promise<string> {
  const channel = await s.channels.get(viewer.principal, name);
  const index = await catalog.channel(channel.name);
  const text = typeof q.q === 'string' ? q.q.trim().toLowerCase().slice(0, MAX_QUERY) : '';
  const subdir = typeof q.subdir === 'string' && isKnownSubdir(q.subdir) ? q.subdir : '';

  let groups: PackageGroup[] = index.groups;
  if (subdir) groups = groups.filter((g) => g.subdirs.includes(subdir));
  if (text) {
    const starts = groups.filter((g) => g.name.startsWith(text));
    const contains = groups.filter((g) => !g.name.startsWith(text) && g.name.includes(text));
    groups = [...starts, ...contains];
  }
  const pages = Math.max(1, Math.ceil(groups.length / PER_PAGE));
  const page = Math.min(pageNumber(q.page), pages);
  const shown = groups.slice((page - 1) * PER_PAGE, page * PER_PAGE);
  const url = condaChannelUrl(s.publicUrl, channel.name);
  const isAdmin = s.access.allows(viewer.principal, channel, 'admin');
  const filtered = text !== '' || subdir !== '';

  const rows = shown.map((g) => {
    const files = subdir ? g.files.filter((f) => f.subdir === subdir) : g.files;
    const latest = files[0] ?? g.latest;
    const summary = typeof latest.about?.['summary'] === 'string' ? (latest.about['summary'] as string) : '';
    return html`<tr>
<td data-label="Name"><a href="${packagePage(channel.name, g.name)}${subdir ? query({ subdir }) : ''}">${g.name}</a></td>
<td data-label="Latest version">${String(latest.record.version)}</td>
<td data-label="Files" class="num">${files.length.toLocaleString('en-US')}</td>
<td data-label="Subdirs">${g.subdirs.join(', ')}</td>
<td data-label="Last publish">${timeTag(g.lastUpload)}</td>
<td data-label="Summary" class="summary">${summary.length > 160 ? `${summary.slice(0, 157)}…` : summary}</td>
</tr>`;
  });

  const pager = pages > 1
    ? html`<nav class="pager" aria-label="Pages">
${page > 1 ? html`<a href="${channelPage(channel.name)}${query({ q: text, subdir, page: page - 1 })}" rel="prev">← Newer</a>` : ''}
<span>Page ${page} of ${pages}</span>
${page < pages ? html`<a href="${channelPage(channel.name)}${query({ q: text, subdir, page: page + 1 })}" rel="next">Older →</a>` : ''}
</nav>`
    : '';

  const usage = html`<h2 id="usage">Use this channel</h2>
<p>With conda, mamba or micromamba:</p>
${copyBlock('conda-cmd', `conda install -c ${url} PACKAGE`, 'the conda command')}
<p>With pixi, in <code>pixi.toml</code>:</p>
${copyBlock('pixi-cfg', `channels = ["${url}", "conda-forge"]`, 'the pixi channels line')}
${channel.private
    ? html`<p class="notice warn">This channel is private: conda needs a read key, e.g. <code>conda install -c ${s.publicUrl}/t/YOUR_READ_KEY/${channel.name} PACKAGE</code>, or <code>Authorization: Bearer YOUR_READ_KEY</code> for pixi and rattler.</p>`
    : ''}`;

  const subdirOptions = index.subdirs.map((sd) => html`<option value="${sd}"${sd === subdir ? html` selected` : ''}>${sd}</option>`);

  return layout({
    title: channel.name,
    viewer,
    path: channelPage(channel.name),
    crumbs: [[channel.name, null]],
    body: html`<h1>${channel.name} ${channel.private ? html`<span class="badge private">private</span>` : ''}${channel.requireAttestations ? html` <span class="badge ok">attestations required</span>` : ''}</h1>
<p class="lead">${plural(index.groups.length, 'package')} in ${plural(index.fileCount, 'file')}${index.subdirs.length > 0 ? ` for ${index.subdirs.join(', ')}` : ''}.
${isAdmin ? html`<a href="${settingsPage(channel.name)}">Channel settings</a>` : ''}</p>
<h2 id="packages">Packages</h2>
<form class="search" method="get" action="${channelPage(channel.name)}" role="search" aria-label="Search packages">
<div><label for="q">Package name</label><input type="search" id="q" name="q" value="${text}" maxlength="${MAX_QUERY}" placeholder="e.g. numpy" autocomplete="off"></div>
<div class="narrow"><label for="subdir">Subdir</label><select id="subdir" name="subdir"><option value="">all</option>${subdirOptions}</select></div>
<div class="narrow"><button type="submit">Search</button></div>
</form>
${filtered ? html`<p role="status">${plural(groups.length, 'package')} ${text ? html`matching <q>${text}</q>` : ''}${subdir ? html` in ${subdir}` : ''}. <a href="${channelPage(channel.name)}">Show all</a></p>` : ''}
${shown.length === 0
    ? html`<p class="notice">${filtered ? 'No package matches.' : 'Nothing has been published to this channel yet.'}</p>`
    : html`<div class="table-wrap"><table class="responsive">
<caption class="visually-hidden">Packages, most recently published first</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Latest version</th><th scope="col" class="num">Files</th><th scope="col">Subdirs</th><th scope="col">Last publish</th><th scope="col">Summary</th></tr></thead>
<tbody>${rows}</tbody></table></div>`}
${pager}
${usage}`,
  });
}
