/**
 * The provenance panel of one package file: what the server verified about its attestation at upload
 * (attestation-gate.ts `attestationRecord`), shown with links where a link is meaningful and safe.
 */
import type { StoredPackage } from '../../core/channel/model.ts';
import type { AttestationRecord } from '../../core/channel/ports.ts';
import { epochSecondsToIso, timeTag } from './format.ts';
import { externalLink, html, safeHttpUrl, type Html } from './html.ts';

/**
 * Log ID (base64 of the key ID) of rekor.sigstore.dev, Sigstore's public-good Rekor v1 log, as listed
 * in the public-good trusted_root.json. search.sigstore.dev looks entries up by index in this log only.
 */
export const PUBLIC_GOOD_REKOR_LOG_ID = 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=';

export interface ProvenanceLinks {
  /** `.sigstore` (the single bundle), `.v0.sigs` (the array), `.receipt.json` */
  sigstore: string;
  v0sigs: string;
  receipt: string;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/** The Rekor index when the entry is in the public-good log, for a link to search.sigstore.dev. */
export function publicRekorSearchUrl(verified: Record<string, unknown>): string | null {
  const index = verified['rekor_log_index'];
  const text = typeof index === 'number' ? String(index) : str(index);
  if (text === null || !/^\d{1,18}$/.test(text)) return null;
  if (verified['rekor_log_id'] !== PUBLIC_GOOD_REKOR_LOG_ID) return null;
  return `https://search.sigstore.dev/?logIndex=${text}`;
}

/**
 * A link to the commit on the repository's web host, when both look like what they claim: an https
 * repository URL on GitHub or a GitLab instance, and a hex commit id. Otherwise null (shown as text).
 */
export function commitUrl(repository: unknown, commit: unknown): string | null {
  const repo = safeHttpUrl(repository);
  const sha = str(commit);
  if (repo === null || sha === null || !/^[0-9a-f]{7,64}$/.test(sha)) return null;
  const u = new URL(repo);
  if (u.protocol !== 'https:' || u.search || u.hash) return null;
  const base = repo.replace(/\/+$/, '');
  if (u.hostname === 'github.com') return `${base}/commit/${sha}`;
  if (u.hostname === 'gitlab.com' || u.hostname.startsWith('gitlab.')) return `${base}/-/commit/${sha}`;
  return null;
}

/** "acme/widgets" from "https://github.com/acme/widgets", for the panel's one-line summary. */
export function shortRepository(repository: unknown): string | null {
  const url = safeHttpUrl(repository);
  if (url === null) return str(repository);
  const u = new URL(url);
  const path = u.pathname.replace(/^\/+|\/+$/g, '');
  return path.length > 0 ? path : u.host;
}

export function provenancePanel(pkg: StoredPackage, record: AttestationRecord | null, logIndex: number | null, links: ProvenanceLinks, id: string): Html {
  const logLink = logIndex === null
    ? html`<span class="muted">published before the transparency log existed</span>`
    : html`<a href="/log/entries/${logIndex}">entry #${logIndex}</a>`;
  const receipt = logIndex === null ? null : html`<a href="${links.receipt}">receipt</a>`;

  if (!pkg.attestationsSha256) {
    return html`<details class="provenance" id="${id}">
<summary>Provenance <span class="badge warn">no attestation</span></summary>
<p>This file was uploaded without a Sigstore attestation, so nothing proves which build produced it.
It is recorded in the transparency log all the same.</p>
<dl class="facts">
<dt>Transparency log</dt><dd>${logLink}${receipt ? html` · ${receipt}` : ''}</dd>
</dl>
</details>`;
  }
  if (!record) {
    return html`<details class="provenance" id="${id}">
<summary>Provenance <span class="badge warn">attestation stored, facts unavailable</span></summary>
<dl class="facts">
<dt>Attestation</dt><dd><a href="${links.sigstore}">.sigstore</a> · <a href="${links.v0sigs}">.v0.sigs</a></dd>
<dt>Transparency log</dt><dd>${logLink}${receipt ? html` · ${receipt}` : ''}</dd>
</dl>
</details>`;
  }

  const v = record.verified;
  const repository = str(v['repository']);
  const commit = str(v['commit']);
  const commitHref = commitUrl(repository, commit);
  const rekorIndex = v['rekor_log_index'] === null || v['rekor_log_index'] === undefined ? null : String(v['rekor_log_index']);
  const rekorHref = publicRekorSearchUrl(v);
  const integrated = epochSecondsToIso(v['integrated_time']);
  const signer = shortRepository(repository) ?? str(v['identity']) ?? 'an unnamed signer';
  const run = safeHttpUrl(v['run']);

  const row = (label: string, value: Html | string | null) =>
    value === null ? '' : html`<dt>${label}</dt><dd>${value}</dd>`;

  return html`<details class="provenance" id="${id}">
<summary>Provenance <span class="badge ok">verified</span> <span class="muted">signed by ${signer}</span></summary>
<p>The Sigstore attestation was verified when the file was uploaded: the certificate chains to the
trusted root <code>${str(v['trust_root']) ?? 'unknown'}</code>, the statement names exactly this file and its
sha256, and the signer is a Trusted Publisher of the channel.</p>
<dl class="facts">
${row('Signer repository', repository === null ? null : externalLink(repository))}
${row('Workflow', str(v['workflow']) === null ? null : html`<code>${str(v['workflow'])}</code>`)}
${row('Ref', str(v['ref']) === null ? null : html`<code>${str(v['ref'])}</code>`)}
${row('Commit', commit === null ? null : commitHref ? html`<a href="${commitHref}" rel="nofollow noopener noreferrer" class="external"><code>${commit}</code></a>` : html`<code>${commit}</code>`)}
${row('Build run', run === null ? null : externalLink(run))}
${row('Trigger', str(v['trigger']))}
${row('OIDC issuer', str(v['issuer']) === null ? null : html`<code>${str(v['issuer'])}</code>`)}
${row('Identity', str(v['identity']) === null ? null : html`<code>${str(v['identity'])}</code>`)}
${row('Rekor log index', rekorIndex === null ? html`<span class="muted">none (signed timestamp only)</span>` : rekorHref ? html`<a href="${rekorHref}" rel="noopener noreferrer" class="external">${rekorIndex}</a>` : html`${rekorIndex} <span class="muted">(not the public-good Rekor)</span>`)}
${row('Integrated time', integrated === null ? null : timeTag(integrated))}
${row('Target channel', str(v['target_channel']) === null ? null : html`<code>${str(v['target_channel'])}</code>`)}
${row('Trusted Publisher', str(v['publisher_id']) === null ? null : html`<code>${str(v['publisher_id'])}</code>`)}
${row('Verified at', timeTag(record.verifiedAt))}
<dt>Attestation</dt><dd><a href="${links.sigstore}">.sigstore</a> · <a href="${links.v0sigs}">.v0.sigs</a> · <span class="mono">sha256 ${record.sigsSha256.slice(0, 16)}…</span></dd>
<dt>Transparency log</dt><dd>${logLink}${receipt ? html` · ${receipt}` : ''}</dd>
</dl>
</details>`;
}
