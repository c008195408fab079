import type { AppServices } from '../../app.ts';
import type { ApiKey } from '../../core/channel/model.ts';
import { KEY_SCOPES } from '../../core/channel/model.ts';
import type { TrustedPublisher } from '../../core/publish/publisher.ts';
import { GITLAB_DEFAULT_ISSUER } from '../../core/publish/publisher.ts';
import { timeTag } from './format.ts';
import { html, type Html } from './html.ts';
import { copyBlock, csrfField, layout, type Viewer } from './layout.ts';
import { channelPage, settingsPage } from './links.ts';

/** Fixed confirmations after a change (Post/Redirect/Get): `?done=CODE`, never text from the request. */
export const DONE_MESSAGES: Record<string, string> = {
  private: 'The channel is now private: only keys of this channel (and the admin token) can see it.',
  public: 'The channel is now public: anyone can read it.',
  attestations_required: 'Uploads to this channel now need a verified Sigstore attestation.',
  attestations_optional: 'Uploads to this channel no longer need an attestation (one that comes is still verified).',
  publisher_added: 'Trusted Publisher added.',
  publisher_removed: 'Trusted Publisher removed.',
  key_revoked: 'Key revoked: it no longer works anywhere.',
};

export interface SettingsState {
  done?: string;
  /** an error from the last form, already a message for people */
  error?: string;
  /** which add-publisher form the error belongs to, with what was typed */
  draft?: { kind: string; fields: Record<string, string> };
  /** a key just created: its secret is shown here once */
  created?: { key: ApiKey; secret: string };
}

function keyStatus(k: ApiKey, now: number): Html {
  if (k.revokedAt) return html`<span class="badge warn">revoked</span> ${timeTag(k.revokedAt)}`;
  if (k.expiresAt && Date.parse(k.expiresAt) <= now) return html`<span class="badge warn">expired</span>`;
  return html`<span class="badge ok">active</span>`;
}

function publisherFacts(p: TrustedPublisher): Html {
  switch (p.kind) {
    case 'github':
      return html`repository <code>${p.repository}</code>, workflow <code>${p.workflow}</code>${p.environment ? html`, environment <code>${p.environment}</code>` : ''}`;
    case 'gitlab':
      return html`project <code>${p.project}</code> on <code>${p.issuer}</code>, CI config <code>${p.ciConfigPath}</code>${p.environment ? html`, environment <code>${p.environment}</code>` : ''}`;
    case 'generic':
      return html`issuer <code>${p.issuer}</code>, claims ${Object.keys(p.claims).sort().map((k, i) => html`${i > 0 ? ', ' : ''}<code>${k}=${p.claims[k]!}</code>`)}`;
  }
}

function field(id: string, name: string, label: string, value: string, opts: { hint?: string; required?: boolean; placeholder?: string } = {}): Html {
  return html`<div><label for="${id}">${label}${opts.hint ? html` <span class="hint" id="${id}-hint">${opts.hint}</span>` : ''}</label>
<input type="text" id="${id}" name="${name}" value="${value}"${opts.required ? html` required` : ''}${opts.placeholder ? html` placeholder="${opts.placeholder}"` : ''}${opts.hint ? html` aria-describedby="${id}-hint"` : ''} autocomplete="off" spellcheck="false"></div>`;
}

/** `/channels/NAME/settings`: for the channel's admins only (an admin key of the channel, or the admin token). */
export async function settingsPageHtml(s: AppServices, viewer: Viewer, name: string, state: SettingsState = {}): Promise<string> {
  const channel = await s.access.require(viewer.principal, name, 'admin');
  const [publishers, keys] = await Promise.all([
    s.publishers.list(viewer.principal, channel.name),
    s.keys.list(viewer.principal, channel.name),
  ]);
  const base = settingsPage(channel.name);
  const now = Date.now();
  const csrf = csrfField(viewer);
  const draft = (kind: string, f: string, fallback = '') => (state.draft?.kind === kind ? state.draft.fields[f] ?? fallback : fallback);
  const errorFor = (kind: string) =>
    state.error && state.draft?.kind === kind ? html`<p class="notice err" role="alert" id="err-${kind}">${state.error}</p>` : '';

  const done = state.done && DONE_MESSAGES[state.done] ? html`<p class="notice ok" role="status">${DONE_MESSAGES[state.done]!}</p>` : '';
  const generalError = state.error && !state.draft ? html`<p class="notice err" role="alert">${state.error}</p>` : '';
  const created = state.created
    ? html`<section class="notice ok" aria-labelledby="new-key-h">
<h2 id="new-key-h">New ${state.created.key.scope} key ${state.created.key.id}</h2>
<p><strong>Copy the secret now: it is shown only this once.</strong> The server keeps only its hash.</p>
${copyBlock('new-key-secret', state.created.secret, 'the new key')}
</section>`
    : '';

  const publisherRows = publishers.map((p) => html`<tr>
<td data-label="Kind">${p.kind}</td><td data-label="Identity">${publisherFacts(p)}</td><td data-label="Added">${timeTag(p.createdAt)}</td>
<td data-label=""><form class="inline" method="post" action="${base}/publishers/${encodeURIComponent(p.id)}/remove">${csrf}
<button type="submit" class="danger small" aria-label="Remove publisher ${p.id}">Remove</button></form></td>
</tr>`);

  const keyRows = keys.map((k) => html`<tr>
<td data-label="Key"><code>${k.id}</code></td><td data-label="Scope">${k.scope}</td><td data-label="Description">${k.description ?? ''}</td><td data-label="Created">${timeTag(k.createdAt)}</td>
<td data-label="Expires">${k.expiresAt ? timeTag(k.expiresAt) : html`<span class="muted">never</span>`}</td><td data-label="Status">${keyStatus(k, now)}</td>
<td data-label="">${k.revokedAt ? '' : html`<form class="inline" method="post" action="${base}/keys/${encodeURIComponent(k.id)}/revoke">${csrf}
<button type="submit" class="danger small" aria-label="Revoke key ${k.id}">Revoke</button></form>`}</td>
</tr>`);

  return layout({
    title: `Settings · ${channel.name}`,
    viewer,
    path: base,
    crumbs: [[channel.name, channelPage(channel.name)], ['Settings', null]],
    body: html`<h1>Settings for ${channel.name}</h1>
${done}${generalError}${created}
<h2 id="visibility">Visibility</h2>
<p>This channel is <strong>${channel.private ? 'private' : 'public'}</strong>.
${channel.private ? 'Only keys of this channel and the admin token can see it, its packages and its name.' : 'Anyone can list and install its packages.'}</p>
<form method="post" action="${base}/visibility">${csrf}
<input type="hidden" name="private" value="${channel.private ? 'false' : 'true'}">
<button type="submit" class="secondary">${channel.private ? 'Make public' : 'Make private'}</button>
</form>

<h2 id="attestations">Attestations</h2>
<p>Uploads ${channel.requireAttestations ? html`<strong>must</strong> come with` : html`<strong>may</strong> come with`} a Sigstore attestation (CEP-27) signed by one of the Trusted Publishers below.</p>
<form method="post" action="${base}/attestations">${csrf}
<input type="hidden" name="require" value="${channel.requireAttestations ? 'false' : 'true'}">
<button type="submit" class="secondary">${channel.requireAttestations ? 'Stop requiring attestations' : 'Require attestations'}</button>
</form>

<h2 id="publishers">Trusted Publishers</h2>
<p>CI identities whose signed attestations this channel accepts.</p>
${publishers.length === 0 ? html`<p class="muted">None yet.</p>` : html`<div class="table-wrap"><table class="responsive">
<caption class="visually-hidden">Trusted Publishers</caption>
<thead><tr><th scope="col">Kind</th><th scope="col">Identity</th><th scope="col">Added</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${publisherRows}</tbody></table></div>`}
<h3>Add a Trusted Publisher</h3>
<div class="grid2">
<form method="post" action="${base}/publishers" class="stack" aria-labelledby="add-github">${csrf}
<input type="hidden" name="kind" value="github">
<fieldset><legend id="add-github">GitHub Actions</legend>
${errorFor('github')}
${field('gh-repository', 'repository', 'Repository', draft('github', 'repository'), { hint: 'OWNER/NAME', required: true, placeholder: 'acme/widgets' })}
${field('gh-workflow', 'workflow', 'Workflow file', draft('github', 'workflow'), { hint: 'the file name under .github/workflows/', required: true, placeholder: 'release.yml' })}
${field('gh-environment', 'environment', 'Environment', draft('github', 'environment'), { hint: 'optional: the deployment environment the job must use' })}
<div><button type="submit">Add GitHub publisher</button></div>
</fieldset></form>
<form method="post" action="${base}/publishers" class="stack" aria-labelledby="add-gitlab">${csrf}
<input type="hidden" name="kind" value="gitlab">
<fieldset><legend id="add-gitlab">GitLab CI/CD</legend>
${errorFor('gitlab')}
${field('gl-project', 'project', 'Project', draft('gitlab', 'project'), { hint: 'GROUP/PROJECT (subgroups allowed)', required: true, placeholder: 'acme/widgets' })}
${field('gl-config', 'ci_config_path', 'CI config path', draft('gitlab', 'ci_config_path', '.gitlab-ci.yml'), { required: true })}
${field('gl-environment', 'environment', 'Environment', draft('gitlab', 'environment'), { hint: 'optional' })}
${field('gl-issuer', 'issuer', 'GitLab instance', draft('gitlab', 'issuer', GITLAB_DEFAULT_ISSUER), { hint: 'the OIDC issuer URL of a self-managed GitLab' })}
<div><button type="submit">Add GitLab publisher</button></div>
</fieldset></form>
<form method="post" action="${base}/publishers" class="stack" aria-labelledby="add-generic">${csrf}
<input type="hidden" name="kind" value="generic">
<fieldset><legend id="add-generic">Other OIDC issuer</legend>
${errorFor('generic')}
${field('gen-issuer', 'issuer', 'Issuer URL', draft('generic', 'issuer'), { required: true, placeholder: 'https://issuer.example.com' })}
<div><label for="gen-claims">Claims <span class="hint" id="gen-claims-hint">one <code>name=value</code> per line; every claim must match exactly</span></label>
<textarea id="gen-claims" name="claims" required aria-describedby="gen-claims-hint" spellcheck="false">${draft('generic', 'claims')}</textarea></div>
<div><button type="submit">Add publisher</button></div>
</fieldset></form>
</div>

<h2 id="keys">API keys</h2>
${keys.length === 0 ? html`<p class="muted">No keys for this channel.</p>` : html`<div class="table-wrap"><table class="responsive">
<caption class="visually-hidden">API keys of this channel</caption>
<thead><tr><th scope="col">Key</th><th scope="col">Scope</th><th scope="col">Description</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${keyRows}</tbody></table></div>`}
<h3>Create a key</h3>
<form method="post" action="${base}/keys" class="stack">${csrf}
${errorFor('key')}
<div><label for="key-scope">Scope <span class="hint" id="key-scope-hint">read &lt; upload &lt; admin</span></label>
<select id="key-scope" name="scope" aria-describedby="key-scope-hint">${KEY_SCOPES.map((sc) => html`<option value="${sc}"${sc === draft('key', 'scope', 'read') ? html` selected` : ''}>${sc}</option>`)}</select></div>
${field('key-description', 'description', 'Description', draft('key', 'description'), { hint: 'optional, up to 200 characters' })}
<div><label for="key-expires">Expires after (days) <span class="hint" id="key-expires-hint">optional; empty = never</span></label>
<input type="number" id="key-expires" name="expires_days" min="1" max="3650" value="${draft('key', 'expires_days')}" aria-describedby="key-expires-hint"></div>
<div><button type="submit">Create key</button></div>
</form>`,
  });
}
