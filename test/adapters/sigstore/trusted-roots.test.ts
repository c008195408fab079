import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileTrustRoot, loadTrustRoots, publicGoodTrustRoot, refreshedRootFile, resolveTrustRoots, stagingTrustRoot } from '../../../src/adapters/sigstore/trusted-roots.ts';
import { buildTrustRoot } from '../../../src/core/attest/trust-root.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const STAGING_FILE = new URL('../../../src/adapters/sigstore/roots/trusted_root_staging.json', import.meta.url);
const hosts = (urls: string[]) => urls.map((u) => new URL(u).host).sort();

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => isProvenaError(e) && e.code === 'trusted_root_invalid' && e.kind === 'invalid' && pattern.test(e.detail));
}

describe('trusted roots', () => {
  it('embeds the public-good root from @sigstore/tuf’s seeds, with Fulcio, Rekor (2025 log too), CT and TSA', () => {
    const root = publicGoodTrustRoot();
    assert.equal(root.name, 'public-good');
    assert.deepEqual(hosts(root.material.tlogs.map((t) => t.baseURL)), ['log2025-1.rekor.sigstore.dev', 'rekor.sigstore.dev']);
    assert.ok(root.material.certificateAuthorities.length >= 1);
    assert.ok(root.material.ctlogs.length >= 1);
    assert.ok(root.material.timestampAuthorities.length >= 1);
  });

  it('ships the staging root (sigstage.dev), Rekor v2 log included', () => {
    const root = stagingTrustRoot();
    assert.equal(root.name, 'staging');
    assert.ok(root.material.tlogs.some((t) => t.baseURL === 'https://log2025-alpha3.rekor.sigstage.dev'));
    assert.equal(root.material.certificateAuthorities.length, 2);
    assert.equal(root.material.timestampAuthorities.length, 2);
  });

  it('loads a root from a file (--trusted-root FILE), named after the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'provena-root-'));
    const file = join(dir, 'private_root.json');
    writeFileSync(file, readFileSync(STAGING_FILE));
    const root = fileTrustRoot(file);
    assert.equal(root.name, 'private_root.json');
    assert.equal(root.material.tlogs.length, stagingTrustRoot().material.tlogs.length);
  });

  it('loads the public-good root by default, and several on request', () => {
    assert.deepEqual(loadTrustRoots().map((r) => r.name), ['public-good']);
    assert.deepEqual(loadTrustRoots([{ kind: 'staging' }, { kind: 'public-good' }]).map((r) => r.name), ['staging', 'public-good']);
  });

  it('prefers the copy `provena trust-root update` refreshed in the data directory, per instance', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'provena-data-'));
    const embedded = resolveTrustRoots([{ kind: 'public-good' }, { kind: 'staging' }], dataDir);
    assert.deepEqual(embedded.map((r) => r.origin), ['embedded copy', 'embedded copy']);
    mkdirSync(join(dataDir, 'trusted-roots'));
    writeFileSync(refreshedRootFile(dataDir, 'public-good'), readFileSync(STAGING_FILE)); // any valid root will do
    const [pg, st] = resolveTrustRoots([{ kind: 'public-good' }, { kind: 'staging' }], dataDir);
    assert.equal(pg!.root.name, 'public-good');
    assert.equal(pg!.origin, `refreshed copy ${refreshedRootFile(dataDir, 'public-good')}`);
    assert.ok(pg!.root.material.tlogs.some((t) => t.baseURL === 'https://log2025-alpha3.rekor.sigstage.dev'), 'the refreshed content, not the embedded one');
    assert.equal(st!.origin, 'embedded copy');
  });

  it('refuses a broken refreshed copy rather than silently falling back, and says how to recover', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'provena-data-'));
    mkdirSync(join(dataDir, 'trusted-roots'));
    writeFileSync(refreshedRootFile(dataDir, 'staging'), '{');
    refused(() => resolveTrustRoots([{ kind: 'staging' }], dataDir), /not JSON.*run provena trust-root update again, or delete .*staging\.json to use the embedded staging root/);
  });

  it('refuses a missing file, non-JSON, another document type, or a root without CA or log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'provena-root-'));
    refused(() => fileTrustRoot(join(dir, 'absent.json')), /cannot read/);
    writeFileSync(join(dir, 'bad.json'), '{');
    refused(() => fileTrustRoot(join(dir, 'bad.json')), /not JSON/);
    const staging = JSON.parse(readFileSync(STAGING_FILE, 'utf8'));
    refused(() => buildTrustRoot({ ...staging, mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }, 'x'), /mediaType/);
    refused(() => buildTrustRoot([], 'x'), /JSON object/);
    refused(() => buildTrustRoot({ ...staging, certificateAuthorities: [] }, 'x'), /no certificate authority/);
    refused(() => buildTrustRoot({ ...staging, tlogs: [] }, 'x'), /no transparency log/);
  });
});
