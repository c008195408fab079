import type { AppServices } from '../../app.ts';
import type { Channel, StoredPackage } from '../../core/channel/model.ts';
import { notFound } from '../../core/errors.ts';
import type { ChannelIndex, FileFacts, PackageGroup, WebCatalog } from './catalog.ts';
import { formatBytes, pageNumber, plural, timeTag } from './format.ts';
import { externalLink, html, query, type Html } from './html.ts';
import { copyBlock, layoutBytes, type Viewer } from './layout.ts';
import { channelPage, condaChannelUrl, fileAnchor, fileHref, packagePage, provenanceLinks } from './links.ts';
import { provenancePanel } from './provenance.ts';

/** Files (each with its provenance panel) per page; the version table lists every version regardless. */
const FILES_PER_PAGE = 30;
/** Versions shown before "all versions". */
const VERSIONS_SHOWN = 30;
/** Up to this many versions the filter is a list; beyond it, a text field. */
const VERSION_SELECT_MAX = 300;

export interface PackageQuery {
  subdir?: string;
  version?: string;
  page?: string;
  versions?: string;
}

interface VersionRow {
  version: string;
  perSubdir: Map<string, number>;
  lastUpload: string;
}

/** Rendered bodies kept per group, for different filters and pages. */
const MAX_BODIES_PER_GROUP = 32;

interface GroupView {
  bodies: Map<string, Html>;
  /** parts of the body that do not depend on the query, by a key of what they do depend on */
  parts: Map<string, Html>;
  /** version strings newest first (conda order), each with its builds per subdir */
  versions: VersionRow[];
  /** files grouped by version (newest first), then subdir, then conda's build preference */
  ordered: StoredPackage[];
}

// Derived once per group object: a group is rebuilt (a new object) whenever its subdir changes.
const views = new WeakMap<PackageGroup, GroupView>();
// A file's card depends on the file, its facts, the channel's privacy (download links) and the index
// (which dependencies link to a package of the channel): rendered once per combination of these.
const cards = new WeakMap<StoredPackage, { key: string; html: Html }>();

function groupView(g: PackageGroup): GroupView {
  let v = views.get(g);
  if (v) return v;
  const rows = new Map<string, VersionRow>();
  const rank = new Map<string, number>();
  for (const f of g.files) {
    const version = String(f.record.version);
    let row = rows.get(version);
    if (!row) {
      row = { version, perSubdir: new Map(), lastUpload: '' };
      rows.set(version, row);
      rank.set(version, rank.size);
    }
    row.perSubdir.set(f.subdir, (row.perSubdir.get(f.subdir) ?? 0) + 1);
    if (f.uploadedAt > row.lastUpload) row.lastUpload = f.uploadedAt;
  }
  // g.files is in conda preference order already; a stable sort by (version rank, subdir) keeps it within
  const ordered = g.files
    .map((f, i) => ({ f, i, r: rank.get(String(f.record.version))! }))
    .sort((a, b) => a.r - b.r || (a.f.subdir < b.f.subdir ? -1 : a.f.subdir > b.f.subdir ? 1 : a.i - b.i))
    .map((x) => x.f);
  v = { versions: [...rows.values()], ordered, bodies: new Map(), parts: new Map() };
  views.set(g, v);
  return v;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim().length > 0 ? v : null);

/** `/channels/NAME/packages/PKG`: versions, builds per subdir, files with their provenance. */
export async function packagePageHtml(s: AppServices, catalog: WebCatalog, viewer: Viewer, channelName: string, name: string, q: PackageQuery): Promise<Buffer> {
  const channel = await s.channels.get(viewer.principal, channelName);
  const index = await catalog.channel(channel.name);
  const group = index.byName.get(name);
  if (!group) throw notFound('package_not_found', `channel ${channel.name} has no package named ${JSON.stringify(name)}`);
  const view = groupView(group);

  const subdir = typeof q.subdir === 'string' && group.subdirs.includes(q.subdir) ? q.subdir : '';
  const version = typeof q.version === 'string' && view.versions.some((v) => v.version === q.version) ? q.version : '';
  const files = subdir || version
    ? view.ordered.filter((f) => (!subdir || f.subdir === subdir) && (!version || f.record.version === version))
    : view.ordered;
  const pages = Math.max(1, Math.ceil(files.length / FILES_PER_PAGE));
  const page = Math.min(pageNumber(q.page), pages);
  const shown = files.slice((page - 1) * FILES_PER_PAGE, page * FILES_PER_PAGE);
  const facts = await catalog.facts(shown, (p) => s.log.latestEntryFor(p.channel, p.subdir, p.filename, 'publish', p.sha256));

  const self = packagePage(channel.name, name);
  // the body is the same for every visitor: rendered once per group (a new one per change), query and facts
  const bodyKey = [channel.private, s.publicUrl, subdir, version, page, q.versions === 'all', ...shown.map((f) => {
    const x = facts.get(f)!;
    return `${x.logIndex}:${x.attestation?.sigsSha256 ?? ''}`;
  })].join('|');
  let body = view.bodies.get(bodyKey);
  if (!body) {
    body = renderBody(group);
    if (view.bodies.size >= MAX_BODIES_PER_GROUP) view.bodies.delete(view.bodies.keys().next().value!);
    view.bodies.set(bodyKey, body);
  }
  return layoutBytes({
    title: `${name} · ${channel.name}`,
    viewer,
    path: self,
    crumbs: [[channel.name, channelPage(channel.name)], [name, null]],
    body,
  });

  function renderBody(group: PackageGroup): Html {
    const latest = group.latest;
    const about = latest.about ?? {};
    const summary = text(about['summary']);
    const description = text(about['description']);
    const license = text(latest.record['license']) ?? text(about['license']);
    const links: Html[] = [];
    for (const [field, label] of [['home', 'Homepage'], ['dev_url', 'Source'], ['doc_url', 'Documentation']] as const) {
      const value = text(about[field]);
      if (value !== null) links.push(html`<dt>${label}</dt><dd>${externalLink(value)}</dd>`);
    }
    const allVersions = q.versions === 'all';
    const versionRows = allVersions ? view.versions : view.versions.slice(0, VERSIONS_SHOWN);
    const filterQuery = (extra: Record<string, string | number | null>) => query({ subdir, version, ...extra });

    const part = (key: string, make: () => Html): Html => {
      let h = view.parts.get(key);
      if (!h) view.parts.set(key, (h = make()));
      return h;
    };
    const versionTable = part(`versions|${allVersions}|${self}`, () => html`<div class="table-wrap"><table class="responsive">
<caption class="visually-hidden">Versions, newest first in conda's version order, with builds per subdir</caption>
<thead><tr><th scope="col">Version</th><th scope="col">Builds per subdir</th><th scope="col">Last upload</th></tr></thead>
<tbody>${versionRows.map((v) => html`<tr>
<td data-label="Version"><a href="${self}${query({ version: v.version })}#files">${v.version}</a></td>
<td data-label="Builds per subdir"><ul class="inline">${[...v.perSubdir].sort(([a], [b]) => (a < b ? -1 : 1)).map(([sd, n]) => html`<li><a href="${self}${query({ version: v.version, subdir: sd })}#files">${sd}</a> × ${n}</li>`)}</ul></td>
<td data-label="Last upload">${timeTag(v.lastUpload)}</td>
</tr>`)}</tbody></table></div>
${!allVersions && view.versions.length > VERSIONS_SHOWN ? html`<p><a href="${self}${query({ versions: 'all' })}#versions">Show all ${view.versions.length} versions</a></p>` : ''}`);

    const versionOptions = (selected: string) => view.versions.map((v) => html`<option value="${v.version}"${v.version === selected ? html` selected` : ''}>${v.version}</option>`);
    const versionFilter = view.versions.length <= VERSION_SELECT_MAX
      ? html`<select id="version" name="version"><option value="">all</option>${version === '' ? part('options', () => html`${versionOptions('')}`) : versionOptions(version)}</select>`
      : html`<input type="text" id="version" name="version" value="${version}" autocomplete="off" placeholder="exact version">`;

    const pager = pages > 1
      ? html`<nav class="pager" aria-label="File pages">
${page > 1 ? html`<a href="${self}${filterQuery({ page: page - 1 })}#files" rel="prev">← Newer files</a>` : ''}
<span>Page ${page} of ${pages}</span>
${page < pages ? html`<a href="${self}${filterQuery({ page: page + 1 })}#files" rel="next">Older files →</a>` : ''}
</nav>`
      : '';

    // files of one version under one heading
    const sections: Html[] = [];
    let i = 0;
    while (i < shown.length) {
      const v = String(shown[i]!.record.version);
      const same: StoredPackage[] = [];
      while (i < shown.length && String(shown[i]!.record.version) === v) same.push(shown[i++]!);
      sections.push(html`<section aria-labelledby="v-${sectionId(v)}">
<h3 id="v-${sectionId(v)}">${name} ${v}</h3>
<div class="cards">${same.map((f) => cachedCard(channel, index, f, facts.get(f)!))}</div>
</section>`);
    }

    const url = condaChannelUrl(s.publicUrl, channel.name);
    return html`<h1>${name}</h1>
${summary ? html`<p class="lead">${summary}</p>` : ''}
<dl class="facts">
<dt>Latest version</dt><dd>${String(latest.record.version)} <span class="muted">(${latest.subdir}, build ${String(latest.record.build)})</span></dd>
<dt>Channel</dt><dd><a href="${channelPage(channel.name)}">${channel.name}</a></dd>
<dt>License</dt><dd>${license ?? html`<span class="muted">not stated</span>`}</dd>
${links}
<dt>Files</dt><dd>${plural(group.files.length, 'file')} in ${plural(view.versions.length, 'version')} for ${group.subdirs.join(', ')}</dd>
</dl>
${description && description !== summary ? html`<details><summary>Description</summary><p class="description">${description}</p></details>` : ''}
<h2 id="install">Install</h2>
${copyBlock('install-cmd', `conda install -c ${url} ${name}`, 'the install command')}
<h2 id="versions">Versions</h2>
${versionTable}
<h2 id="files">Files</h2>
<form class="search" method="get" action="${self}#files" aria-label="Filter files">
<div class="narrow"><label for="version">Version</label>${versionFilter}</div>
<div class="narrow"><label for="fsubdir">Subdir</label><select id="fsubdir" name="subdir"><option value="">all</option>${group.subdirs.map((sd) => html`<option value="${sd}"${sd === subdir ? html` selected` : ''}>${sd}</option>`)}</select></div>
<div class="narrow"><button type="submit">Show files</button></div>
</form>
<p role="status">${plural(files.length, 'file')}${version ? html` of version ${version}` : ''}${subdir ? html` for ${subdir}` : ''}${subdir || version ? html` · <a href="${self}#files">all files</a>` : ''}</p>
${sections}
${pager}`;
  }
}

/** `admin`, `key:<id>`, `publisher:<id>` (package model) in words. */
function uploader(by: string): string {
  if (by === 'admin') return 'the admin token';
  if (by.startsWith('key:')) return `key ${by.slice(4)}`;
  if (by.startsWith('publisher:')) return `Trusted Publisher ${by.slice(10)}`;
  return by;
}

function sectionId(version: string): string {
  return version.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function cachedCard(channel: Channel, index: ChannelIndex, f: StoredPackage, facts: FileFacts): Html {
  const key = `${channel.name}|${channel.private}|${index.serial}|${facts.logIndex}|${facts.attestation?.sigsSha256 ?? ''}|${facts.attestation?.verifiedAt ?? ''}`;
  const hit = cards.get(f);
  if (hit && hit.key === key) return hit.html;
  const html = fileCard(channel, index, f, facts);
  cards.set(f, { key, html });
  return html;
}

function fileCard(channel: Channel, index: ChannelIndex, f: StoredPackage, facts: FileFacts): Html {
  const r = f.record;
  const depends = Array.isArray(r.depends) ? r.depends.filter((d): d is string => typeof d === 'string') : [];
  const constrains = Array.isArray(r['constrains']) ? (r['constrains'] as unknown[]).filter((d): d is string => typeof d === 'string') : [];
  const license = text(r['license']) ?? text(f.about?.['license']);
  const anchor = fileAnchor(f.subdir, f.filename);
  const depList = (list: string[]) => html`<ul class="deps">${list.map((d) => {
    const depName = d.split(/[\s=<>!~,|]/, 1)[0] ?? '';
    const inChannel = depName !== '' && index.byName.has(depName);
    return html`<li>${inChannel ? html`<a href="${packagePage(channel.name, depName)}"><code>${d}</code></a>` : html`<code>${d}</code>`}</li>`;
  })}</ul>`;
  return html`<article class="card file" id="${anchor}" aria-labelledby="${anchor}-h">
<div class="card-head"><h4 id="${anchor}-h"><code>${f.filename}</code></h4>
<span><span class="badge">${f.subdir}</span> ${f.attestationsSha256 ? html`<span class="badge ok">attested</span>` : html`<span class="badge warn">no attestation</span>`}</span></div>
<dl class="facts">
<dt>Build</dt><dd><code>${String(r.build)}</code> (number ${typeof r.build_number === 'number' ? r.build_number : 0})</dd>
<dt>Size</dt><dd>${formatBytes(f.size)}</dd>
<dt>Uploaded</dt><dd>${timeTag(f.uploadedAt)} <span class="muted">by ${uploader(f.uploadedBy)}</span></dd>
<dt>License</dt><dd>${license ?? html`<span class="muted">not stated</span>`}</dd>
<dt>Dependencies</dt><dd>${depends.length === 0 ? html`<span class="muted">none</span>` : depList(depends)}</dd>
${constrains.length > 0 ? html`<dt>Constrains</dt><dd>${depList(constrains)}</dd>` : ''}
<dt>sha256</dt><dd><code>${f.sha256}</code></dd>
<dt>Download</dt><dd><a href="${fileHref(channel, f.subdir, f.filename)}" download>${f.filename}</a></dd>
</dl>
${provenancePanel(f, facts.attestation, facts.logIndex, provenanceLinks(channel, f), `prov-${anchor}`)}
</article>`;
}
