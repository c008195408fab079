import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredPackage } from '../../src/core/channel/model.ts';
import { escapeHtml, externalLink, html, raw, safeHttpUrl } from '../../src/adapters/web/html.ts';
import { commitUrl, provenancePanel, PUBLIC_GOOD_REKOR_LOG_ID, publicRekorSearchUrl, shortRepository } from '../../src/adapters/web/provenance.ts';
import { parseCookies, serializeCookie, Sessions } from '../../src/adapters/web/session.ts';
import { safeNext } from '../../src/adapters/web/signin-page.ts';
import { formatBytes } from '../../src/adapters/web/format.ts';

describe('web UI building blocks', () => {
  it('escapes every interpolated value, and only markup made by the program stays markup', () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&\``), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;');
    const evil = '<script>alert(1)</script>';
    assert.equal(html`<p title="${evil}">${evil}</p>`.value, '<p title="&lt;script&gt;alert(1)&lt;/script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</p>');
    assert.equal(html`<ul>${['<b>', html`<li>${'&'}</li>`]}</ul>`.value, '<ul>&lt;b&gt;<li>&amp;</li></ul>');
    assert.equal(html`${null}${undefined}${false}${0}${raw('<br>')}`.value, '0<br>');
  });

  it('makes links only of absolute http(s) URLs', () => {
    for (const bad of [
      'javascript:alert(1)', ' JaVaScRiPt:alert(1)', 'java\nscript:alert(1)', 'java\tscript:alert(1)', 'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox', '//evil.example/x', '/relative', 'ftp://example.com', 'https://user:pass@example.com', 'https://exa mple.com', '', 42, null,
      `https://example.com/${'a'.repeat(3000)}`,
    ]) {
      assert.equal(safeHttpUrl(bad), null, JSON.stringify(bad));
    }
    assert.equal(safeHttpUrl('https://example.com/a?b=c#d'), 'https://example.com/a?b=c#d');
    assert.equal(safeHttpUrl('HTTP://Example.COM'), 'http://example.com/');
    assert.equal(externalLink('javascript:alert(1)').value, '<span class="text-url">javascript:alert(1)</span>');
    assert.equal(externalLink('https://e.com/"><x').value, '<a href="https://e.com/%22%3E%3Cx" rel="nofollow noopener noreferrer ugc" class="external">https://e.com/&quot;&gt;&lt;x</a>');
  });

  it('links a Rekor index to search.sigstore.dev only for the public-good log', () => {
    assert.equal(publicRekorSearchUrl({ rekor_log_index: '123456789', rekor_log_id: PUBLIC_GOOD_REKOR_LOG_ID }), 'https://search.sigstore.dev/?logIndex=123456789');
    assert.equal(publicRekorSearchUrl({ rekor_log_index: 5, rekor_log_id: PUBLIC_GOOD_REKOR_LOG_ID }), 'https://search.sigstore.dev/?logIndex=5');
    assert.equal(publicRekorSearchUrl({ rekor_log_index: '5', rekor_log_id: 'c3RhZ2luZw==' }), null, 'staging or a private Rekor');
    assert.equal(publicRekorSearchUrl({ rekor_log_index: '5&x=<y>', rekor_log_id: PUBLIC_GOOD_REKOR_LOG_ID }), null);
    assert.equal(publicRekorSearchUrl({ rekor_log_index: null, rekor_log_id: PUBLIC_GOOD_REKOR_LOG_ID }), null);
  });

  it('links commits on GitHub and GitLab, and nothing that does not look like one', () => {
    const sha = 'a'.repeat(40);
    assert.equal(commitUrl('https://github.com/acme/widgets', sha), `https://github.com/acme/widgets/commit/${sha}`);
    assert.equal(commitUrl('https://gitlab.com/acme/tools/widgets', sha), `https://gitlab.com/acme/tools/widgets/-/commit/${sha}`);
    assert.equal(commitUrl('https://gitlab.example.org/acme/widgets', sha), `https://gitlab.example.org/acme/widgets/-/commit/${sha}`);
    assert.equal(commitUrl('https://github.com/acme/widgets', 'main"><x'), null);
    assert.equal(commitUrl('javascript:alert(1)//github.com', sha), null);
    assert.equal(commitUrl('http://github.com/acme/widgets', sha), null, 'https only');
    assert.equal(commitUrl('https://ci.example.com/acme/widgets', sha), null, 'an unknown host: shown, not linked');
    assert.equal(shortRepository('https://github.com/acme/widgets'), 'acme/widgets');
  });

  it('renders a verified provenance panel with every fact escaped', () => {
    const pkg = { filename: 'x-1-0.conda', attestationsSha256: 'b'.repeat(64) } as StoredPackage;
    const record = {
      channel: 'c', subdir: 'noarch', filename: 'x-1-0.conda', sigsSha256: 'b'.repeat(64), bundleSha256: 'c'.repeat(64), verifiedAt: '2026-01-02T03:04:05.000Z',
      verified: {
        issuer: 'https://token.actions.githubusercontent.com', identity: '<i>', repository: 'https://github.com/acme/widgets', workflow: 'w"><script>',
        ref: 'refs/heads/main', commit: 'c'.repeat(40), rekor_log_index: '77', rekor_log_id: PUBLIC_GOOD_REKOR_LOG_ID, integrated_time: '1767322800',
        target_channel: 'https://conda.example.org/c', publisher_id: 'pub_1', trust_root: 'public-good', run: 'javascript:alert(1)',
      },
    };
    const out = provenancePanel(pkg, record, 12, { sigstore: '/c/noarch/x.sigstore', v0sigs: '/c/noarch/x.v0.sigs', receipt: '/c/noarch/x.receipt.json' }, 'p1').value;
    assert.match(out, /<a href="https:\/\/search.sigstore.dev\/\?logIndex=77"/);
    assert.match(out, /href="https:\/\/github.com\/acme\/widgets\/commit\/c{40}"/);
    assert.match(out, /<a href="\/log\/entries\/12">entry #12<\/a>/);
    assert.match(out, /w&quot;&gt;&lt;script&gt;/);
    assert.doesNotMatch(out, /<script|<i>|href="javascript/);
    assert.match(out, /<dt>Integrated time<\/dt><dd><time datetime="2026-01-02T03:00:00.000Z">/);
    const bare = provenancePanel({ ...pkg, attestationsSha256: null }, null, null, { sigstore: '', v0sigs: '', receipt: '' }, 'p2').value;
    assert.match(bare, /no attestation/);
    assert.match(bare, /published before the transparency log existed/);
  });

  it('returns only to local paths after sign-in', () => {
    assert.equal(safeNext('/channels/x/settings?done=1'), '/channels/x/settings?done=1');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', '', undefined, '/x\r\nSet-Cookie: a=b']) {
      assert.equal(safeNext(bad), '/', JSON.stringify(bad));
    }
  });

  it('binds CSRF tokens to the session, and writes strict cookies', () => {
    const sessions = new Sessions(() => true, Buffer.alloc(32, 7));
    const a = sessions.csrfToken('s'.repeat(43));
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, sessions.csrfToken('t'.repeat(43)));
    assert.notEqual(a, new Sessions(() => true, Buffer.alloc(32, 8)).csrfToken('s'.repeat(43)), 'another server secret, another token');
    const req = (cookie: string) => ({ headers: { cookie } }) as never;
    assert.equal(sessions.checkCsrf(req(`provena_session=${'s'.repeat(43)}`), a), true);
    assert.equal(sessions.checkCsrf(req(`provena_session=${'t'.repeat(43)}`), a), false);
    assert.equal(sessions.checkCsrf(req(''), a), false);
    assert.equal(sessions.checkCsrf(req(`provena_session=${'s'.repeat(43)}`), undefined), false);
    assert.equal(serializeCookie('k', 'a b;c', { secure: true, maxAgeS: 60 }), 'k=a%20b%3Bc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure');
    assert.deepEqual([...parseCookies('a=1; b="2"; a=3; bad; c=%ZZ')], [['a', '1'], ['b', '2']]);
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(10 * 1024 * 1024), '10.0 MiB');
  });
});
